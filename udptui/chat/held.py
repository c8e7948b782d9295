"""How many datagrams the log hides now: those the store holds from a sender muted now.

The status bar's `muted N` must not scan the scrollback on every frame. While something is
muted, this count moves as the store takes chunks and lets them go, once per sender per
chunk (a batch's senders as the ingest counted them, `BatchChunk.counted`; a batch let go
in part is counted by C: one `list.count` for a flood, else `Counter`). A mute or unmute
counts afresh, chunk by chunk, once. While nothing is muted it costs nothing at all.
Nothing here knows Textual.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from udptui.chat.datagram import Direction
from udptui.chat.senders import senders_of
from udptui.chat.store import BatchChunk, Chunk, EntryStore
from udptui.net.address import Address


def _batch_senders(chunk: BatchChunk, start: int, end: int) -> Iterable[tuple[Any, int]]:
    """Each sender of `chunk[start:end]` (as the socket gave it) with its datagrams."""
    if start == 0 and end >= len(chunk) and chunk.counted is not None:
        return chunk.counted
    return senders_of(chunk.batch.senders[start:end])


class HeldCounts:
    """Datagrams in the store from senders `muted` now, kept while `any_muted()`."""

    def __init__(self, muted: Callable[[Address], bool], any_muted: Callable[[], bool]) -> None:
        self._muted = muted
        self._any_muted = any_muted
        self._store: EntryStore | None = None
        self.hidden = 0
        """Datagrams in the store now from senders muted now: what the log leaves out."""

    def watch(self, store: EntryStore) -> None:
        """Count what `store` holds: it tells this of every chunk it takes and lets go."""
        self._store = store
        store.ledger = self

    def _count(self, chunk: Chunk, start: int, end: int) -> int:
        """Datagrams of `chunk[start:end]` from muted senders."""
        muted, hidden = self._muted, 0
        if type(chunk) is BatchChunk:
            for sender, count in _batch_senders(chunk, start, end):
                try:
                    address = chunk.resolve(sender)
                except Exception:  # an odd sender makes an entry with no peer: never muted
                    continue
                if muted(address):
                    hidden += count
            return hidden
        for index in range(start, end):
            entry = chunk.entry(index)
            if entry.direction is Direction.RECEIVED and entry.peer is not None and muted(entry.peer):
                hidden += 1
        return hidden

    def stored(self, chunk: Chunk, start: int, end: int) -> None:
        if self._any_muted():
            self.hidden += self._count(chunk, start, end)

    def let_go(self, chunk: Chunk, start: int, end: int) -> None:
        if self._any_muted():
            self.hidden -= self._count(chunk, start, end)

    def recount(self) -> None:
        """After a mute or unmute: the store looked at chunk by chunk, once."""
        store = self._store
        if not self._any_muted() or store is None:
            self.hidden = 0
            return
        self.hidden = sum(self._count(chunk, start, end) for chunk, start, end in store.spans())
