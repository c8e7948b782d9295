"""How relayed batches (`--forward`) count in a chat session: the peers pane lists the
clients, with the datagrams from one as its `in` and the server's to it as its `out`; a
relayed datagram is never a sender to answer, nor unread."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from udptui.chat.peers import PeerRoster
from udptui.net.address import Address
from udptui.net.batch import RecvBatch


class RelayedCounts:
    """Datagrams and bytes per client and way in one take, the latest client last."""

    def __init__(self) -> None:
        self.counts: dict[tuple[Address, bool], tuple[int, int]] = {}

    def add(
        self,
        batch: RecvBatch,
        senders: list[tuple[Any, int]],
        sizes: list[int],
        address_of: Callable[[Any], Address],
        target: Address | None,
        *,
        follow: bool = False,
    ) -> Address | None:
        """Count a relayed batch (`senders` and `sizes` as the session works them out); returns
        the target, which follows the latest client to write when `follow` is on."""
        relay = batch.relay
        assert relay is not None
        if not relay.up:
            if relay.client is not None:
                self._add(relay.client, False, len(batch), batch.wire_bytes)
            return target
        for (sender, count), size in zip(senders, sizes, strict=True):
            try:
                client = address_of(sender)
            except Exception:  # an odd sender still makes an entry, but no peer
                continue
            self._add(client, True, count, size)
            if follow:
                target = client
        return target

    def _add(self, client: Address, up: bool, count: int, size: int) -> None:
        before, before_size = self.counts.pop((client, up), (0, 0))  # popped: recency order
        self.counts[(client, up)] = (before + count, before_size + size)

    def to_roster(self, roster: PeerRoster, now: datetime) -> None:
        for (client, up), (count, size) in self.counts.items():
            if up:
                roster.received(client, now, count=count, size=size)
            else:
                roster.sent(client, now, count=count, size=size)
