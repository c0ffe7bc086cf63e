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


class GuestsNotAllowed(MeetingsError):
    """A guest token for a meeting whose host does not (or no longer) allow guests."""

    code = "guests_not_allowed"
    status_code = 403


class NotAModerator(MeetingsError):
    """Only the host or a co-host may do this (admit, deny, remove, change who may join)."""

    code = "not_a_moderator"
    status_code = 403


class RemovedFromMeeting(MeetingsError):
    """The host or a co-host removed the caller from this meeting: they cannot join it again."""

    code = "removed_from_meeting"
    status_code = 403


class LobbyDenied(MeetingsError):
    """The host or a co-host did not let the caller in from the lobby."""

    code = "lobby_denied"
    status_code = 403


class MeetingLocked(MeetingsError):
    """The meeting is locked: nobody new joins it."""

    code = "meeting_locked"
    status_code = 403


class NotWaiting(MeetingsError):
    """Nobody with this id waits in the meeting's lobby (admitted, denied or gone meanwhile)."""

    code = "not_in_lobby"
    status_code = 404


class ParticipantNotFound(MeetingsError):
    """No participant of the meeting has this user id."""

    code = "participant_not_found"
    status_code = 404


class CannotModerate(MeetingsError):
    """The target cannot be changed this way (the host themselves, a co-host by a co-host, a guest
    made co-host); the message says which."""

    code = "cannot_moderate"
    status_code = 409


class NotAParticipant(MeetingsError):
    code = "not_a_participant"
    status_code = 403


class StartInPast(MeetingsError):
    code = "start_in_past"
    status_code = 422


class NotOpenYet(MeetingsError):
    code = "not_open_yet"
    status_code = 409


class NotScheduled(MeetingsError):
    code = "not_scheduled"
    status_code = 409


class FeedNotFound(MeetingsError):
    code = "calendar_feed_not_found"
    status_code = 404


class CallNotFound(MeetingsError):
    code = "call_not_found"
    status_code = 404


class CannotCallSelf(MeetingsError):
    code = "cannot_call_self"
    status_code = 400


class NotAContact(MeetingsError):
    """Not an accepted contact, or the callee blocks the caller (the caller learns no more)."""

    code = "not_a_contact"
    status_code = 403


class CalleeBusy(MeetingsError):
    code = "busy"
    status_code = 409


class CallerBusy(MeetingsError):
    code = "already_in_call"
    status_code = 409


class NotYourTurn(MeetingsError):
    """The other party of the call does this (only the callee answers, only the caller cancels)."""

    code = "not_allowed"
    status_code = 403


class CallStateConflict(MeetingsError):
    """The call is no longer in a state that allows this (say, accept after it was cancelled);
    the message names its state."""

    code = "call_state_conflict"
    status_code = 409


class WebhookNotFound(MeetingsError):
    """No webhook endpoint of the caller has this id (another user's is not found either)."""

    code = "webhook_not_found"
    status_code = 404


class DeliveryNotFound(MeetingsError):
    code = "delivery_not_found"
    status_code = 404


class InvalidWebhookUrl(MeetingsError):
    """The endpoint URL is not https (http only to loopback in local development), or it
    resolves to an address webhooks never go to (SSRF, :mod:`parley_meetings.domain.webhook_urls`)."""

    code = "invalid_webhook_url"
    status_code = 422


class DeliveryInProgress(MeetingsError):
    """A replay of a delivery that is being sent right now."""

    code = "delivery_in_progress"
    status_code = 409
