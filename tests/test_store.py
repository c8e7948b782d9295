"""The scrollback store: bounded by entries and by payload bytes, and it counts what it lets go."""

from __future__ import annotations

from datetime import datetime

from udptui.address import Address
from udptui.datagram import Direction, Entry
from udptui.store import EntryStore

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
