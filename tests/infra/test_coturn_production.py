"""The production coturn configuration refuses to relay into private networks; the test one does not.

Starts Debian's coturn with deploy/k8s/base/coturn/turnserver.conf (plus the per-deployment
options on the command line, on loopback ports of its own), allocates a real TURN relay with
TURN REST API credentials (aioice's TURN client), and asks for permissions (RFC 8656 §9,
CreatePermission): loopback, private and link-local peers get 403 Forbidden, a public peer
(TEST-NET-3, RFC 5737: nothing is ever sent to it) is allowed. The test stack's coturn, running
deploy/local/coturn/turnserver.test.conf, allows the loopback peer the browser tests rely on.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import pytest
from aioice import stun
from aioice.turn import TurnClientUdpProtocol

PRODUCTION_CONF = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "base" / "coturn" / "turnserver.conf"
DENIED_PEERS = ["127.0.0.1", "10.1.2.3", "172.16.5.4", "192.168.1.10", "169.254.169.254", "100.64.0.1", "0.0.0.1"]
PUBLIC_PEER = "203.0.113.7"


def rest_credentials(secret: str, user_id: str = "u-infra-test", ttl_s: int = 600) -> tuple[str, str]:
    """TURN REST API credentials: ``expiry:user-id`` and base64(HMAC-SHA1(secret, username))."""
    username = f"{int(time.time()) + ttl_s}:{user_id}"
    password = base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()
    return username, password


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def production_coturn(tmp_path: Path, secret: str) -> Iterator[int]:
    """coturn with the production file, on loopback; yields its port."""
    port = free_udp_port()
    relay = free_udp_port()
    command = [
        "/usr/bin/turnserver", "-c", str(PRODUCTION_CONF),
        # what a deployment passes on the command line (here: loopback, no TLS certificate)
        "--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1", "--listening-port", str(port),
        "--min-port", str(relay), "--max-port", str(relay + 20),
        "--static-auth-secret", secret, "--realm", "parley.test", "--no-tls", "--no-dtls",
        "--userdb", str(tmp_path / "turndb"), "--pidfile", str(tmp_path / "turnserver.pid"),
    ]  # fmt: skip
    log = (tmp_path / "coturn.log").open("w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while not _answers_stun(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"coturn did not start:\n{(tmp_path / 'coturn.log').read_text()[-3000:]}")
            time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _answers_stun(port: int) -> bool:
    request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.3)
        try:
            s.sendto(bytes(request), ("127.0.0.1", port))
            return stun.parse_message(s.recv(2048)).transaction_id == request.transaction_id
        except OSError:
            return False


@asynccontextmanager
async def allocation(port: int, secret: str) -> AsyncIterator[TurnClientUdpProtocol]:
    """A TURN allocation on ``127.0.0.1:port`` (UDP), deleted on exit."""
    username, password = rest_credentials(secret)
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
