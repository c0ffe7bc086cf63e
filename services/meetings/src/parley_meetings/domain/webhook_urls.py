"""Which URLs a webhook may be sent to (server-side request forgery, docs/webhooks.md).

- ``https`` only; ``http`` only to a loopback host (``localhost``, ``127.0.0.0/8``, ``::1``)
  when the service runs in the ``local`` environment (development and tests).
- No user name or password in the URL, no fragment.
- In ``production`` the host is resolved and every address it resolves to must be a public
  unicast one: private, loopback, link-local, multicast, reserved, unspecified and shared
  (CGNAT) addresses are refused (an IPv4-mapped IPv6 address is judged as its IPv4 address).
  This is checked when the endpoint is registered and again before each delivery, so a name
  that later resolves elsewhere (DNS rebinding) is refused then.
"""

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import SplitResult, urlsplit

from parley_meetings.domain.errors import InvalidWebhookUrl

MAX_URL_LENGTH = 2000
LOOPBACK_NAMES = ("localhost",)

#: Resolves a host name to its IP addresses (as text).
Resolver = Callable[[str], Awaitable[list[str]]]

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


async def resolve(host: str) -> list[str]:
    """Every address ``host`` resolves to (the system resolver, off the event loop)."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise InvalidWebhookUrl(f"the host {host} does not resolve") from exc
    return [str(info[4][0]) for info in infos]


def _literal(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def refusal(address: IpAddress) -> str | None:
    """Why webhooks never go to ``address`` (None: a public unicast address)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for reason, hit in (
        ("loopback", address.is_loopback),
        ("private", address.is_private),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("unspecified", address.is_unspecified),
        ("not global", not address.is_global),
    ):
        if hit:
            return reason
    return None


def _is_loopback(host: str) -> bool:
    address = _literal(host)
    return host.lower() in LOOPBACK_NAMES if address is None else address.is_loopback


def check_shape(url: str, environment: str) -> SplitResult:
    """The parts of ``url`` when its shape is acceptable in ``environment`` (``local`` or
    ``production``); :class:`InvalidWebhookUrl` otherwise. Resolves nothing."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidWebhookUrl(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise InvalidWebhookUrl(f"not a URL: {exc}") from exc
    host = parts.hostname
    if parts.scheme not in ("https", "http") or not host:
        raise InvalidWebhookUrl("the URL must be https://host/…")
    if parts.username is not None or parts.password is not None:
        raise InvalidWebhookUrl("the URL must not carry a user name or password")
    if parts.fragment:
        raise InvalidWebhookUrl("the URL must not carry a fragment")
    if parts.scheme == "http" and not (environment == "local" and _is_loopback(host)):
        raise InvalidWebhookUrl("the URL must be https (http only to loopback in local development)")
    return parts


async def check_destination(url: str, environment: str, resolver: Resolver = resolve) -> None:
    """:func:`check_shape`, and in ``production`` every address the host resolves to must be
    public (:func:`refusal`); raises :class:`InvalidWebhookUrl` otherwise."""
    host = check_shape(url, environment).hostname or ""
    if environment != "production":
        return
    literal = _literal(host)
    addresses = [literal] if literal is not None else [ipaddress.ip_address(a.split("%", 1)[0]) for a in await resolver(host)]
    if not addresses:
        raise InvalidWebhookUrl(f"the host {host} does not resolve")
    for address in addresses:
        reason = refusal(address)
        if reason is not None:
            raise InvalidWebhookUrl(f"the host {host} resolves to a {reason} address ({address}): webhooks go to public addresses only")
