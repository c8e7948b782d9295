"""How many received datagrams the store holds from each sender, kept as entries come and go.

The status bar's `muted N` is the datagrams the log hides now: those in the store from a
sender muted now. Counting them by scanning the store would cost the scrollback on every
frame; this keeps a count per sender instead, updated once per sender per chunk stored or
let go (C counts a chunk's senders: a flood from one sender is one `list.count`), and sums
the muted senders' counts only when the mutes change. Nothing here knows Textual.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from udptui.address import Address
from udptui.datagram import Direction
from udptui.store import BatchChunk, Chunk


def received_counts(chunk: Chunk, start: int, end: int) -> Iterable[tuple[Address, int]]:
    """(sender, datagrams) for the received entries of `chunk[start:end]`, making no entry of a batch."""
    if start >= end:
        return ()
    if type(chunk) is BatchChunk:
        senders = chunk.batch.senders[start:end]
        try:
            if senders.count(senders[0]) == len(senders):
                counted: Iterable[tuple[object, int]] = [(senders[0], len(senders))]
            else:
                counted = Counter(senders).items()
        except TypeError:  # an unhashable sender (never from a socket)
            counted = [(sender, 1) for sender in senders]
        found: dict[Address, int] = {}
        for sender, count in counted:
            try:
                address = chunk.resolve(sender)
            except Exception:  # an odd sender makes an entry with no peer: never muted
                continue
            found[address] = found.get(address, 0) + count
        return found.items()
    found = {}
    for index in range(start, end):
        entry = chunk.entry(index)
        if entry.direction is Direction.RECEIVED and entry.peer is not None:
            found[entry.peer] = found.get(entry.peer, 0) + 1
    return found.items()


class HeldCounts:
    """Received datagrams in the store per sender, and how many of them `muted` senders sent."""

    def __init__(self, muted: Callable[[Address], bool], any_muted: Callable[[], bool]) -> None:
        self._muted = muted
        self._any_muted = any_muted
        self.by_sender: dict[Address, int] = {}
        self.hidden = 0
        """Datagrams in the store now from senders muted now: what the log leaves out."""

    def stored(self, chunk: Chunk, start: int, end: int) -> None:
        """The store took `chunk[start:end]`."""
        by_sender, muting = self.by_sender, self._any_muted()
        for address, count in received_counts(chunk, start, end):
            by_sender[address] = by_sender.get(address, 0) + count
            if muting and self._muted(address):
                self.hidden += count

    def let_go(self, chunk: Chunk, start: int, end: int) -> None:
        """The store let `chunk[start:end]` go."""
        by_sender, muting = self.by_sender, self._any_muted()
        for address, count in received_counts(chunk, start, end):
            left = by_sender.get(address, 0) - count
            if left > 0:
                by_sender[address] = left
            else:
                by_sender.pop(address, None)
            if muting and self._muted(address):
                self.hidden -= count

    def recount(self) -> None:
        """After a mute or unmute: one pass over the senders held (not the datagrams)."""
        if not self._any_muted():
            self.hidden = 0
            return
        muted = self._muted
        self.hidden = sum(count for address, count in self.by_sender.items() if muted(address))
