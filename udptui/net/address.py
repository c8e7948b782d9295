"""Socket addresses: parsing `HOST:PORT`, resolving names, and printing them the way users type them."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any


class AddressError(ValueError):
    """An address the user gave cannot be used; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class Address:
    """A UDP endpoint as the user sees it: a numeric host and a port."""

    host: str
    """Numeric IPv4 or IPv6 address (IPv4-mapped IPv6 is always shown as plain IPv4)."""
    port: int
    """UDP port, 0 to 65535."""

    def __str__(self) -> str:
        if ":" in self.host:
            return f"[{self.host}]:{self.port}"
        return f"{self.host}:{self.port}"

    @property
    def is_ipv6(self) -> bool:
        return ":" in self.host

    @classmethod
    def from_sockaddr(cls, sockaddr: tuple[Any, ...]) -> Address:
        """Build from what `recvfrom`/`getsockname` return, unmapping `::ffff:a.b.c.d`.

        A link-local IPv6 sender keeps its interface (`fe80::1%eth0`): Python gives the
        scope only as the tuple's fourth item, and without it no reply can go back."""
        host, port = sockaddr[0], sockaddr[1]
        if host.startswith("::ffff:") and "." in host:
            host = host[7:]
        elif len(sockaddr) >= 4 and sockaddr[3] and "%" not in host:
            host = f"{host}%{interface_name(sockaddr[3])}"
        return cls(host, port)

    def sockaddr_for(self, family: socket.AddressFamily) -> tuple[Any, ...]:
        """The tuple `sendto` needs on a socket of `family` (IPv4 goes mapped on a dual-stack socket)."""
        if family == socket.AF_INET6:
            if not self.is_ipv6:
                return (f"::ffff:{self.host}", self.port, 0, 0)
            host, _, scope = self.host.partition("%")
            # Python takes the scope from the tuple, not from `%eth0` in the host.
            return (host, self.port, 0, interface_index(scope) if scope else 0)
        return (self.host, self.port)


def interface_name(index: int) -> str:
    try:
        return socket.if_indextoname(index)
    except OSError:
        return str(index)


def interface_index(scope: str) -> int:
    """The scope's interface index: 0 (none) for one that is no interface, however written."""
    if scope.isascii() and scope.isdigit():
        index = int(scope)
        return index if index < 2**32 else 0
    try:
        return socket.if_nametoindex(scope)
    except (OSError, ValueError):
        return 0


def split_host_port(text: str) -> tuple[str, str]:
    """Split `HOST:PORT`, `[V6]:PORT` into host and port strings, without resolving."""
    text = text.strip()
    scheme, sep, rest = text.partition("://")
    if sep:  # `http://host:8080`: a URL, not an address
        example = rest.split("/", 1)[0]
        example = example if ":" in example else "127.0.0.1:8080"
        raise AddressError(f"bad address {text!r}: expected HOST:PORT without {scheme}://, like {example}")
    if text.startswith("["):
        close = text.find("]")
        if close == -1 or not text[close + 1 :].startswith(":"):
            raise AddressError(f"bad address {text!r}: expected [IPv6]:PORT")
        return text[1:close], text[close + 2 :]
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise AddressError(f"bad address {text!r}: expected HOST:PORT")
    if ":" in host:
        raise AddressError(f"bad address {text!r}: put an IPv6 address in brackets, like [::1]:8080")
    return host, port


def parse_port(text: str, *, allow_zero: bool = True) -> int:
    """A port number from text, with a one-line error for anything else."""
    low = 0 if allow_zero else 1
    try:
        port = int(text, 10)
    except ValueError:
        raise AddressError(f"bad port {text!r}: expected a number from {low} to 65535") from None
    if not low <= port <= 65535:
        raise AddressError(f"port {port} is out of range: expected {low} to 65535")
    return port


def check_scope(host: str, numeric: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    """`fe80::1%eth0` needs an interface that exists; IPv4 has no scope at all."""
    scope = host.split("%", 1)[1]
    if isinstance(numeric, ipaddress.IPv4Address):
        raise AddressError(f"bad address {host!r}: an IPv4 address has no %scope")
    if scope.isdigit():
        return
    try:
        socket.if_nametoindex(scope)
    except OSError:
        raise AddressError(f"bad address {host!r}: no network interface named {scope!r}") from None


def named_scope(host: str) -> str:
    """`fe80::1%2` as `fe80::1%eth0`: received datagrams name the interface, so an address
    typed with the index must too to be the same peer (an index with no interface stays)."""
    address, _, scope = host.partition("%")
    return f"{address}%{interface_name(int(scope))}" if scope.isdigit() else host


def resolve_host(host: str, port: int = 0) -> Address:
    """Resolve a host name or numeric address; IPv4 is preferred for names that have both.

    UDP has no handshake to fall back on, so picking the address the classic tutorial
    servers bind (`127.0.0.1`) over `::1` for `localhost` is the least surprising choice.
    """
    try:
        numeric = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        numeric = None
    if numeric is not None:
        if "%" in host:
            check_scope(host, numeric)
            return Address(named_scope(host), port)
        if isinstance(numeric, ipaddress.IPv6Address) and numeric.ipv4_mapped is not None:
            return Address(str(numeric.ipv4_mapped), port)
        return Address(str(numeric), port)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except (socket.gaierror, UnicodeError) as error:
        reason = error.strerror if isinstance(error, socket.gaierror) else str(error)
        raise AddressError(f"cannot resolve host {host!r}: {reason}") from None
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    return Address.from_sockaddr(infos[0][4])


def parse_endpoint(text: str, *, allow_zero_port: bool = False) -> Address:
    """Parse and resolve `HOST:PORT` (HOST: IPv4, `[IPv6]`, or a name)."""
    host, port_text = split_host_port(text)
    port = parse_port(port_text, allow_zero=allow_zero_port)
    return resolve_host(host, port)


def is_name(host: str) -> bool:
    """Whether `host` is a name to look up, not a numeric address: a lookup can take seconds."""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return True
    return False
