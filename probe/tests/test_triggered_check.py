"""The triggered check on an In-Progress pair (RFC 8445 §7.3.1.4) that parley_probe gives aioice.

The case the probe meets on every call, through the Debian coturn of the ``turn_server``
fixture: two aioice connections, relay-only. The answerer (controlled) checks first, before
the offerer has a TURN permission for it, so coturn drops that check (RFC 8656 §9). STUN
retransmissions are turned off, so the answerer's pair can only succeed through the
triggered check it sends when the offerer's check arrives. The same call with aioice's own
``check_incoming`` is run beside it: there the answerer's check list fails.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from aioice import Candidate, TransportPolicy, ice, stun

from parley_probe import triggered_check


@dataclass
class Call:
    """What one relay-only call showed: each side's ``connect()`` outcome (None or the
    exception), its nominated pair's candidate types, and the answerer's Binding requests as
    sent (messages) and as the offerer received them (transaction ids)."""

    outcomes: list[BaseException | None] = field(default_factory=list)
    nominated: list[tuple[str, str] | None] = field(default_factory=list)
    sent: list[stun.Message] = field(default_factory=list)
    received: list[bytes] = field(default_factory=list)


def _relay_only(turn_server, user_id: str, *, controlling: bool) -> ice.Connection:
    credentials = turn_server.credentials(user_id)["iceServers"]
    turn = next(entry for entry in credentials if "username" in entry)
    return ice.Connection(
        ice_controlling=controlling,
        turn_server=(turn_server.host, turn_server.port),
        turn_username=turn["username"],
        turn_password=turn["credential"],
        turn_transport="udp",
        transport_policy=TransportPolicy.RELAY,
    )


async def _exchange(conn_a: ice.Connection, conn_b: ice.Connection) -> None:
    """Offer/answer: both gather, learn the other's candidates, end-of-candidates, credentials."""
    await asyncio.gather(conn_a.gather_candidates(), conn_b.gather_candidates())
    for me, other in ((conn_a, conn_b), (conn_b, conn_a)):
        for candidate in other.local_candidates:
            await me.add_remote_candidate(candidate)
        await me.add_remote_candidate(None)
        me.remote_username, me.remote_password = other.local_username, other.local_password


def _spy(monkeypatch: pytest.MonkeyPatch, call: Call, answerer, offerer) -> None:
    send_stun = ice.StunProtocol.send_stun
    request_received = offerer.request_received

    def sending(protocol: ice.StunProtocol, message: stun.Message, addr) -> None:
        if protocol.receiver is answerer and message.message_class == stun.Class.REQUEST:
            call.sent.append(message)
        send_stun(protocol, message, addr)

    def receiving(message: stun.Message, addr, protocol) -> None:
        call.received.append(message.transaction_id)
        request_received(message, addr, protocol)

    monkeypatch.setattr(ice.StunProtocol, "send_stun", sending)
    monkeypatch.setattr(offerer, "request_received", receiving)


async def _first_check_relayed(answerer: ice.Connection, to: Candidate) -> None:
    """Wait until the answerer's TURN client has bound a channel to ``to``: its first check has
    then left for coturn (aioice sends it right after the ChannelBind success)."""
    (protocol,) = answerer._protocols
    client = protocol.transport._TurnTransport__inner_protocol  # aioice's TurnClientProtocol
    async with asyncio.timeout(10):
        while (to.host, to.port) not in client.peer_to_channel:
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)  # coturn handles (drops) it before the offerer's first permission


async def _call_with_dropped_first_check(turn_server, monkeypatch) -> Call:
    call = Call()
    offerer = _relay_only(turn_server, "offerer", controlling=True)
    answerer = _relay_only(turn_server, "answerer", controlling=False)
    try:
        await _exchange(offerer, answerer)
        # Set after the TURN allocations: one request per STUN transaction, never repeated.
        monkeypatch.setattr(stun, "RETRY_MAX", 0)
        monkeypatch.setattr(stun, "RETRY_RTO", 5.0)
        _spy(monkeypatch, call, answerer=answerer, offerer=offerer)
        answering = asyncio.create_task(answerer.connect())
        await _first_check_relayed(answerer, offerer.local_candidates[0])
        call.outcomes = await asyncio.wait_for(
            asyncio.gather(offerer.connect(), answering, return_exceptions=True), 60
        )
        for connection in (offerer, answerer):
            pair = connection._nominated.get(1)
            call.nominated.append(
                None if pair is None else (pair.local_candidate.type, pair.remote_candidate.type)
            )
    finally:
        await asyncio.gather(offerer.close(), answerer.close())
    return call


async def test_a_check_dropped_by_coturn_is_recovered_by_a_triggered_check(
    turn_server, monkeypatch
) -> None:
    assert triggered_check.install()
    call = await _call_with_dropped_first_check(turn_server, monkeypatch)

    assert call.outcomes == [None, None], f"ICE did not complete on both sides: {call.outcomes}"
    assert call.nominated == [("relay", "relay"), ("relay", "relay")]
    # coturn dropped the answerer's first check: the offerer had no permission yet.
    first = call.sent[0].transaction_id
    assert call.received.count(first) == 1
    # The offerer's check made the answerer send its check again at once (the same open
    # transaction, no retransmission timer involved), and that copy got through.
    assert [m.transaction_id for m in call.sent] == [first, first]
    assert call.received[-1] == first


async def test_aioice_alone_waits_for_a_retransmission_after_the_dropped_check(
    turn_server, monkeypatch
) -> None:
    """The same call with aioice 0.13.0's own check_incoming (the override's ``__wrapped__``):
    no triggered check, so with no retransmission the answerer's check list fails. This is
    the 500 ms wait the override removes from every relay-only call; should a new aioice fix
    it, this test fails and triggered_check.py can go."""
    triggered_check.install()
    original: Callable = ice.Connection.check_incoming.__wrapped__  # type: ignore[attr-defined]
    monkeypatch.setattr(ice.Connection, "check_incoming", original)
    call = await _call_with_dropped_first_check(turn_server, monkeypatch)

    assert call.outcomes[0] is None  # the offerer's own (nominating) check succeeded
    assert isinstance(call.outcomes[1], ConnectionError)
    first = call.sent[0].transaction_id
    # The dropped check was never sent again in its transaction. (On a machine slow enough for
    # the offerer's check to come after that transaction timed out, aioice's own triggered
    # check on the then Failed pair is a new transaction, which fails the call all the same.)
    assert [m.transaction_id for m in call.sent].count(first) == 1
    assert first not in call.received
