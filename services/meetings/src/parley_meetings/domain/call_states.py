"""The direct call's state machine, pure (no I/O): which party may move a call from which state
to which (docs/http-api.md, "Calls").

::

    ringing --accept (callee)--> accepted --end (either)--> ended
                                 accepted --escalate (either)--> escalated (its room stays, as a meeting)
    ringing --decline (callee)--> declined
    ringing --cancel (caller)--> cancelled
    ringing --timeout (the sweeper, at ring_deadline)--> missed

A repeated action by the same party (accept of an accepted call, …) is harmless: it answers
"no change" so that a retried request gets the call as it is.
"""

from typing import Literal

from parley_events import CallState
from parley_meetings.domain.errors import CallStateConflict, NotYourTurn

Action = Literal["accept", "decline", "cancel", "end", "escalate", "timeout"]
#: Who acts: one of the call's two users, or the ring timeout.
Party = Literal["caller", "callee", "timeout"]

#: ``(state, action) -> (parties allowed, state after)``.
TRANSITIONS: dict[tuple[CallState, Action], tuple[frozenset[Party], CallState]] = {
    ("ringing", "accept"): (frozenset({"callee"}), "accepted"),
    ("ringing", "decline"): (frozenset({"callee"}), "declined"),
    ("ringing", "cancel"): (frozenset({"caller"}), "cancelled"),
    ("ringing", "timeout"): (frozenset({"timeout"}), "missed"),
    ("accepted", "end"): (frozenset({"caller", "callee"}), "ended"),
    ("accepted", "escalate"): (frozenset({"caller", "callee"}), "escalated"),
}

#: The states a call stays in while it holds both users' line (they are "busy").
LIVE_STATES: frozenset[CallState] = frozenset({"ringing", "accepted"})


def next_state(state: CallState, action: Action, party: Party) -> CallState | None:
    """The state after ``party`` does ``action`` to a call in ``state``; ``None`` when the
    call already is where that action leads (a repeat: nothing to write).

    Raises :class:`NotYourTurn` when the action is the other party's, and
    :class:`CallStateConflict` when the call's state does not allow it.
    """
    for (source, candidate), (parties, target) in TRANSITIONS.items():
        if candidate == action and party in parties and state == target and source != target:
            return None  # a repeat of the action that led here
    allowed = TRANSITIONS.get((state, action))
    if allowed is None:
        raise CallStateConflict(f"the call is {state}: it cannot be {_past(action)} now")
    parties, target = allowed
    if party not in parties:
        raise NotYourTurn(f"only the {' or '.join(sorted(parties))} can {action} this call")
    return target


def _past(action: Action) -> str:
    return {"accept": "accepted", "decline": "declined", "cancel": "cancelled", "end": "ended", "escalate": "escalated", "timeout": "missed"}[action]
