from __future__ import annotations

import ipaddress
import socket
from collections.abc import Awaitable, Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.outbox.webhooks.url_safety import (
    MAX_URL_LENGTH,
    UnsafeUrl,
    check_url_syntax,
    is_public_address,
    resolve_and_check,
)

PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:2800:220:1:248:1893:25c8:1946"

Resolver = Callable[[str, int], Awaitable[list[str]]]


def fake_dns(table: dict[str, list[str]], calls: list[tuple[str, int]] | None = None) -> Resolver:
    """A resolver answering from `table`; unknown names fail as getaddrinfo does."""

    async def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append((host, port))
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    return resolve


async def no_dns(host: str, port: int) -> list[str]:
    raise AssertionError(f"must not resolve {host}:{port}")


# --- check_url_syntax ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("https://example.com/hook", "https://example.com/hook"),
        ("HTTPS://Example.COM:443/Hook?a=1#frag", "https://example.com/Hook?a=1"),
        ("http://example.com", "http://example.com/"),
        ("http://example.com:8080/x", "http://example.com:8080/x"),
        ("http://example.com:/x", "http://example.com/x"),
        ("https://example.com:80/", "https://example.com:80/"),
        ("http://bücher.example/", "http://xn--bcher-kva.example/"),
        # Numeric IPv4 spellings are rewritten, so the HTTP client sees what was checked.
        ("http://2130706433/", "http://127.0.0.1/"),
        ("http://0x7f000001/", "http://127.0.0.1/"),
        ("http://0x7f.0.0.1/", "http://127.0.0.1/"),
        ("http://0177.0.0.1/", "http://127.0.0.1/"),
        ("http://127.1/", "http://127.0.0.1/"),
        ("http://127.0.0.1./", "http://127.0.0.1/"),
        ("http://１２７。０。０。１/", "http://127.0.0.1/"),  # fullwidth, mapped by UTS 46
        ("http://[::FFFF:127.0.0.1]:8443/", "http://[::ffff:7f00:1]:8443/"),
        ("http://[fe80::1%25eth0]/", "http://[fe80::1%25eth0]/"),
    ],
)
def test_syntax_normalises(url: str, normalised: str) -> None:
    assert check_url_syntax(url) == normalised


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/", "scheme"),
        ("javascript:alert(1)", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("gopher://example.com/", "scheme"),
        ("example.com/hook", "scheme"),
        ("http:///hook", "host"),
        ("http:example.com", "host"),
        ("http://:80/", "host"),
        ("http://user:pass@example.com/", "credentials"),
        ("http://user@example.com/", "credentials"),
        ("http://@example.com/", "credentials"),
        ("http://example.com@127.0.0.1/", "credentials"),
        ("http://example.com:0/", "port"),
        ("http://example.com:65536/", "port"),
        ("http://example.com:+80/", "port"),
        ("http://example.com:8o/", "port"),
        ("http://example.com:80:80/", "port"),
        ("http://example.com/" + "a" * MAX_URL_LENGTH, "longer"),
        ("http://exa mple.com/", "whitespace"),
        (" http://127.0.0.1/", "whitespace"),
        ("http://example.com/\n", "whitespace"),
        ("http://127.0.0.1\\@example.com/", "backslash"),
        ("http://ex%61mple.com/", "host name"),
        ("http://-example.com/", "host name"),
        ("http://exa..mple.com/", "host name"),
        ("http://example-.com/", "host name"),
        ("http://1.2.3.4.5/", "IPv4"),
        ("http://256.0.0.1/", "IPv4"),
        ("http://4294967296/", "IPv4"),
        ("http://1.2.3.08/", "IPv4"),
        ("http://example.123/", "IPv4"),
        ("http://[::1/", "not valid"),
        ("http://[v1.fe]/", "IPv6"),
        ("http://[fe80::1%eth0]/", "zone"),
        ("http://[::1]x/", "host"),
    ],
)
def test_syntax_refuses(url: str, reason: str) -> None:
    with pytest.raises(UnsafeUrl, match=reason):
        check_url_syntax(url)


def test_unsafe_url_is_a_value_error() -> None:
    assert issubclass(UnsafeUrl, ValueError)


@given(st.text(max_size=300))
def test_syntax_never_raises_anything_but_unsafe_url(url: str) -> None:
    try:
        normalised = check_url_syntax(url)
    except UnsafeUrl:
        return
    # Normalising is idempotent: the stored form passes again unchanged.
    assert check_url_syntax(normalised) == normalised


@given(st.from_regex(r"\Ahttps?://[a-zA-Z0-9.:\[\]%@_-]{1,40}(/[a-z]*)?\Z"))
def test_syntax_on_url_like_text(url: str) -> None:
    try:
        normalised = check_url_syntax(url)
    except UnsafeUrl:
        return
    assert check_url_syntax(normalised) == normalised


# --- is_public_address --------------------------------------------------------------------------

NOT_PUBLIC = [
    "127.0.0.1",
    "127.255.255.254",
    "10.0.0.1",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "169.254.0.1",
    "0.0.0.0",  # noqa: S104 - an address under test, not a bind
    "0.1.2.3",
    "100.64.0.1",
    "100.127.255.255",
    "198.18.0.1",
    "198.19.255.255",
    "192.0.0.1",
    "192.0.2.1",
    "198.51.100.7",
    "203.0.113.9",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "fc00::1",
    "fd12:3456:789a::1",
    "fe80::1",
    "fe80::1%eth0",
    "fec0::1",
    "ff02::1",
    "2001:db8::1",
    "3fff::1",
    "100::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::127.0.0.1",  # IPv4-compatible
    "::10.0.0.1",
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b:1::a00:1",  # local-use NAT64
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:c0a8:101::1",  # 6to4 of 192.168.1.1
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
    "2001::1",
]
PUBLIC = [
    PUBLIC_V4,
    "1.1.1.1",
    "8.8.8.8",
    "100.63.255.255",
    "100.128.0.0",
    "172.32.0.1",
    "198.20.0.1",
    "223.255.255.255",
    PUBLIC_V6,
    "2a00:1450:4007:80e::200e",
    "::ffff:93.184.216.34",
    "64:ff9b::5db8:d822",  # NAT64 of 93.184.216.34
]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_not_public(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


@given(st.ip_addresses())
def test_never_public_when_python_says_private(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast:
        assert not is_public_address(ip)


# --- resolve_and_check --------------------------------------------------------------------------

LITERAL_NOT_PUBLIC = [
    "http://127.0.0.1/",
    "http://127.0.0.1:8080/hook",
    "http://10.0.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://0.0.0.0/",
    "http://0/",
    "http://100.64.0.1/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0x7f.0.0.1/",
    "http://0177.0.0.1/",
    "http://0177.1/",
    "http://127.1/",
    "http://10.1/",
    "http://3232235777/",  # 192.168.1.1
    "http://0xa9fea9fe/",  # 169.254.169.254
    "http://127.0.0.1./",
    "http://１２７。０。０。１/",
    "http://[::1]/",
    "http://[::]/",
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[0:0:0:0:0:ffff:127.0.0.1]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[::127.0.0.1]/",
    "http://[64:ff9b::a00:1]/",
    "http://[2002:7f00:1::1]/",
    "http://[fe80::1%25eth0]/",
    "http://[fe80::1]/",
    "http://[fc00::1]:8443/",
    "http://[fec0::1]/",
]


@pytest.mark.parametrize("url", LITERAL_NOT_PUBLIC)
async def test_literal_addresses_refused(url: str) -> None:
    with pytest.raises(UnsafeUrl, match="private/loopback/link-local"):
        await resolve_and_check(url, allow_private=False, resolver=no_dns)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"http://{PUBLIC_V4}/", [PUBLIC_V4]),
        ("http://1572395042/", [PUBLIC_V4]),  # decimal spelling of the same address
        (f"https://[{PUBLIC_V6}]:8443/", [PUBLIC_V6]),
        ("http://[::ffff:93.184.216.34]/", ["::ffff:5db8:d822"]),
    ],
)
async def test_public_literal_accepted_without_dns(url: str, expected: list[str]) -> None:
    assert await resolve_and_check(url, allow_private=False, resolver=no_dns) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost/",
        "http://LOCALHOST:8080/",
        "http://localhost./",
        "http://api.localhost/",
        "http://a.b.localhost/",
    ],
)
async def test_localhost_refused_without_resolving(url: str) -> None:
    with pytest.raises(UnsafeUrl, match="private/loopback/link-local"):
        await resolve_and_check(url, allow_private=False, resolver=no_dns)


async def test_default_resolver_returns_address_strings() -> None:
    # The only name resolvable here; resolve_and_check itself refuses it before resolving.
    from app.outbox.webhooks.url_safety import _getaddrinfo

    addresses = await _getaddrinfo("localhost", 80)
    assert addresses
    assert all(not is_public_address(ipaddress.ip_address(a)) for a in addresses)


@pytest.mark.parametrize(
    "answers",
    [
        ["10.0.0.5"],
        ["127.0.0.1"],
        ["169.254.169.254"],
        ["::1"],
        ["::ffff:10.0.0.5"],
        ["fe80::1%eth0"],
        [PUBLIC_V4, "10.0.0.5"],  # one bad record is enough: the client may pick it
        ["10.0.0.5", PUBLIC_V4],
        [PUBLIC_V6, "fd00::1"],
        ["not-an-address"],  # fail closed
    ],
)
async def test_name_resolving_to_non_public_refused(answers: list[str]) -> None:
    resolver = fake_dns({"hooks.example.com": answers})
    with pytest.raises(UnsafeUrl, match="resolves to a private/loopback/link-local address"):
        await resolve_and_check(
            "https://hooks.example.com/in", allow_private=False, resolver=resolver
        )


async def test_refusal_does_not_reveal_the_internal_address() -> None:
    resolver = fake_dns({"hooks.example.com": ["10.11.12.13"]})
    with pytest.raises(UnsafeUrl) as excinfo:
        await resolve_and_check(
            "https://hooks.example.com/", allow_private=False, resolver=resolver
        )
    assert "10.11.12.13" not in str(excinfo.value)


async def test_public_name_accepted_and_addresses_returned() -> None:
    calls: list[tuple[str, int]] = []
    resolver = fake_dns({"hooks.example.com": [PUBLIC_V4, PUBLIC_V6, PUBLIC_V4]}, calls)
    addresses = await resolve_and_check(
        "https://Hooks.Example.com/in", allow_private=False, resolver=resolver
    )
    assert addresses == [PUBLIC_V4, PUBLIC_V6]  # deduplicated, in order
    assert calls == [("hooks.example.com", 443)]


@pytest.mark.parametrize(
    ("url", "port"),
    [("http://hooks.example.com/", 80), ("http://hooks.example.com:8080/", 8080)],
)
async def test_resolver_gets_the_port(url: str, port: int) -> None:
    calls: list[tuple[str, int]] = []
    await resolve_and_check(
        url, allow_private=False, resolver=fake_dns({"hooks.example.com": [PUBLIC_V4]}, calls)
    )
    assert calls == [("hooks.example.com", port)]


async def test_international_name_resolved_as_punycode() -> None:
    calls: list[tuple[str, int]] = []
    resolver = fake_dns({"xn--bcher-kva.example": [PUBLIC_V4]}, calls)
    assert await resolve_and_check(
        "https://bücher.example/", allow_private=False, resolver=resolver
    ) == [PUBLIC_V4]
    assert calls == [("xn--bcher-kva.example", 443)]


async def test_rebinding_is_caught_on_the_next_check() -> None:
    # Public at creation, private at delivery time: the per-attempt check refuses it.
    table = {"rebind.example.com": [PUBLIC_V4]}
    resolver = fake_dns(table)
    url = "https://rebind.example.com/"
    assert await resolve_and_check(url, allow_private=False, resolver=resolver) == [PUBLIC_V4]
    table["rebind.example.com"] = ["127.0.0.1"]
    with pytest.raises(UnsafeUrl):
        await resolve_and_check(url, allow_private=False, resolver=resolver)


async def test_unresolvable_host() -> None:
    with pytest.raises(UnsafeUrl, match="cannot resolve host"):
        await resolve_and_check(
            "https://nowhere.example.com/", allow_private=False, resolver=fake_dns({})
        )
    with pytest.raises(UnsafeUrl, match="cannot resolve host"):
        await resolve_and_check(
            "https://empty.example.com/",
            allow_private=False,
            resolver=fake_dns({"empty.example.com": []}),
        )


async def test_resolver_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from app.outbox.webhooks import url_safety

    monkeypatch.setattr(url_safety, "RESOLVE_TIMEOUT_SECONDS", 0.01)

    async def hanging(host: str, port: int) -> list[str]:
        await asyncio.sleep(10)
        return [PUBLIC_V4]

    with pytest.raises(UnsafeUrl, match="cannot resolve host"):
        await resolve_and_check("https://slow.example.com/", allow_private=False, resolver=hanging)


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/", "javascript:alert(1)", "http://user:pass@example.com/"],
)
async def test_syntax_checked_first(url: str) -> None:
    for allow_private in (False, True):
        with pytest.raises(UnsafeUrl):
            await resolve_and_check(url, allow_private=allow_private, resolver=no_dns)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost:8080/hook",
        "http://[::1]/",
        "http://internal.corp/",
    ],
)
async def test_allow_private_checks_syntax_only(url: str) -> None:
    assert await resolve_and_check(url, allow_private=True, resolver=no_dns) == []
