"""Why a meeting operation was refused. Each error carries the API's machine ``code`` and the
HTTP ``status_code`` it means: the domain error says what it is over HTTP, so a route stays one
hop to the domain and there is no status map to keep in step (see parley_observability.errors)."""

from parley_observability import ApiError


class MeetingsError(ApiError):
    """Base of the refusals; ``code`` is the machine code of docs/http-api.md."""

    code = "meetings_error"
    status_code = 400


class MeetingNotFound(MeetingsError):
    code = "meeting_not_found"
    status_code = 404


class MeetingHasEnded(MeetingsError):
    code = "meeting_ended"
    status_code = 410


class NotHost(MeetingsError):
    code = "not_host"
    status_code = 403


class NotAParticipant(MeetingsError):
    code = "not_a_participant"
    status_code = 403
