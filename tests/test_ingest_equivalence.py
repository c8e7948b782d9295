"""The batched, lazy ingest against the one it replaced, on the same real traffic.

`OldPath` is the per-datagram ingest and entry store udptui had before batches (kept here,
trimmed to what it computed). Both take the same datagrams from real sockets: several
senders interleaved, a fault between them, notes and sends, followed and pinned, with a
scrollback small enough to let entries go and one large enough to keep them all. The
roster, counters, target, scrollback bounds and every entry kept must come out the same.
"""

from __future__ import annotations

import socket
from collections import deque
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from conftest import RunningTransport

from udptui.chat.datagram import Direction, Entry, Level, Truncation
from udptui.chat.peers import PeerRoster
from udptui.chat.session import ChatSession
from udptui.net.address import Address
from udptui.net.batch import RecvBatch
from udptui.net.transport import Fault, Inbound, UdpTransport

T0 = datetime(2026, 1, 2, 12, 0, 1)
_TRUNCATION = (Truncation.NONE, Truncation.CUT, Truncation.POSSIBLE)


class OldPath:
    """The old ingest: one Entry per datagram, made at once, into a deque bounded by count and bytes."""

    def __init__(self, *, target: Address | None, follow: bool, scrollback: int, byte_limit: int) -> None:
        self.target, self.follow = target, follow
        self.limit, self.byte_limit = scrollback, byte_limit
        self.entries: deque[Entry] = deque()
        self.size = self.total = self.received = self.bytes_in = 0
        self.roster = PeerRoster()

    def ingest(self, items: list[Fault | tuple[bytes, Any, int, int]], now: datetime) -> None:
        from udptui.net.batch import address_of

        made: list[Entry] = []
        counts: dict[Address, int] = {}
        target = self.target
        for item in items:
            if isinstance(item, Fault):
                made.append(Entry(now, Direction.NOTE, item.address, note=item.text, level=Level.WARNING))
                continue
            payload, sender_key, wire, cut = item
            sender = address_of(sender_key)
            if self.follow:
                target = sender
            made.append(
                Entry(now, Direction.RECEIVED, sender, payload, wire, _TRUNCATION[cut], sender != target)
            )
            counts[sender] = counts.pop(sender, 0) + 1
            self.received += 1
            self.bytes_in += wire
        self.target = target
        for address, count in counts.items():
            unread = 0 if self.follow or address == self.target else count
            self.roster.received(address, now, count=count, unread=unread)
        self.extend(made)

    def extend(self, entries: list[Entry]) -> None:
        for entry in entries:
            entry.seq = self.total
            self.total += 1
            self.size += len(entry.payload)
            self.entries.append(entry)
        while len(self.entries) > self.limit or (self.size > self.byte_limit and len(self.entries) > 1):
            self.size -= len(self.entries.popleft().payload)

    @property
    def let_go(self) -> int:
        return self.total - len(self.entries)


def flatten(items: list[Inbound]) -> list[Fault | tuple[bytes, Any, int, int]]:
    flat: list[Fault | tuple[bytes, Any, int, int]] = []
    for item in items:
        flat += item.datagrams() if isinstance(item, RecvBatch) else [item]
    return flat


def view(entry: Entry) -> tuple[Any, ...]:
    return (
        entry.seq,
        entry.time,
        entry.direction,
        entry.peer,
        entry.payload,
        entry.wire_length,
        entry.truncation,
        entry.stranger,
        entry.note,
        entry.level,
    )


@pytest.fixture
def senders() -> Iterator[list[socket.socket]]:
    made = []
    for _ in range(3):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        made.append(sock)
    yield made
    for sock in made:
        sock.close()


@pytest.mark.parametrize("call", ["recvmmsg", "recvmsg"])
@pytest.mark.parametrize("follow", [True, False])
@pytest.mark.parametrize(("scrollback", "byte_limit"), [(7, 10**9), (10_000, 10**9), (10_000, 600)])
def test_the_new_path_keeps_what_the_old_one_kept(
    senders: list[socket.socket],
    monkeypatch: pytest.MonkeyPatch,
    call: str,
    follow: bool,
    scrollback: int,
    byte_limit: int,
) -> None:
    monkeypatch.setenv("UDPTUI_RECVMMSG", "1" if call == "recvmmsg" else "0")
    running = RunningTransport(UdpTransport.open(bind_host="127.0.0.1", bufsize=40))
    try:
        alice = Address.from_sockaddr(senders[0].getsockname())
        target = None if follow else alice
        new = ChatSession(
            running.transport, target=target, follow=follow, scrollback=scrollback, clock=lambda: T0
        )
        new.store.byte_limit = byte_limit
        old = OldPath(target=target, follow=follow, scrollback=scrollback, byte_limit=byte_limit)
        pattern: Callable[[int], socket.socket] = lambda n: senders[(n * 7 // 3) % 3]  # noqa: E731
        for round_ in range(4):
            for number in range(25):
                # Mixed senders and sizes, some cut by the 40-byte buffer.
                payload = b"%d-%d " % (round_, number) * (1 + number % 9)
                pattern(number).sendto(payload, running.address)
            items = running.wait_batches(25)
            if round_ == 1:  # a fault between batches
                items.insert(1, Fault("peer port closed?", alice, unreachable=True))
            old.ingest(flatten(items), T0)
            new.ingest(items)
            note = f"note {round_}"
            old.extend([Entry(T0, Direction.NOTE, None, note=note)])
            new.note(note)
        assert (new.counters.received, new.counters.bytes_in) == (old.received, old.bytes_in)
        assert old.received == 100
        assert new.target == old.target
        assert [(p.address, p.received, p.unread, p.last_seen) for p in new.roster.ordered()] == [
            (p.address, p.received, p.unread, p.last_seen) for p in old.roster.ordered()
        ]
        assert (new.store.total, new.store.let_go, len(new.store)) == (
            old.total,
            old.let_go,
            len(old.entries),
        )
        assert [view(entry) for entry in new.store] == [view(entry) for entry in old.entries]
        assert [view(new.store[i]) for i in range(len(new.store))] == [view(entry) for entry in old.entries]
        assert any(entry.truncation is Truncation.CUT for entry in old.entries) or scrollback < 100
    finally:
        running.finish()
