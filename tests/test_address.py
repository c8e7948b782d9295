"""Addresses as users type them: `HOST:PORT`, `[IPv6]:PORT`, host names, and one-line errors."""

from __future__ import annotations

import socket

import pytest

from udptui.net.address import (
    Address,
    AddressError,
    parse_endpoint,
    parse_port,
    resolve_host,
    split_host_port,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:8080", Address("127.0.0.1", 8080)),
        ("  10.1.2.3:1  ", Address("10.1.2.3", 1)),
        ("[::1]:8080", Address("::1", 8080)),
        ("[fe80::1]:53", Address("fe80::1", 53)),
        ("[::ffff:127.0.0.1]:9", Address("127.0.0.1", 9)),
        ("127.0.0.1:65535", Address("127.0.0.1", 65535)),
    ],
)
def test_parse_numeric_endpoints(text: str, expected: Address) -> None:
    assert parse_endpoint(text) == expected


def test_localhost_resolves_and_prefers_ipv4() -> None:
    address = parse_endpoint("localhost:8080")
    assert address.port == 8080
    families = {info[0] for info in socket.getaddrinfo("localhost", 8080, type=socket.SOCK_DGRAM)}
    if socket.AF_INET in families:
        assert address == Address("127.0.0.1", 8080)
    else:  # a machine whose localhost is IPv6 only
        assert address == Address("::1", 8080)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("8080", "expected HOST:PORT"),
        ("host:", "bad port ''"),
        (":8080", "expected HOST:PORT"),
        ("::1:80", "put an IPv6 address in brackets"),
        ("127.0.0.1:70000", "port 70000 is out of range"),
        ("127.0.0.1:-1", "port -1 is out of range"),
        ("127.0.0.1:http", "bad port 'http'"),
        ("127.0.0.1:0", "port 0 is out of range"),
        ("[::1]8080", "expected [IPv6]:PORT"),
        ("[::1:8080", "expected [IPv6]:PORT"),
        ("nohost.invalid:80", "cannot resolve host 'nohost.invalid'"),
        ("http://127.0.0.1:8080", "expected HOST:PORT without http://, like 127.0.0.1:8080"),
        ("udp://[::1]:9/path", "expected HOST:PORT without udp://, like [::1]:9"),
        ("http://example.com", "expected HOST:PORT without http://"),
        ("[::1]:", "bad port '': expected a number from 1 to 65535"),
        ("127.0.0.1:x", "expected a number from 1 to 65535"),
    ],
)
def test_bad_endpoints_raise_one_line(text: str, words: str) -> None:
    with pytest.raises(AddressError) as caught:
        parse_endpoint(text)
    message = str(caught.value)
    assert words in message
    assert "\n" not in message
    assert message.strip() == message


def test_port_zero_allowed_when_asked() -> None:
    assert parse_endpoint("127.0.0.1:0", allow_zero_port=True) == Address("127.0.0.1", 0)


@pytest.mark.parametrize(("text", "port"), [("0", 0), ("80", 80), ("65535", 65535)])
def test_parse_port_accepts_the_range(text: str, port: int) -> None:
    assert parse_port(text) == port


@pytest.mark.parametrize("text", ["-1", "65536", "70000", "abc", "", "8o", "1.5"])
def test_parse_port_rejects_the_rest(text: str) -> None:
    with pytest.raises(AddressError) as caught:
        parse_port(text)
    assert "\n" not in str(caught.value)


def test_parse_port_without_zero() -> None:
    with pytest.raises(AddressError, match="expected 1 to 65535"):
        parse_port("0", allow_zero=False)
    with pytest.raises(AddressError, match="expected a number from 1 to 65535"):
        parse_port("", allow_zero=False)
    with pytest.raises(AddressError, match="expected a number from 0 to 65535"):
        parse_port("x")


def test_split_host_port_does_not_resolve() -> None:
    assert split_host_port("nohost.invalid:80") == ("nohost.invalid", "80")
    assert split_host_port("[::1]:9") == ("::1", "9")


def test_from_sockaddr_unmaps_ipv4_mapped() -> None:
    assert Address.from_sockaddr(("::ffff:127.0.0.1", 5000, 0, 0)) == Address("127.0.0.1", 5000)
    assert Address.from_sockaddr(("127.0.0.1", 5000)) == Address("127.0.0.1", 5000)
    assert Address.from_sockaddr(("::1", 5000, 0, 0)) == Address("::1", 5000)
    # Only the mapped form with a dotted quad is IPv4; other ::ffff: addresses stay IPv6.
    assert Address.from_sockaddr(("::ffff:1", 7, 0, 0)) == Address("::ffff:1", 7)


def test_resolve_host_unmaps_and_normalises() -> None:
    assert resolve_host("::ffff:10.0.0.1", 9) == Address("10.0.0.1", 9)
    assert resolve_host("0:0:0:0:0:0:0:1", 9) == Address("::1", 9)


def test_str_formatting() -> None:
    assert str(Address("127.0.0.1", 80)) == "127.0.0.1:80"
    assert str(Address("::1", 8080)) == "[::1]:8080"
    assert str(Address("::", 0)) == "[::]:0"
    assert Address("::1", 1).is_ipv6
    assert not Address("127.0.0.1", 1).is_ipv6


def test_sockaddr_for_each_family() -> None:
    v4 = Address("127.0.0.1", 5000)
    v6 = Address("::1", 5000)
    assert v4.sockaddr_for(socket.AF_INET) == ("127.0.0.1", 5000)
    assert v4.sockaddr_for(socket.AF_INET6) == ("::ffff:127.0.0.1", 5000, 0, 0)
    assert v6.sockaddr_for(socket.AF_INET6) == ("::1", 5000, 0, 0)


@pytest.mark.parametrize(
    ("text", "words"),
    [("127.0.0.1%x:80", "IPv4 address has no %scope"), ("[fe80::1%no-such-if]:9", "no network interface")],
)
def test_a_bad_scope_is_refused_at_once(text: str, words: str) -> None:
    with pytest.raises(AddressError, match=words):
        parse_endpoint(text)


def test_a_real_interface_scope_is_kept() -> None:
    assert parse_endpoint("[fe80::1%lo]:9") == Address("fe80::1%lo", 9)
