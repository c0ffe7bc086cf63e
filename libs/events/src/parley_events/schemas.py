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


class MeetingCreated(EventData):
    event_type: ClassVar[str] = "parley.meetings.meeting.created.v1"
    topic: ClassVar[TopicSpec] = topics.MEETINGS
    aggregate_field: ClassVar[str] = "meeting_id"

    meeting_id: str
    host_id: str
    title: str
    scheduled_start: datetime | None = None
    created_at: datetime


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
    or ``replica_lost`` (its signaling replica crashed or restarted; reported by another
    replica, so ``replica_id`` is the lost one)."""

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


#: Every payload class by its CloudEvents type.
EVENT_TYPES: dict[str, type[EventData]] = {
    cls.event_type: cls
    for cls in (
        UserRegistered,
        MeetingCreated,
        MeetingJoined,
        MeetingEnded,
        ParticipantJoined,
        ParticipantLeft,
        ChatMessagePosted,
    )
}
