"""Name lookups off the UI thread: a slow resolver must not freeze the screen or the receive path.

Each lookup runs on a daemon thread (a resolver stuck for seconds must not hold up quitting,
which a thread pool would), and its result is handed to `deliver` from that thread. Only the
latest request counts: an answer to an earlier one is reported as stale.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass

from udptui.net.address import Address, AddressError, resolve_host


@dataclass(frozen=True)
class LookupResult:
    """The answer to one lookup: an address, or the one-line reason there is none."""

    request: int
    host: str
    port: int
    address: Address | None
    error: str = ""
    tag: str = ""
    """What the caller attached to the request (the App: the line typed in the box)."""


class Lookups:
    """Starts lookups and remembers which one is the latest."""

    def __init__(self, deliver: Callable[[LookupResult], None]) -> None:
        self._deliver = deliver
        self._latest = 0

    def start(self, host: str, port: int, *, tag: str = "") -> int:
        """Look up `host` on a thread; `deliver` gets the result. Returns the request's number."""
        self._latest += 1
        request = self._latest
        thread = threading.Thread(
            target=self._run, args=(request, host, port, tag), name=f"lookup {host}", daemon=True
        )
        thread.start()
        return request

    def cancel(self) -> None:
        """Make every pending lookup stale: its answer will not count."""
        self._latest += 1

    def is_latest(self, result: LookupResult) -> bool:
        return result.request == self._latest

    def _run(self, request: int, host: str, port: int, tag: str) -> None:
        try:
            result = LookupResult(request, host, port, resolve_host(host, port), tag=tag)
        except AddressError as error:
            result = LookupResult(request, host, port, None, str(error), tag)
        except Exception as error:  # whatever the resolver does, the caller hears of it
            result = LookupResult(request, host, port, None, f"cannot resolve host {host!r}: {error}", tag)
        with contextlib.suppress(RuntimeError):  # the app ended meanwhile: nobody is waiting
            self._deliver(result)
