"""A chat session without a screen: turns what the transport received into log entries,
keeps the reply target and the counters, and sends with the size checks and warnings."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from udptui.chat.datagram import Direction, Entry, Level
from udptui.chat.muting import Muting
from udptui.chat.peers import PeerRoster
from udptui.chat.relayed import RelayedCounts
from udptui.chat.rtt import RttTracker
from udptui.chat.senders import sender_bytes, senders_of
from udptui.chat.sizes import size_warnings
from udptui.chat.store import BatchChunk, Chunk, EntryChunk, EntryRange, EntryStore, FreshEntries
from udptui.net.address import Address
from udptui.net.batch import RecvBatch, address_of, local_datetime
from udptui.net.faults import FaultKey, FaultNotes, fault_note
from udptui.net.transport import (
    Fault,
    Inbound,
    Notice,
    RawDatagram,
    SendError,
    UdpTransport,
)
from udptui.record.transcript import Transcript

if TYPE_CHECKING:
    from udptui.chat.impairing import Impairing
    from udptui.net.impairments import Fate

Clock = Callable[[], datetime]
W = TypeVar("W")


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
    faults: int = 0
    """Faults (ICMP errors and the like) taken, each counted, said in a note or not yet."""


@dataclass
class IngestResult:
    """What one take from the transport brought."""

    entries: EntryRange = field(default_factory=EntryRange)
    """The entries added, in order, made only as they are read."""
    faults: list[Fault] = field(default_factory=list)
    target_changed: bool = False
    let_go: int = 0
    """Old entries dropped from the scrollback to make room for these."""
    sent: list[Entry] = field(default_factory=list)
    """Datagrams sent in answer to this batch (auto-replies), after it in the log."""

    @property
    def added(self) -> int:
        return len(self.entries)


@dataclass
class SendResult:
    """A datagram that went out, and what the user should know about its size."""

    entry: Entry
    warnings: list[str]
    notes: list[str] = field(default_factory=list)
    """What the transport changed by itself to send it (SO_BROADCAST turned on)."""
    more: list[Entry] = field(default_factory=list)
    """Further entries of the same send: the copy `--duplicate` made."""

    def notices(self) -> list[tuple[str, str]]:
        """(title, text) of everything to tell the user about this send."""
        return [("Broadcast", note) for note in self.notes] + [
            ("Large datagram", warning) for warning in self.warnings
        ]

    @property
    def entries(self) -> list[Entry]:
        return [self.entry, *self.more]


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
        self.muting = Muting()
        """Muted senders: counted and recorded, hidden from the log, never the follow target."""
        self.store = EntryStore(scrollback)
        self.muting.held.watch(self.store)
        self.roster = PeerRoster()
        self.transcript = transcript
        """`--log`: every entry is appended here as it is stored."""
        self.writers: list[RecordWriter] = [transcript] if transcript is not None else []
        """Every batch of entries is written to each of these (the transcript among them)."""
        self._writer_errors: list[str] = []
        self.counters = Counters()
        self.clock = clock
        self.arrival_times = clock == datetime.now  # a bound method: a new object each time
        """Received entries show when each datagram arrived (the kernel's time where it gives
        one); with an injected clock (tests, snapshots) they show the clock's time instead."""
        self._addresses: dict[Any, Address] = {}
        self.last_sent: Entry | None = None
        """The latest datagram sent by hand (`/keep` saves it, `/repeat` counts on it)."""
        self.fault_notes = FaultNotes()
        """Identical faults become one counted note, at most one a second per fault."""
        self.rtt = RttTracker()
        """Sends by hand waiting for their reply, and each peer's round trips."""
        self.react: Callable[[Sequence[Entry], dict[Address, int]], list[Entry]] | None = None
        """The sending state's one look at each batch (round trips, auto-replies): given its
        entries (stored, so numbered) and its count per sender, it returns the entries of
        what it sent in answer. None while there is nothing to do: it then costs nothing."""
        self.impair_out: Impairing | None = None
        """The impairments sends go through, while some act on the way out (`udptui.chat.impairing`)."""
        self.impair_in: Impairing | None = None
        """The impairments what was received goes through, while some act on the way in."""

    def now_ns(self) -> int:
        """Nanoseconds for round trips: the real time, or the injected clock's (tests control it)."""
        if self.arrival_times:
            return time.time_ns()
        return int(self.clock().timestamp() * 1_000_000) * 1000  # µs, as entry times hold

    def address_of(self, sender: Any) -> Address:
        """The Address of a sender as the socket gave it (cached: a flood comes from few)."""
        return self._address(sender)

    def _address(self, sender: Any) -> Address:
        """Cached `address_of`: a flood comes from few senders."""
        address = self._addresses.get(sender)
        if address is None:
            if len(self._addresses) > 4096:
                self._addresses.clear()
            address = self._addresses[sender] = address_of(sender)
        return address

    def ingest(self, items: Sequence[Inbound | RawDatagram]) -> IngestResult:
        """Take what the transport received (whole batches, faults, or single datagrams as
        tuples), in arrival order: update the target, roster and counters, and store it.

        Under a flood this runs on the UI thread for every batch, so it does no Python work
        per datagram: senders are counted by C (`list.count`, `Counter`), byte totals by
        `sum`, and no `Entry` is made until something reads it.
        """
        result = IngestResult()
        if self.impair_in is not None:
            items = self.impair_in.filter_inbound(items)  # type: ignore[assignment]
        if not items:
            late = self._say_faults({}, [], self.clock()) if self.fault_notes.held else []
            if late:  # the last of a fault flood, said when its second is up
                said: list[Chunk] = [EntryChunk(late)]
                result.entries = EntryRange(said)
                result.let_go = self._record(said)
            return result
        now = self.clock()
        fixed_time = None if self.arrival_times else now
        follow = self.follow
        target = self.target
        muted = self.muting.is_muted if self.muting else None
        chunks: list[Chunk] = []
        counts: dict[Address, int] = {}  # datagrams per sender, the latest sender last
        sizes: dict[Address, int] = {}  # bytes per sender
        received = bytes_in = 0
        singles: list[RawDatagram] = []
        relayed = RelayedCounts()
        fault_places: dict[FaultKey, EntryChunk] = {}  # each fault's note goes where it first came
        for index, item in enumerate(items):
            if type(item) is tuple:
                singles.append(item)
                if index + 1 < len(items) and type(items[index + 1]) is tuple:
                    continue
                batch: RecvBatch | Fault | Notice | Entry = RecvBatch.of(singles, read_ns=time.time_ns())
                singles = []
            else:
                batch = item  # type: ignore[assignment]
            if isinstance(batch, Entry):  # a datagram an impairment dropped on the way in
                chunks.append(EntryChunk([batch]))
                continue
            if isinstance(batch, Notice):
                level = Level.WARNING if batch.warning else Level.INFO
                when = now if fixed_time is not None else local_datetime(batch.at_ns)
                note = Entry(when, Direction.NOTE, batch.address, note=batch.message, level=level)
                chunks.append(EntryChunk([note]))
                continue
            if isinstance(batch, Fault):
                result.faults.append(batch)
                key = (batch.message, batch.address)
                if key not in fault_places:
                    fault_places[key] = EntryChunk([])
                    chunks.append(fault_places[key])
                continue
            if batch.relay is not None:  # relayed: its client is a peer, not a sender to answer
                senders = senders_of(batch.senders)
                target = relayed.add(
                    batch, senders, sender_bytes(batch, senders), self._address, target, follow=follow
                )
                chunk = BatchChunk(batch, self._address, follow=follow, target=target, time=fixed_time)
                chunk.counted = senders
                chunks.append(chunk)
                received += len(batch)
                bytes_in += batch.wire_bytes
                continue
            senders = senders_of(batch.senders)
            for (sender, count), size in zip(senders, sender_bytes(batch, senders), strict=True):
                try:
                    address = self._address(sender)
                except Exception:  # an odd sender still makes an entry, but no peer
                    continue
                counts[address] = counts.pop(address, 0) + count  # pop and put back: recency order
                sizes[address] = sizes.get(address, 0) + size
                if follow and (muted is None or not muted(address)):
                    target = address
            chunk = BatchChunk(batch, self._address, follow=follow, target=target, time=fixed_time)
            chunk.counted = senders  # kept as they are: `muted N` reads them while a mute is on
            chunks.append(chunk)
            received += len(batch)
            bytes_in += batch.wire_bytes
        if result.faults:
            late = self._say_faults(fault_places, result.faults, now)
            chunks = [chunk for chunk in chunks if len(chunk)] + ([EntryChunk(late)] if late else [])
        counters = self.counters
        counters.received += received
        counters.bytes_in += bytes_in
        if target != self.target:
            self.target = target
            result.target_changed = True
        if counts:
            self._count_senders(counts, sizes, now)
        relayed.to_roster(self.roster, now)
        result.entries = EntryRange(chunks)
        result.let_go = self._record(chunks)
        if self.react is not None and counts:  # after storing: its answers follow the batch
            result.sent = self.react(result.entries, counts)
        return result

    def _say_faults(
        self, places: dict[FaultKey, EntryChunk], faults: list[Fault], now: datetime
    ) -> list[Entry]:
        """Fill each fault's place with its counted note, if one is due; returns the notes due
        from faults held before that have no place in this take."""
        self.counters.faults += sum(fault.count for fault in faults)
        late: list[Entry] = []
        for fault, count in self.fault_notes.take(faults):
            note = Entry(
                now, Direction.NOTE, fault.address, note=fault_note(fault, count), level=Level.WARNING
            )
            place = places.get((fault.message, fault.address))
            if place is not None:
                place.entries.append(note)
            else:
                late.append(note)
        return late

    def _count_senders(self, counts: dict[Address, int], sizes: dict[Address, int], now: datetime) -> None:
        """Update the roster once per sender per take: a flood comes from few addresses."""
        muting = self.muting
        for address, count in counts.items():
            unread = 0 if self.follow or address == self.target else count
            if muting and muting.is_muted(address):
                unread = 0  # nothing of it is shown: nothing to catch up on
            self.roster.received(address, now, count=count, unread=unread, size=sizes.get(address, 0))

    def _record(self, chunks: list[Chunk]) -> int:
        """Store chunks (returns how many old entries the scrollback let go) and write them out."""
        fresh = FreshEntries(chunks) if self.writers else None  # before the store merges chunks
        let_go = self.store.add(chunks)
        if fresh is not None:
            self._write(fresh)
        return let_go

    def _write(self, entries: Sequence[Entry]) -> None:
        for writer in self.writers[:]:
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
                continue
            take_notice = getattr(writer, "take_notice", None)  # `--pcap`: a datagram it left out
            if take_notice is not None and (notice := take_notice()) is not None:
                self._writer_errors.append(notice)

    def transcribe(self, entries: list[Entry]) -> None:
        """Write entries out (`--log`, `--pcap`, headless output) without storing them: a
        repeat's sends, which the log counts in one entry."""
        self._write(entries)

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

    def store_entries(self, entries: list[Entry]) -> None:
        """Store entries made one at a time (sends) and write them out."""
        self._record([EntryChunk(entries)])

    def note(self, message: str, level: Level = Level.INFO, peer: Address | None = None) -> Entry:
        """Log the app's own message (a notice) as an entry."""
        entry = Entry(self.clock(), Direction.NOTE, peer, note=message, level=level)
        self._record([EntryChunk([entry])])
        return entry

    def send(self, payload: bytes, to: Address | None = None, *, by_hand: bool = True) -> SendResult:
        """Send one datagram to `to` or the target; `SendError` if it did not go.

        `by_hand` False (an auto-reply) leaves `last_sent` as it was."""
        destination = to or self.target
        if destination is None:
            raise SendError("no peer yet: wait for someone to write, or start with --peer HOST:PORT")
        # Read before the datagram goes: a loopback reply's kernel time can come before any
        # later reading, and the log and transcript must show the request first.
        sent_at = self.clock()
        sent_ns = int(sent_at.timestamp() * 1_000_000) * 1000  # µs, as entry times hold
        copies: list[tuple[bytes, Fate | None]]
        if self.impair_out is not None:  # a copy for each that goes (or is lost), with its fate
            copies = list(self.impair_out.submit(payload, destination))
        else:
            self.transport.send(payload, destination)
            copies = [(payload, None)]
        entries = []
        went = went_bytes = 0
        for data, fate in copies:
            entry = Entry(sent_at, Direction.SENT, destination, data, len(data), automatic=not by_hand)
            entry.impairment = fate if fate is not None and fate.impaired else None
            entries.append(entry)
            if fate is None or not fate.lost:
                went += 1
                went_bytes += len(data)
        self.counters.sent += went
        self.counters.bytes_out += went_bytes
        if went:  # the peers pane counts what went out
            self.roster.sent(destination, sent_at, count=went, size=went_bytes)
        self._record([EntryChunk(entries)])
        # An auto-reply is no request: what comes next is not its answer. `/keep` undoes a
        # corrupted bit (`typed_payload`); a send entirely lost gets no reply to time.
        if by_hand:
            self.last_sent = entries[0]
            if went:
                self.rtt.sent(destination, sent_ns)
        warnings = size_warnings(len(payload), destination.is_ipv6)
        return SendResult(entries[0], warnings, self.transport.take_notes(), more=entries[1:])
