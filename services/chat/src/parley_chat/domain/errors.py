"""Why a chat operation was refused. Each error carries the API's machine ``code``."""


class ChatError(Exception):
    """Base of the refusals; ``code`` is the machine code of docs/http-api.md."""

    code: str = "chat_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MeetingNotFound(ChatError):
    code = "meeting_not_found"


class NotAParticipant(ChatError):
    code = "not_a_participant"


class MessageIdConflict(ChatError):
    """The ``message_id`` was already used in this meeting for another text or sender."""

    code = "message_id_conflict"


class MeetingsUnavailable(ChatError):
    """Meetings could not be asked whether the user is a participant."""

    code = "unavailable"


class InvalidCursor(ChatError):
    code = "invalid_cursor"
