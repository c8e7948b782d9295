"""A batch of received datagrams, kept as one compact record until something reads an entry.

The receive thread makes one `RecvBatch` per system call (a few hundred datagrams under a
flood) and the UI takes whole batches: no per-datagram object is made until the log draws a
line, the inspector opens it, `/save` writes it or a filter scans it. The ancillary data
(arrival time, the local address it arrived on) stays as the raw bytes the kernel wrote and
is decoded only then.
"""

from __future__ import annotations

import functools
import socket
import struct
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

from udptui.net.address import Address, interface_name

if TYPE_CHECKING:
    from udptui.net.relay_session import RelayTag
from udptui.net.destinations import special_destination, special_raw

SO_TIMESTAMPNS = 35
"""Linux: the kernel's arrival time of each datagram (struct timespec) in the ancillary data."""
SO_RXQ_OVFL = 40
"""Linux: the socket's cumulative drop counter in each datagram's ancillary data."""
IP_PKTINFO = 8
"""Linux: the local address an IPv4 datagram arrived on (struct in_pktinfo)."""
IPV6_PKTINFO = 50
"""Linux: the same for IPv6 (struct in6_pktinfo); IPv4 on a dual-stack socket comes v4-mapped."""

_HEADER = struct.Struct("@Nii")
"""struct cmsghdr: cmsg_len (size_t), cmsg_level, cmsg_type."""
_ALIGN = struct.calcsize("N")
TIMESPEC = struct.Struct("@qq" if struct.calcsize("N") == 8 else "@ll")

_LEVEL_AT = struct.calcsize("@N")
_TYPE_AT = _LEVEL_AT + 4
_GROUP_BYTE = bytes(1 if 224 <= byte <= 239 else 0 for byte in range(256))
"""A translation table: 1 for the first bytes of IPv4 groups (224-239), else 0."""

Ancillary = list[tuple[int, int, bytes]]
"""What `socket.recvmsg` returns as ancillary data: (level, type, data)."""


def parse_cmsgs(raw: bytes) -> Ancillary:
    """The control messages in a raw `msg_control` buffer, as `socket.recvmsg` lists them."""
    items: Ancillary = []
    offset = 0
    header = _HEADER.size
    while offset + header <= len(raw):
        length, level, kind = _HEADER.unpack_from(raw, offset)
        if length < header or offset + length > len(raw):
            break
        items.append((level, kind, raw[offset + header : offset + length]))
        offset += (length + _ALIGN - 1) & ~(_ALIGN - 1)
    return items


def arrival_ns(ancillary: Ancillary) -> int | None:
    """The kernel's arrival time (SO_TIMESTAMPNS) in nanoseconds since the epoch, if there."""
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= TIMESPEC.size:
            seconds, nanoseconds = TIMESPEC.unpack_from(data)
            return int(seconds) * 1_000_000_000 + int(nanoseconds)
    return None


def _timestamp_in(raw: bytes, start: int, used: int) -> int | None:
    """`arrival_ns(parse_cmsgs(raw[start:start + used]))`, without making the list: a record
    of a flood needs only the time."""
    offset, end, header = start, start + used, _HEADER.size
    while offset + header <= end:
        length, level, kind = _HEADER.unpack_from(raw, offset)
        if length < header or offset + length > end:
            return None
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and length - header >= TIMESPEC.size:
            seconds, nanoseconds = TIMESPEC.unpack_from(raw, offset + header)
            return int(seconds) * 1_000_000_000 + int(nanoseconds)
        offset += (length + _ALIGN - 1) & ~(_ALIGN - 1)
    return None


def drop_count(ancillary: Ancillary) -> int | None:
    """The socket's cumulative drop counter (SO_RXQ_OVFL), if the kernel added it."""
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_RXQ_OVFL and len(data) >= 4:
            return int(struct.unpack_from("=I", data)[0])
    return None


def local_host(ancillary: Ancillary) -> str | None:
    """The local address a datagram arrived on (IP_PKTINFO / IPV6_PKTINFO), if there."""
    return local_host_and_interface(ancillary)[0]


def local_host_and_interface(ancillary: Ancillary) -> tuple[str | None, int]:
    """The address a datagram was sent to (its IP header's destination: a local address, a
    group or a broadcast address) and the index of the interface it came in on (0: unknown)."""
    for level, kind, data in ancillary:
        if level == socket.IPPROTO_IPV6 and kind == IPV6_PKTINFO and len(data) >= 20:
            host = socket.inet_ntop(socket.AF_INET6, data[:16])
            index = int.from_bytes(data[16:20], sys.byteorder)
            if host.startswith("::ffff:") and "." in host:
                return host[7:], index
            return (f"{host}%{interface_name(index)}" if host.startswith("fe80:") and index else host), index
        if level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(data) >= 12:
            # ipi_addr: the header's destination (ipi_spec_dst is the local address a reply goes from)
            index = int.from_bytes(data[:4], sys.byteorder)
            return socket.inet_ntop(socket.AF_INET, data[8:12]), index
    return None, 0


def _destination_at(raw: bytes, start: int, used: int) -> tuple[int, int, int]:
    """Where the pktinfo's control header starts in one message's control bytes, where its
    destination address is, and that address's length (4 or 16); (-1, -1, 0) if none."""
    offset, end, header = start, start + used, _HEADER.size
    while offset + header <= end:
        length, level, kind = _HEADER.unpack_from(raw, offset)
        if length < header or offset + length > end:
            break
        if level == socket.IPPROTO_IPV6 and kind == IPV6_PKTINFO and length - header >= 20:
            return offset, offset + header, 16  # in6_pktinfo: ipi6_addr first
        if level == socket.IPPROTO_IP and kind == IP_PKTINFO and length - header >= 12:
            return offset, offset + header + 8, 4  # in_pktinfo: ifindex, spec_dst, then ipi_addr
        offset += (length + _ALIGN - 1) & ~(_ALIGN - 1)
    return -1, -1, 0


def address_from_raw(raw: bytes) -> Address:
    """A `struct sockaddr_in` or `sockaddr_in6` as the kernel wrote it, as an Address."""
    family = int.from_bytes(raw[:2], sys.byteorder)
    port = int.from_bytes(raw[2:4], "big")
    if family == socket.AF_INET6 and len(raw) >= 28:
        host = socket.inet_ntop(socket.AF_INET6, raw[8:24])
        scope = int.from_bytes(raw[24:28], sys.byteorder)
        return Address.from_sockaddr((host, port, 0, scope))
    if family == socket.AF_INET and len(raw) >= 8:
        return Address(socket.inet_ntop(socket.AF_INET, raw[4:8]), port)
    raise ValueError(f"unknown address family {family}")


def address_of(sender: Any) -> Address:
    """The Address of a sender key: raw sockaddr bytes (recvmmsg) or a tuple (recvfrom)."""
    if type(sender) is bytes:
        return address_from_raw(sender)
    return Address.from_sockaddr(sender)


@functools.lru_cache(maxsize=64)
def _local(host: str, port: int) -> Address:
    """One Address per local address: a flood arrives on one or two."""
    return Address(host, port)


def local_datetime(nanoseconds: int) -> datetime:
    """Nanoseconds since the epoch as a local naive datetime, to the microsecond."""
    seconds, rest = divmod(nanoseconds, 1_000_000_000)
    return datetime.fromtimestamp(seconds).replace(microsecond=rest // 1000)


class RecvBatch:
    """Datagrams received in one go, oldest first, in parallel lists.

    `senders` holds what the socket call gave as the sender (raw sockaddr bytes from
    recvmmsg, a tuple from recvmsg): a flood repeats one sender, so the recvmmsg path
    repeats one bytes object. `wire` and `cut` are None when no datagram was cut (the
    wire size is then the payload's). `controls` is the raw control buffer of every
    message (`control_size` bytes each, `control_lens` used) or, from recvmsg, the parsed
    ancillary lists; None when no ancillary data was asked for.
    """

    __slots__ = (
        "__weakref__",
        "_size",
        "control_lens",
        "control_size",
        "controls",
        "cut",
        "local_port",
        "payloads",
        "read_ns",
        "relay",
        "senders",
        "wire",
    )

    def __init__(
        self,
        payloads: list[bytes],
        senders: list[Any],
        *,
        wire: list[int] | None = None,
        cut: list[int] | None = None,
        controls: bytes | list[Ancillary] | None = None,
        control_size: int = 0,
        control_lens: list[int] | None = None,
        read_ns: int = 0,
        local_port: int = 0,
    ) -> None:
        self.payloads = payloads
        self.senders = senders
        self.wire = wire
        self.cut = cut
        self.controls = controls
        self.control_size = control_size
        self.control_lens = control_lens
        self.read_ns = read_ns
        """time.time_ns() when the receive thread read the batch: the arrival time where
        the kernel gives none."""
        self.local_port = local_port
        self.relay: RelayTag | None = None
        """Set by a relay (`--forward`): which way these datagrams were forwarded."""
        self._size = -1

    def __len__(self) -> int:
        return len(self.payloads)

    def __repr__(self) -> str:
        return f"RecvBatch({len(self.payloads)} datagrams)"

    @property
    def payload_bytes(self) -> int:
        """Bytes kept, worked out once (the receive thread, the inbox and the store all ask)."""
        if self._size < 0:
            self._size = sum(map(len, self.payloads))
        return self._size

    @property
    def wire_bytes(self) -> int:
        """Bytes on the wire, cut datagrams counted whole."""
        return self.payload_bytes if self.wire is None else sum(self.wire)

    def wire_length(self, index: int) -> int:
        return len(self.payloads[index]) if self.wire is None else self.wire[index]

    def truncation(self, index: int) -> int:
        """0 not cut, 1 cut (the kernel said so), 2 possibly cut."""
        return 0 if self.cut is None else self.cut[index]

    def ancillary(self, index: int) -> Ancillary:
        controls = self.controls
        if controls is None:
            return []
        if isinstance(controls, bytes):
            start = index * self.control_size
            used = self.control_lens[index] if self.control_lens is not None else self.control_size
            return parse_cmsgs(controls[start : start + used])
        return controls[index]

    def arrival_ns(self, index: int) -> int:
        """When the datagram arrived: the kernel's time, else when the batch was read."""
        controls = self.controls
        if isinstance(controls, bytes):  # recvmmsg: read the timespec in place, copying nothing
            found = _timestamp_in(controls, index * self.control_size, self._control_used(index))
        else:
            found = arrival_ns(self.ancillary(index))
        return self.read_ns if found is None else found

    def _control_used(self, index: int) -> int:
        return self.control_lens[index] if self.control_lens is not None else self.control_size

    def arrival_and_local(self, index: int) -> tuple[int, Address | None, int]:
        """`arrival_ns`, the address the datagram was sent to (with our port) and the index of
        the interface it came in on, from one reading of the ancillary data: an entry needs
        all three, and a transcript of a flood makes an entry for every datagram."""
        ancillary = self.ancillary(index)
        found = arrival_ns(ancillary)
        try:
            host, interface = local_host_and_interface(ancillary)
        except (OSError, ValueError):  # unknown, as on other platforms
            host, interface = None, 0
        local = None if host is None else _local(host, self.local_port)
        return self.read_ns if found is None else found, local, interface

    def special_destinations(self, broadcasts: frozenset[bytes]) -> dict[int, str]:
        """The datagrams sent to a group or a broadcast address, by index, with that address;
        unicast ones (nearly always all) are left out.

        A record of a flood needs this for every datagram, so the control bytes are read in
        place: the pktinfo sits where it sat in the first message (its control header's bytes
        say so), and a unicast address is let go after a byte or two is looked at."""
        controls = self.controls
        found: dict[int, str] = {}
        if controls is None or not self.payloads:
            return found
        if not isinstance(controls, bytes):  # recvmsg: parsed ancillary lists
            for index, ancillary in enumerate(controls):
                to = special_destination(local_host(ancillary))
                if to is not None:
                    found[index] = to
            return found
        size, header = self.control_size, _HEADER.size
        head_at, address_at, first_length = _destination_at(controls, 0, self._control_used(0))
        if head_at < 0:
            return found
        head = controls[head_at : head_at + header]
        lasts = {raw[3] for raw in broadcasts}
        """The last bytes of the broadcast addresses: a unicast one rarely ends in one (255)."""
        count = len(self.payloads)
        if self._all_unicast(head_at, address_at, first_length, lasts, count):
            return found
        for index in range(count):
            start = index * size
            at, length = start + address_at, first_length
            if controls[start + head_at : start + head_at + header] != head:  # moved (a drop count came)
                _, at, length = _destination_at(controls, start, self._control_used(index))
                if at < 0:
                    continue
            if length == 16:  # IPv6, or IPv4 v4-mapped on a dual-stack socket
                if (
                    controls[at] != 0xFF
                    and controls[at + 12] & 0xF0 != 0xE0
                    and controls[at + 15] not in lasts
                ):
                    continue
            elif controls[at] & 0xF0 != 0xE0 and controls[at + 3] not in lasts:
                continue
            to = special_raw(controls[at : at + length], broadcasts)
            if to is not None:
                found[index] = to
        return found

    def _all_unicast(self, head_at: int, address_at: int, length: int, lasts: set[int], count: int) -> bool:
        """True when no datagram can have come to a group or a broadcast address, told from a
        few bytes of every message at once (slices with the message stride, in C): each
        pktinfo header in its place, no address starting 0xff or 224-239, none ending like a
        broadcast one. False means: look at each one."""
        controls, size = self.controls, self.control_size
        assert isinstance(controls, bytes)

        def column(offset: int) -> bytes:
            return controls[offset::size][:count]

        for offset in (head_at, head_at + _LEVEL_AT, head_at + _TYPE_AT):  # the header's length, level, type
            if column(offset).count(controls[offset]) != count:
                return False
        first = 12 if length == 16 else 0  # where a v4-mapped address's IPv4 part starts
        if column(address_at + first).translate(_GROUP_BYTE).count(1):
            return False
        if length == 16 and column(address_at).count(0xFF):
            return False
        ends = column(address_at + length - 1)
        return not any(ends.count(last) for last in lasts)

    def latest_drop_count(self) -> int | None:
        """The drop counter the newest datagram carries: it is cumulative, and the kernel adds
        it to every datagram queued after the first drop, so the last one says it all."""
        return drop_count(self.ancillary(len(self.payloads) - 1)) if self.payloads else None

    def head(self, count: int) -> RecvBatch:
        """The first `count` datagrams as a batch of their own (`--count` takes no more)."""
        controls = self.controls
        if isinstance(controls, bytes):
            controls = controls[: count * self.control_size]
        elif controls is not None:
            controls = controls[:count]
        part = RecvBatch(
            self.payloads[:count],
            self.senders[:count],
            wire=None if self.wire is None else self.wire[:count],
            cut=None if self.cut is None else self.cut[:count],
            controls=controls,
            control_size=self.control_size,
            control_lens=None if self.control_lens is None else self.control_lens[:count],
            read_ns=self.read_ns,
            local_port=self.local_port,
        )
        part.relay = self.relay
        return part

    def datagrams(self) -> list[tuple[bytes, Any, int, int]]:
        """Each datagram as (kept bytes, sender, bytes on the wire, truncation)."""
        return [
            (self.payloads[i], self.senders[i], self.wire_length(i), self.truncation(i))
            for i in range(len(self))
        ]

    @classmethod
    def of(cls, items: list[tuple[bytes, Any, int, int]], read_ns: int = 0) -> RecvBatch:
        """A batch from (kept bytes, sender, bytes on the wire, truncation) tuples."""
        payloads = [item[0] for item in items]
        wire = [item[2] for item in items]
        cut = [item[3] for item in items]
        return cls(
            payloads,
            [item[1] for item in items],
            wire=None if wire == list(map(len, payloads)) else wire,
            cut=cut if any(cut) else None,
            read_ns=read_ns,
        )
