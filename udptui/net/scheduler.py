"""Timed releases for impairments: a heap of (when, action) run by one thread of its own.

The thread sleeps on a condition variable until the earliest action is due, or until a new
earlier one (or `stop`) wakes it: nothing waits on it, so neither the receive loop nor the
screen ever blocks on a delayed datagram. `ManualScheduler` is the same interface for tests:
its time moves only when the test says so.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from typing import Protocol

Action = Callable[[], None]


class Schedules(Protocol):
    """What an `Impairer` needs of a scheduler: the time, and a way to act at a later one."""

    def now(self) -> float:
        """Seconds on the scheduler's clock (monotonic)."""

    def call_at(self, due: float, action: Action) -> None:
        """Run `action` once the clock reaches `due` (at once, if it has); never blocks."""


class Scheduler:
    """A thread that runs actions at their time, oldest first among those due together.

    Started on the first `call_at`, so a run without timed impairments has no thread. An
    action that raises is handed to `on_error` (the thread goes on)."""

    def __init__(
        self, on_error: Callable[[BaseException], None] | None = None, name: str = "udptui-impair"
    ) -> None:
        self.on_error = on_error
        self.name = name
        self._heap: list[tuple[float, int, Action]] = []
        self._order = itertools.count()
        self._condition = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def now(self) -> float:
        return time.monotonic()

    def call_at(self, due: float, action: Action) -> None:
        with self._condition:
            if self._stopped:
                return
            order = next(self._order)
            heapq.heappush(self._heap, (due, order, action))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            elif self._heap[0][1] == order:  # the earliest now: wake the thread to wait less
                self._condition.notify()

    def __len__(self) -> int:
        """Actions waiting."""
        return len(self._heap)

    def _run(self) -> None:
        condition, heap = self._condition, self._heap
        while True:
            with condition:
                while not self._stopped and (not heap or heap[0][0] > time.monotonic()):
                    condition.wait(None if not heap else heap[0][0] - time.monotonic())
                if self._stopped:
                    return
                due: list[Action] = []
                now = time.monotonic()
                while heap and heap[0][0] <= now:
                    due.append(heapq.heappop(heap)[2])
            for action in due:  # outside the lock: an action may schedule another
                try:
                    action()
                except Exception as error:  # one failed release must not end the rest
                    if self.on_error is not None:
                        self.on_error(error)

    def stop(self, timeout: float = 1.0) -> None:
        """Forget what waits and end the thread (what is running finishes first)."""
        with self._condition:
            self._stopped = True
            self._heap.clear()
            self._condition.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)


class ManualScheduler:
    """A scheduler whose clock moves only by `advance`: unit tests of timed releases."""

    def __init__(self, start: float = 1000.0) -> None:
        self.time = start
        self._heap: list[tuple[float, int, Action]] = []
        self._order = itertools.count()

    def now(self) -> float:
        return self.time

    def call_at(self, due: float, action: Action) -> None:
        heapq.heappush(self._heap, (due, next(self._order), action))

    def __len__(self) -> int:
        return len(self._heap)

    def advance(self, seconds: float) -> None:
        """Move the clock on, running each action when its time comes, in order."""
        end = self.time + seconds
        while self._heap and self._heap[0][0] <= end:
            due, _, action = heapq.heappop(self._heap)
            self.time = max(self.time, due)
            action()
        self.time = end
