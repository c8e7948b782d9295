"""Sends the relay could not make, said as counted faults: added from any thread (the
receive thread, an impairer's releases on the scheduler thread), said once each."""

from __future__ import annotations

import contextlib
import errno
from collections import deque
from collections.abc import Callable
from typing import Any

from udptui.net.address import Address
from udptui.net.receiving import PENDING_ERRORS, Fault


class SendFailures:
    """Failed sends, grouped by message and address when said."""

    def __init__(self, report: Callable[[Any], object]) -> None:
        self.report = report
        self._queue: deque[tuple[tuple[str, Address | None], int]] = deque()
        """A deque: appends and pops from two threads need no lock."""

    def add(self, error: OSError, address: Address | None, where: str, count: int = 1) -> None:
        if error.errno in (errno.EAGAIN, errno.ENOBUFS):
            message = f"not forwarded {where}: the send buffer is full"
        elif error.errno == errno.EBADF:  # an impairer let it go after its session closed
            message = f"not forwarded {where}: session closed"
        elif error.errno in PENDING_ERRORS:
            message = f"not forwarded {where}: ICMP errors on every try"
        else:
            message = f"not forwarded {where}: {error.strerror or error}"
        self._queue.append(((message, address), count))

    def flush(self) -> None:
        """Say the failed sends not said yet as counted faults (the session groups them a
        second). Any thread: each is taken from the deque once."""
        failures = self._queue
        if not failures:
            return
        counted: dict[tuple[str, Address | None], int] = {}
        with contextlib.suppress(IndexError):
            while True:
                key, count = failures.popleft()
                counted[key] = counted.get(key, 0) + count
        for (message, address), count in counted.items():
            self.report(Fault(message, address, count=count))
