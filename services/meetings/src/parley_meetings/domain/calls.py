"""The direct-call use cases (docs/http-api.md, "Calls"). Routes call these; these call the
repositories (one hop). Every state change is one conditional write of the call document with
its ``call.*`` event in the same write's outbox; the relay is woken with ``notify`` after.

Placing a call takes the callee's line, then the caller's (``call_lines``,
:mod:`parley_meetings.call_repository`): two callers of one callee on different replicas
cannot both ring it. Accepting creates the call's private room: a meeting (id ``room_id``,
hosted by the caller, both users participants, ``call_id`` set) that both join through the
meeting room path (signaling's membership projection learns it from ``meeting.created`` /
``meeting.joined``). Ending the call ends that meeting.

An accepted call also ends when its room empties (:meth:`Calls.room_emptied`), once both have
been in it; until then each has the arrival timeout from the answer to get there: the
callee's page may still be on its way in when the caller leaves, and a room nobody ever
enters holds nobody's line for ever (``empty_deadline``, swept as the ring deadline is).
"""

import logging
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from parley_events import (
    CallAccepted,
    CallCancelled,
    CallDeclined,
    CallEnded,
    CallEscalated,
    CallEvent,
    CallMissed,
    CallRinging,
    MeetingCreated,
    MeetingEnded,
    MeetingJoined,
    ReceivedEvent,
    outbox_entry,
)
from parley_events.contact_pairs import ContactPairs
from parley_events.inbox import ProcessedEvents
from parley_meetings.call_repository import CallRepository
from parley_meetings.domain.call_models import Call
from parley_meetings.domain.call_states import LIVE_STATES, Action, Party, next_state
from parley_meetings.domain.errors import CalleeBusy, CallerBusy, CallNotFound, CallStateConflict, CannotCallSelf, NotAContact
from parley_meetings.domain.ids import new_meeting_id
from parley_meetings.domain.models import Meeting, Participant, utc_now
from parley_meetings.repository import MeetingRepository

#: CloudEvents ``source`` of every event meetings publishes.
EVENT_SOURCE = "/parley/meetings"

log = logging.getLogger(__name__)

#: The event each state change publishes.
EVENT_OF: dict[str, type[CallEvent]] = {
    "accepted": CallAccepted,
    "declined": CallDeclined,
    "missed": CallMissed,
    "cancelled": CallCancelled,
    "ended": CallEnded,
    "escalated": CallEscalated,
}
#: The field naming who made each move that has one.
ACTOR_FIELD: dict[str, str] = {"ended": "ended_by", "escalated": "escalated_by"}


def new_call_id() -> str:
    """A fresh call id: 16 URL-safe characters from ``secrets`` (96 bits)."""
    return secrets.token_urlsafe(12)


class Calls:
    """Place, answer, hang up and list direct calls; expire unanswered ones; keep the contact
    projection from auth's events."""

    def __init__(
        self,
        repository: CallRepository,
        meetings: MeetingRepository,
        processed: ProcessedEvents,
        notify: Callable[[], None] = lambda: None,
        *,
        forget_summary: Callable[[str], None] = lambda meeting_id: None,
        ring_timeout: timedelta = timedelta(seconds=30),
        arrival_timeout: timedelta = timedelta(seconds=30),
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._repo = repository
        self._meetings = meetings
        self.pairs = ContactPairs(repository.pairs, processed)
        self._notify = notify
        self._forget_summary = forget_summary
        self.ring_timeout = ring_timeout
        self.arrival_timeout = arrival_timeout
        self._clock = clock

    # placing -----------------------------------------------------------------------------
    async def place(self, *, caller_id: str, caller_name: str, callee_id: str) -> Call:
        """Ring ``callee_id`` and stage ``call.ringing``.

        Raises :class:`CannotCallSelf`; :class:`NotAContact` unless the two are accepted
        contacts and neither blocks the other (meetings' projection of ``parley.contacts``);
        :class:`CalleeBusy` (409 ``busy``) when the callee is in a ringing or accepted call;
        :class:`CallerBusy` (409 ``already_in_call``) when the caller is.
        """
        if caller_id == callee_id:
            raise CannotCallSelf("you cannot call yourself")
        if not await self.pairs.may_reach(caller_id, callee_id):
            raise NotAContact("you can only call your contacts")
        now = self._clock()
        call = Call(
            call_id=new_call_id(),
            caller_id=caller_id,
            caller_name=caller_name,
            callee_id=callee_id,
            room_id=new_meeting_id(),
            state="ringing",
            created_at=now,
            ring_deadline=now + self.ring_timeout,
        )
        if not await self._take_line(callee_id, call.call_id):
            raise CalleeBusy("the person you call is in another call")
        if not await self._take_line(caller_id, call.call_id):
            await self._repo.free_line(callee_id, call.call_id)
            raise CallerBusy("you are in another call: hang up first")
        event = CallRinging(**self._event_fields(call, now), ring_deadline=call.ring_deadline)
        await self._repo.insert(call, outbox_entry(event, source=EVENT_SOURCE))
        self._notify()
        return call

    async def _take_line(self, user_id: str, call_id: str) -> bool:
        """Take the user's line: free, or held by a call that is no longer live, or by one
        never stored whose placement began more than :data:`PLACING_GRACE` ago (it failed
        half-way; a younger one is being placed right now, on some replica)."""
        for _ in range(LINE_ATTEMPTS):
            now = self._clock()
            if await self._repo.take_free_line(user_id, call_id, now):
                return True
            holder = await self._repo.line_holder(user_id)
            if holder is None:
                continue  # freed meanwhile: try the insert again
            held_by, taken_at = holder
            held = await self._repo.get(held_by)
            if held is None and now - taken_at < PLACING_GRACE:
                return False
            if held is not None and held.state in LIVE_STATES:
                return False
            if await self._repo.take_over_line(user_id, held_by, call_id, now):
                return True
        return False

    # answering and hanging up ------------------------------------------------------------
    async def accept(self, call_id: str, *, user_id: str, display_name: str) -> Call:
        """The callee accepts a ringing call: its private room is created (idempotent), the
        call becomes ``accepted`` and ``call.accepted`` is staged. Accepting again answers the
        call as it is. Errors: see :meth:`_move`."""
        call = await self._party_call(call_id, user_id)
        if next_state(call.state, "accept", call.party_of(user_id)) is not None:  # type: ignore[arg-type]
            await self._create_room(call, display_name)
        return await self._apply(call, "accept", user_id, {"callee_name": display_name})

    async def decline(self, call_id: str, *, user_id: str) -> Call:
        """The callee declines a ringing call (``call.declined``)."""
        return await self._move(call_id, user_id, "decline")

    async def cancel(self, call_id: str, *, user_id: str) -> Call:
        """The caller hangs up while it rings (``call.cancelled``)."""
        return await self._move(call_id, user_id, "cancel")

    async def end(self, call_id: str, *, user_id: str) -> Call:
        """Either party hangs up an accepted call (``call.ended``); its room meeting ends
        (``meeting.ended``: signaling sends ``meeting-ended`` to both)."""
        call = await self._move(call_id, user_id, "end")
        await self._end_room(call, user_id)
        return call

    async def escalate(self, call_id: str, *, user_id: str) -> Call:
        """Either party turns an accepted call into a meeting, to invite more people
        (``call.escalated``): the call is over and frees both lines, while its room stays as an
        ordinary meeting (hosted by the caller, its chat kept) that anyone with its link joins,
        listed with the user's meetings. Idempotent (a retry also finishes a half-done one).
        Errors: see :meth:`_move`.

        The room opens before the call moves: the move stages ``call.escalated``, and whoever
        hears it ("Add people") may send the link at once, so a join must never find the room
        still private. If the call ends in between (:meth:`end` ends its room too), the move is
        refused and the room becomes the call's private room again: an ended call's room is
        never listed among its parties' meetings."""
        call = await self._party_call(call_id, user_id)
        next_state(call.state, "escalate", call.party_of(user_id))  # type: ignore[arg-type]  # raises unless it may
        if await self._meetings.detach_call(call.room_id, call.call_id):
            self._forget_summary(call.room_id)
        try:
            return await self._apply(call, "escalate", user_id)
        except CallStateConflict:
            if await self._meetings.attach_call(call.room_id, call.call_id):
                self._forget_summary(call.room_id)
            raise

    async def expire_due(self) -> int:
        """Move every ringing call past its ``ring_deadline`` to ``missed`` (``call.missed``),
        and end every accepted call past its ``empty_deadline`` whose room is empty (as if the
        caller hung up; one with someone in its room loses the deadline, so that its room's
        emptying ends it, whatever the clock of the replica that sees it); how many this
        replica moved. Run by every replica's sweeper: the conditional write lets exactly one
        of them move each call."""
        moved = 0
        now = self._clock()
        for call in await self._repo.due(now):
            try:
                await self._apply(call, "timeout", None)
                moved += 1
            except CallStateConflict:
                pass  # answered, or another replica's sweeper came first
        for call in await self._repo.empty_due(now):
            if await self._someone_in_room(call.room_id):
                await self._repo.clear_empty_deadline(call.call_id)
                # An emptying between the look and the clear may have waited on the deadline
                # (on a replica whose clock is behind): look again, now that it is cleared.
                if await self._someone_in_room(call.room_id):
                    continue
            log.info("call %s: its room stayed empty past %s: ending it", call.call_id, call.empty_deadline)
            try:
                await self.end(call.call_id, user_id=call.caller_id)
                moved += 1
            except CallStateConflict:
                pass  # hung up, or another replica's sweeper came first
        return moved

    async def room_emptied(self, room_id: str, user_id: str, arrived: frozenset[str]) -> None:
        """The last socket left meeting ``room_id``'s room (``participant.left`` of
        ``user_id``; ``arrived``: the users who have been in it). Its accepted call ends, as if
        ``user_id`` hung up (nobody stays "busy" after closing the tab), once both parties
        have been in the room, or once its ``empty_deadline`` (the answer plus the arrival
        timeout) has passed: by this replica's clock, or by the sweep's, which clears it then.
        Until then it waits for the other, who may have accepted a moment ago and be on their
        way in: the sweep ends it at the deadline if the room is still empty
        (:meth:`expire_due`)."""
        call = await self._repo.by_room(room_id)
        if call is None or call.state != "accepted":
            return
        deadline = call.empty_deadline  # None once the sweep found it passed (and calls from before it)
        if not {call.caller_id, call.callee_id} <= arrived and deadline is not None and self._clock() < deadline:
            log.info("call %s: its room emptied before both were in it: waiting until %s", call.call_id, deadline)
            return
        try:
            await self.end(call.call_id, user_id=user_id if call.party_of(user_id) else call.caller_id)
        except CallStateConflict:
            pass

    async def _someone_in_room(self, room_id: str) -> bool:
        room = await self._meetings.roster_state(room_id)
        return room is not None and room.status == "active" and bool(room.roster)

    async def _move(self, call_id: str, user_id: str, action: Action, extra: dict | None = None) -> Call:
        """Apply ``action`` by ``user_id``. Raises :class:`CallNotFound` (also for a user who is
        not a party: they learn nothing), :class:`~parley_meetings.domain.errors.NotYourTurn`
        or :class:`CallStateConflict`."""
        call = await self._party_call(call_id, user_id)
        return await self._apply(call, action, user_id, extra)

    async def _apply(self, call: Call, action: Action, user_id: str | None, extra: dict | None = None) -> Call:
        for _ in range(MOVE_ATTEMPTS):
            party: Party = call.party_of(user_id) if user_id else "timeout"  # type: ignore[assignment]
            target = next_state(call.state, action, party)
            if target is None:
                return call
            now = self._clock()
            changes: dict = {"state": target, **(extra or {})}
            if target == "accepted":
                changes["answered_at"] = now
                changes["empty_deadline"] = now + self.arrival_timeout  # to get into the room
            else:
                changes["ended_at"] = now
                changes["ended_by"] = user_id
            moved = call.model_copy(update=changes)
            fields = self._event_fields(moved, now)
            actor = {ACTOR_FIELD[target]: user_id or ""} if target in ACTOR_FIELD else {}
            event = EVENT_OF[target](**fields, **actor)
            if await self._repo.move(call.call_id, call.state, changes, outbox_entry(event, source=EVENT_SOURCE)):
                self._notify()
                if target not in LIVE_STATES:
                    for user in (call.caller_id, call.callee_id):
                        await self._repo.free_line(user, call.call_id)
                return moved
            fresh = await self._repo.get(call.call_id)
            if fresh is None:
                raise CallNotFound("no such call")
            call = fresh
        raise RuntimeError(f"call {call.call_id!r} kept changing under {MOVE_ATTEMPTS} attempts")

    async def _party_call(self, call_id: str, user_id: str) -> Call:
        call = await self._repo.get(call_id)
        if call is None or call.party_of(user_id) is None:
            raise CallNotFound("no such call")
        return call

    async def _create_room(self, call: Call, callee_name: str) -> None:
        now = self._clock()
        room = Meeting(
            meeting_id=call.room_id,
            title=f"Call: {call.caller_name} and {callee_name}",
            host_id=call.caller_id,
            created_at=now,
            call_id=call.call_id,
            participants=(
                Participant(user_id=call.caller_id, display_name=call.caller_name, role="host", joined_at=now),
                Participant(user_id=call.callee_id, display_name=callee_name, role="participant", joined_at=now),
            ),
        )
        events = [
            MeetingCreated(meeting_id=room.meeting_id, host_id=call.caller_id, title=room.title, created_at=now),
            MeetingJoined(meeting_id=room.meeting_id, user_id=call.callee_id, display_name=callee_name, joined_at=now),
        ]
        await self._meetings.insert_if_absent(room, [outbox_entry(e, source=EVENT_SOURCE) for e in events])

    async def _end_room(self, call: Call, user_id: str) -> None:
        now = self._clock()
        event = MeetingEnded(meeting_id=call.room_id, ended_by=user_id, ended_at=now)
        if await self._meetings.end(call.room_id, call.caller_id, now, outbox_entry(event, source=EVENT_SOURCE)):
            self._forget_summary(call.room_id)
            self._notify()

    @staticmethod
    def _event_fields(call: Call, at: datetime) -> dict:
        return {
            "call_id": call.call_id,
            "caller_id": call.caller_id,
            "caller_name": call.caller_name,
            "callee_id": call.callee_id,
            "room_id": call.room_id,
            "state": call.state,
            "at": at,
        }

    # reading -----------------------------------------------------------------------------
    async def get(self, call_id: str, *, user_id: str) -> Call:
        """One of the user's calls; raises :class:`CallNotFound`."""
        return await self._party_call(call_id, user_id)

    async def of_user(self, user_id: str, limit: int) -> tuple[list[Call], list[Call]]:
        """The user's live calls (ringing or accepted) and their history (the others, newest
        first, at most ``limit``)."""
        calls = await self._repo.of_user(user_id, limit + LIVE_AT_MOST)
        live = [call for call in calls if call.state in LIVE_STATES]
        return live, [call for call in calls if call.state not in LIVE_STATES][:limit]

    # the contact projection --------------------------------------------------------------
    async def apply_contact_events(self, events: Sequence[ReceivedEvent]) -> int:
        """Apply auth's contact events in order, each once (deduplicated by event id); how many
        were applied. A failure raises (the batch comes again; applying again is harmless)."""
        return await self.pairs.apply(events)


#: How long a line may be held by a call not stored yet (being placed) before it counts as
#: left behind by a placement that failed half-way.
PLACING_GRACE = timedelta(seconds=30)
#: Attempts at taking a line that keeps changing hands under us.
LINE_ATTEMPTS = 5
#: Conditional-write attempts of one state change (each reads the call again).
MOVE_ATTEMPTS = 5
#: Live calls a user can have at once (two lines: one as caller or callee, stale ones aside).
LIVE_AT_MOST = 5
