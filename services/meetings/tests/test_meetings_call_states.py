"""The direct call's state machine and the contact projection (pure functions, no I/O)."""

from datetime import UTC, datetime

import pytest

from parley_events import ContactAccepted, ContactDeclined, ContactInvited, ContactRemoved, UserBlocked, UserUnblocked
from parley_events.contact_pairs import ContactPair, contact_id_of, pair_after
from parley_meetings.domain.call_states import TRANSITIONS, next_state
from parley_meetings.domain.errors import CallStateConflict, NotYourTurn

STATES = ("ringing", "accepted", "declined", "missed", "cancelled", "ended", "escalated")
ACTIONS = ("accept", "decline", "cancel", "end", "escalate", "timeout")


@pytest.mark.parametrize(
    ("state", "action", "party", "after"),
    [
        ("ringing", "accept", "callee", "accepted"),
        ("ringing", "decline", "callee", "declined"),
        ("ringing", "cancel", "caller", "cancelled"),
        ("ringing", "timeout", "timeout", "missed"),
        ("accepted", "end", "caller", "ended"),
        ("accepted", "end", "callee", "ended"),
        ("accepted", "escalate", "caller", "escalated"),
        ("accepted", "escalate", "callee", "escalated"),
    ],
)
def test_each_allowed_transition(state, action, party, after) -> None:
    assert next_state(state, action, party) == after


@pytest.mark.parametrize(
    ("state", "action", "party"),
    [
        ("accepted", "accept", "callee"),
        ("declined", "decline", "callee"),
        ("cancelled", "cancel", "caller"),
        ("missed", "timeout", "timeout"),
        ("ended", "end", "caller"),
        ("ended", "end", "callee"),
        ("escalated", "escalate", "callee"),
    ],
)
def test_a_repeat_changes_nothing(state, action, party) -> None:
    assert next_state(state, action, party) is None


@pytest.mark.parametrize(
    ("action", "party"),
    [("accept", "caller"), ("decline", "caller"), ("cancel", "callee"), ("timeout", "caller")],
)
def test_the_other_party_is_refused(action, party) -> None:
    with pytest.raises(NotYourTurn):
        next_state("ringing", action, party)


def test_the_caller_cannot_accept_their_own_call_even_once_accepted() -> None:
    with pytest.raises(CallStateConflict):
        next_state("accepted", "accept", "caller")


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", ACTIONS)
def test_every_other_pair_is_a_state_conflict(state, action) -> None:
    """Outside the table (and its repeats), every action is refused with the call's state."""
    if (state, action) in TRANSITIONS:
        return
    repeats = {target for (source, a), (_, target) in TRANSITIONS.items() if a == action}
    if state in repeats:
        return
    with pytest.raises(CallStateConflict, match=state):
        next_state(state, action, "caller")


def test_the_terminal_states_allow_nothing_new() -> None:
    """A declined, missed or cancelled call cannot be accepted or ended; an ended or escalated one
    cannot ring again, and neither can be escalated or ended (an escalated call's room is a meeting now)."""
    for state in ("declined", "missed", "cancelled", "ended", "escalated"):
        for action, party in (("accept", "callee"), ("cancel", "caller"), ("decline", "callee"), ("end", "callee"), ("escalate", "caller")):
            if (state, action) in {("declined", "decline"), ("cancelled", "cancel"), ("ended", "end"), ("escalated", "escalate")}:
                continue  # repeats (test_a_repeat_changes_nothing)
            with pytest.raises(CallStateConflict):
                next_state(state, action, party)


AT = datetime(2030, 1, 1, tzinfo=UTC)
PAIR = contact_id_of("bob", "alice")


def event(cls, user_id: str, other: str):
    return cls(contact_id=PAIR, user_id=user_id, other_user_id=other, at=AT)


def test_contact_id_is_the_sorted_pair() -> None:
    assert contact_id_of("bob", "alice") == contact_id_of("alice", "bob") == "alice:bob"


def test_only_accepted_contacts_may_call() -> None:
    invited = pair_after(None, event(ContactInvited, "alice", "bob"))
    assert not invited.may_reach("alice", "bob")
    accepted = pair_after(invited, event(ContactAccepted, "bob", "alice"))
    assert accepted.may_reach("alice", "bob") and accepted.may_reach("bob", "alice")
    assert not pair_after(accepted, event(ContactRemoved, "alice", "bob")).may_reach("bob", "alice")
    assert not pair_after(invited, event(ContactDeclined, "bob", "alice")).may_reach("alice", "bob")


def test_a_block_ends_calls_both_ways_and_an_unblock_does_not_restore_the_contact() -> None:
    accepted = pair_after(None, event(ContactAccepted, "bob", "alice"))
    blocked = pair_after(accepted, event(UserBlocked, "bob", "alice"))
    assert blocked.blocked_by == ("bob",)
    assert not blocked.may_reach("alice", "bob") and not blocked.may_reach("bob", "alice")
    unblocked = pair_after(blocked, event(UserUnblocked, "bob", "alice"))
    assert unblocked == ContactPair(contact_id=PAIR, accepted=False, blocked_by=())
    # contacts again only after a new acceptance
    assert pair_after(unblocked, event(ContactAccepted, "alice", "bob")).may_reach("alice", "bob")


def test_applying_the_same_event_twice_gives_the_same_pair() -> None:
    once = pair_after(None, event(UserBlocked, "bob", "alice"))
    assert pair_after(once, event(UserBlocked, "bob", "alice")) == once
