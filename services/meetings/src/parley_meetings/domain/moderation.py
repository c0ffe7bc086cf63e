"""The lobby and the host's remedies: who waits, who is admitted, denied or removed, and who is a
co-host (docs/http-api.md, "Lobby and moderation").

Rights: the host and the co-hosts admit and deny from the lobby and remove participants; a
co-host removes neither the host nor another co-host; only the host makes or unmakes co-hosts
(and ends the meeting for everyone, :meth:`Meetings.end`). A guest cannot be a co-host (a
guest token reaches only the join and membership routes).

Each change is one compare-and-set write of the meeting's members
(:meth:`MeetingRepository.change_members`) with its event staged in the same write; a write
that lost a race reads the meeting again and decides again. Someone removed or denied is
*barred*: their joins of the meeting are refused from then on (403 ``removed_from_meeting``,
``lobby_denied``).
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from parley_events import (
    EventData,
    LobbyAdmitted,
    LobbyDenied,
    LobbyLeft,
    LobbyWaiting,
    MeetingRoleChanged,
    ParticipantRemoved,
    outbox_entry,
)
from parley_meetings.domain.errors import (
    CannotModerate,
    LobbyDenied as Denied,
    MeetingHasEnded,
    MeetingNotFound,
    NotAModerator,
    NotHost,
    NotWaiting,
    ParticipantNotFound,
    RemovedFromMeeting,
)
from parley_meetings.domain.models import Barred, JoinStatus, LobbyEntry, Meeting, Participant, Role
from parley_meetings.repository import MeetingRepository
from parley_security import is_guest_id

#: CloudEvents ``source`` of the events (meetings').
EVENT_SOURCE = "/parley/meetings"
#: compare-and-set attempts of one change (each reads the meeting again)
WRITE_ATTEMPTS = 10

#: A decision on the meeting as read: the member fields to write and the event to stage, or
#: ``None`` when there is nothing to do.
Decision = tuple[dict[str, Any], EventData] | None


def refuse_barred(meeting: Meeting, user_id: str) -> None:
    """Raise :class:`RemovedFromMeeting` or :class:`LobbyDenied` when ``user_id`` is barred."""
    barred = meeting.barred_entry(user_id)
    if barred is None:
        return
    if barred.reason == "removed":
        raise RemovedFromMeeting("the host removed you from this meeting: you cannot join it again")
    raise Denied("the host did not let you in to this meeting")


def standing_in(meeting: Meeting, user_id: str) -> tuple[Role, JoinStatus] | None:
    """``user_id``'s place in ``meeting`` as read: a participant (their role, ``joined``), in
    the lobby (``participant``, ``waiting``), or ``None`` (neither). Raises
    :class:`RemovedFromMeeting` or :class:`LobbyDenied` when they are barred."""
    role = meeting.role_of(user_id)
    if role is not None:
        return role, "joined"
    if meeting.waiting(user_id) is not None:
        return "participant", "waiting"
    refuse_barred(meeting, user_id)
    return None


class Moderation:
    """The lobby, co-hosts and removal of one meetings replica."""

    def __init__(
        self,
        repository: MeetingRepository,
        *,
        clock: Callable[[], datetime],
        notify: Callable[[], None],
        forget_summary: Callable[[str], None],
    ) -> None:
        self._repo = repository
        self._clock = clock
        self._notify = notify
        self._forget = forget_summary

    # --- the waiting person ---------------------------------------------------------------

    async def knock(self, meeting: Meeting, *, user_id: str, display_name: str, guest: bool) -> bool:
        """Put ``user_id`` in the lobby of ``meeting`` (in ``lobby`` mode, as read) and stage
        ``lobby.waiting``. False when the meeting changed since it was read (read it again)."""
        entry = LobbyEntry(user_id=user_id, display_name=display_name, guest=guest, requested_at=self._clock())
        event = LobbyWaiting(
            meeting_id=meeting.meeting_id,
            user_id=user_id,
            display_name=display_name,
            guest=guest,
            requested_at=entry.requested_at,
        )
        written = await self._repo.change_members(
            meeting, {"lobby": [*meeting.lobby, entry]}, outbox_entry(event, source=EVENT_SOURCE)
        )
        if written:
            self._notify()
        return written

    async def withdraw(self, meeting_id: str, *, user_id: str) -> None:
        """``user_id`` stops waiting (``lobby.left``); nothing when they do not wait."""

        def decide(meeting: Meeting) -> Decision:
            entry = meeting.waiting(user_id)
            if entry is None:
                return None
            event = LobbyLeft(
                meeting_id=meeting_id, user_id=user_id, display_name=entry.display_name, left_at=self._clock()
            )
            return {"lobby": _without(meeting.lobby, user_id)}, event

        await self._change(meeting_id, decide)

    async def standing(self, meeting_id: str, *, user_id: str) -> tuple[Meeting, Role, JoinStatus]:
        """Where ``user_id`` stands, changing nothing: a participant (``joined``, with their
        role) or ``waiting`` (the role an admission gives). Unlike ``POST /join`` it never
        knocks, so a read still in flight when its page withdraws cannot put the person back
        in the lobby. Raises :class:`MeetingNotFound`, :class:`MeetingHasEnded`,
        :class:`RemovedFromMeeting` / :class:`LobbyDenied`, and :class:`NotWaiting` when they
        are neither (they withdrew, or never asked)."""
        meeting = await self._get(meeting_id)
        place = standing_in(meeting, user_id)
        if place is None:
            raise NotWaiting("you do not wait in this meeting's lobby: ask to join it again")
        return meeting, *place

    # --- the host and co-hosts ------------------------------------------------------------

    async def waiting(self, meeting_id: str, *, by: str) -> Meeting:
        """The meeting with its lobby, for its host and co-hosts (:class:`NotAModerator`)."""
        meeting = await self._get(meeting_id)
        _moderator(meeting, by)
        return meeting

    async def admit(self, meeting_id: str, *, by: str, user_id: str) -> None:
        """Admit ``user_id`` from the lobby: a participant now (``lobby.admitted``). Raises
        :class:`NotAModerator`, :class:`NotWaiting`."""

        def decide(meeting: Meeting) -> Decision:
            entry = _decidable(meeting, by, user_id)
            return self._admission(meeting, entry, by)

        await self._change(meeting_id, decide)

    async def admit_all(self, meeting_id: str, *, by: str) -> int:
        """Admit everyone who waits, one after the other; how many were admitted."""
        admitted = 0
        meeting = await self.waiting(meeting_id, by=by)
        for entry in meeting.lobby:
            try:
                await self.admit(meeting_id, by=by, user_id=entry.user_id)
            except NotWaiting:  # decided or gone meanwhile
                continue
            admitted += 1
        return admitted

    async def deny(self, meeting_id: str, *, by: str, user_id: str) -> None:
        """Deny ``user_id`` from the lobby: barred from the meeting (``lobby.denied``). Raises
        :class:`NotAModerator`, :class:`NotWaiting`."""

        def decide(meeting: Meeting) -> Decision:
            entry = _decidable(meeting, by, user_id)
            now = self._clock()
            barred = Barred(user_id=user_id, display_name=entry.display_name, reason="denied", by=by, at=now)
            event = LobbyDenied(
                meeting_id=meeting_id, user_id=user_id, display_name=entry.display_name, decided_by=by, decided_at=now
            )
            return {"lobby": _without(meeting.lobby, user_id), "barred": [*meeting.barred, barred]}, event

        await self._change(meeting_id, decide)

    async def set_role(self, meeting_id: str, *, by: str, user_id: str, role: Literal["cohost", "participant"]) -> None:
        """Make participant ``user_id`` a co-host or a participant again (the host only;
        ``meeting.role_changed``). Raises :class:`NotHost`, :class:`ParticipantNotFound`,
        :class:`CannotModerate`; a role the participant has already changes nothing."""

        def decide(meeting: Meeting) -> Decision:
            if meeting.host_id != by:
                raise NotHost("only the host makes or unmakes co-hosts")
            if user_id == meeting.host_id:
                raise CannotModerate("the host is the host: a co-host is someone else")
            if meeting.participant(user_id) is None:
                raise ParticipantNotFound("no participant of this meeting has this id")
            if role == "cohost" and is_guest_id(user_id):
                raise CannotModerate("a guest cannot be a co-host")
            cohosts = tuple(c for c in meeting.cohost_ids if c != user_id)
            if role == "cohost":
                cohosts = (*cohosts, user_id)
            if cohosts == meeting.cohost_ids:
                return None
            event = MeetingRoleChanged(
                meeting_id=meeting_id, user_id=user_id, role=role, changed_by=by, changed_at=self._clock()
            )
            return {"cohost_ids": list(cohosts)}, event

        await self._change(meeting_id, decide)

    async def remove(self, meeting_id: str, *, by: str, by_name: str, user_id: str) -> None:
        """Remove participant ``user_id``: no participant (nor co-host) any more, barred from
        the meeting (``meeting.participant_removed``; signaling takes their sockets out of the
        room). Raises :class:`NotAModerator`, :class:`ParticipantNotFound`, :class:`CannotModerate`."""

        def decide(meeting: Meeting) -> Decision:
            role = _moderator(meeting, by)
            target = meeting.participant(user_id)
            if target is None:
                raise ParticipantNotFound("no participant of this meeting has this id")
            if user_id == by:
                raise CannotModerate("you cannot remove yourself: leave the meeting instead")
            if user_id == meeting.host_id:
                raise CannotModerate("nobody removes the host")
            if role == "cohost" and user_id in meeting.cohost_ids:
                raise CannotModerate("only the host removes a co-host")
            now = self._clock()
            barred = Barred(user_id=user_id, display_name=target.display_name, reason="removed", by=by, at=now)
            event = ParticipantRemoved(
                meeting_id=meeting_id,
                user_id=user_id,
                display_name=target.display_name,
                removed_by=by,
                removed_by_name=by_name,
                removed_at=now,
            )
            changes = {
                "participants": [p for p in meeting.participants if p.user_id != user_id],
                "cohost_ids": [c for c in meeting.cohost_ids if c != user_id],
                "barred": [*meeting.barred, barred],
            }
            return changes, event

        await self._change(meeting_id, decide)

    # --- helpers ------------------------------------------------------------------------

    def _admission(self, meeting: Meeting, entry: LobbyEntry, by: str) -> Decision:
        now = self._clock()
        participant = Participant(user_id=entry.user_id, display_name=entry.display_name, role="participant", joined_at=now)
        event = LobbyAdmitted(
            meeting_id=meeting.meeting_id,
            user_id=entry.user_id,
            display_name=entry.display_name,
            decided_by=by,
            decided_at=now,
        )
        changes = {"lobby": _without(meeting.lobby, entry.user_id), "participants": [*meeting.participants, participant]}
        return changes, event

    async def _get(self, meeting_id: str) -> Meeting:
        meeting = await self._repo.get(meeting_id)
        if meeting is None:
            raise MeetingNotFound(f"no meeting {meeting_id!r}")
        if meeting.status != "active":
            raise MeetingHasEnded("the meeting has ended")
        return meeting

    async def _change(self, meeting_id: str, decide: Callable[[Meeting], Decision]) -> None:
        """Write ``decide(meeting)`` as one compare-and-set; on a lost race, read and decide
        again. ``decide`` may raise to refuse, or answer ``None`` (nothing to do)."""
        for _ in range(WRITE_ATTEMPTS):
            meeting = await self._get(meeting_id)
            decision = decide(meeting)
            if decision is None:
                return
            changes, event = decision
            if await self._repo.change_members(meeting, changes, outbox_entry(event, source=EVENT_SOURCE)):
                self._forget(meeting_id)
                self._notify()
                return
        raise RuntimeError(f"the members of meeting {meeting_id!r} kept changing under {WRITE_ATTEMPTS} attempts")


def _moderator(meeting: Meeting, user_id: str) -> str:
    """The role of ``user_id`` if they are the host or a co-host; else :class:`NotAModerator`."""
    role = meeting.role_of(user_id)
    if role not in ("host", "cohost"):
        raise NotAModerator("only the host or a co-host may do this")
    return role


def _decidable(meeting: Meeting, by: str, user_id: str) -> LobbyEntry:
    """The lobby entry of ``user_id``, which ``by`` may decide on: :class:`NotAModerator` unless
    ``by`` is the host or a co-host, :class:`NotWaiting` unless ``user_id`` waits."""
    _moderator(meeting, by)
    entry = meeting.waiting(user_id)
    if entry is None:
        raise NotWaiting("nobody with this id waits in the lobby")
    return entry


def _without(lobby: tuple[LobbyEntry, ...], user_id: str) -> list[LobbyEntry]:
    return [entry for entry in lobby if entry.user_id != user_id]
