"""Why a chat operation was refused. Each error carries the API's machine ``code`` and the HTTP
``status_code`` it means: the domain error says what it is over HTTP, so a route stays one hop to
the domain and there is no status map to keep in step (see parley_observability.errors)."""

from parley_observability import ApiError


class ChatError(ApiError):
    """Base of the refusals; ``code`` is the machine code of docs/http-api.md."""

    code = "chat_error"
    status_code = 400


class MeetingNotFound(ChatError):
    code = "meeting_not_found"
    status_code = 404


class NotAParticipant(ChatError):
    code = "not_a_participant"
    status_code = 403


class MessageIdConflict(ChatError):
    """The ``message_id`` was already used in this meeting for another text or sender."""

    code = "message_id_conflict"
    status_code = 409


class MeetingsUnavailable(ChatError):
    """Meetings could not be asked whether the user is a participant; 503 with ``Retry-After: 1``."""

    code = "unavailable"
    status_code = 503
    headers = {"Retry-After": "1"}


class InvalidCursor(ChatError):
    """The ``before`` cursor is not one this service issued; answered as a 422 validation error
    (parley_chat.api.errors), not the ``{"code", "message"}`` shape."""

    code = "invalid_cursor"
    status_code = 422


class NotAContact(ChatError):
    """A direct message to someone who is not an accepted contact, or between users one of
    whom blocks the other (chat's projection of auth's contacts)."""

    code = "not_a_contact"
    status_code = 403


class CannotMessageSelf(ChatError):
    code = "cannot_message_self"
    status_code = 400


class TooManyMessages(ChatError):
    """The user posted more than ``PARLEY_CHAT_POST_LIMIT_PER_USER`` allows; 429 with
    ``Retry-After``: the seconds until one more post would be accepted."""

    code = "too_many_messages"
    status_code = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"you are sending messages too fast; try again in {retry_after} seconds")
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}
