"""The scrollback store: bounded by entries and by payload bytes, and it counts what it lets go."""

from __future__ import annotations

import gc
import weakref
from datetime import datetime

from udptui.chat.datagram import Direction, Entry
from udptui.chat.store import BatchChunk, EntryStore
from udptui.net.address import Address
from udptui.net.batch import RecvBatch

PEER = Address("127.0.0.1", 5000)


def datagram(payload: bytes) -> Entry:
    return Entry(datetime(2026, 1, 2), Direction.RECEIVED, PEER, payload, len(payload))


def test_keeps_the_newest_entries_and_counts_the_rest() -> None:
    store = EntryStore(limit=3)
    assert store.extend([datagram(b"%d" % n) for n in range(5)]) == 2
    assert [entry.payload for entry in store] == [b"2", b"3", b"4"]
    assert [entry.seq for entry in store] == [2, 3, 4]
    assert (store.total, store.let_go) == (5, 2)


def test_large_payloads_are_let_go_by_bytes_too() -> None:
    """Ten 64 KiB datagrams with a 200 KiB budget: the newest three stay."""
    store = EntryStore(limit=10_000, byte_limit=200 * 1024)
    let_go = store.extend([datagram(bytes(65_507)) for _ in range(10)])
    assert len(store) == 3 and let_go == 7 and store.let_go == 7


def test_one_entry_larger_than_the_budget_is_still_kept() -> None:
    store = EntryStore(limit=10, byte_limit=10)
    store.extend([datagram(b"x" * 100)])
    assert len(store) == 1


def test_clear_forgets_the_entries_and_their_bytes() -> None:
    store = EntryStore(limit=10, byte_limit=150)
    store.extend([datagram(b"x" * 100)])
    store.clear()
    store.extend([datagram(b"y" * 100)])
    assert [entry.payload[:1] for entry in store] == [b"y"]
    assert store.let_go == 1


def batch_of(count: int, start: int = 0) -> RecvBatch:
    return RecvBatch([b"%d" % n for n in range(start, start + count)], [("127.0.0.1", 5000)] * count)


def chunk(batch: RecvBatch) -> BatchChunk:
    return BatchChunk(batch, Address.from_sockaddr, follow=True, target=None, time=datetime(2026, 1, 2))


def test_a_batch_becomes_entries_only_when_read_and_each_once() -> None:
    store = EntryStore(limit=1000)
    record = chunk(batch_of(300))
    store.add([record])
    assert len(store) == 300 and record.built is None  # nothing made yet
    entry = store[299]
    assert (entry.payload, entry.seq, entry.peer) == (b"299", 299, PEER)
    assert store[299] is entry  # made once, then kept
    assert record.built is not None and len(record.built) == 1


def test_let_go_batches_free_their_memory() -> None:
    """A batch whose every entry left the scrollback is dropped whole, entries and all."""
    store = EntryStore(limit=250)
    first = batch_of(200)
    watch = weakref.ref(first)
    store.add([chunk(first)])
    del first
    store[0]  # an entry made and cached in the chunk
    store.add([chunk(batch_of(200, 200))])
    assert watch() is not None  # 150 of its entries are still kept
    assert store[0].payload == b"150" and store.let_go == 150
    store.add([chunk(batch_of(100, 400))])
    gc.collect()
    assert watch() is None
    assert [entry.payload for entry in store][:2] == [b"250", b"251"]
    assert (store.total, store.let_go, len(store)) == (500, 250, 250)


def test_notes_and_batches_interleave_in_order() -> None:
    store = EntryStore(limit=10)
    store.add([chunk(batch_of(3))])
    store.extend([Entry(datetime(2026, 1, 2), Direction.NOTE, None, note="between")])
    store.add([chunk(batch_of(3, 3))])
    assert [entry.note or entry.payload.decode() for entry in store] == [
        "0",
        "1",
        "2",
        "between",
        "3",
        "4",
        "5",
    ]
    assert [store[i].seq for i in range(len(store))] == list(range(7))
    assert store[-1].payload == b"5"
