"""Private meeting notes: each participant's own text about a meeting.

Only the signed-in owner reads or writes their notes; nobody else's are ever reachable (the
owner is always the caller, never a parameter). The caller must be a participant of the
meeting (also after it ended). Notes are private: saving them publishes no event and
notifies no one — no outbox entry, nothing on Kafka, nothing relayed to the room.
"""

from parley_chat.domain.membership import MembershipChecker, require_participant
from parley_chat.domain.models import Notes, utc_now
from parley_chat.metrics import ChatMetrics
from parley_chat.repository import NotesRepository
from parley_security import Principal


class NotesService:
    """Read and save the caller's notes of a meeting."""

    def __init__(self, repository: NotesRepository, meetings: MembershipChecker, metrics: ChatMetrics) -> None:
        self._repo = repository
        self._meetings = meetings
        self._metrics = metrics

    async def read(self, meeting_id: str, principal: Principal) -> Notes:
        """The caller's notes; empty text and ``updated_at`` None before the first save.

        Raises :class:`~parley_chat.domain.errors.MeetingNotFound`,
        :class:`~parley_chat.domain.errors.NotAParticipant` or
        :class:`~parley_chat.domain.errors.MeetingsUnavailable`.
        """
        await require_participant(self._meetings, meeting_id, principal)
        stored = await self._repo.get(meeting_id, principal.user_id)
        return stored or Notes(meeting_id=meeting_id, owner_id=principal.user_id, text="", updated_at=None)

    async def save(self, meeting_id: str, principal: Principal, text: str) -> Notes:
        """Replace the caller's notes with ``text`` (already validated: at most
        :data:`~parley_chat.domain.models.MAX_NOTES_CHARS` characters; ``""`` clears them) and
        stamp ``updated_at`` (UTC, milliseconds). Two saves racing: the last one wins.

        Raises the errors of :meth:`read`; nothing is stored then.
        """
        await require_participant(self._meetings, meeting_id, principal)
        notes = Notes(meeting_id=meeting_id, owner_id=principal.user_id, text=text, updated_at=utc_now())
        await self._repo.put(notes)
        self._metrics.notes_saved.inc()
        return notes
