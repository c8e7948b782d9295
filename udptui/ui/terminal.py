"""The real terminal: given back on SIGTERM, SIGHUP and SIGINT, and let go when it disappears.

Textual's Linux driver leaves the alternate screen only when the app exits normally: a
signal's default action kills the process with mouse reporting still on. And when the
terminal is hung up (a tmux session killed, an ssh link dropped) two of its threads go
wrong: the input thread reads EOF, breaks out of its read and selects again at once, in a
loop that never ends (one core at 100%); the writer thread dies on EIO, after which the
screen's writes fill its queue of 30 and the main thread blocks on the next one for good.

This driver turns each signal into a normal exit with status 128 + N (what `timeout` and
shells expect), watches the terminal for a hang-up (exit as if by SIGHUP), and drops what
a dead terminal cannot take instead of letting the writer thread die.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, ClassVar

from textual.drivers.linux_driver import LinuxDriver

from udptui.chat.datagram import Level
from udptui.ui.app import UdpTuiApp

EXIT_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
"""Signals that end udptui the way Ctrl+Q does, with status 128 + the signal's number."""
HANGUP_STATUS = 128 + signal.SIGHUP
"""The status when the terminal goes away: the same as for the SIGHUP that usually says so."""
WATCH_INTERVAL = 0.25
"""Seconds between checks of the stop flag while watching for a hang-up (poll returns at once on one)."""


@dataclass
class Ending:
    """Why the app is ending, when something other than the user ended it."""

    status: int = 0
    reason: str = ""

    def set(self, status: int, reason: str) -> bool:
        """Record the first cause only; False when one was recorded already."""
        if self.status:
            return False
        self.status, self.reason = status, reason
        return True


class TerminalOutput:
    """What the writer thread writes to: the terminal, until writing to it fails (EIO once the
    terminal is gone); from then on writes are dropped, never raised, so the thread lives on,
    its queue keeps draining, and the main thread never blocks on it."""

    def __init__(self, stream: IO[str], on_failure: Callable[[], object]) -> None:
        self._stream = stream
        self._on_failure = on_failure
        self.dead = False

    def write(self, text: str) -> int:
        if not self.dead:
            try:
                self._stream.write(text)
            except (OSError, ValueError):
                self._failed()
        return len(text)

    def flush(self) -> None:
        if not self.dead:
            try:
                self._stream.flush()
            except (OSError, ValueError):
                self._failed()

    def fileno(self) -> int:
        return self._stream.fileno()

    def isatty(self) -> bool:
        return True

    def _failed(self) -> None:
        self.dead = True
        self._on_failure()


class TerminalDriver(LinuxDriver):
    """Textual's Linux driver, made to end cleanly on signals and on a vanished terminal."""

    ending: ClassVar[Ending]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._output = TerminalOutput(sys.__stderr__ or sys.stderr, self._hung_up)
        self._file = self._output  # type: ignore[assignment]  # write, flush and fileno are all it needs
        self._stop_watching = threading.Event()

    def start_application_mode(self) -> None:
        super().start_application_mode()  # type: ignore[no-untyped-call]
        for number in EXIT_SIGNALS:
            self._loop.add_signal_handler(number, self._on_signal, number)
        if os.isatty(self.fileno):
            self._stop_watching.clear()
            threading.Thread(target=self._watch_for_hangup, name="udptui-hangup", daemon=True).start()

    def stop_application_mode(self) -> None:
        self._stop_watching.set()
        super().stop_application_mode()

    def _on_signal(self, number: int) -> None:
        """On the event loop: quit as Ctrl+Q does, so the terminal is restored on the way out."""
        if self.ending.set(128 + number, f"stopped by {signal.Signals(number).name}"):
            self._app.exit(return_code=128 + number)

    def _watch_for_hangup(self) -> None:
        """On a thread of its own: POLLHUP (or POLLERR, POLLNVAL) on the terminal means it is gone.

        They are reported whatever the event mask, so an empty mask waits for them alone."""
        poller = select.poll()
        poller.register(self.fileno, 0)
        while not self._stop_watching.is_set():
            if poller.poll(WATCH_INTERVAL * 1000):
                self._hung_up()
                return

    def _hung_up(self) -> None:
        """From any thread: the terminal is gone; write nothing more to it, and quit."""
        self._output.dead = True
        if self.ending.set(HANGUP_STATUS, "stopped: the terminal hung up"):
            self._loop.call_soon_threadsafe(self._app.exit, None, HANGUP_STATUS)


def run_in_terminal(app: UdpTuiApp) -> int:
    """Run the app on this terminal until it quits, is signalled, or its terminal goes away;
    then log what the receive thread still held, and close the socket, the transcript and pcap.

    Returns the exit status: 0 for Ctrl+Q, else 128 + the signal (143 SIGTERM, 130 SIGINT,
    129 SIGHUP or a terminal that hung up)."""
    ending = Ending()
    if app.driver_class is LinuxDriver:  # not on Windows, nor under a driver chosen by TEXTUAL_DRIVER
        app.driver_class = type("UdpTuiDriver", (TerminalDriver,), {"ending": ending})
    try:
        app.run()
    finally:
        app.transport.close()  # waits for the receive thread, so the inbox is complete
        session = app.session
        session.ingest(app.transport.take_all())
        if ending.reason:
            session.note(ending.reason, Level.WARNING)
        session.close_writers()  # --log and --pcap
        if app.sending.closing_note:  # the screen that showed it is gone: say it where it stays
            print(f"udptui: {app.sending.closing_note}", file=sys.stderr)
    return ending.status or app.return_code or 0
