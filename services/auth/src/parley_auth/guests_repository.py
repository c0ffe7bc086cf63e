"""MongoDB storage of the guest projection: collection ``guest_meetings``,
``{_id: meeting id, allow_guests, ended}`` (:mod:`parley_auth.domain.guests`). Both setters
are upserts of one field, so they commute: an ``ended`` is never undone by an ``allow_guests``."""

from pymongo.asynchronous.collection import AsyncCollection

from parley_auth.domain.guests import GuestMeeting
from parley_events import retry_write_conflicts

GUEST_MEETINGS = "guest_meetings"


class MongoGuestMeetingStore:
    """:class:`parley_auth.domain.guests.GuestMeetingStore` on ``guest_meetings``."""

    def __init__(self, collection: AsyncCollection) -> None:
        self.collection = collection

    @retry_write_conflicts
    async def set_allow_guests(self, meeting_id: str, allow_guests: bool) -> None:
        await self.collection.update_one({"_id": meeting_id}, {"$set": {"allow_guests": allow_guests}}, upsert=True)

    @retry_write_conflicts
    async def set_ended(self, meeting_id: str) -> None:
        await self.collection.update_one({"_id": meeting_id}, {"$set": {"ended": True}}, upsert=True)

    async def get(self, meeting_id: str) -> GuestMeeting | None:
        doc = await self.collection.find_one({"_id": meeting_id})
        if doc is None:
            return None
        return GuestMeeting(meeting_id=meeting_id, allow_guests=bool(doc.get("allow_guests")), ended=bool(doc.get("ended")))
