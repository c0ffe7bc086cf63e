"""Why a meeting operation was refused. Each error carries the API's machine ``code``."""


class MeetingsError(Exception):
    """Base of the refusals; ``code`` is the machine code of docs/http-api.md."""

    code: str = "meetings_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MeetingNotFound(MeetingsError):
    code = "meeting_not_found"


class MeetingHasEnded(MeetingsError):
    code = "meeting_ended"


class NotHost(MeetingsError):
    code = "not_host"


class NotAParticipant(MeetingsError):
    code = "not_a_participant"
