"""Which URLs a webhook may be sent to (server-side request forgery, docs/webhooks.md).

- ``https`` only; ``http`` only to a loopback host (``localhost``, ``127.0.0.0/8``, ``::1``)
  when the service runs in the ``local`` environment (development and tests).
- No user name or password in the URL, no fragment, no white space or control character
  anywhere (``urlsplit`` would drop a tab or a line break silently, and the URL is stored as
  written).
- The host is a DNS name (letters, digits and hyphens per label, as IDNA 2008 allows them:
  ``bücher.example`` too; no space, ``_`` or other sign) or an IP literal (IPv4 as four
  decimal numbers; IPv6 in brackets); not an IPv4 address in a shorthand the resolver would
  still read (``127.1``, ``0x7f000001``, ``2130706433``).
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

import idna

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


def _check_host(parts: SplitResult) -> None:
    """:class:`InvalidWebhookUrl` unless ``parts``' host is a DNS name or an IP literal (see
    the module documentation)."""
    host = parts.hostname or ""
    bracketed = parts.netloc.rpartition("@")[2].startswith("[")
    address = _literal(host)
    if bracketed or address is not None:
        if bracketed != isinstance(address, ipaddress.IPv6Address):  # [v1.x], [1.2.3.4]
            raise InvalidWebhookUrl("the URL's host must be a DNS name, an IPv4 address or an IPv6 address in brackets")
        return
    try:
        socket.inet_aton(host)
    except OSError:
        pass
    else:
        raise InvalidWebhookUrl("the URL's IPv4 address must be written as four decimal numbers (such as 192.0.2.1)")
    try:
        idna.encode(host)
    except idna.IDNAError as exc:
        raise InvalidWebhookUrl("the URL's host is not a valid DNS name or IP address") from exc


def check_shape(url: str, environment: str) -> SplitResult:
    """The parts of ``url`` when its shape is acceptable in ``environment`` (``local`` or
    ``production``); :class:`InvalidWebhookUrl` otherwise. Resolves nothing."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidWebhookUrl(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if any(char.isspace() or not char.isprintable() for char in url):
        raise InvalidWebhookUrl("the URL must not contain white space or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:  # a bad port or IPv6 literal; the parser's words would quote the input
        raise InvalidWebhookUrl("not a URL (its port or its address in brackets cannot be read)") from exc
    host = parts.hostname
    if parts.scheme not in ("https", "http") or not host:
        raise InvalidWebhookUrl("the URL must be https://host/…")
    _check_host(parts)
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
