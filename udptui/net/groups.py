"""Multicast group membership on one socket: `--join`, `/join`, `/leave` and `/groups`.

A group is written `GROUP`, `GROUP%IFACE` (an interface by name or index, or for IPv4 by one
of its addresses) and, source-specific, `SOURCE@GROUP[%IFACE]`. The kernel calls are the
classic ones: `ip_mreqn` (IP_ADD_MEMBERSHIP), `ipv6_mreq` (IPV6_JOIN_GROUP), and
`group_source_req` (MCAST_JOIN_SOURCE_GROUP) or `ip_mreq_source` for source-specific joins.

On Linux a dual-stack `::` socket joins IPv4 groups at the IPPROTO_IP level like an IPv4
socket does, and receives their datagrams v4-mapped; IP_MULTICAST_ALL is turned off, so the
socket receives the groups it joined and no others (Linux would otherwise deliver groups any
other program on the machine joined, and `/leave` would seem not to work).

Nothing here imports Textual.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import socket
import struct
from dataclasses import dataclass, field, replace

from udptui.net.address import interface_name
from udptui.net.interfaces import (
    IFF_LOOPBACK,
    IFF_MULTICAST,
    InterfaceError,
    index_of_address,
    interface_exists,
    interface_flags,
    route_interface,
)
from udptui.net.interfaces import interface_index as _interface_index

IP_MULTICAST_ALL = 49
"""Linux: 0 means receive only the groups this socket joined (the default, 1, any joined)."""
IPV6_MULTICAST_ALL = 29
IP_ADD_SOURCE_MEMBERSHIP = 39
IP_DROP_SOURCE_MEMBERSHIP = 40
MCAST_JOIN_SOURCE_GROUP = 46
MCAST_LEAVE_SOURCE_GROUP = 47
_SOCKADDR_STORAGE = 128
_ALIGN = struct.calcsize("P")
"""`struct sockaddr_storage` is aligned to a pointer: `group_source_req` pads after its u32."""

EXAMPLES = "239.1.2.3, 239.1.2.3%eth0, ff02::fb%eth0 or 10.0.0.5@232.1.1.1"
JOIN_NEEDS_LISTEN = "--join and /join need --listen PORT: datagrams to a group go to a port senders know"


class GroupError(ValueError):
    """A group that cannot be joined or left; the message is one line for the user."""


@dataclass(frozen=True)
class GroupSpec:
    """A membership as the user wrote it, checked: numeric addresses, an interface that exists."""

    group: str
    """The group's numeric address, without a scope."""
    interface: str = ""
    """The interface as written: a name, an index, or (IPv4) one of its addresses; '' for the default."""
    source: str = ""
    """The only sender to hear (source-specific multicast); '' for any."""
    index: int = field(default=0, compare=False)
    """The interface's index, found when the spec was read (0: the default interface, or one
    that could not be found, as a `/leave` of a vanished interface's group has)."""
    landed: int = field(default=0, compare=False)
    """Joined on the default interface: the index of the one the routing table chose (0 if
    unknown), which the kernel keeps the membership on, and `/groups` names."""

    @property
    def ipv6(self) -> bool:
        return ":" in self.group

    def __str__(self) -> str:
        text = f"{self.source}@{self.group}" if self.source else self.group
        return f"{text}%{self.interface}" if self.interface else text

    @property
    def where(self) -> int | str:
        """The interface, to compare memberships by: its index, else the text as written."""
        return self.index or self.interface


def is_ipv4(text: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(text), ipaddress.IPv4Address)
    except ValueError:
        return False


def interface_index(name: str) -> int:
    """The index of an interface named `name` (or given by its index); `GroupError` if none."""
    try:
        return _interface_index(name)
    except InterfaceError as error:
        raise GroupError(str(error)) from None


def _numeric(text: str, what: str, whole: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise GroupError(
            f"bad group {whole!r}: {what} {text!r} is not an IP address; try {EXAMPLES}"
        ) from None


def parse_group(text: str, *, leaving: bool = False) -> GroupSpec:
    """`[SOURCE@]GROUP[%IFACE]` checked (a multicast group, an interface that exists and has
    multicast); `GroupError` with one line otherwise. `leaving`: a group to leave may name an
    interface that has gone away, and a link-local group needs no interface (the membership
    says which)."""
    whole = text.strip()
    if not whole:
        raise GroupError(f"name a group: {EXAMPLES}")
    rest = whole
    if rest.startswith("[") and "]" in rest:  # `[ff02::fb%eth0]`, as in an address
        rest = rest[1:].replace("]", "", 1)
    source_text, at, rest = rest.rpartition("@")
    group_text, percent, interface = rest.partition("%")
    group = _numeric(group_text, "the group", whole)
    if not group.is_multicast:
        raise GroupError(
            f"{group} is not a multicast address: IPv4 groups are 224.0.0.0 to 239.255.255.255, "
            "IPv6 ones start with ff"
        )
    if percent and not interface:
        raise GroupError(f"bad group {whole!r}: name an interface after %, as in {group}%eth0")
    source = ""
    if at:
        address = _numeric(source_text, "the source", whole)
        if address.version != group.version:
            raise GroupError(f"bad group {whole!r}: the source and the group are of different IP versions")
        if address.is_multicast or address.is_unspecified:
            raise GroupError(
                f"bad group {whole!r}: the source {address} cannot send (it is no host's address)"
            )
        source = str(address)
    index = 0
    if interface:
        try:
            index = _interface_of(interface, ipv6=group.version == 6, whole=whole)
        except GroupError:
            if not leaving:
                raise
    elif group.version == 6 and int(group) >> 112 & 0xF in (1, 2) and not leaving:
        # ff01::/16 and ff02::/16 (ff.1 and ff.2 scopes) exist per link: which link is the user's to say.
        raise GroupError(f"{group} is a link-local group: name the interface, like {group}%eth0")
    return GroupSpec(str(group), interface, source, index)


def _interface_of(interface: str, *, ipv6: bool, whole: str) -> int:
    """The index of the interface after `%` (0 where an IPv4 address's cannot be looked up)."""
    if is_ipv4(interface):
        if ipv6:
            raise GroupError(f"bad group {whole!r}: name the interface of an IPv6 group, like %eth0")
        index = index_of_address(interface)
        if index == 0:
            raise GroupError(f"bad group {whole!r}: no interface has the address {interface} (see: ip addr)")
        return index or 0
    index = interface_index(interface)
    with contextlib.suppress(OSError):  # gone this instant: the kernel will say so
        check_multicast_interface(socket.if_indextoname(index), ipv6=ipv6)
    return index


def check_multicast_interface(name: str, *, ipv6: bool) -> None:
    """Refuse an interface without multicast. IPv4 groups on loopback work (the machine's own
    programs hear each other); IPv6 ones need a real multicast interface."""
    flags = interface_flags(name)
    if flags is None or flags & IFF_MULTICAST:
        return
    if flags & IFF_LOOPBACK and not ipv6:
        return
    raise GroupError(
        f"interface {name} has no multicast (its flags lack MULTICAST): "
        + ("IPv6 groups need an interface like eth0" if ipv6 else "choose another with %IFACE")
    )


# -- the kernel's structures -----------------------------------------------------------------


def ip_mreqn(group: str, interface: str, index: int) -> bytes:
    """`struct ip_mreqn`: the group, the interface's address (or 0.0.0.0) and its index."""
    address = interface if is_ipv4(interface) else "0.0.0.0"
    return socket.inet_aton(group) + socket.inet_aton(address) + struct.pack("@i", index)


def ipv6_mreq(group: str, index: int) -> bytes:
    """`struct ipv6_mreq`: the group and the interface index."""
    return socket.inet_pton(socket.AF_INET6, group) + struct.pack("@I", index)


def _sockaddr_storage(host: str) -> bytes:
    if ":" in host:
        raw = struct.pack("@H", socket.AF_INET6) + bytes(6) + socket.inet_pton(socket.AF_INET6, host)
    else:
        raw = struct.pack("@H", socket.AF_INET) + bytes(2) + socket.inet_aton(host)
    return raw + bytes(_SOCKADDR_STORAGE - len(raw))


def group_source_req(group: str, source: str, index: int) -> bytes:
    """`struct group_source_req`: the interface index, then the group and source as sockaddrs."""
    head = struct.pack("@I", index)
    head += bytes(-len(head) % _ALIGN)
    return head + _sockaddr_storage(group) + _sockaddr_storage(source)


def ip_mreq_source(group: str, interface: str, source: str) -> bytes:
    """`struct ip_mreq_source` (Linux order): group, interface address, source."""
    return socket.inet_aton(group) + socket.inet_aton(interface) + socket.inet_aton(source)


def membership_call(spec: GroupSpec, *, join: bool) -> tuple[int, int, bytes]:
    """(level, option, value) for `setsockopt` to join or leave `spec`, on the interface index
    found when it was read (a leave must not look the name up again: it may be gone)."""
    index = spec.index or spec.landed
    by_address = spec.interface if index == 0 and is_ipv4(spec.interface) else ""
    if spec.ipv6:
        if spec.source:
            option = MCAST_JOIN_SOURCE_GROUP if join else MCAST_LEAVE_SOURCE_GROUP
            return socket.IPPROTO_IPV6, option, group_source_req(spec.group, spec.source, index)
        option = socket.IPV6_JOIN_GROUP if join else socket.IPV6_LEAVE_GROUP
        return socket.IPPROTO_IPV6, option, ipv6_mreq(spec.group, index)
    if spec.source:
        if by_address:
            option = IP_ADD_SOURCE_MEMBERSHIP if join else IP_DROP_SOURCE_MEMBERSHIP
            return socket.IPPROTO_IP, option, ip_mreq_source(spec.group, by_address, spec.source)
        option = MCAST_JOIN_SOURCE_GROUP if join else MCAST_LEAVE_SOURCE_GROUP
        return socket.IPPROTO_IP, option, group_source_req(spec.group, spec.source, index)
    option = socket.IP_ADD_MEMBERSHIP if join else socket.IP_DROP_MEMBERSHIP
    return socket.IPPROTO_IP, option, ip_mreqn(spec.group, by_address, index)


def _kernel_said(error: OSError) -> str:
    return f"the kernel refused it ({error.strerror or error})"


def _join_error(spec: GroupSpec, error: OSError) -> GroupError:
    where = f"interface {spec.interface}" if spec.interface else "the default interface"
    code = error.errno
    if code == errno.EADDRINUSE:
        reason = "already joined"
    elif code in (errno.ENODEV, errno.EADDRNOTAVAIL) and is_ipv4(spec.interface):
        reason = f"no interface has the address {spec.interface}"
    elif code == errno.ENODEV:
        reason = (
            f"no interface to reach it by (no route to {spec.group}): name one, as in {spec.group}%eth0"
            if not spec.interface
            else f"no such interface {spec.interface}"
        )
    elif code == errno.ENOBUFS:
        reason = "too many memberships on this socket (net.ipv4.igmp_max_memberships)"
    elif code == errno.EINVAL:
        reason = f"the kernel refused it on {where} (not a multicast address there?)"
    else:
        reason = _kernel_said(error)
    return GroupError(f"cannot join {spec}: {reason}")


_GONE = (errno.ENODEV, errno.EADDRNOTAVAIL, errno.ENXIO)
"""What leaving says when the interface, and with it the kernel's membership, is gone."""


class Memberships:
    """The groups one socket has joined, in the order joined."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.family = sock.family
        self.dual_stack = self.family == socket.AF_INET6 and not sock.getsockopt(
            socket.IPPROTO_IPV6, socket.IPV6_V6ONLY
        )
        self.joined: list[GroupSpec] = []
        self.listening = True
        """The socket is bound to a port senders know (`--listen`); peer mode's is not, and
        refuses to join."""
        self.bound_host = str(sock.getsockname()[0]).partition("%")[0]
        with contextlib.suppress(OSError):  # only this socket's groups (Linux; elsewhere a no-op)
            if self.family == socket.AF_INET or self.dual_stack:
                sock.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)
            if self.family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0)

    def _check_socket(self, spec: GroupSpec) -> None:
        if not self.listening:
            raise GroupError(f"cannot join {spec}: {JOIN_NEEDS_LISTEN} (start udptui with --listen PORT)")
        bound = ipaddress.ip_address(self.bound_host)
        if not (bound.is_unspecified or bound.is_multicast):
            raise GroupError(
                f"cannot join {spec}: this socket is bound to {bound}, and a socket bound to one "
                "unicast address hears nothing sent to a group (start without --bind)"
            )
        if spec.ipv6 and self.family == socket.AF_INET:
            raise GroupError(f"cannot join {spec}: this socket is IPv4 only (leave out --bind, or bind ::)")
        if not spec.ipv6 and self.family == socket.AF_INET6 and not self.dual_stack:
            raise GroupError(
                f"cannot join {spec}: this socket is IPv6 only (leave out --bind, or bind 0.0.0.0)"
            )

    def _check_mix(self, spec: GroupSpec) -> None:
        """One membership per group and interface: any-source, or source-specific (the kernel
        keeps one filter per group and interface on a socket, exclude or include)."""
        for item in self.joined:
            if item.group != spec.group or item.where != spec.where:
                continue
            if item.source == spec.source:
                raise GroupError(f"cannot join {spec}: already joined (as {item})")
            if not item.source or not spec.source:
                kinds = "any-source and source-specific"
                raise GroupError(
                    f"cannot join {spec}: {item} is joined on the same interface, and one socket "
                    f"cannot mix {kinds} memberships of a group there: /leave {item} first"
                )

    def join(self, spec: GroupSpec) -> str:
        """Join `spec`; what to say about it, or `GroupError`."""
        self._check_socket(spec)
        stale = [
            item
            for item in self.joined
            if str(item) == str(spec) and item.index and not interface_exists(item.index)
        ]
        for item in stale:  # its interface went away and came back with a new index
            self.leave(item)
        self._check_mix(spec)
        level, option, value = membership_call(spec, join=True)
        try:
            self.sock.setsockopt(level, option, value)
        except OSError as error:
            raise _join_error(spec, error) from None
        if not spec.interface:
            spec = replace(spec, landed=route_interface(spec.group))
        self.joined.append(spec)
        dropped = " (the membership on the interface that went away is dropped)" if stale else ""
        return f"joined {spec}{dropped}"

    def find(self, spec: GroupSpec) -> GroupSpec:
        """The membership `spec` means: the one of its group on its interface (compared by
        index: `%lo` and `%1` are one), and where it leaves the interface or the source out,
        the only one that fits."""
        same = [item for item in self.joined if item.group == spec.group]
        if spec.source:
            same = [item for item in same if item.source == spec.source]
        if spec.interface:
            same = [
                item
                for item in same
                if (spec.index and item.index == spec.index) or item.interface == spec.interface
            ]
        if not spec.source and any(not item.source for item in same):
            same = [item for item in same if not item.source]
        if len(same) == 1:
            return same[0]
        if same:
            named = " or ".join(f"/leave {item}" for item in same)
            raise GroupError(f"{spec} fits more than one membership: name which, {named}")
        raise GroupError(f"not a member of {spec}: /groups lists the groups joined")

    def leave(self, spec: GroupSpec) -> str:
        """Leave `spec` (or the only membership that fits it); what to say, or `GroupError`.
        A membership whose interface has gone is dropped from the list all the same."""
        found = self.find(spec)
        level, option, value = membership_call(found, join=False)
        gone = bool(found.index) and not interface_exists(found.index)
        try:
            self.sock.setsockopt(level, option, value)
        except OSError as error:
            if error.errno not in _GONE and not gone:
                raise GroupError(f"cannot leave {found}: {_kernel_said(error)}") from None
            gone = True
        self.joined.remove(found)
        return f"left {found} (its interface is gone)" if gone else f"left {found}"

    def described(self) -> tuple[str, ...]:
        """Each membership for `/groups`: as written, and where the default interface was used,
        the one the routing table chose."""
        return tuple(
            f"{spec} (on {interface_name(spec.landed)}, the routing table's choice)"
            if spec.landed
            else str(spec)
            for spec in self.joined
        )

    def labels(self) -> tuple[str, ...]:
        """Each membership as the user wrote it, for the header and `/groups`."""
        return tuple(map(str, self.joined))
