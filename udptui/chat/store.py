"""The bounded store of log entries: the last `--scrollback` entries, and a count of the rest.

Received datagrams are kept as whole batches (`RecvBatch`), one chunk each; the `Entry` for
a line is made only when something reads it (the log drawing it, a filter, `/save`), and
cached in its chunk, so it goes when the chunk is let go. Notes and sent datagrams, made one
at a time, are kept as entries.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, Protocol, overload

from udptui.chat.datagram import Direction, Entry, Truncation
from udptui.net.address import Address
from udptui.net.batch import RecvBatch, local_datetime

MAX_PAYLOAD_BYTES = 128 * 1024 * 1024
"""Payload bytes the scrollback holds at most: 10,000 datagrams of 64 KiB would be 640 MiB."""
CHUNK_ENTRIES = 256
"""Single entries (notes, sends) share a chunk up to this many, so let-go ones are freed."""

TRUNCATIONS = (Truncation.NONE, Truncation.CUT, Truncation.POSSIBLE)


class EntryChunk:
    """Entries made one at a time (notes, sends, faults)."""

    __slots__ = ("entries", "first_seq")

    def __init__(self, entries: list[Entry]) -> None:
        self.entries = entries
        self.first_seq = -1

    def __len__(self) -> int:
        return len(self.entries)

    def entry(self, index: int) -> Entry:
        return self.entries[index]

    make = entry

    def payload_bytes(self, start: int, end: int) -> int:
        return sum(len(entry.payload) for entry in self.entries[start:end])

    def numbered(self, first_seq: int) -> None:
        self.first_seq = first_seq
        for offset, entry in enumerate(self.entries):
            entry.seq = first_seq + offset


class BatchChunk:
    """A batch of received datagrams and what is needed to make their entries later: how
    to turn a sender into an Address, and the reply target and mode when it arrived."""

    __slots__ = ("batch", "built", "counted", "first_seq", "follow", "resolve", "target", "time")

    def __init__(
        self,
        batch: RecvBatch,
        resolve: Callable[[Any], Address],
        *,
        follow: bool,
        target: Address | None,
        time: datetime | None = None,
    ) -> None:
        self.batch = batch
        self.resolve = resolve
        self.follow = follow
        self.target = target
        self.time = time
        """The time every entry shows, when a clock was injected (tests); else each one's arrival."""
        self.first_seq = -1
        self.built: dict[int, Entry] | None = None
        self.counted: list[tuple[Any, int]] | None = None
        """Each sender (as the socket gave it) with its datagrams, as the ingest counted them:
        `udptui.chat.held` reads them while a mute is on, so as not to count again."""

    def __len__(self) -> int:
        return len(self.batch.payloads)

    def numbered(self, first_seq: int) -> None:
        self.first_seq = first_seq

    def payload_bytes(self, start: int, end: int) -> int:
        if start == 0 and end >= len(self.batch.payloads):
            return self.batch.payload_bytes
        return sum(map(len, self.batch.payloads[start:end]))

    def entry(self, index: int) -> Entry:
        """The entry for datagram `index`, made on first use and kept."""
        built = self.built
        if built is None:
            built = self.built = {}
        entry = built.get(index)
        if entry is None:
            entry = built[index] = self.make(index)
        return entry

    def make(self, index: int) -> Entry:
        """A new entry for datagram `index` (the transcript's, which nothing keeps)."""
        batch = self.batch
        payload = batch.payloads[index]
        arrived_ns, local_address, interface = batch.arrival_and_local(index)
        when = self.time if self.time is not None else local_datetime(arrived_ns)
        try:
            relay = batch.relay
            sender = self.resolve(batch.senders[index]) if relay is None or relay.up else relay.client
            entry = Entry(
                when,
                Direction.RECEIVED,
                sender,
                payload,
                batch.wire_length(index),
                TRUNCATIONS[batch.truncation(index)],
                relay is None and not self.follow and sender != self.target,
            )
            if relay is not None:
                entry.relay = "up" if relay.up else "down"
                if relay.fates is not None:
                    entry.impairment = relay.fates[index]
        except Exception:  # one odd datagram must not stop the rest: show its bytes
            entry = Entry(when, Direction.RECEIVED, None, bytes(payload), len(payload))
        entry.local_address = local_address
        entry.interface = interface
        entry.seq = self.first_seq + index
        if type(batch) is not RecvBatch:  # an ImpairedBatch: what the way-in impairments did
            entry.impairment = batch.fates[index]  # type: ignore[attr-defined]
        return entry


Chunk = EntryChunk | BatchChunk


class EntryRange(Sequence[Entry]):
    """The entries of some chunks, in order, made as they are read (what one ingest added)."""

    def __init__(self, chunks: Sequence[Chunk] = ()) -> None:
        self._chunks = list(chunks)
        self._starts: list[int] = []
        self._lengths = [len(chunk) for chunk in self._chunks]
        """Taken now: the store may extend one of these chunks with the next (notes share one)."""
        total = 0
        for length in self._lengths:
            self._starts.append(total)
            total += length
        self._length = total

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> Entry: ...
    @overload
    def __getitem__(self, index: slice) -> list[Entry]: ...
    def __getitem__(self, index: int | slice) -> Entry | list[Entry]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._length))]
        if index < 0:
            index += self._length
        if not 0 <= index < self._length:
            raise IndexError(index)
        where = bisect_right(self._starts, index) - 1
        return self._chunks[where].entry(index - self._starts[where])

    def __iter__(self) -> Iterator[Entry]:
        for chunk, length in zip(self._chunks, self._lengths, strict=True):
            for index in range(length):
                yield chunk.entry(index)

    def fresh(self) -> Iterator[Entry]:
        """The entries, made anew and not kept: for writers that see each one once."""
        for chunk, length in zip(self._chunks, self._lengths, strict=True):
            for index in range(length):
                yield chunk.make(index)

    def parts(self) -> list[tuple[Chunk, int]]:
        """Each chunk with how many of its entries are in this range."""
        return list(zip(self._chunks, self._lengths, strict=True))


class FreshEntries(EntryRange):
    """What one ingest added, as the writers get it: each pass makes the entries anew and
    nothing keeps them (the store makes its own when read). A writer of text lines may read
    the chunks themselves (`batch_records.records_text`) and make no entry at all."""

    def __getitem__(self, index: int | slice) -> Entry | list[Entry]:  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]  # type: ignore[misc]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        where = bisect_right(self._starts, index) - 1
        return self._chunks[where].make(index - self._starts[where])

    def __iter__(self) -> Iterator[Entry]:
        return self.fresh()


class Ledger(Protocol):
    """Told of every range of entries the store takes and lets go (`udptui.chat.held`)."""

    def stored(self, chunk: Chunk, start: int, end: int) -> None: ...

    def let_go(self, chunk: Chunk, start: int, end: int) -> None: ...


class EntryStore:
    """Keeps the newest `limit` entries (and at most `byte_limit` payload bytes); older
    ones are let go and counted."""

    def __init__(
        self, limit: int, byte_limit: int = MAX_PAYLOAD_BYTES, *, ledger: Ledger | None = None
    ) -> None:
        self.limit = limit
        self.ledger = ledger
        """Told of each chunk stored and each range let go, once per chunk, never per entry."""
        self.byte_limit = byte_limit
        self._chunks: list[Chunk | None] = []
        self._starts: list[int] = []
        """The seq of each chunk's first entry (sorted: bisect finds an entry's chunk)."""
        self._head = 0
        """Index of the oldest chunk still held; the ones before it are let go (None)."""
        self._first = 0
        """The seq of the oldest entry kept."""
        self._bytes = 0
        self.total = 0
        """Entries ever added, including those let go."""

    def add(self, chunks: Iterable[Chunk]) -> int:
        """Add chunks in order; returns how many old entries were let go to make room."""
        for chunk in chunks:
            if not len(chunk):
                continue
            if self.ledger is not None:
                self.ledger.stored(chunk, 0, len(chunk))
            last = self._chunks[-1] if len(self._chunks) > self._head else None
            if type(chunk) is EntryChunk and type(last) is EntryChunk and len(last) < CHUNK_ENTRIES:
                chunk.numbered(self.total)
                last.entries.extend(chunk.entries)
            else:
                chunk.numbered(self.total)
                self._chunks.append(chunk)
                self._starts.append(self.total)
            self.total += len(chunk)
            self._bytes += chunk.payload_bytes(0, len(chunk))
        return self._trim()

    def extend(self, entries: Iterable[Entry]) -> int:
        """Add entries in order; returns how many old entries were let go to make room."""
        return self.add([EntryChunk(list(entries))])

    def _trim(self) -> int:
        let_go = 0
        while self.total - self._first > self.limit or (
            self._bytes > self.byte_limit and self.total - self._first > 1
        ):
            chunk = self._chunks[self._head]
            assert chunk is not None
            start = self._first - chunk.first_seq
            end = len(chunk)
            if self.total - self._first > self.limit:
                end = min(end, start + self.total - self._first - self.limit)
            else:  # over the byte budget: one entry at a time (the loop keeps at least one)
                end = start + 1
            self._bytes -= chunk.payload_bytes(start, end)
            if self.ledger is not None:
                self.ledger.let_go(chunk, start, end)
            let_go += end - start
            self._first = chunk.first_seq + end
            if end == len(chunk):
                self._drop_oldest_chunk()
        return let_go

    def _drop_oldest_chunk(self) -> None:
        self._chunks[self._head] = None  # its memory goes now
        self._head += 1
        if self._head > 1024 and self._head * 2 > len(self._chunks):
            del self._chunks[: self._head], self._starts[: self._head]
            self._head = 0

    def clear(self) -> None:
        """Forget the visible entries (they still count in `total`)."""
        if self.ledger is not None:
            for chunk, start, end in list(self.spans()):
                self.ledger.let_go(chunk, start, end)
        while self._head < len(self._chunks):
            self._drop_oldest_chunk()
        self._first = self.total
        self._bytes = 0

    @property
    def let_go(self) -> int:
        """How many entries were dropped from the scrollback (cleared ones included)."""
        return self._first

    def __len__(self) -> int:
        return self.total - self._first

    def __getitem__(self, index: int) -> Entry:
        size = self.total - self._first
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError(index)
        seq = self._first + index
        where = bisect_right(self._starts, seq, self._head) - 1
        chunk = self._chunks[where]
        assert chunk is not None
        return chunk.entry(seq - chunk.first_seq)

    def spans(self, first_seq: int = 0) -> Iterator[tuple[Chunk, int, int]]:
        """(chunk, start, end) for the entries kept from `first_seq` on, without making any."""
        for where in range(self._head, len(self._chunks)):
            chunk = self._chunks[where]
            if chunk is None:
                continue
            start = max(0, self._first - chunk.first_seq, first_seq - chunk.first_seq)
            if start < len(chunk):
                yield chunk, start, len(chunk)

    def __iter__(self) -> Iterator[Entry]:
        for where in range(self._head, len(self._chunks)):
            chunk = self._chunks[where]
            if chunk is None:  # let go while we were iterating
                continue
            for index in range(max(0, self._first - chunk.first_seq), len(chunk)):
                yield chunk.entry(index)
