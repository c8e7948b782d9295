"""Impairments of one direction: loss, delay and jitter, duplication, reordering, corruption
and a bandwidth cap, each decided when a datagram is submitted and told back as its `Fate`.

One `Impairer` serves one direction (what udptui sends, what it receives, a relay's way up
or down). `submit(payload, destination)` decides at once what happens to the datagram and
returns each copy's `Fate` (a lost datagram's too), so the caller can show and record it
straight away; the copies that survive go to the `release` callback, which sends or
delivers them: at once when nothing holds them, else later, from the scheduler's thread
(`udptui.net.scheduler`), which never blocks the caller.

Random draws come from one `random.Random`, only for the impairments that are on, in this
order for each datagram: loss (one `random()`); duplicate (one `random()`); reorder (one
`random()`); then for each copy, corrupt (one `random()`, and `randrange(bits)` when it
hits) and jitter (one `uniform(-jitter, jitter)`). So with only `--loss` on, datagram `i`
is lost exactly when the seed's `i`-th `random()` is below the loss: a test can predict it.

A reordered datagram is held back until a datagram submitted after it has been released,
and goes right after that one (or after REORDER_TIMEOUT when none comes: it is never lost).
The rate cap is a link that carries `rate` bits of payload a second, with a queue of at
most RATE_QUEUE_BYTES waiting for it; what does not fit is dropped (`lost="rate"`), as a
router's full queue drops. Everything held back in one direction is bounded by MAX_HELD
datagrams and MAX_HELD_BYTES bytes; beyond them a datagram is dropped (`lost="held"`).
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from udptui.net.impair_settings import ImpairSettings
from udptui.net.scheduler import Schedules

D = TypeVar("D")
"""Where a datagram goes: an Address for sends, a sender for what was received, anything."""

REORDER_TIMEOUT = 1.0
"""Seconds a reordered datagram waits at most for a later one to overtake it."""
RATE_QUEUE_BYTES = 64 * 1024
"""Payload bytes that wait for a rate-capped link at most (one datagram always fits an
empty queue); at 100kbit that is 5.2 s of queue."""
MAX_HELD = 100_000
"""Datagrams one direction holds back at most (delayed, queued, reordered)."""
MAX_HELD_BYTES = 64 * 1024 * 1024
"""Payload bytes one direction holds back at most."""

LOSS, RATE, HELD = "loss", "rate", "held"
"""Why a datagram was lost: `--loss`, the rate cap's full queue, the held-back limit."""
_LOST_TEXT = {
    LOSS: "✗ dropped by --loss",
    RATE: "✗ dropped by --rate (queue full)",
    HELD: "✗ dropped: too much held back",
}


@dataclass(frozen=True, slots=True)
class Fate:
    """What happened to one copy of a datagram."""

    seq: int
    """The datagram's number in its direction (a duplicate shares its original's)."""
    lost: str = ""
    """Why it was dropped (LOSS, RATE, HELD); empty when it goes."""
    delay: float = 0.0
    """Seconds it was held before release: delay, jitter, the rate cap's queue (not a
    reordering's extra wait)."""
    duplicate: bool = False
    """The extra copy `--duplicate` made (the original has False)."""
    reordered: bool = False
    """Held back behind the next datagram."""
    corrupt_bit: int = -1
    """The bit flipped, `byte * 8 + bit` with bit 0 a byte's least significant; -1 for none."""

    @property
    def impaired(self) -> bool:
        return bool(self.lost or self.delay > 0 or self.duplicate or self.reordered or self.corrupt_bit >= 0)

    @property
    def corrupt_place(self) -> tuple[int, int]:
        """(byte offset, bit in that byte: 0 the least significant, mask `1 << bit`)."""
        return divmod(self.corrupt_bit, 8)

    def kinds(self) -> list[str]:
        """`lost`, or those of `delayed`, `duplicate`, `reordered`, `corrupted` that apply."""
        if self.lost:
            return ["lost"]
        kinds = []
        if self.delay > 0:
            kinds.append("delayed")
        if self.duplicate:
            kinds.append("duplicate")
        if self.reordered:
            kinds.append("reordered")
        if self.corrupt_bit >= 0:
            kinds.append("corrupted")
        return kinds

    def text(self) -> str:
        """The log's mark: `✗ dropped by --loss`, `delayed 80.3 ms, duplicate, …`."""
        if self.lost:
            return _LOST_TEXT.get(self.lost, f"✗ dropped ({self.lost})")
        parts = []
        if self.delay > 0:
            parts.append(f"delayed {self.delay * 1000:.1f} ms")
        if self.duplicate:
            parts.append("duplicate")
        if self.reordered:
            parts.append("reordered")
        if self.corrupt_bit >= 0:
            byte, bit = self.corrupt_place
            parts.append(f"corrupted: byte {byte} bit {bit}")
        return ", ".join(parts)

    def record(self) -> dict[str, Any]:
        """The transcript's fields: `"impaired": "lost"` (or `"delayed+corrupted"`), and the details."""
        record: dict[str, Any] = {"impaired": "+".join(self.kinds())}
        if self.lost:
            record["lost_by"] = self.lost
        if self.delay > 0:
            record["delay_ms"] = round(self.delay * 1000, 3)
        if self.corrupt_bit >= 0:
            record["corrupt_byte"], record["corrupt_bit"] = self.corrupt_place
        return record


def flip_bit(payload: bytes, bit: int) -> bytes:
    """`payload` with bit `bit` flipped: byte `bit // 8`, mask `1 << bit % 8`."""
    data = bytearray(payload)
    data[bit // 8] ^= 1 << (bit % 8)
    return bytes(data)


@dataclass
class ImpairCounts:
    """How many datagrams each impairment hit, for the status bar."""

    lost: int = 0
    """Dropped by `--loss`."""
    overflowed: int = 0
    """Dropped because the rate cap's queue, or the held-back limit, was full."""
    delayed: int = 0
    duplicated: int = 0
    reordered: int = 0
    corrupted: int = 0

    def parts(self) -> list[str]:
        """`lost 12`, `delayed 80`, … for each kind that hit at least once."""
        names = ("lost", "overflowed", "delayed", "duplicated", "reordered", "corrupted")
        return [f"{name} {getattr(self, name):,}" for name in names if getattr(self, name)]


class ImpairClosed(RuntimeError):
    """`submit` after `close`: the datagram would be held and never released."""


class _Pending(Generic[D]):
    __slots__ = ("destination", "fate", "payload", "waiting")

    def __init__(self, payload: bytes, destination: D, fate: Fate) -> None:
        self.payload = payload
        self.destination = destination
        self.fate = fate
        self.waiting = False


Release = Callable[[bytes, D, Fate], None]


class Impairer(Generic[D]):
    """The impairments of one direction.

    `release(payload, destination, fate)` sends or delivers a surviving copy: on the
    caller's thread during `submit` when nothing holds it (an exception then propagates
    out of `submit`, after every copy's fate is drawn and the other copy released, so a
    failed send keeps the typed text and the seed's sequence), else on the scheduler's
    thread (an exception then goes to `on_error`). Releases of one impairer never overlap.
    """

    def __init__(
        self,
        settings: ImpairSettings,
        release: Release[D],
        *,
        scheduler: Schedules,
        rng: random.Random | None = None,
        direction: str = "out",
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.settings = settings
        self.release = release
        self.scheduler = scheduler
        self.direction = direction
        self.rng = rng if rng is not None else settings.rng(direction)
        self.on_error = on_error
        self.counts = ImpairCounts()
        self._lock = threading.RLock()
        self._seq = 0
        self._link_free = 0.0
        """When the rate-capped link has carried everything queued so far."""
        self._link: deque[tuple[float, int]] = deque()
        """(when it has left, bytes) of each datagram on the link or waiting for it."""
        self._link_bytes = 0
        self._held = 0
        self._held_bytes = 0
        self._released_seq = -1
        """The newest datagram released that was not itself reordered."""
        self._waiting: list[_Pending[D]] = []
        """Reordered datagrams whose time has come, waiting for a later one to go first."""
        self._closed = False
        self._last_due = 0.0
        """The latest time a held datagram is due, on the scheduler's clock."""

    @property
    def held(self) -> int:
        """Datagrams held back now (delayed, queued for the rate cap, or reordered)."""
        return self._held

    def longest_wait(self) -> float:
        """Seconds at most until what is held now has gone: the latest due time, then a
        reordering's wait for a datagram to overtake it (0 when nothing is held)."""
        if not self._held:
            return 0.0
        return max(0.0, self._last_due - self.scheduler.now()) + REORDER_TIMEOUT

    def update(self, settings: ImpairSettings, *, restart: bool = False) -> None:
        """Impair by new settings from the next datagram on (a new seed, or `restart`, starts
        the seed's sequence again); datagrams held already go at the time they were given."""
        with self._lock:
            if restart or settings.seed != self.settings.seed:
                self.rng = settings.rng(self.direction)
            if not settings.rate:
                self._link.clear()
                self._link_bytes = 0
            self.settings = settings

    def submit(self, payload: bytes, destination: D, *, at: float | None = None) -> list[tuple[bytes, Fate]]:
        """Impair one datagram: each copy's bytes (corrupted, maybe) and fate, in order.

        `at` is when the datagram reached this direction, on the scheduler's clock, when
        that was before now (a received one the UI took a moment later): its delay counts
        from then."""
        with self._lock:
            if self._closed:  # its scheduler releases nothing more: a held copy would vanish
                raise ImpairClosed("the impairments are closed: nothing more goes through them")
            settings, rng = self.settings, self.rng
            seq = self._seq
            self._seq += 1
            counts = self.counts
            if settings.loss and rng.random() < settings.loss:
                counts.lost += 1
                return [(payload, Fate(seq, lost=LOSS))]
            copies = 2 if settings.duplicate and rng.random() < settings.duplicate else 1
            reordered = bool(settings.reorder) and rng.random() < settings.reorder
            now = self.scheduler.now()
            start = now if at is None else min(at, now)  # one time base for the delay and the link
            results: list[tuple[bytes, Fate]] = []
            going: list[tuple[bytes, Fate, bool]] = []
            held_now = held_bytes_now = 0
            for copy in range(copies):  # every draw first: a failed release cannot skip one
                data, bit = payload, -1
                if settings.corrupt and rng.random() < settings.corrupt and payload:
                    bit = rng.randrange(len(payload) * 8)
                    data = flip_bit(payload, bit)
                wait = settings.delay
                if settings.jitter:
                    wait = max(0.0, wait + rng.uniform(-settings.jitter, settings.jitter))
                lost = ""
                if settings.rate:
                    queued = self._link_wait(start, len(data), settings.rate)
                    if queued is None:
                        lost = RATE
                    else:
                        wait += queued
                held = wait > 0 or (reordered and copy == 0)
                if (
                    not lost
                    and held
                    and (
                        self._held + held_now >= MAX_HELD
                        or self._held_bytes + held_bytes_now + len(data) > MAX_HELD_BYTES
                    )
                ):
                    lost = HELD
                if lost:
                    counts.overflowed += 1
                    results.append((data, Fate(seq, lost=lost, duplicate=copy == 1, corrupt_bit=bit)))
                    continue
                fate = Fate(
                    seq, delay=wait, duplicate=copy == 1, reordered=reordered and copy == 0, corrupt_bit=bit
                )
                counts.delayed += wait > 0
                counts.duplicated += fate.duplicate
                counts.reordered += fate.reordered
                counts.corrupted += bit >= 0
                results.append((data, fate))
                going.append((data, fate, held))
                held_now += held
                held_bytes_now += len(data) if held else 0
            failure: Exception | None = None
            for data, fate, held in going:
                if held:
                    self._hold(_Pending(data, destination, fate), start)
                    continue
                try:
                    self._release(data, destination, fate)
                except Exception as error:  # the other copy still goes; the caller hears of the first
                    failure = failure or error
            if failure is not None:
                raise failure
            return results

    def _link_wait(self, now: float, size: int, rate: int) -> float | None:
        """Seconds until a datagram of `size` bytes has crossed the rate-capped link; None
        when the queue has no room for it."""
        link = self._link
        while link and link[0][0] <= now:
            self._link_bytes -= link.popleft()[1]
        if self._link_bytes and self._link_bytes + size > RATE_QUEUE_BYTES:
            return None
        leaves = max(now, self._link_free) + size * 8 / rate
        self._link_free = leaves
        link.append((leaves, size))
        self._link_bytes += size
        return leaves - now

    def _hold(self, pending: _Pending[D], start: float) -> None:
        self._held += 1
        self._held_bytes += len(pending.payload)
        if pending.fate.delay > 0:
            due = start + pending.fate.delay
            self._last_due = max(self._last_due, due)
            self.scheduler.call_at(due, lambda: self._due(pending))
        else:
            self._wait_for_later(pending, self.scheduler.now())

    def _due(self, pending: _Pending[D]) -> None:
        """A held datagram's time has come (on the scheduler's thread)."""
        with self._lock:
            if self._closed:
                return
            if pending.fate.reordered and self._released_seq <= pending.fate.seq:
                self._wait_for_later(pending, self.scheduler.now())
            else:
                self._let_go(pending)

    def _wait_for_later(self, pending: _Pending[D], now: float) -> None:
        pending.waiting = True
        self._waiting.append(pending)
        self.scheduler.call_at(now + REORDER_TIMEOUT, lambda: self._timed_out(pending))

    def _timed_out(self, pending: _Pending[D]) -> None:
        with self._lock:
            if pending.waiting and not self._closed:
                self._waiting.remove(pending)
                pending.waiting = False
                self._let_go(pending)

    def _let_go(self, pending: _Pending[D]) -> None:
        try:
            self._release(pending.payload, pending.destination, pending.fate)
        except Exception as error:
            self._report(error)
        finally:  # after the release: `held` never reads 0 while one is on its way
            self._held -= 1
            self._held_bytes -= len(pending.payload)

    def _release(self, payload: bytes, destination: D, fate: Fate) -> None:
        """Release one copy; then the reordered ones it was to overtake."""
        try:
            self.release(payload, destination, fate)
        finally:
            if not fate.reordered and fate.seq > self._released_seq:
                self._released_seq = fate.seq
                if self._waiting:
                    self._release_overtaken(fate.seq)

    def _release_overtaken(self, seq: int) -> None:
        overtaken = [pending for pending in self._waiting if pending.fate.seq < seq]
        if not overtaken:
            return
        self._waiting = [pending for pending in self._waiting if pending.fate.seq >= seq]
        for pending in overtaken:
            pending.waiting = False
            self._let_go(pending)

    def _report(self, error: BaseException) -> None:
        if self.on_error is not None:
            self.on_error(error)

    def close(self) -> int:
        """Release nothing more; returns how many held datagrams will never go."""
        with self._lock:
            self._closed = True
            self._waiting.clear()
            held, self._held, self._held_bytes = self._held, 0, 0
            return held
