"""How one of auth's contact events changes meetings' view of a pair (pure: no I/O).

``contact.accepted`` makes the pair contacts; ``contact.removed`` ends it; ``user.blocked``
ends it and records the blocker; ``user.unblocked`` lifts that user's block (they are not
contacts again); ``contact.invited`` and ``contact.declined`` change nothing callable.
"""

from parley_events import ContactAccepted, ContactEvent, ContactRemoved, UserBlocked, UserUnblocked
from parley_meetings.domain.call_models import ContactPair


def pair_after(pair: ContactPair | None, event: ContactEvent) -> ContactPair:
    """``pair`` (``None``: never seen) after ``event``."""
    current = pair or ContactPair(contact_id=event.contact_id)
    blocked = set(current.blocked_by)
    accepted = current.accepted
    if isinstance(event, ContactAccepted):
        accepted = True
    elif isinstance(event, ContactRemoved):
        accepted = False
    elif isinstance(event, UserBlocked):
        accepted = False
        blocked.add(event.user_id)
    elif isinstance(event, UserUnblocked):
        blocked.discard(event.user_id)
    return ContactPair(contact_id=current.contact_id, accepted=accepted, blocked_by=tuple(sorted(blocked)))
