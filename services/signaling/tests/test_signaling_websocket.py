"""How a replica serves a WebSocket (``parley_signaling.transport``): packets are written as
they are sent, through a :class:`~parley_signaling.transport.DirectQueue`, instead of through
python-engineio's queue and writer task. The wire protocol is unchanged: events and their
acknowledgements arrive complete and in order, over a WebSocket opened directly and over one
upgraded from long-polling (the official clients' default).
"""

from __future__ import annotations

import asyncio

import pytest
from engineio import packet

from parley_signaling.transport import DirectQueue
from signaling_testkit import Cluster, Peer, unique

pytestmark = [pytest.mark.asyncio(loop_scope="module")]

BURST = 30  # under the cluster's burst of 40 events


class BlockingWebSocket:
    """Records what is sent; the first ``send`` waits until ``release`` is set."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.sent: list[str] = []
        self.release = asyncio.Event()
        self.fail_on = fail_on

    async def send(self, message: str) -> None:
        if not self.sent and not self.release.is_set():
            self.sent.append(message)
            await self.release.wait()
            return
        if message == self.fail_on:
            raise OSError("connection reset")
        self.sent.append(message)


def message(text: str) -> packet.Packet:
    return packet.Packet(packet.MESSAGE, data=text)


async def test_packets_put_while_a_write_waits_are_written_after_it_in_order() -> None:
    ws = BlockingWebSocket()
    queue = DirectQueue(ws)  # type: ignore[arg-type]
    first = asyncio.create_task(queue.put(message("1")))
    await asyncio.sleep(0)
    assert ws.sent == ["41"] and not first.done()  # written, the connection holds it back
    for text in ("2", "3", "4"):
        await queue.put(message(text))  # return at once: the write in progress takes them
    assert ws.sent == ["41"]
    ws.release.set()
    await first
    assert ws.sent == ["41", "42", "43", "44"]
    await queue.join()  # nothing ever waits in it


async def test_after_none_or_a_failed_write_nothing_more_is_written() -> None:
    ws = BlockingWebSocket(fail_on="42")
    ws.release.set()
    queue = DirectQueue(ws)  # type: ignore[arg-type]
    await queue.put(message("1"))
    await queue.put(message("2"))  # fails: the connection is gone
    await queue.put(message("3"))
    assert (ws.sent, queue.stopped) == (["41"], True)

    ws = BlockingWebSocket()
    ws.release.set()
    queue = DirectQueue(ws)  # type: ignore[arg-type]
    await queue.put(None)
    await queue.put(message("1"))
    assert (ws.sent, queue.stopped) == ([], True)


@pytest.mark.integration
@pytest.mark.parametrize("transports", [("websocket",), ("polling", "websocket")], ids=["websocket", "upgraded"])
async def test_relays_and_acknowledgements_arrive_complete_and_in_order(
    cluster: Cluster, transports: tuple[str, ...]
) -> None:
    meeting = unique("m")
    a = Peer("a")
    a_user = unique("u")
    await a.connect(cluster.r1.url, cluster.issuer.issue(a_user, "A"), transports=transports)
    cluster.peers.append(a)
    await a.next("session")
    if len(transports) > 1:  # wait for the upgrade to finish
        for _ in range(100):
            if a.client.transport() == "websocket":
                break
            await asyncio.sleep(0.05)
        assert a.client.transport() == "websocket"
    b = await cluster.peer(cluster.r1)
    cluster.meetings.admit(meeting, a_user, b.user_id)  # type: ignore[attr-defined]
    assert (await a.call("join", {"meeting_id": meeting}))["ok"]
    assert (await b.call("join", {"meeting_id": meeting}))["ok"]

    def candidate(i: int) -> dict:
        return {"candidate": f"candidate:{i} 1 udp 2122260223 192.0.2.1 {10000 + i} typ host", "sdpMid": "0",
                "sdpMLineIndex": 0}

    for sender, receiver in ((a, b), (b, a)):
        acks = await asyncio.gather(*(
            sender.call("ice-candidate", {"meeting_id": meeting, "to": receiver.sid, "candidate": candidate(i)})
            for i in range(BURST)
        ))
        assert [ack["ok"] for ack in acks] == [True] * BURST
        await receiver.next("ice-candidate", lambda d: d["candidate"]["candidate"].startswith(f"candidate:{BURST - 1} "))
        got = [d["candidate"]["candidate"] for d in receiver.received("ice-candidate") if d["from"] == sender.sid]
        assert got == [candidate(i)["candidate"] for i in range(BURST)]
