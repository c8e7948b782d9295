"""Faults said without flooding the log: identical faults (same text, same address) in one
take become one note with a count, and a fault said less than a second ago is held and
counted into its next note. A `/repeat forever` to a closed port makes an ICMP error per
send: one note a second says them all, where a note each flushed the scrollback."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from udptui.net.address import Address
from udptui.net.receiving import Fault

FAULT_NOTE_INTERVAL = 1.0
"""Seconds between two notes of the same fault (same text and address)."""
MAX_KEYS = 4096
"""Faults remembered for the rate limit; beyond, the oldest are forgotten (said again at once)."""

TIMES = "\u00d7"
"""The multiplication sign of a count (written as an escape: it looks like an x)."""

FaultKey = tuple[str, Address | None]


def fault_note(fault: Fault, count: int) -> str:
    """The note's text: `peer port closed? (ICMP port unreachable) 127.0.0.1:9 (\u00d71,234)`."""
    return fault.text if count == 1 else f"{fault.text} ({TIMES}{count:,})"


class FaultNotes:
    """Which faults of a take become notes, and with what counts."""

    def __init__(self, interval: float = FAULT_NOTE_INTERVAL, clock: Callable[[], float] = time.monotonic):
        self.interval = interval
        self.clock = clock
        self.total = 0
        """Every fault taken, said or held: the status bar shows it."""
        self._said_at: dict[FaultKey, float] = {}
        self._held: dict[FaultKey, tuple[Fault, int]] = {}
        """Faults not said yet (within the interval of the last note), with their counts."""

    @property
    def held(self) -> int:
        """Faults counted but not yet in a note."""
        return sum(count for _, count in self._held.values())

    def take(self, faults: Sequence[Fault]) -> list[tuple[Fault, int]]:
        """The notes due for this take, in the order of each fault's first arrival:
        (a fault, how many it stands for, with those held from before)."""
        grouped: dict[FaultKey, tuple[Fault, int]] = {}
        for fault in faults:
            key = (fault.message, fault.address)
            first, count = grouped.get(key, (fault, 0))
            grouped[key] = (first, count + fault.count)
            self.total += fault.count
        for key, (fault, count) in grouped.items():
            _, before = self._held.pop(key, (fault, 0))
            self._held[key] = (fault, before + count)
        return self.due()

    def due(self) -> list[tuple[Fault, int]]:
        """Held faults whose interval has passed (also called with nothing new: the last of a
        flood is said a second later)."""
        if not self._held:
            return []
        now = self.clock()
        notes: list[tuple[Fault, int]] = []
        for key in list(self._held):
            if now - self._said_at.get(key, float("-inf")) >= self.interval:
                notes.append(self._held.pop(key))
                self._said_at.pop(key, None)  # re-inserted: the dict stays oldest first
                self._said_at[key] = now
        while len(self._said_at) > MAX_KEYS:
            del self._said_at[next(iter(self._said_at))]
        return notes
