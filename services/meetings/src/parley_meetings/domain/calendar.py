"""Calendar files (iCalendar, RFC 5545) of scheduled meetings, written with ``icalendar``.

- :func:`invitation`: one meeting as an iTIP message (RFC 5546): ``METHOD:REQUEST`` while it
  is on, ``METHOD:CANCEL`` (``STATUS:CANCELLED``) once cancelled. Its ``UID`` is the
  meeting's and never changes; its ``SEQUENCE`` is the meeting's ``sequence``, raised by each
  reschedule and by the cancellation (§3.8.7.4), so a calendar that imported an earlier copy
  replaces it.
- :func:`feed`: a user's upcoming meetings as a subscribable calendar (``METHOD:PUBLISH``).

Times: ``DTSTART``/``DTEND`` in the meeting's time zone with its ``VTIMEZONE``
(``TZID`` = the IANA name), ``DTSTAMP`` in UTC. The invite link is the event's ``URL`` and
``LOCATION`` and is repeated in its ``DESCRIPTION`` (some calendars show only that).
"""

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress

from parley_meetings.domain.models import Meeting

#: ``PRODID`` of every calendar Parley writes.
PRODID = "-//Parley//Meetings//EN"
#: MIME type of the answers (RFC 5545 §8.1).
CONTENT_TYPE = "text/calendar; charset=utf-8"


def uid_of(meeting_id: str, public_base_url: str) -> str:
    """The event's ``UID``: the meeting id at the deployment's host name (stable forever)."""
    return f"{meeting_id}@{urlsplit(public_base_url).hostname or 'parley'}"


def invitation(meeting: Meeting, *, invite_url: str, public_base_url: str, now: datetime) -> bytes:
    """The meeting's invitation (``REQUEST``, or ``CANCEL`` once cancelled) as RFC 5545 text.

    ``meeting`` must be scheduled (``ValueError`` otherwise); ``now`` is the ``DTSTAMP``.
    """
    cancelled = meeting.end_reason == "cancelled"
    calendar = _calendar("CANCEL" if cancelled else "REQUEST")
    calendar.add_component(_event(meeting, invite_url, public_base_url, now))
    return _finish(calendar, [meeting])


def feed(meetings: Iterable[tuple[Meeting, str]], *, public_base_url: str, now: datetime, name: str) -> bytes:
    """A calendar (``PUBLISH``, ``X-WR-CALNAME`` ``name``) of ``(meeting, invite_url)`` pairs,
    every meeting scheduled."""
    calendar = _calendar("PUBLISH")
    calendar.add("x-wr-calname", name)
    listed = []
    for meeting, invite_url in meetings:
        calendar.add_component(_event(meeting, invite_url, public_base_url, now))
        listed.append(meeting)
    return _finish(calendar, listed)


def _calendar(method: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    return calendar


def _event(meeting: Meeting, invite_url: str, public_base_url: str, now: datetime) -> Event:
    schedule = meeting.schedule
    if schedule is None:
        raise ValueError(f"meeting {meeting.meeting_id} is not scheduled")
    zone = ZoneInfo(schedule.time_zone)
    event = Event()
    event.add("uid", uid_of(meeting.meeting_id, public_base_url))
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", now)
    event.add("dtstart", schedule.start.astimezone(zone))
    event.add("dtend", schedule.end.astimezone(zone))
    event.add("summary", meeting.title)
    event.add("url", invite_url)
    event.add("location", invite_url)
    event.add("description", f"Join the meeting: {invite_url}")
    event.add("status", "CANCELLED" if meeting.end_reason == "cancelled" else "CONFIRMED")
    host_name = next((p.display_name for p in meeting.participants if p.role == "host"), None)
    organizer = vCalAddress(f"urn:parley:user:{meeting.host_id}")
    if host_name:
        organizer.params["cn"] = host_name
    event.add("organizer", organizer)
    return event


def _finish(calendar: Calendar, meetings: list[Meeting]) -> bytes:
    """The calendar with a ``VTIMEZONE`` for each zone used, covering its events' years."""
    starts = [m.scheduled_start for m in meetings if m.scheduled_start is not None]
    if starts:
        first = min(starts).date() - timedelta(days=366)
        last = max(starts).date() + timedelta(days=366)
        calendar.add_missing_timezones(first_date=max(first, date(1970, 1, 1)), last_date=last)
    return calendar.to_ical()
