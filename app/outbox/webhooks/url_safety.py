"""SSRF protection for webhook endpoint URLs.

Two checks, used twice by the service:

- `check_url_syntax` (pure): the URL is http(s), has a host, no credentials, a valid port. It
  returns a normalised URL in which the host is plain ASCII (IDNA) and any numeric IPv4 spelling
  (`2130706433`, `0x7f.1`, `0177.0.0.1`) is rewritten as a dotted quad, so that the HTTP client
  never reinterprets a host differently from the way it was checked. Store and send that form.
- `resolve_and_check`: refuses hosts that are, or resolve to, loopback/private/link-local/...
  addresses. Called when an endpoint is created (422) and again before every delivery attempt,
  because a DNS answer can change after creation (DNS rebinding). To close the remaining window
  between this check and the connection, the sender should connect to the returned addresses.

The sender never follows redirects: a public endpoint answering `302 Location: http://10.0.0.1/`
would otherwise walk around both checks.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import idna

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

MAX_URL_LENGTH = 2048
RESOLVE_TIMEOUT_SECONDS = 5.0
ALLOWED_SCHEMES = {"http": 80, "https": 443}


class UnsafeUrl(ValueError):
    """A webhook URL that is malformed or points somewhere the service must not call."""


# IANA IPv4 special-purpose registry, plus multicast and the limited broadcast. Listed rather than
# taken from `ipaddress.is_global`, whose answer differs between Python patch releases and which
# calls multicast global.
_IPV4_BLOCKED = tuple(
    ipaddress.IPv4Network(net)
    for net in (
        "0.0.0.0/8",  # "this network"; 0.0.0.0 reaches the local host on Linux
        "10.0.0.0/8",  # private
        "100.64.0.0/10",  # shared address space (carrier-grade NAT)
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local, incl. 169.254.169.254 cloud metadata
        "172.16.0.0/12",  # private
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation (TEST-NET-1)
        "192.88.99.0/24",  # deprecated 6to4 relay anycast
        "192.168.0.0/16",  # private
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation (TEST-NET-2)
        "203.0.113.0/24",  # documentation (TEST-NET-3)
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, incl. 255.255.255.255 broadcast
    )
)

# IPv6 is judged by allow-list: only global unicast 2000::/3 can be public, minus the special
# blocks inside it. Everything else (::1, ::, fc00::/7, fe80::/10, fec0::/10, ff00::/8, 100::/64,
# 64:ff9b:1::/48 local NAT64, ...) is outside 2000::/3.
_IPV6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_IPV6_BLOCKED = tuple(
    ipaddress.IPv6Network(net)
    for net in (
        "2001::/23",  # IETF protocol assignments, incl. Teredo 2001::/32 and benchmarking
        "2001:db8::/32",  # documentation
        "2002::/16",  # 6to4: judged by its embedded IPv4 below, never accepted blindly
        "3fff::/20",  # documentation (RFC 9637)
    )
)
_IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated "::a.b.c.d"
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # well-known NAT64 prefix: translated to the IPv4


def _without_zone(ip: IPAddress) -> IPAddress:
    return ipaddress.IPv6Address(int(ip)) if isinstance(ip, ipaddress.IPv6Address) else ip


def _ipv4_is_public(ip: ipaddress.IPv4Address) -> bool:
    return not any(ip in net for net in _IPV4_BLOCKED)


def is_public_address(ip: IPAddress) -> bool:
    """Whether the service may connect to `ip`.

    IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo) are judged by
    the IPv4 they lead to: `::ffff:127.0.0.1` is loopback.
    """
    if isinstance(ip, ipaddress.IPv4Address):
        return _ipv4_is_public(ip)
    plain = ipaddress.IPv6Address(int(ip))  # "fe80::1%eth0" is judged as fe80::1
    if plain in _IPV4_MAPPED or plain in _IPV4_COMPATIBLE or plain in _NAT64:
        return _ipv4_is_public(ipaddress.IPv4Address(int(plain) & 0xFFFFFFFF))
    if plain.sixtofour is not None:
        # 2002::/16 is blocked below anyway; this keeps the reason explicit.
        return False
    if plain.teredo is not None:
        return False
    if plain not in _IPV6_GLOBAL_UNICAST:
        return False
    return not any(plain in net for net in _IPV6_BLOCKED)


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str  # ASCII hostname, lower case, without brackets; "" when `ip` is set
    ip: IPAddress | None
    port: int


_HEX = re.compile(r"0[xX][0-9a-fA-F]*")
_OCT = re.compile(r"0[0-7]+")
_DEC = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() and int() accept other scripts
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_ZONE_ID = re.compile(r"[A-Za-z0-9._~-]+")
_PORT = re.compile(r"[0-9]{1,5}")


def _ipv4_number(part: str) -> int | None:
    """One part of a numeric IPv4 host, as inet_aton(3) and the WHATWG URL parser read it."""
    if _HEX.fullmatch(part):
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        # A leading zero means octal; "08" is no number at all (not eight).
        return int(part[1:], 8) if _OCT.fullmatch(part) else None
    if _DEC.fullmatch(part):
        return int(part, 10)
    return None


def _numeric_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """Read `host` as an IPv4 address in any spelling libc accepts, or None if it is a name.

    Following WHATWG: a host whose last label is a number *is* an IPv4 address, and is invalid if
    it does not parse as one (`1.2.3.4.5`, `example.123`), rather than a name to send to DNS.
    """
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()  # one trailing dot, as in "127.0.0.1."
    if not (_DEC.fullmatch(parts[-1]) or _HEX.fullmatch(parts[-1])):
        return None
    numbers = [_ipv4_number(p) for p in parts]
    if len(parts) > 4 or any(n is None for n in numbers):
        raise UnsafeUrl(f"invalid IPv4 address in URL: {host!r}")
    values = [n for n in numbers if n is not None]
    *leading, last = values
    if any(n > 255 for n in leading) or last >= 256 ** (5 - len(values)):
        raise UnsafeUrl(f"invalid IPv4 address in URL: {host!r}")
    value = last
    for i, n in enumerate(leading):
        value += n * 256 ** (3 - i)
    return ipaddress.IPv4Address(value)


def _parse_bracketed(inner: str) -> ipaddress.IPv6Address:
    address, percent, zone = inner.partition("%")
    if percent:
        # RFC 6874: the zone id is written "%25eth0" in a URL.
        zone_id = unquote(zone[2:]) if zone.startswith("25") else ""
        if not _ZONE_ID.fullmatch(zone_id):
            raise UnsafeUrl("invalid IPv6 zone id in URL")
        address = f"{address}%{zone_id}"
    try:
        return ipaddress.IPv6Address(address)
    except ValueError:
        raise UnsafeUrl("invalid IPv6 address in URL") from None


def _ascii_host(host: str) -> str:
    if not host.isascii():
        try:
            # UTS 46 as browsers do: maps fullwidth digits and dots ("１２７。０。０。１") to ASCII,
            # which must happen before looking for a numeric IPv4.
            host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            raise UnsafeUrl("invalid international host name in URL") from None
    return host.lower()


def _parse(url: str) -> tuple[_Target, str]:
    """Validate `url`; return its target and its normalised form."""
    _check_characters(url)
    try:
        parts = urlsplit(url)
    except ValueError:
        raise UnsafeUrl("URL is not valid") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise UnsafeUrl("URL scheme must be http or https")
    netloc = parts.netloc
    if not netloc:
        raise UnsafeUrl("URL must have a host")
    if "@" in netloc:
        raise UnsafeUrl("URL must not contain credentials (user:password@)")
    ip, host, port_text = _bracketed_host(netloc) if netloc.startswith("[") else _named_host(netloc)
    default_port = ALLOWED_SCHEMES[scheme]
    port = _port(port_text, default_port)
    host_text = _host_text(ip, host)
    netloc_out = host_text if port == default_port else f"{host_text}:{port}"
    # The fragment is never sent over HTTP; an empty path is "/".
    normalised = urlunsplit((scheme, netloc_out, parts.path or "/", parts.query, ""))
    if len(normalised) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"URL is longer than {MAX_URL_LENGTH} characters")
    return _Target(scheme=scheme, host=host, ip=ip, port=port), normalised


def _check_characters(url: str) -> None:
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"URL is longer than {MAX_URL_LENGTH} characters")
    # Parsers disagree about stripping or keeping whitespace and control characters; refuse them.
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise UnsafeUrl("URL must not contain whitespace or control characters")
    # Browsers read "\" as "/" in http(s) URLs while urllib does not: refuse the ambiguity.
    if "\\" in url:
        raise UnsafeUrl("URL must not contain backslashes")


def _bracketed_host(netloc: str) -> tuple[IPAddress | None, str, str]:
    """(ip, "", port text) of a netloc "[IPv6]:port"."""
    inner, bracket, port_part = netloc[1:].partition("]")
    if not bracket:
        raise UnsafeUrl("invalid IPv6 address in URL")
    ip = _parse_bracketed(inner)
    if port_part and not port_part.startswith(":"):
        raise UnsafeUrl("invalid host in URL")
    return ip, "", port_part[1:]


def _named_host(netloc: str) -> tuple[IPAddress | None, str, str]:
    """(ip, "", port text) of a netloc "a.b.c.d:port" in any IPv4 spelling, else (None, the ASCII
    host name, port text)."""
    raw_host, _, port_text = netloc.partition(":")
    if not raw_host:
        raise UnsafeUrl("URL must have a host")
    host = _ascii_host(raw_host)
    ip = _numeric_ipv4(host)
    if ip is not None:
        return ip, "", port_text
    name = host[:-1] if host.endswith(".") else host
    if len(name) > 253 or not all(_LABEL.fullmatch(label) for label in name.split(".")):
        raise UnsafeUrl("invalid host name in URL")
    return None, host, port_text


def _port(port_text: str, default_port: int) -> int:
    if not port_text:
        return default_port  # "http://host:/" is legal and means the default port
    if not _PORT.fullmatch(port_text) or not 1 <= int(port_text) <= 65535:
        raise UnsafeUrl("URL port must be a number from 1 to 65535")
    return int(port_text)


def _host_text(ip: IPAddress | None, host: str) -> str:
    """The host as written in the normalised URL."""
    if isinstance(ip, ipaddress.IPv6Address):
        shown = _without_zone(ip).compressed
        if ip.scope_id:
            shown += "%25" + quote(ip.scope_id, safe="")
        return f"[{shown}]"
    if ip is not None:
        return str(ip)
    return host


def check_url_syntax(url: str) -> str:
    """Validate a webhook URL's syntax and return its normalised form; raise UnsafeUrl.

    Only http and https, a host, no credentials, port 1..65535, at most 2048 characters.
    Does not look at where the host points: see `resolve_and_check`.
    """
    return _parse(url)[1]


async def _getaddrinfo(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _is_localhost(host: str) -> bool:
    name = host.rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


async def resolve_and_check(
    url: str,
    *,
    allow_private: bool,
    resolver: Resolver | None = None,
) -> list[str]:
    """Refuse a URL that points, directly or through DNS, at a non-public address.

    Returns the addresses the host resolves to (all A and AAAA records, deduplicated, in order),
    all of them public; the sender should connect to one of these rather than resolve again.
    With `allow_private` (RELANCE_WEBHOOK_ALLOW_PRIVATE_URLS) only the syntax is checked and
    nothing is resolved: returns []. `resolver(host, port)` defaults to the event loop's
    getaddrinfo.
    """
    target, _ = _parse(url)
    if allow_private:
        return []
    if target.ip is not None:
        if not is_public_address(target.ip):
            raise UnsafeUrl(
                "URL host is a private/loopback/link-local or otherwise non-public address"
            )
        return [str(_without_zone(target.ip))]
    if _is_localhost(target.host):
        raise UnsafeUrl("URL host resolves to a private/loopback/link-local address (localhost)")
    answers = await _resolve(target, resolver or _getaddrinfo)
    return _public_addresses(answers)


async def _resolve(target: _Target, resolve: Resolver) -> list[str]:
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
            answers = await resolve(target.host, target.port)
    except (OSError, ValueError, TimeoutError):
        # socket.gaierror is an OSError; UnicodeError (bad IDNA label) is a ValueError.
        raise UnsafeUrl("cannot resolve host") from None
    if not answers:
        raise UnsafeUrl("cannot resolve host")
    return answers


def _public_addresses(answers: list[str]) -> list[str]:
    """The answers, deduplicated in order, once they are all public addresses."""
    addresses: list[str] = []
    for answer in answers:
        try:
            ip = ipaddress.ip_address(answer)
        except ValueError:
            ip = None
        # Fail closed, and never echo the address: that would map internal DNS for the caller.
        if ip is None or not is_public_address(ip):
            raise UnsafeUrl("URL host resolves to a private/loopback/link-local address")
        text = str(_without_zone(ip))
        if text not in addresses:
            addresses.append(text)
    return addresses
