"""The production coturn configuration refuses to relay into private networks; the test one does not.

Starts Debian's coturn with deploy/k8s/infra/coturn/turnserver.conf (plus the per-deployment
options on the command line, on loopback ports of its own), allocates a real TURN relay with
TURN REST API credentials (aioice's TURN client), and asks for permissions (RFC 8656 §9,
CreatePermission): loopback, private and link-local peers get 403 Forbidden, a public peer
(TEST-NET-3, RFC 5737: nothing is ever sent to it) is allowed. The test stack's coturn, running
deploy/local/coturn/turnserver.test.conf, allows the loopback peer the browser tests rely on.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import pytest
from aioice import stun
from aioice.turn import TurnClientUdpProtocol

from parley_testing.coturn import rest_credentials, turnserver

PRODUCTION_CONF = (Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "infra" / "coturn"
                   / "turnserver.conf")
DENIED_PEERS = ["127.0.0.1", "10.1.2.3", "172.16.5.4", "192.168.1.10", "169.254.169.254", "100.64.0.1", "0.0.0.1"]
PUBLIC_PEER = "203.0.113.7"


@contextmanager
def production_coturn(workdir: Path, secret: str) -> Iterator[int]:
    """coturn with the production file plus what a deployment passes on the command line
    (here: no TLS certificate), on loopback; yields its port."""
    options = ["-c", str(PRODUCTION_CONF), f"--static-auth-secret={secret}", "--realm=parley.test", "--no-tls", "--no-dtls"]
    with turnserver(options, workdir) as port:
        yield port


@asynccontextmanager
async def allocation(port: int, secret: str) -> AsyncIterator[TurnClientUdpProtocol]:
    """A TURN allocation on ``127.0.0.1:port`` (UDP), deleted on exit."""
    username, password = rest_credentials(secret, "u-infra-test")
    loop = asyncio.get_running_loop()
    transport, client = await loop.create_datagram_endpoint(
        lambda: TurnClientUdpProtocol(
            ("127.0.0.1", port), username=username, password=password, lifetime=600, channel_refresh_time=500
        ),
        remote_addr=("127.0.0.1", port),
    )
    try:
        relayed = await asyncio.wait_for(client.connect(), 10)
        assert relayed[0] == "127.0.0.1"
        yield client
    finally:
        await client.delete()
        transport.close()


async def permission(client: TurnClientUdpProtocol, peer: str) -> int:
    """CreatePermission for ``peer``: 200 when granted, else the TURN error code."""
    request = stun.Message(message_method=stun.Method.CREATE_PERMISSION, message_class=stun.Class.REQUEST)
    request.attributes["XOR-PEER-ADDRESS"] = (peer, 9)
    try:
        await asyncio.wait_for(client.request_with_retry(request), 10)
    except stun.TransactionFailed as exc:
        return exc.response.attributes["ERROR-CODE"][0]
    return 200


async def test_production_coturn_refuses_private_peers_and_allows_public_ones(tmp_path: Path) -> None:
    secret = secrets.token_hex(32)
    with production_coturn(tmp_path, secret) as port:
        async with allocation(port, secret) as client:
            codes = {peer: await permission(client, peer) for peer in [*DENIED_PEERS, PUBLIC_PEER]}
        # credentials signed with another secret are refused at allocation
        with pytest.raises(stun.TransactionFailed) as refused:
            async with allocation(port, "not-the-secret"):
                pass
    assert codes == {**{peer: 403 for peer in DENIED_PEERS}, PUBLIC_PEER: 200}
    assert refused.value.response.attributes["ERROR-CODE"][0] == 401


async def test_the_test_stacks_coturn_allows_the_loopback_peer(stack_info: dict) -> None:
    secret = (Path(stack_info["dir"]) / "secrets" / "turn-secret").read_text().strip()
    async with allocation(stack_info["coturn"]["port"], secret) as client:
        assert await permission(client, "127.0.0.1") == 200
