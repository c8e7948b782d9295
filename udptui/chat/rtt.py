"""Round-trip times: a datagram from a peer we sent to in the last few seconds pairs with
that send, and the time between is its round trip.

Pairing is per sender per batch (the receive path takes datagrams in batches): the first
datagram from a peer in a batch answers the latest send to it, and the send is used up, so
one request pairs with one reply. Times are `time.time_ns()` on both sides, the arrival
time being the kernel's where the transport has it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from udptui.net.address import Address

WINDOW_NS = 5_000_000_000
"""A send older than this (5 s) pairs with nothing: the reply is too late to be one."""
KEEP_PAIRS = 100
"""Round trips kept per peer for min/avg/max."""
MAX_PENDING = 10_000
"""Peers with a send waiting for its reply; past this the oldest are forgotten."""


def rtt_text(milliseconds: float) -> str:
    """`↩ 12.3 ms`, `↩ 0.08 ms`, `↩ 1,204 ms`."""
    if milliseconds >= 100:
        return f"\u21a9 {milliseconds:,.0f} ms"
    if milliseconds >= 1:
        return f"\u21a9 {milliseconds:.1f} ms"
    return f"\u21a9 {milliseconds:.2f} ms"


@dataclass
class RttStats:
    """The last KEEP_PAIRS round trips to one peer, in milliseconds."""

    samples: deque[float] = field(default_factory=lambda: deque(maxlen=KEEP_PAIRS))

    def add(self, milliseconds: float) -> None:
        self.samples.append(milliseconds)

    @property
    def summary(self) -> str:
        """`rtt 0.12/0.31/1.2 ms (n=100)`: min/avg/max."""
        samples = self.samples
        if not samples:
            return ""
        low, mean, high = min(samples), sum(samples) / len(samples), max(samples)
        return f"rtt {_short(low)}/{_short(mean)}/{_short(high)} ms"


def _short(value: float) -> str:
    return f"{value:.2f}" if value < 1 else f"{value:.1f}" if value < 100 else f"{value:,.0f}"


class RttTracker:
    """The latest send to each peer not answered yet, and each peer's round trips."""

    def __init__(self) -> None:
        self._pending: dict[Address, int] = {}
        self.stats: dict[Address, RttStats] = {}

    @property
    def waiting(self) -> bool:
        """Whether any send waits for a reply (when not, the receive path skips pairing)."""
        return bool(self._pending)

    def sent(self, peer: Address, when_ns: int) -> None:
        pending = self._pending
        pending.pop(peer, None)  # the latest send goes last: the oldest is first to be forgotten
        pending[peer] = when_ns
        if len(pending) > MAX_PENDING:
            del pending[next(iter(pending))]

    def is_waiting_for(self, peer: Address) -> bool:
        return peer in self._pending

    def arrived(self, peer: Address, when_ns: int) -> float | None:
        """The round trip in milliseconds if `peer` was sent to in the last WINDOW_NS, else None."""
        sent = self._pending.pop(peer, None)
        if sent is None or not 0 <= when_ns - sent <= WINDOW_NS:
            return None
        milliseconds = (when_ns - sent) / 1e6
        stats = self.stats.get(peer)
        if stats is None:
            if len(self.stats) > MAX_PENDING:
                self.stats.clear()
            stats = self.stats[peer] = RttStats()
        stats.add(milliseconds)
        return milliseconds
