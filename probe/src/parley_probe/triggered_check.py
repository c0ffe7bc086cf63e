"""aioice's triggered check on a pair whose own check is in progress (RFC 8445 §7.3.1.4).

aioice 0.13.0 (the newest on PyPI) answers a connectivity check that arrives on a candidate
pair whose own check is still In-Progress, but does nothing more for the pair: its request,
if lost, goes out again only at the STUN retransmission timer (500 ms, RFC 8489 §6.2.1).
Relay-only, that loss happens on every call: the answerer starts checking as soon as it has
the offer, its first check reaches the offerer's TURN allocation before the offerer (which
has no answer yet) has installed a permission for it, and coturn drops it (RFC 8656 §9). The
answerer's pair then only succeeded on the first retransmission, ~500 ms later.

RFC 8445 §7.3.1.4 says that on such a check the agent cancels the In-Progress transaction
(no more retransmissions and no failure for silence, but it waits the transaction timeout
for a response) and MUST send a new check for the pair. ``install()`` makes aioice send the
pair's in-progress request again at once, in its still open transaction, exactly as the
upstream patch in docs/upstream/ does (see aioice-triggered-check.md there for why the same
transaction): ``Connection.build_request`` remembers each check's request on its pair, and
``Connection.check_incoming`` first re-sends the request of the pair the incoming check
belongs to when that pair is In-Progress, then runs aioice's own handling.

The override is written against aioice's internals of the versions in ``UNFIXED``
(probe/pyproject.toml pins aioice to them). On any other version ``install()`` leaves aioice
alone and logs a warning; probe/tests/test_triggered_check.py then shows whether that
version still needs it. Delete this module once a released aioice contains the fix.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import aioice
from aioice import ice, stun

logger = logging.getLogger(__name__)

#: aioice releases known to lack the triggered check on an In-Progress pair.
UNFIXED = frozenset({"0.13.0"})

_MARK = "_parley_triggered_check"


def _in_progress_pair(
    connection: ice.Connection, addr: tuple[str, int], protocol: ice.StunProtocol
) -> ice.CandidatePair | None:
    """The check-list pair of ``protocol``'s local candidate and the remote candidate at
    ``addr`` if its check is In-Progress, else None (aioice 0.13.0's lookup in
    ``check_incoming``: a new peer-reflexive candidate has no pair yet)."""
    for candidate in connection._remote_candidates:
        if candidate._network_host == addr[0] and candidate.port == addr[1]:
            pair = connection._find_pair(protocol, candidate)
            if pair is not None and pair.state == ice.CandidatePair.State.IN_PROGRESS:
                return pair
            return None
    return None


def _build_request(original: Any):
    @functools.wraps(original)
    def build_request(
        self: ice.Connection, pair: ice.CandidatePair, nominate: bool
    ) -> stun.Message:
        request = original(self, pair, nominate)
        pair.request = request  # the check in flight (aioice then adds its integrity)
        return request

    return build_request


def _check_incoming(original: Any):
    @functools.wraps(original)
    def check_incoming(
        self: ice.Connection,
        message: stun.Message,
        addr: tuple[str, int],
        protocol: ice.StunProtocol,
    ) -> None:
        # Triggered check (RFC 8445 section 7.3.1.4). For a pair in progress, send its
        # request again now instead of at the retransmission timer: its transaction stays
        # open, so a response to either copy counts.
        pair = _in_progress_pair(self, addr, protocol)
        request = getattr(pair, "request", None)
        if (
            pair is not None
            and request is not None
            and request.transaction_id in pair.protocol.transactions
        ):
            pair.protocol.send_stun(request, pair.remote_addr)
        original(self, message, addr, protocol)

    setattr(check_incoming, _MARK, True)
    return check_incoming


def installed() -> bool:
    """Whether aioice's ``Connection`` carries the override (the originals stay reachable as
    the ``__wrapped__`` of ``check_incoming`` and ``build_request``)."""
    return getattr(ice.Connection.check_incoming, _MARK, False)


def install() -> bool:
    """Give aioice the triggered check on an In-Progress pair; idempotent.

    Returns True when the override is in place (now or already), False when the installed
    aioice is not one of ``UNFIXED`` (then aioice is left untouched and a warning logged).
    """
    if installed():
        return True
    if aioice.__version__ not in UNFIXED:
        logger.warning(
            "aioice %s is not one of %s: its triggered check on an in-progress pair is left "
            "as it is (see parley_probe.triggered_check)",
            aioice.__version__,
            ", ".join(sorted(UNFIXED)),
        )
        return False
    ice.Connection.build_request = _build_request(ice.Connection.build_request)
    ice.Connection.check_incoming = _check_incoming(ice.Connection.check_incoming)
    return True
