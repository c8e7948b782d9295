"""Network interfaces: by name or index, their flags, and their IPv4 addresses (netlink).

Every lookup here survives a hostile name (`²`, a 30-digit index, a NUL): it answers, or
raises `InterfaceError` with one line. Nothing here imports Textual.
"""

from __future__ import annotations

import fcntl
import socket
import struct
from typing import NamedTuple

SIOCGIFFLAGS = 0x8913
IFF_UP = 0x1
IFF_LOOPBACK = 0x8
IFF_MULTICAST = 0x1000
NETLINK_ROUTE = 0
RTM_NEWADDR, RTM_GETADDR = 20, 22
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
IFA_ADDRESS, IFA_BROADCAST = 1, 4


class InterfaceError(ValueError):
    """No such interface; the message is one line for the user."""


def interface_index(name: str) -> int:
    """The index of an interface named `name` (or given by its index); `InterfaceError` if none."""
    if not name:
        raise InterfaceError("name an interface, like eth0 (see: ip link)")
    if name.isascii() and name.isdigit():
        index = int(name)
        try:
            socket.if_indextoname(index)
        except (OSError, OverflowError, ValueError):
            raise InterfaceError(f"no network interface with index {name} (see: ip link)") from None
        return index
    try:
        return socket.if_nametoindex(name)
    except (OSError, ValueError):  # ValueError: a NUL, or a name the file system cannot encode
        raise InterfaceError(f"no network interface named {name!r} (see: ip link)") from None


def interface_exists(index: int) -> bool:
    try:
        socket.if_indextoname(index)
    except (OSError, OverflowError, ValueError):
        return False
    return True


def interface_flags(name: str) -> int | None:
    """The interface's flags (SIOCGIFFLAGS), or None where they cannot be read. The ioctl goes
    by way of a local (AF_UNIX) socket, which every host has, IPv4 or not."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as probe:
            request = struct.pack("16sH14x", name.encode()[:15], 0)
            raw = fcntl.ioctl(probe.fileno(), SIOCGIFFLAGS, request)
    except (OSError, ValueError):
        return None
    return int(struct.unpack_from("16sH", raw)[1])


class Ipv4Address(NamedTuple):
    """One IPv4 address on an interface, as netlink (RTM_NEWADDR) tells it."""

    interface: int
    address: bytes
    prefix: int
    broadcast: bytes
    """Its `brd` (IFA_BROADCAST), b"" if none."""


def read_ipv4_addresses(timeout: float = 1.0) -> list[Ipv4Address] | None:
    """Every IPv4 address on this machine (RTM_GETADDR), or None where netlink cannot be asked
    (not Linux, a sandbox)."""
    netlink = getattr(socket, "AF_NETLINK", None)
    if netlink is None:
        return None
    found: list[Ipv4Address] = []
    try:
        with socket.socket(netlink, socket.SOCK_RAW, NETLINK_ROUTE) as sock:
            sock.settimeout(timeout)
            request = struct.pack("=IHHII", 16 + 8, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 1, 0)
            sock.send(request + struct.pack("=BBBBI", socket.AF_INET, 0, 0, 0, 0))
            while _read_addresses(sock.recv(65536), found):
                pass
    except OSError:
        return None
    return found


def _read_addresses(data: bytes, found: list[Ipv4Address]) -> bool:
    """Add the IPv4 addresses of one netlink reply to `found`; False once the dump is done."""
    offset = 0
    while offset + 16 <= len(data):
        length, kind = struct.unpack_from("=IH", data, offset)
        if length < 16 or kind in (NLMSG_DONE, NLMSG_ERROR):
            return False
        if kind == RTM_NEWADDR and length >= 24:
            family, prefix, _, _, index = struct.unpack_from("=BBBBI", data, offset + 16)
            attributes: dict[int, bytes] = {}
            at = offset + 24
            while at + 4 <= offset + length:
                size, name = struct.unpack_from("=HH", data, at)
                if size < 4:
                    break
                attributes[name] = data[at + 4 : at + size]
                at += (size + 3) & ~3
            address = attributes.get(IFA_ADDRESS, b"")
            if family == socket.AF_INET and len(address) == 4:
                broadcast = attributes.get(IFA_BROADCAST, b"")
                found.append(Ipv4Address(index, address, prefix, broadcast if len(broadcast) == 4 else b""))
        offset += (length + 3) & ~3
    return True


def index_of_address(host: str) -> int | None:
    """The index of the interface that has the IPv4 address `host`: 0 if none has it, None
    when the addresses cannot be read."""
    addresses = read_ipv4_addresses()
    if addresses is None:
        return None
    raw = socket.inet_aton(host)
    return next((item.interface for item in addresses if item.address == raw), 0)


def is_up(index: int) -> bool:
    """Whether the interface is administratively up (unknown counts as up)."""
    try:
        name = socket.if_indextoname(index)
    except (OSError, OverflowError, ValueError):
        return False
    flags = interface_flags(name)
    return flags is None or bool(flags & IFF_UP)


RTM_NEWROUTE, RTM_GETROUTE = 24, 26
RTA_DST, RTA_OIF = 1, 4


def route_interface(host: str, timeout: float = 0.5) -> int:
    """The index of the interface the routing table picks for `host` (as `ip route get`
    does, and as the kernel does for a join that names no interface); 0 when there is no
    route or netlink cannot be asked."""
    netlink = getattr(socket, "AF_NETLINK", None)
    if netlink is None:
        return 0
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    raw = socket.inet_pton(family, host)
    attribute = struct.pack("=HH", 4 + len(raw), RTA_DST) + raw
    body = struct.pack("=BBBBBBBBI", family, len(raw) * 8, 0, 0, 0, 0, 0, 0, 0) + attribute
    try:
        with socket.socket(netlink, socket.SOCK_RAW, NETLINK_ROUTE) as sock:
            sock.settimeout(timeout)
            sock.send(struct.pack("=IHHII", 16 + len(body), RTM_GETROUTE, NLM_F_REQUEST, 1, 0) + body)
            data = sock.recv(65536)
    except OSError:
        return 0
    if len(data) < 28 or struct.unpack_from("=H", data, 4)[0] != RTM_NEWROUTE:
        return 0
    length = min(struct.unpack_from("=I", data)[0], len(data))
    at = 28
    while at + 4 <= length:
        size, name = struct.unpack_from("=HH", data, at)
        if size < 4:
            break
        if name == RTA_OIF and size >= 8:
            return int(struct.unpack_from("=I", data, at + 4)[0])
        at += (size + 3) & ~3
    return 0
