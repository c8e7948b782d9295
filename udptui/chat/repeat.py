"""`/repeat COUNT INTERVAL MESSAGE`: one datagram sent again and again, paced on a thread.

The pacing thread keeps an absolute schedule (send `i` is due at `start + i * interval`), so
a late wake-up is made up by the next sends and the average rate is the rate asked for,
whatever the sleep granularity: at 50,000/s it sends in small bursts between sleeps. It
never touches the screen or the store; the UI reads its counters on its own timer.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from udptui.net.transport import SendError

MAX_COUNT = 1_000_000_000
MAX_INTERVAL = 24 * 3600.0
MAX_FAILURES_IN_A_ROW = 100
"""A repeat stops when this many sends fail one after the other (the peer's host is gone)."""
MAX_BURST = 256
"""Sends between looks at the clock and the stop flag: a few milliseconds at most."""
FULL_BUFFER_PAUSE = 0.0005
"""Seconds to wait when the socket's send buffer is full before sending the same datagram again."""

_INTERVAL = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(us|µs|ms|s|m)?")
_UNITS = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


class BufferFull(Exception):
    """The socket's send buffer is full: the same datagram goes again once there is room."""


class RepeatError(ValueError):
    """A COUNT or INTERVAL that cannot be used; one line for the user."""


def parse_count(text: str) -> int | None:
    """`100`, `2,000` or `2_000` -> that many; `forever` -> None."""
    if text.lower() == "forever":
        return None
    digits = text.replace(",", "").replace("_", "")
    if not digits.isdigit() or not 1 <= int(digits) <= MAX_COUNT:
        raise RepeatError(f"bad count {text!r}: a whole number from 1, or forever")
    return int(digits)


def parse_interval(text: str) -> float:
    """`10ms`, `0.5s`, `250us`, `2m` -> seconds; `0` -> as fast as the socket takes them."""
    match = _INTERVAL.fullmatch(text.strip().lower())
    if match is None or (match.group(2) is None and float(match.group(1)) != 0):
        raise RepeatError(f"bad interval {text!r}: a time like 10ms, 0.5s or 250us, or 0 for no pause")
    seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if seconds > MAX_INTERVAL:
        raise RepeatError(f"bad interval {text!r}: a day at most")
    return seconds


def rate_text(per_second: float) -> str:
    """`1,000/s`, `2.5/s`, `0.1/s`."""
    if per_second >= 100:
        return f"{per_second:,.0f}/s"
    return f"{per_second:,.3g}/s"


@dataclass(frozen=True)
class RepeatPlan:
    """What `/repeat` was asked to do."""

    count: int | None
    """How many datagrams in all; None for forever."""
    interval: float
    """Seconds between sends; 0 for as fast as possible."""
    payload: bytes

    @property
    def asked_rate(self) -> str:
        return "full speed" if self.interval == 0 else rate_text(1 / self.interval)


class Repeat:
    """A running repeat: `start()` sends on a thread until the count is reached or `stop()`.

    `send` raises `SendError` when a datagram did not go (`BufferFull` to have it sent
    again in a moment); `first_sent` says how many the
    caller sent already (the first one goes from the UI, with the usual checks and warnings).
    """

    def __init__(
        self,
        plan: RepeatPlan,
        send: Callable[[bytes], object],
        *,
        first_sent: int = 1,
        record_times: bool = False,
        monotonic: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.plan = plan
        self._send = send
        self._monotonic = monotonic
        self.sent = first_sent
        """Datagrams sent so far (written by the pacing thread only)."""
        self.failed = 0
        self.last_error = ""
        self.stopped = False
        """True when `stop()` ended it before its count."""
        self.started = monotonic()
        self.ended: float | None = None
        self._stop = threading.Event()
        self._failures = 0
        """Sends that failed one after the other."""
        self._times: deque[int] | None = deque() if record_times else None
        """Each send's time, for the transcript (the first ones are in it already)."""
        self._thread = threading.Thread(target=self._run, name="repeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def running(self) -> bool:
        return self.ended is None

    def stop(self) -> bool:
        """Stop it; True if it was still running. Returns once the thread has ended."""
        was_running = self.running
        if was_running:
            self.stopped = True
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        return was_running

    def take_times(self) -> list[int]:
        """The send times (`time.time_ns()`) since the last call, for the transcript."""
        times = self._times
        if times is None:
            return []
        return [times.popleft() for _ in range(len(times))]

    @property
    def achieved_rate(self) -> float:
        """Datagrams per second from the first send to the last (or to now)."""
        elapsed = (self.ended or self._monotonic()) - self.started
        return (self.sent - 1) / elapsed if elapsed > 0 and self.sent > 1 else 0.0

    def _run(self) -> None:
        try:
            self._pace()
        finally:
            self.ended = self._monotonic()

    def _pace(self) -> None:
        plan, count, interval = self.plan, self.plan.count, self.plan.interval
        monotonic, stop, started = self._monotonic, self._stop, self.started
        index = self.sent  # send number `index` is due at started + index * interval
        while not stop.is_set() and (count is None or index < count):
            if interval:
                now = monotonic()
                due = int((now - started) / interval) + 1  # how many should have gone by now
                if due <= index:
                    stop.wait(started + index * interval - now)
                    continue
                burst = min(due - index, MAX_BURST)
            else:
                burst = MAX_BURST
            if count is not None:
                burst = min(burst, count - index)
            sent = self._burst(plan.payload, burst)
            if sent < 0:
                return
            index += sent

    def _burst(self, payload: bytes, burst: int) -> int:
        """Send up to `burst` datagrams without looking at the clock; how many were tried, or
        -1 when too many failed in a row."""
        send, times = self._send, self._times
        tried = 0
        while tried < burst:
            try:
                send(payload)
            except BufferFull:
                self._stop.wait(FULL_BUFFER_PAUSE)
                if self._stop.is_set():
                    return tried
                continue
            except SendError as error:
                self.failed += 1
                self.last_error = str(error)
                self._failures += 1
                if self._failures >= MAX_FAILURES_IN_A_ROW:
                    self.stopped = True
                    return -1
            else:
                self._failures = 0
                self.sent += 1
                if times is not None:
                    times.append(time.time_ns())
            tried += 1
        return tried
