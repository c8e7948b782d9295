"""A chat session without a screen: turns what the transport received into log entries,
keeps the reply target and the counters, and sends with the size checks and warnings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from udptui.address import Address
from udptui.datagram import Direction, Entry, Level, Truncation
from udptui.store import EntryStore
from udptui.transport import (
    ETHERNET_PAYLOAD,
    SAFE_PAYLOAD,
    Fault,
    Inbound,
    SendError,
    UdpTransport,
)

Clock = Callable[[], datetime]

_TRUNCATION = (Truncation.NONE, Truncation.CUT, Truncation.POSSIBLE)


@dataclass
class Counters:
    """Traffic totals shown in the status bar."""

    received: int = 0
    sent: int = 0
    bytes_in: int = 0
    bytes_out: int = 0


@dataclass
class IngestResult:
    """What one batch from the transport brought."""

    entries: list[Entry] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    target_changed: bool = False
    let_go: int = 0
    """Old entries dropped from the scrollback to make room for this batch."""


@dataclass
class SendResult:
    """A datagram that went out, and what the user should know about its size."""

    entry: Entry
    warnings: list[str]


class ChatSession:
    """The state of one chat: target, entries, counters."""

    def __init__(
        self,
        transport: UdpTransport,
        *,
        target: Address | None = None,
        follow: bool = True,
        scrollback: int = 10_000,
        clock: Clock = datetime.now,
    ) -> None:
        self.transport = transport
        self.target = target
        self.follow = follow
        """True: the target becomes whoever wrote last. False: the target stays put."""
        self.store = EntryStore(scrollback)
        self.counters = Counters()
        self.clock = clock
        self._addresses: dict[Any, Address] = {}

    def _address(self, sockaddr: Any) -> Address:
        """Cached `Address.from_sockaddr`: a flood comes from few senders."""
        address = self._addresses.get(sockaddr)
        if address is None:
            if len(self._addresses) > 4096:
                self._addresses.clear()
            address = self._addresses[sockaddr] = Address.from_sockaddr(sockaddr)
        return address

    def ingest(self, batch: list[Inbound]) -> IngestResult:
        """Turn a batch from the transport into entries, in arrival order, and store them."""
        result = IngestResult()
        if not batch:
            return result
        now = self.clock()
        entries = result.entries
        counters = self.counters
        target = self.target
        for item in batch:
            if isinstance(item, Fault):
                result.faults.append(item)
                message = f"{item.message} {item.address}" if item.address else item.message
                entries.append(Entry(now, Direction.NOTE, item.address, note=message, level=Level.WARNING))
                continue
            payload, sockaddr, wire_length, cut = item
            try:
                sender = self._address(sockaddr)
                if self.follow:
                    target = sender
                entry = Entry(
                    now,
                    Direction.RECEIVED,
                    sender,
                    payload,
                    wire_length,
                    _TRUNCATION[cut],
                    stranger=sender != target,
                )
            except Exception:  # one odd datagram must not stop the rest: show its bytes
                entry = Entry(now, Direction.RECEIVED, None, bytes(payload), len(payload))
            entries.append(entry)
            counters.received += 1
            counters.bytes_in += entry.wire_length
        if target != self.target:
            self.target = target
            result.target_changed = True
        result.let_go = self.store.extend(entries)
        return result

    def note(self, message: str, level: Level = Level.INFO, peer: Address | None = None) -> Entry:
        """Log the app's own message (a notice) as an entry."""
        entry = Entry(self.clock(), Direction.NOTE, peer, note=message, level=level)
        self.store.extend([entry])
        return entry

    def send(self, payload: bytes, to: Address | None = None) -> SendResult:
        """Send one datagram to `to` or the target; `SendError` if it did not go."""
        destination = to or self.target
        if destination is None:
            raise SendError("no peer yet: wait for someone to write, or start with --peer HOST:PORT")
        self.transport.send(payload, destination)
        self.counters.sent += 1
        self.counters.bytes_out += len(payload)
        entry = Entry(self.clock(), Direction.SENT, destination, payload, len(payload))
        self.store.extend([entry])
        return SendResult(entry, size_warnings(len(payload), destination.is_ipv6))


def size_warnings(size: int, ipv6: bool) -> list[str]:
    """What a sent size risks on real networks (the tutorial's ~500-byte advice, made exact)."""
    if size > ETHERNET_PAYLOAD[ipv6]:
        return [
            f"sent {size} bytes: over {ETHERNET_PAYLOAD[ipv6]}, it will be fragmented on an "
            "Ethernet path, and is lost if any fragment is"
        ]
    if size > SAFE_PAYLOAD[ipv6]:
        return [f"sent {size} bytes: over {SAFE_PAYLOAD[ipv6]}, it may be dropped on some paths"]
    return []
