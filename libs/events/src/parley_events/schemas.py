"""Event payloads (the CloudEvents ``data``) of every Parley event.

Each payload class names its CloudEvents ``type``, the topic it travels on, and which field is
its aggregate id: the Kafka key and the CloudEvents ``subject``, so one aggregate's events
stay ordered. Changes are additive; a breaking change is a new ``.vN`` type and class.
"""

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from parley_events import topics
from parley_events.topics import TopicSpec


class EventData(BaseModel):
    """Base of every payload. Subclasses set ``event_type``, ``topic`` and ``aggregate_field``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str]
    topic: ClassVar[TopicSpec]
    aggregate_field: ClassVar[str]

    @property
    def aggregate_id(self) -> str:
        """The aggregate id: Kafka key and CloudEvents ``subject``."""
        return str(getattr(self, self.aggregate_field))


class UserRegistered(EventData):
    event_type: ClassVar[str] = "parley.auth.user.registered.v1"
    topic: ClassVar[TopicSpec] = topics.USERS
    aggregate_field: ClassVar[str] = "user_id"

    user_id: str
    email: str
    display_name: str


#: A meeting's admission mode: ``open`` (anyone holding the link and an account joins; guests
#: too where the meeting allows guests), ``lobby`` (whoever is not a participant yet waits until
#: the host or a co-host admits them) or ``locked`` (nobody new joins).
Admission = Literal["open", "lobby", "locked"]


class MeetingCreated(EventData):
    event_type: ClassVar[str] = "parley.meetings.meeting.created.v1"
    topic: ClassVar[TopicSpec] = topics.MEETINGS
    aggregate_field: ClassVar[str] = "meeting_id"

    meeting_id: str
    host_id: str
    title: str
    scheduled_start: datetime | None = None
    #: Minutes the scheduled meeting lasts, and the IANA time zone it was scheduled in (the
    #: calendar's ``DTSTART;TZID``); both ``None`` for a meeting that is not scheduled.
    duration_minutes: int | None = None
    time_zone: str | None = None
    created_at: datetime
    #: Whether someone without an account may join with a guest token (auth issues guest
    #: tokens only for such meetings). Added later: a record without it is ``False``.
    allow_guests: bool = False
    #: Who joins without waiting (docs/http-api.md, "Lobby and moderation"): ``open``,
    #: ``lobby`` or ``locked``. Added later: a record without it is ``open``.
    admission: Admission = "open"


class MeetingUpdated(EventData):
    """The host changed the meeting's settings (``PATCH /api/meetings/{id}``): each field is
    the setting as it is now, after the change (``empty_timeout_seconds`` ``None``: the
    service's default). auth's guest projection follows ``allow_guests``."""

    event_type: ClassVar[str] = "parley.meetings.meeting.updated.v1"
    topic: ClassVar[TopicSpec] = topics.MEETINGS
    aggregate_field: ClassVar[str] = "meeting_id"

    meeting_id: str
    allow_guests: bool
    empty_timeout_seconds: int | None = None
    updated_by: str
    updated_at: datetime
    #: The admission mode now (``open``, ``lobby``, ``locked``). Added later: ``None`` in a
    #: record published before it existed (the mode was then ``open``).
    admission: Admission | None = None


class MeetingJoined(EventData):
    """A user became a participant of a meeting (``POST /api/meetings/{id}/join``, the first
    time: joining again publishes nothing). ``role`` is ``participant``; the host's
    membership comes with ``meeting.created``."""

    event_type: ClassVar[str] = "parley.meetings.meeting.joined.v1"
    topic: ClassVar[TopicSpec] = topics.MEETINGS
    aggregate_field: ClassVar[str] = "meeting_id"

    meeting_id: str
    user_id: str
    display_name: str
    role: Literal["host", "participant"] = "participant"
    joined_at: datetime


class MeetingEnded(EventData):
    event_type: ClassVar[str] = "parley.meetings.meeting.ended.v1"
    topic: ClassVar[TopicSpec] = topics.MEETINGS
    aggregate_field: ClassVar[str] = "meeting_id"

    meeting_id: str
    ended_by: str
    ended_at: datetime


class MeetingRescheduled(EventData):
    """The host moved a scheduled meeting: its new start, duration and time zone, and the
    calendar ``sequence`` (RFC 5545 §3.8.7.4 ``SEQUENCE``) its invitations now carry."""

    event_type: ClassVar[str] = "parley.meetings.meeting.rescheduled.v1"
    topic: ClassVar[TopicSpec] = topics.MEETINGS
    aggregate_field: ClassVar[str] = "meeting_id"

    meeting_id: str
    scheduled_start: datetime
    duration_minutes: int
    time_zone: str
    sequence: int
    rescheduled_at: datetime


class MeetingCancelled(EventData):
    """The host cancelled a scheduled meeting: it ends as ``meeting.ended`` does (nobody joins
    it any more; its chat stays readable), and its calendar entry is cancelled (``METHOD:CANCEL``
    with ``sequence``)."""

    event_type: ClassVar[str] = "parley.meetings.meeting.cancelled.v1"
    topic: ClassVar[TopicSpec] = topics.MEETINGS
    aggregate_field: ClassVar[str] = "meeting_id"

    meeting_id: str
    cancelled_by: str
    cancelled_at: datetime
    sequence: int


class MeetingExpired(EventData):
    """The meeting's room stayed empty for its empty timeout (``empty_timeout_seconds``, from
    ``empty_since``, when the last participant left): meetings ended it (``end_reason``
    ``expired``). It ends as ``meeting.ended`` does: nobody joins it any more, its chat stays
    readable."""

    event_type: ClassVar[str] = "parley.meetings.meeting.expired.v1"
    topic: ClassVar[TopicSpec] = topics.MEETINGS
    aggregate_field: ClassVar[str] = "meeting_id"

    meeting_id: str
    empty_since: datetime
    empty_timeout_seconds: int
    expired_at: datetime


class LobbyEvent(EventData):
    """Base of the lobby's events: someone (``user_id``) waits to join ``meeting_id``, or no
    longer does. Keyed by the meeting id, like every meeting event."""

    topic: ClassVar[TopicSpec] = topics.MEETINGS
    aggregate_field: ClassVar[str] = "meeting_id"

    meeting_id: str
    user_id: str
    display_name: str


class LobbyWaiting(LobbyEvent):
    """Someone asked to join a meeting in ``lobby`` mode (``POST /api/meetings/{id}/join``
    answered 202): they wait until the host or a co-host admits or denies them. ``guest``:
    they hold a guest token."""

    event_type: ClassVar[str] = "parley.meetings.lobby.waiting.v1"

    guest: bool = False
    requested_at: datetime


class LobbyAdmitted(LobbyEvent):
    """The host or a co-host (``decided_by``) admitted a waiting person: they are a participant
    of the meeting from now on (membership projections apply it as ``meeting.joined`` with role
    ``participant``; no separate ``meeting.joined`` is published)."""

    event_type: ClassVar[str] = "parley.meetings.lobby.admitted.v1"

    decided_by: str
    decided_at: datetime


class LobbyDenied(LobbyEvent):
    """The host or a co-host (``decided_by``) denied a waiting person: their joins of this
    meeting are refused from now on (403 ``lobby_denied``)."""

    event_type: ClassVar[str] = "parley.meetings.lobby.denied.v1"

    decided_by: str
    decided_at: datetime


class LobbyLeft(LobbyEvent):
    """A waiting person stopped waiting (``DELETE /api/meetings/{id}/join``)."""

    event_type: ClassVar[str] = "parley.meetings.lobby.left.v1"

    left_at: datetime


#: The lobby's events, in the order of a person's way through it.
LOBBY_EVENTS: tuple[type[LobbyEvent], ...] = (LobbyWaiting, LobbyAdmitted, LobbyDenied, LobbyLeft)


class MeetingRoleChanged(EventData):
    """The host made a participant a co-host (``role`` ``cohost``) or a participant again
    (``role`` ``participant``)."""

    event_type: ClassVar[str] = "parley.meetings.meeting.role_changed.v1"
    topic: ClassVar[TopicSpec] = topics.MEETINGS
    aggregate_field: ClassVar[str] = "meeting_id"

    meeting_id: str
    user_id: str
    role: Literal["cohost", "participant"]
    changed_by: str
    changed_at: datetime


class ParticipantRemoved(EventData):
    """The host or a co-host (``removed_by``, shown as ``removed_by_name``) removed a participant
    from the meeting: they are no participant any more, their sockets leave its room on every
    signaling replica, and their joins are refused from now on (403 ``removed_from_meeting``)."""

    event_type: ClassVar[str] = "parley.meetings.meeting.participant_removed.v1"
    topic: ClassVar[TopicSpec] = topics.MEETINGS
    aggregate_field: ClassVar[str] = "meeting_id"

    meeting_id: str
    user_id: str
    display_name: str
    removed_by: str
    removed_by_name: str
    removed_at: datetime


#: The events after which nobody joins a meeting any more (its consumers treat them alike).
MEETING_CLOSED: tuple[type[EventData], ...] = (MeetingEnded, MeetingCancelled, MeetingExpired)


class ParticipantJoined(EventData):
    """A participant's socket joined the meeting's room on a signaling replica."""

    event_type: ClassVar[str] = "parley.signaling.participant.joined.v1"
    topic: ClassVar[TopicSpec] = topics.PARTICIPANTS
    aggregate_field: ClassVar[str] = "meeting_id"

    meeting_id: str
    user_id: str
    display_name: str
    sid: str
    replica_id: str
    joined_at: datetime


class ParticipantLeft(EventData):
    """A participant's socket left the room. ``reason``: ``left``, ``disconnected``, ``ended``,
    ``removed``, ``moved`` (displaced by another socket of its user that joined at the same
    moment), or ``replica_lost`` (its signaling replica crashed or restarted; reported by
    another replica, so ``replica_id`` is the lost one)."""

    event_type: ClassVar[str] = "parley.signaling.participant.left.v1"
    topic: ClassVar[TopicSpec] = topics.PARTICIPANTS
    aggregate_field: ClassVar[str] = "meeting_id"

    meeting_id: str
    user_id: str
    sid: str
    replica_id: str
    reason: str
    left_at: datetime


class ChatMessagePosted(EventData):
    event_type: ClassVar[str] = "parley.chat.message.posted.v1"
    topic: ClassVar[TopicSpec] = topics.CHAT
    aggregate_field: ClassVar[str] = "meeting_id"

    meeting_id: str
    message_id: str
    sender_id: str
    sender_name: str
    text: str
    posted_at: datetime
    #: The message's position in its meeting (1, 2, 3, … without gaps): the order of history
    #: and of this topic's records of the meeting. ``None`` only in events published before
    #: chat assigned it.
    seq: int | None = None


class DmMessagePosted(EventData):
    """A direct message: ``sender_id`` wrote ``text`` to ``recipient_id`` in the conversation
    ``conversation_id`` (the pair's contact id: the two user ids, sorted, joined by ``:``).
    ``seq`` is its position in the conversation (1, 2, 3, … without gaps): the order of the
    conversation's history and of this topic's records of it."""

    event_type: ClassVar[str] = "parley.chat.dm.message.posted.v1"
    topic: ClassVar[TopicSpec] = topics.DM
    aggregate_field: ClassVar[str] = "conversation_id"

    conversation_id: str
    message_id: str
    sender_id: str
    sender_name: str
    recipient_id: str
    text: str
    posted_at: datetime
    seq: int


class DmConversationRead(EventData):
    """``user_id`` has read the conversation with ``peer_id`` up to message ``read_seq``
    (opened it, or posted in it); their other sockets clear its unread badge."""

    event_type: ClassVar[str] = "parley.chat.dm.conversation.read.v1"
    topic: ClassVar[TopicSpec] = topics.DM
    aggregate_field: ClassVar[str] = "conversation_id"

    conversation_id: str
    user_id: str
    peer_id: str
    read_seq: int
    at: datetime


#: Every direct-message event class.
DM_EVENTS: tuple[type[EventData], ...] = (DmMessagePosted, DmConversationRead)


class SessionRevoked(EventData):
    """A sign-in session (the ``sid`` claim of its access and refresh tokens) ended: its
    tokens are refused from now on, and signaling closes its sockets. ``reason``:
    ``replaced`` (the user chose "Use here" elsewhere, or signed in elsewhere after the
    session's lease lapsed; ``PARLEY_SESSION_POLICY=single``) or ``signed_out``."""

    event_type: ClassVar[str] = "parley.auth.session.revoked.v1"
    topic: ClassVar[TopicSpec] = topics.SESSIONS
    aggregate_field: ClassVar[str] = "user_id"

    user_id: str
    session_id: str
    reason: Literal["replaced", "signed_out"]
    revoked_at: datetime


class SessionActive(EventData):
    """A session has at least one live signaling socket on ``replica_id``: sent when a socket
    connects and then every ``PARLEY_SESSION_HEARTBEAT_SECONDS``; auth renews the session's
    lease on it (``PARLEY_SESSION_LEASE_SECONDS``)."""

    event_type: ClassVar[str] = "parley.signaling.session.active.v1"
    topic: ClassVar[TopicSpec] = topics.SESSION_ACTIVITY
    aggregate_field: ClassVar[str] = "user_id"

    user_id: str
    session_id: str
    replica_id: str
    sent_at: datetime
class ContactEvent(EventData):
    """Base of auth's contact events on ``parley.contacts``, keyed by ``contact_id`` (the pair's
    id: the two user ids, sorted, joined by ``:``), so one pair's events stay ordered.
    ``user_id`` is the user who acted, ``other_user_id`` the other one; ``at`` when (UTC)."""

    topic: ClassVar[TopicSpec] = topics.CONTACTS
    aggregate_field: ClassVar[str] = "contact_id"

    contact_id: str
    user_id: str
    other_user_id: str
    at: datetime


class ContactInvited(ContactEvent):
    """``user_id`` invited ``other_user_id`` (by email) to be contacts; pending until accepted."""

    event_type: ClassVar[str] = "parley.auth.contact.invited.v1"


class ContactAccepted(ContactEvent):
    """``user_id`` accepted ``other_user_id``'s invitation: they are contacts."""

    event_type: ClassVar[str] = "parley.auth.contact.accepted.v1"


class ContactDeclined(ContactEvent):
    """``user_id`` declined ``other_user_id``'s invitation (or ``user_id`` withdrew their own:
    ``withdrawn`` true)."""

    event_type: ClassVar[str] = "parley.auth.contact.declined.v1"

    withdrawn: bool = False


class ContactRemoved(ContactEvent):
    """``user_id`` removed ``other_user_id`` from their contacts (for both of them)."""

    event_type: ClassVar[str] = "parley.auth.contact.removed.v1"


class UserBlocked(ContactEvent):
    """``user_id`` blocked ``other_user_id``: no invitation, presence, call or message from
    ``other_user_id`` reaches ``user_id`` (a contact or invitation between them ended with it)."""

    event_type: ClassVar[str] = "parley.auth.user.blocked.v1"


class UserUnblocked(ContactEvent):
    """``user_id`` lifted their block of ``other_user_id`` (they are not contacts again)."""

    event_type: ClassVar[str] = "parley.auth.user.unblocked.v1"


CallState = Literal["ringing", "accepted", "declined", "missed", "cancelled", "ended", "escalated"]


class CallEvent(EventData):
    """Base of meetings' direct-call events on ``parley.calls``, keyed by ``call_id`` (one
    call's events stay ordered). ``caller_id`` calls ``callee_id``; ``caller_name`` is the
    caller's display name; ``room_id`` is the private meeting room both join once it is
    accepted (a meeting id: ``/m/{room_id}``); ``state`` is the call's state after the change,
    ``at`` when it changed (UTC)."""

    topic: ClassVar[TopicSpec] = topics.CALLS
    aggregate_field: ClassVar[str] = "call_id"

    call_id: str
    caller_id: str
    caller_name: str
    callee_id: str
    room_id: str
    state: CallState
    at: datetime


class CallRinging(CallEvent):
    """A call was placed and rings the callee until ``ring_deadline`` (UTC)."""

    event_type: ClassVar[str] = "parley.meetings.call.ringing.v1"

    ring_deadline: datetime


class CallAccepted(CallEvent):
    """The callee accepted: both join the room ``room_id``."""

    event_type: ClassVar[str] = "parley.meetings.call.accepted.v1"


class CallDeclined(CallEvent):
    """The callee declined the ringing call."""

    event_type: ClassVar[str] = "parley.meetings.call.declined.v1"


class CallMissed(CallEvent):
    """Nobody answered before the ring deadline: missed for the callee, "no answer" for the caller."""

    event_type: ClassVar[str] = "parley.meetings.call.missed.v1"


class CallCancelled(CallEvent):
    """The caller hung up while it rang."""

    event_type: ClassVar[str] = "parley.meetings.call.cancelled.v1"


class CallEnded(CallEvent):
    """An accepted call ended: ``ended_by`` hung up (a user id)."""

    event_type: ClassVar[str] = "parley.meetings.call.ended.v1"

    ended_by: str


class CallEscalated(CallEvent):
    """An accepted call became a meeting: ``escalated_by`` (a user id) invited more people. The
    call is over (neither user is busy any more); its room ``room_id`` stays, as an ordinary
    meeting hosted by the caller, with its chat, that others join by its link."""

    event_type: ClassVar[str] = "parley.meetings.call.escalated.v1"

    escalated_by: str


#: Every call event class, in the order of a call's life.
CALL_EVENTS: tuple[type[CallEvent], ...] = (
    CallRinging,
    CallAccepted,
    CallDeclined,
    CallMissed,
    CallCancelled,
    CallEnded,
    CallEscalated,
)


PresenceState = Literal["online", "in_call", "offline"]


class PresenceSocket(EventData):
    """One signaling socket's presence changed: ``online`` (connected, not in a room),
    ``in_call`` (in meeting ``meeting_id``'s room) or ``offline`` (disconnected, or its replica
    was lost). Published by the replica holding the socket, in order, keyed by ``user_id``;
    ``at`` is the replica's clock (UTC). auth aggregates them per user (``presence.changed``)."""

    event_type: ClassVar[str] = "parley.signaling.presence.socket.v1"
    topic: ClassVar[TopicSpec] = topics.PRESENCE
    aggregate_field: ClassVar[str] = "user_id"

    user_id: str
    sid: str
    replica_id: str
    state: PresenceState
    meeting_id: str | None = None
    at: datetime


class PresenceReplicaLost(EventData):
    """Signaling replica ``replica_id`` crashed, restarted or went silent (``reason``:
    ``restarted`` or ``silent``): every socket it reported before ``lost_at`` is offline.
    Published by the one replica that reports the loss (the fan-out's reporter), keyed by
    ``replica_id``."""

    event_type: ClassVar[str] = "parley.signaling.presence.replica_lost.v1"
    topic: ClassVar[TopicSpec] = topics.PRESENCE
    aggregate_field: ClassVar[str] = "replica_id"

    replica_id: str
    reason: str
    lost_at: datetime


class PresenceChanged(EventData):
    """A user's presence changed (auth's aggregate of the user's sockets): ``in_call`` when a
    socket is in a room, else ``online`` when one is connected, else ``offline``;
    ``last_seen`` is when the user was last online (``None``: never). ``watchers``: the users
    allowed to see it (the user's accepted contacts who are not blocked either way), at
    ``changed_at``. Keyed by ``user_id``."""

    event_type: ClassVar[str] = "parley.auth.presence.changed.v1"
    topic: ClassVar[TopicSpec] = topics.PRESENCE
    aggregate_field: ClassVar[str] = "user_id"

    user_id: str
    state: PresenceState
    last_seen: datetime | None = None
    watchers: list[str] = []
    changed_at: datetime


class ApiKeyCreated(EventData):
    """A user created an API key (auth): what another service needs to accept it without asking
    auth. ``secret_hash``: SHA-256 (hex) of the secret (:mod:`parley_security.api_keys`; a
    256-bit random secret cannot be recovered from it); ``owner_id``/``owner_name``: the user
    the key acts for; ``scopes``: what it may do. Keyed by ``key_id``."""

    event_type: ClassVar[str] = "parley.auth.api_key.created.v1"
    topic: ClassVar[TopicSpec] = topics.API_KEYS
    aggregate_field: ClassVar[str] = "key_id"

    key_id: str
    owner_id: str
    owner_name: str
    name: str
    scopes: list[str]
    secret_hash: str
    created_at: datetime


class ApiKeyRevoked(EventData):
    """The owner revoked API key ``key_id``: from this event on it is refused (401). Keyed by
    ``key_id``, after its ``api_key.created``."""

    event_type: ClassVar[str] = "parley.auth.api_key.revoked.v1"
    topic: ClassVar[TopicSpec] = topics.API_KEYS
    aggregate_field: ClassVar[str] = "key_id"

    key_id: str
    owner_id: str
    revoked_at: datetime


class ApiKeyUsed(EventData):
    """A service accepted API key ``key_id`` at ``used_at``: published at most once a minute per
    key (not per request), so that auth can show the key's last use. Keyed by ``key_id``."""

    event_type: ClassVar[str] = "parley.meetings.api_key.used.v1"
    topic: ClassVar[TopicSpec] = topics.API_KEYS
    aggregate_field: ClassVar[str] = "key_id"

    key_id: str
    used_at: datetime


#: Every payload class by its CloudEvents type.
EVENT_TYPES: dict[str, type[EventData]] = {
    cls.event_type: cls
    for cls in (
        UserRegistered,
        MeetingCreated,
        MeetingJoined,
        MeetingEnded,
        MeetingRescheduled,
        MeetingUpdated,
        MeetingCancelled,
        MeetingExpired,
        *LOBBY_EVENTS,
        MeetingRoleChanged,
        ParticipantRemoved,
        ParticipantJoined,
        ParticipantLeft,
        ChatMessagePosted,
        *DM_EVENTS,
        SessionRevoked,
        SessionActive,
        ContactInvited,
        ContactAccepted,
        ContactDeclined,
        ContactRemoved,
        UserBlocked,
        UserUnblocked,
        *CALL_EVENTS,
        PresenceSocket,
        PresenceReplicaLost,
        PresenceChanged,
        ApiKeyCreated,
        ApiKeyRevoked,
        ApiKeyUsed,
    )
}
