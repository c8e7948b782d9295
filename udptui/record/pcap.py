"""pcap export (`--pcap FILE`, `/save FILE.pcap`): every datagram in and out as an IPv4 or
IPv6 packet with a UDP header, so `tcpdump -r`, `tshark -r` and Wireshark read the session
and decode the payloads with their own dissectors.

The file format comes from `dpkt` (imported only when a pcap file is written). The IP and
UDP headers are packed here with `struct`: dpkt's packet classes take 10-15 µs per packet
against 0.8 µs for these few lines, and a flood brings 100,000 datagrams a second.
The link type is raw IP (LINKTYPE_RAW, 101), so IPv4 and IPv6 packets share one file.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from udptui.chat.datagram import Direction, Entry, Truncation
from udptui.net.address import Address
from udptui.record.files import is_open_file, open_new_file

LINKTYPE_RAW = 101
"""pcap link type: each record is a bare IPv4 or IPv6 packet (dpkt's DLT_RAW is the BSD value, 12)."""
SNAPLEN = 65535 + 40 + 8
"""The largest record: a full UDP payload behind an IPv6 and a UDP header."""
TTL = 64
_UDP = 17
_IPV4_UDP = struct.Struct("!BBHHHBBH4s4sHHHH")
_IPV6_UDP = struct.Struct("!IHBB16s16sHHHH")
_PSEUDO4 = struct.Struct("!4s4sBBH")
_PSEUDO6 = struct.Struct("!16s16sIxxxB")
_DONT_FRAGMENT = 0x4000


def _checksum(*parts: bytes) -> int:
    """The Internet checksum (RFC 1071) of the concatenated parts (each even-sized but the last).

    The one's-complement sum of 16-bit words is the number the bytes spell, modulo 0xFFFF
    (2**16 is 1 modulo 0xFFFF): one big-int operation in C instead of a loop in Python.
    """
    data = b"".join(parts)
    if len(data) % 2:
        data += b"\0"
    total = int.from_bytes(data, "big") % 0xFFFF
    return ~(total or 0xFFFF) & 0xFFFF


def _udp_checksum(pseudo: bytes, header: bytes, payload: bytes) -> int:
    # A computed 0 goes out as 0xFFFF: 0 means "no checksum" (RFC 768).
    return _checksum(pseudo, header, payload) or 0xFFFF


def _bare(host: str) -> str:
    """An address without its `%scope` (`fe80::1%eth0`): an IP header has no place for the
    interface, and `inet_pton` refuses it."""
    return host.partition("%")[0]


def _local_host(local: Address | str | None, ipv6: bool) -> str:
    """The local end's address in the peer's IP version (a dual-stack `::` is `0.0.0.0` to IPv4)."""
    host = _bare(local.host if isinstance(local, Address) else (local or ""))
    if host.startswith("::ffff:") and "." in host:
        host = host[7:]
    if ipv6:
        if not host:
            return "::"
        return host if ":" in host else f"::ffff:{host}"
    return host if host and ":" not in host else "0.0.0.0"


class SentFrom:
    """The address the kernel sends from to each peer when the socket is bound to a wildcard
    (`0.0.0.0`, `::`): what `connect` on a throwaway socket says, a route lookup that sends
    nothing. Cached per peer, so a flood asks once."""

    LIMIT = 4096

    def __init__(self, local: Address) -> None:
        self.wildcard = _bare(local.host) in ("", "0.0.0.0", "::")
        self._hosts: dict[Address, str] = {}

    def host_for(self, peer: Address) -> str | None:
        if not self.wildcard:
            return None  # a bound address is the source
        host = self._hosts.get(peer)
        if host is None:
            if len(self._hosts) >= self.LIMIT:
                self._hosts.clear()
            family = socket.AF_INET6 if peer.is_ipv6 else socket.AF_INET
            try:
                with socket.socket(family, socket.SOCK_DGRAM) as probe:
                    probe.connect(peer.sockaddr_for(family))
                    host = str(probe.getsockname()[0])
            except OSError:  # no route: the wildcard it is
                host = ""
            self._hosts[peer] = host
        return host or None


def packet(entry: Entry, local: Address, sent_from: SentFrom | None = None) -> bytes | None:
    """The IP packet of a datagram entry (None for a note): headers with the length it had on
    the wire, then the bytes kept. `local` is the socket's bound address; its host is used
    unless the entry knows the address it arrived at (`entry.local_address`, IP_PKTINFO) or,
    for a sent one, `sent_from` knows the address the kernel sent it from."""
    peer = entry.peer
    if entry.direction is Direction.NOTE or peer is None:
        return None
    ipv6 = peer.is_ipv6
    here_address: Address | str | None = getattr(entry, "local_address", None)
    # A datagram relayed down is written as the one the listening socket sent to the client.
    outgoing = entry.direction is Direction.SENT or entry.relay == "down"
    if outgoing and sent_from is not None:
        here_address = sent_from.host_for(peer)
    here = _local_host(here_address if here_address is not None else local, ipv6)
    local_port = local.port  # the socket's port, whichever of its addresses was used
    there = _bare(peer.host)
    if not outgoing:
        source, destination, source_port, destination_port = there, here, peer.port, local_port
    else:
        source, destination, source_port, destination_port = here, there, local_port, peer.port
    payload = entry.payload
    whole = entry.truncation is Truncation.NONE and len(payload) == entry.wire_length
    udp_length = 8 + entry.wire_length
    family = socket.AF_INET6 if ipv6 else socket.AF_INET
    src, dst = socket.inet_pton(family, source), socket.inet_pton(family, destination)
    udp_header = struct.pack("!HHHH", source_port, destination_port, udp_length & 0xFFFF, 0)
    if ipv6:
        pseudo = _PSEUDO6.pack(src, dst, udp_length, _UDP)
        checksum = _udp_checksum(pseudo, udp_header, payload)
        return _IPV6_UDP.pack(
            6 << 28, udp_length, _UDP, TTL, src, dst, source_port, destination_port, udp_length, checksum
        ) + payload  # fmt: skip
    # A cut datagram's checksum cannot be known: IPv4 allows saying "none" (0).
    checksum = 0
    if whole:
        checksum = _udp_checksum(_PSEUDO4.pack(src, dst, 0, _UDP, udp_length), udp_header, payload)
    total = min(20 + udp_length, 0xFFFF)
    header = _IPV4_UDP.pack(
        0x45, 0, total, 0, _DONT_FRAGMENT, TTL, _UDP, 0, src, dst, source_port, destination_port,
        udp_length, checksum,
    )  # fmt: skip
    header_checksum = _checksum(header[:20])
    return header[:10] + header_checksum.to_bytes(2, "big") + header[12:] + payload


Skip = Callable[[Entry, Exception], None]
"""Told of a datagram that cannot be made a packet, which is then left out."""


def records(
    entries: Iterable[Entry], local: Address, skip: Skip | None = None, sent_from: SentFrom | None = None
) -> Iterator[tuple[float, bytes]]:
    """(timestamp, packet) for each datagram among `entries`; notes have no packet, nor
    does a datagram an impairment dropped (except one a relay received and dropped on its
    way up: it crossed the wire from the client).

    With `skip`, a datagram whose packet cannot be built (an address `inet_pton` refuses, a
    port out of range) is handed to it and left out; without, the error goes up."""
    for entry in entries:
        fate = entry.impairment
        # A pcap holds what crossed the wire: a datagram dropped on its way in never arrived,
        # one dropped before it was sent never left; but one a relay dropped on the way up
        # did reach the relay's port from its client (the relay just did not forward it).
        if fate is not None and fate.lost and entry.relay != "up":
            continue
        try:
            data = packet(entry, local, sent_from)
        except (OSError, ValueError, OverflowError, struct.error) as error:
            if skip is None:
                raise
            skip(entry, error)
            continue
        if data is not None:
            # A delayed send went out its delay after the log's time (when it was typed).
            late = fate.delay if fate is not None and entry.direction is Direction.SENT else 0.0
            yield entry.time.timestamp() + late, data


def _start(file: BinaryIO) -> Any:
    import dpkt  # only when a pcap file is written: `udptui --version` stays fast

    return dpkt.pcap.Writer(file, snaplen=SNAPLEN, linktype=LINKTYPE_RAW)


class PcapWriter:
    """`--pcap FILE`: a new pcap file that gets every datagram of each batch, flushed per batch."""

    def __init__(self, path: str, local: Address) -> None:
        """Create `path` (never over an existing file: `files.FileExists`; OSError for the rest)."""
        self.path = path
        self.label = f"pcap file {path}"
        self.local = local
        self.sent_from = SentFrom(local)
        self.skipped = 0
        """Datagrams left out: no packet could be built for them."""
        self._notice: str | None = None
        self.file_path, self._file = open_new_file(path)
        try:
            self._writer = _start(self._file)
            self._file.flush()
        except BaseException:
            self._file.close()
            raise

    def write(self, entries: Iterable[Entry]) -> None:
        """Append the batch's datagrams and flush them to the OS."""
        self._writer.writepkts(records(entries, self.local, self._skip, self.sent_from))
        self._file.flush()

    def _skip(self, entry: Entry, error: Exception) -> None:
        # One bad datagram must not end the capture: it is left out, counted, and said once.
        self.skipped += 1
        if self.skipped == 1:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else error
            self._notice = (
                f"{self.label}: left out a datagram with {entry.peer} that cannot be a packet"
                f" ({reason}); the capture goes on, and leaves out any more such without a word"
            )

    def take_notice(self) -> str | None:
        """What to tell the user once (the first datagram left out), then None."""
        notice, self._notice = self._notice, None
        return notice

    def is_same_file(self, path: str) -> bool:
        """Whether `path` names this file (saving onto it would lose it)."""
        return is_open_file(self._file, path)

    def session_bytes(self) -> bytes:
        """Everything written so far (the file was new: all of it is this session's)."""
        self._file.flush()
        return self.file_path.read_bytes()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()


def pcap_bytes(entries: Iterable[Entry], local: Address) -> bytes:
    """A whole pcap file of `entries` (for `/save FILE.pcap` without `--pcap`)."""
    import io

    buffer = io.BytesIO()
    _start(buffer).writepkts(records(entries, local, sent_from=SentFrom(local)))
    return buffer.getvalue()


def is_pcap_path(path: str) -> bool:
    """`/save x.pcap` writes pcap; any other name writes JSON lines."""
    return Path(path).suffix.lower() in (".pcap", ".cap")
