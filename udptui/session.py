"""A chat session without a screen: turns what the transport received into log entries,
keeps the reply target and the counters, and sends with the size checks and warnings."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from udptui.address import Address
from udptui.datagram import Direction, Entry, Level, Truncation
from udptui.peers import PeerRoster
from udptui.rtt import RttTracker
from udptui.store import EntryStore
from udptui.transcript import Transcript
from udptui.transport import (
    ETHERNET_PAYLOAD,
    SAFE_PAYLOAD,
    Fault,
    Inbound,
    SendError,
    UdpTransport,
)

Clock = Callable[[], datetime]
W = TypeVar("W")

_TRUNCATION = (Truncation.NONE, Truncation.CUT, Truncation.POSSIBLE)


class RecordWriter(Protocol):
    """Somewhere every entry goes as it is stored: `--log`, `--pcap`, `--jsonl` standard output."""

    label: str
    """What it is, for the one notice that says it failed (`log file chat.jsonl`)."""

    def write(self, entries: Sequence[Entry]) -> None:
        """Record one batch and flush it; OSError ends this writer (the chat goes on)."""

    def close(self) -> None: ...


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
    sent: list[Entry] = field(default_factory=list)
    """Datagrams sent in answer to this batch (auto-replies), after it in the log."""


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
        transcript: Transcript | None = None,
        clock: Clock = datetime.now,
    ) -> None:
        self.transport = transport
        self.target = target
        self.follow = follow
        """True: the target becomes whoever wrote last. False: the target stays put."""
        self.store = EntryStore(scrollback)
        self.roster = PeerRoster()
        self.transcript = transcript
        """`--log`: every entry is appended here as it is stored."""
        self.writers: list[RecordWriter] = [transcript] if transcript is not None else []
        """Every batch of entries is written to each of these (the transcript among them)."""
        self._writer_errors: list[str] = []
        self.counters = Counters()
        self.clock = clock
        self._addresses: dict[Any, Address] = {}
        self.last_sent: Entry | None = None
        """The latest datagram sent by hand (`/keep` saves it, `/repeat` counts on it)."""
        self._real_clock = clock == datetime.now  # a bound method: a new object each time
        self.rtt = RttTracker()
        """Sends by hand waiting for their reply, and each peer's round trips."""
        self.react: Callable[[list[Entry], dict[Address, int], int], list[Entry]] | None = None
        """The sending state's one look at each batch (round trips, auto-replies): given its
        entries, its count per sender and its arrival time (ns), it returns the entries of
        what it sent in answer. None while there is nothing to do: it then costs nothing."""

    def now_ns(self) -> int:
        """Nanoseconds for round trips: the real time, or the injected clock's (tests control it)."""
        if self._real_clock:
            return time.time_ns()
        return int(self.clock().timestamp() * 1_000_000_000)

    def _address(self, sockaddr: Any) -> Address:
        """Cached `Address.from_sockaddr`: a flood comes from few senders."""
        address = self._addresses.get(sockaddr)
        if address is None:
            if len(self._addresses) > 4096:
                self._addresses.clear()
            address = self._addresses[sockaddr] = Address.from_sockaddr(sockaddr)
        return address

    def ingest(self, batch: list[Inbound]) -> IngestResult:
        """Turn a batch from the transport into entries, in arrival order, and store them.

        Under a flood this runs on the UI thread for every datagram, so the loop keeps to
        locals, builds each `Entry` with positional arguments (keywords cost half again),
        compares addresses by identity first (they come from a cache), and adds up the
        counters once per batch.
        """
        result = IngestResult()
        if not batch:
            return result
        now = self.clock()
        arrived_ns = self.now_ns()  # when the UI took the batch: the transport gives no earlier time
        entries = result.entries
        append = entries.append
        addresses = self._addresses
        follow = self.follow
        target = self.target
        received = Direction.RECEIVED
        received_count = 0
        bytes_in = 0
        counts: dict[Address, int] = {}  # datagrams per sender, the latest sender last
        run_sender: Address | None = None
        run_length = 0
        for item in batch:
            if isinstance(item, Fault):
                result.faults.append(item)
                append(Entry(now, Direction.NOTE, item.address, note=item.text, level=Level.WARNING))
                continue
            payload, sockaddr, wire_length, cut = item
            try:
                sender = addresses.get(sockaddr)
                if sender is None:
                    sender = self._address(sockaddr)
                if follow:
                    target = sender
                entry = Entry(
                    now,
                    received,
                    sender,
                    payload,
                    wire_length,
                    _TRUNCATION[cut],
                    sender is not target and sender != target,
                )
                # Count per sender as runs: a flood repeats one address, so most datagrams
                # cost an identity test here and the dict is touched once per run.
                if sender is run_sender:
                    run_length += 1
                else:
                    if run_sender is not None:  # pop and put back: the dict keeps recency order
                        counts[run_sender] = counts.pop(run_sender, 0) + run_length
                    run_sender, run_length = sender, 1
            except Exception:  # one odd datagram must not stop the rest: show its bytes
                entry = Entry(now, received, None, bytes(payload), len(payload))
            append(entry)
            received_count += 1
            bytes_in += entry.wire_length
        if run_sender is not None:
            counts[run_sender] = counts.pop(run_sender, 0) + run_length
        counters = self.counters
        counters.received += received_count
        counters.bytes_in += bytes_in
        if target != self.target:
            self.target = target
            result.target_changed = True
        if counts:
            self._count_senders(counts, now)
        result.let_go = self._record(entries)
        if self.react is not None and counts:
            result.sent = self.react(entries, counts, arrived_ns)
        return result

    def _count_senders(self, counts: dict[Address, int], now: datetime) -> None:
        """Update the roster once per sender per batch: a flood comes from few addresses."""
        for address, count in counts.items():
            unread = 0 if self.follow or address == self.target else count
            self.roster.received(address, now, count=count, unread=unread)

    def _record(self, entries: list[Entry]) -> int:
        """Store entries (returns how many old ones the scrollback let go) and write them out."""
        self.transcribe(entries)
        return self.store.extend(entries)

    def transcribe(self, entries: list[Entry]) -> None:
        """Write entries out (`--log`, `--pcap`, headless output) without storing them: a
        repeat's sends, which the log counts in one entry."""
        for writer in self.writers[:] if self.writers else ():
            try:
                writer.write(entries)
            except OSError as error:
                self.writers.remove(writer)
                writer.close()  # after a failed write it tries once more, then lets go
                if writer is self.transcript:
                    self.transcript = None
                self._writer_errors.append(
                    f"{writer.label}: {error.strerror or error}; it records nothing more"
                )

    def add_writer(self, writer: RecordWriter) -> None:
        """Write every entry from now on to `writer` too (`--pcap`, headless standard output)."""
        self.writers.append(writer)

    def find_writer(self, kind: type[W]) -> W | None:
        """The writer of this type, if one is on (`/save x.pcap` copies a `--pcap` file)."""
        return next((writer for writer in self.writers if isinstance(writer, kind)), None)

    def take_transcript_error(self) -> str | None:
        """A writer's failure (`--log`, `--pcap`), once; None when there is none (or it was taken)."""
        return self._writer_errors.pop(0) if self._writer_errors else None

    def close_writers(self) -> None:
        for writer in self.writers:
            writer.close()
        self.writers.clear()

    def set_target(self, address: Address) -> None:
        """Reply to `address` from now on, whoever writes (pinned)."""
        self.target = address
        self.follow = False
        self.roster.mark_read(address)

    def note(self, message: str, level: Level = Level.INFO, peer: Address | None = None) -> Entry:
        """Log the app's own message (a notice) as an entry."""
        entry = Entry(self.clock(), Direction.NOTE, peer, note=message, level=level)
        self._record([entry])
        return entry

    def send(self, payload: bytes, to: Address | None = None, *, by_hand: bool = True) -> SendResult:
        """Send one datagram to `to` or the target; `SendError` if it did not go.

        `by_hand` False (an auto-reply) leaves `last_sent` as it was."""
        destination = to or self.target
        if destination is None:
            raise SendError("no peer yet: wait for someone to write, or start with --peer HOST:PORT")
        self.transport.send(payload, destination)
        self.counters.sent += 1
        self.counters.bytes_out += len(payload)
        entry = Entry(self.clock(), Direction.SENT, destination, payload, len(payload))
        self.roster.sent(destination, entry.time)
        self._record([entry])
        if by_hand:  # an auto-reply is no request: what comes next is not its answer
            self.last_sent = entry
            self.rtt.sent(destination, self.now_ns())
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
