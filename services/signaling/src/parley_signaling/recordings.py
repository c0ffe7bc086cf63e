"""Who records the meeting (docs/signaling.md, "Recording").

Recording happens in the recorder's browser (a composite of the meeting to WebM); signaling
only tells the room who records, so that everyone sees it. The client event ``recording``
(validated by :class:`~parley_signaling.domain.protocol.RecordingRequest`, charged to the
gestures' rate limit) becomes a ``parley.room.recording`` message on the fan-out topic, applied
by every replica in the topic's one order, as raised hands are (:mod:`parley_signaling.gestures`):
each replica emits ``recording`` (the room's recorders) to its own sockets of the room, and a
late joiner on any replica gets the recorders in its ``join`` acknowledgement. A recorder who
leaves the room is dropped. Signaling keeps nothing durable: a replica that starts knows the
recorders from the next change on.
"""

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from parley_signaling.domain.protocol import JoinAck, Recorder, RecordingEvent, RecordingRequest, dump
from parley_signaling.room_entries import RoomEntries
from parley_signaling.room_relay import Action, RoomRelay, read_room_message

RECORDING_METHOD = "parley.room.recording"


class RecordingMessage(BaseModel):
    """Participant ``sid`` (``user_id``, ``display_name``) of ``meeting_id`` started
    (``active``) or stopped recording at ``at``, on the fan-out topic."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    method: Literal["parley.room.recording"] = RECORDING_METHOD
    meeting_id: str
    sid: str
    user_id: str
    display_name: str
    active: bool
    at: datetime


class Recordings:
    """The room's recorders as every replica has them."""

    def __init__(self, relay: RoomRelay) -> None:
        self._relay = relay
        self._recorders: RoomEntries[Recorder] = RoomEntries(relay.fanout.directory)
        relay.fanout.room_handlers[RECORDING_METHOD] = self._on_recording

    def routes(self) -> dict[str, tuple[type[BaseModel], Action]]:
        """The client events this module serves, for :func:`parley_signaling.api.socket_events.register`."""
        return {"recording": (RecordingRequest, self.recording)}

    def with_recordings(self, ack: JoinAck) -> JoinAck:
        """A ``join`` acknowledgement with the room's recorders."""
        return ack.model_copy(update={"recordings": self._recorders.of(ack.meeting_id)})

    async def recording(self, sid: str, request: RecordingRequest) -> None:
        """The sender started or stopped recording. Errors: ``not_in_room``, ``rate_limited``,
        ``unavailable``."""
        socket, participant = self._relay.sender(sid, request.meeting_id)
        if self._recorders.holds(request.meeting_id, participant) == request.active:
            return
        peers = {entry.sid: entry for entry in self._relay.fanout.directory.peers(request.meeting_id)}
        name = peers[participant].display_name if participant in peers else socket.principal.display_name
        message = RecordingMessage(
            meeting_id=request.meeting_id,
            sid=participant,
            user_id=socket.principal.user_id,
            display_name=name,
            active=request.active,
            at=datetime.now(UTC),
        )
        await self._relay.publish(message, "the recording could not be announced")

    async def _on_recording(self, raw: dict[str, Any]) -> None:
        """A ``parley.room.recording`` read back from the topic (every replica): apply it, then
        ``recording`` to this replica's sockets of the room when it changed something."""
        message = read_room_message(RecordingMessage, raw)
        if message is None:
            return
        if message.active:
            recorder = Recorder(
                sid=message.sid, user_id=message.user_id, display_name=message.display_name, started_at=message.at
            )
            changed = self._recorders.put(message.meeting_id, message.sid, recorder)
        else:
            changed = self._recorders.remove(message.meeting_id, message.sid)
        if not changed:
            return
        event = RecordingEvent(
            meeting_id=message.meeting_id,
            sid=message.sid,
            active=message.active,
            recordings=self._recorders.of(message.meeting_id),
        )
        await self._relay.sio.emit("recording", dump(event), room=message.meeting_id, ignore_queue=True)
