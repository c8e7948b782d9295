"""Headless mode (`--jsonl`): the same session, transport, commands and records as the
screen, with standard output for the log and standard input for the input box.

Every entry (datagram in or out, notice) goes to standard output as one JSON line, the
`--log` record, flushed per batch. Every line of standard input runs as if typed in the input
box: a message is sent as one datagram, a `/command` runs. Nothing here imports Textual.
"""

from __future__ import annotations

import contextlib
import selectors
import signal
import sys
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from types import FrameType
from typing import BinaryIO

from udptui.chat.commands import CommandError, help_lines, run_line
from udptui.chat.datagram import Level
from udptui.chat.muting import Muting
from udptui.chat.peer_commands import target_meaning
from udptui.chat.peers import PeerRoster
from udptui.chat.session import ChatSession, Clock, RecordWriter
from udptui.config import Config
from udptui.decoders import Choice
from udptui.line_reader import MAX_LINE, LineReader
from udptui.net.address import Address, AddressError, resolve_host
from udptui.net.batch import RecvBatch
from udptui.net.transport import Inbound, SendError, UdpTransport
from udptui.record.pcap import PcapWriter
from udptui.record.saving import SaveError, save_session
from udptui.record.stdout_records import JsonLinesOutput
from udptui.record.transcript import Transcript
from udptui.startup import new_sending, new_session

EXIT_DONE = 0
EXIT_SHORT = 1
"""`--count` was not reached (or, without `--count`, nothing arrived) before udptui ended, or
standard output could not be written."""
EXIT_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
"""Signals that end headless mode as they end the screen: cleanly, with status 128 + N."""
DRAIN_INTERVAL = 1 / 20
"""How often the inbox is taken, as the screen does: one batch, one flush, per tick."""
DROP_NOTE_INTERVAL = 1.0
"""Seconds between notes that the kernel (or the inbox) dropped datagrams."""
SETTLE_INTERVAL = 1 / 100
"""How often the end's wait for held datagrams looks again (and takes what arrived)."""


class HeadlessRunner:
    """The screen's job without a screen: take batches, write records, run stdin lines."""

    def __init__(
        self,
        config: Config,
        session: ChatSession,
        output: JsonLinesOutput,
        stdin_fd: int | None,
    ) -> None:
        self.config = config
        self.session = session
        self.transport = session.transport
        self.output = output
        self.sending = new_sending(config, session)
        """Line ending, repeats: the sending state commands act on, as on the screen."""
        output.stopping = lambda: self._stopping
        self.reader = LineReader(stdin_fd) if stdin_fd is not None else None
        self.received = 0
        self._stopping = False
        """A plain flag, not a `threading.Event`: a signal handler runs on the main thread
        between two bytecodes, maybe inside `Event.wait`, whose lock `Event.set` would then
        wait for forever."""
        self._ending = (0, "")
        self._drops_noted = 0
        self._drops_noted_at = float("-inf")

    # -- the loop ---------------------------------------------------------------------------

    def stop(self, status: int = 0, reason: str = "") -> None:
        """End the loop at its next turn (from a signal handler or another thread); a status
        and reason (`stopped by SIGTERM`) say why, as the screen says it. The first one counts."""
        if not self._stopping:
            self._ending = (status, reason)
        self._stopping = True

    def run(self) -> int:
        """Run until `--count`, `--idle-timeout`, a closed standard output or `stop()`; the exit status.

        The socket is closed on the way out; the session's writers are the caller's to close."""
        count, idle = self.config.count, self.config.idle_timeout
        if count is not None and self.config.forward is not None:
            from udptui.net.relay_transport import RelayTransport  # loaded for a relay only

            if isinstance(self.transport, RelayTransport):
                self.transport.relay_at_most(count)  # the relay stops where udptui stops recording
        receiver = threading.Thread(target=self.transport.run_receiver, name="receiver", daemon=True)
        receiver.start()
        selector = selectors.DefaultSelector()
        if self.reader is not None:
            # Left blocking (a terminal's flags are shared with the shell): it is read only
            # when the selector says it is readable. A regular file or /dev/null cannot be
            # watched, and needs not be: it is always readable.
            with contextlib.suppress(OSError, ValueError):
                selector.register(self.reader.fd, selectors.EVENT_READ)
        last_arrival = time.monotonic()
        input_ready = self.reader is not None and not selector.get_map()
        try:
            while not self._stopping:
                if self.take_batch():
                    last_arrival = time.monotonic()
                if self.output.closed or (count is not None and self.received >= count):
                    break
                if input_ready:
                    self.read_input(selector)
                if self.output.closed or self._stopping:
                    break
                if idle is not None and time.monotonic() - last_arrival >= idle:
                    break
                if selector.get_map():  # a line from standard input wakes it at once
                    input_ready = bool(selector.select(DRAIN_INTERVAL))
                elif self.reader is None or self.reader.ended:
                    time.sleep(DRAIN_INTERVAL)  # a signal handler runs, then the sleep goes on
                    input_ready = False
                # else: a regular file on standard input, read on without waiting
        finally:
            selector.close()
        if not self._stopping and not self.output.closed:  # a natural end: let the held ones go
            self.settle()
        # As the screen does: close the socket (the receive thread ends), then record what it
        # still held, within --count, and why udptui stopped.
        self.sending.close()
        self.sending.poll()
        self.transport.close()
        if count is None or self.received < count:
            self.take_batch()
        self.note_drops(final=True)
        status, reason = self._ending
        if reason:
            self.notice(reason, Level.WARNING)
        if status:
            return status
        if self.output.closed:
            return EXIT_SHORT if self.output.failed else EXIT_DONE
        wanted = count if count is not None else 1 if idle is not None else 0
        return EXIT_SHORT if self.received < wanted else EXIT_DONE

    def settle(self) -> None:
        """Wait until the impairments hold nothing more (what was sent goes, what was received
        arrives, within `--count`), for as long as the longest of them can still take
        (`Impairing.longest_wait`, at most a minute); a signal ends the wait."""
        impairing, count = self.sending.impairing, self.config.count
        deadline = time.monotonic() + impairing.longest_wait()
        while not self._stopping and not self.output.closed and time.monotonic() < deadline:
            wanted = count is None or self.received < count
            if not impairing.holding(inbound=wanted):
                break
            time.sleep(SETTLE_INTERVAL)
            if wanted:
                self.take_batch()
            else:
                self.sending.poll()

    def take_batch(self) -> bool:
        """Ingest what the receive thread queued (up to `--count`); True when datagrams came."""
        batch = self.transport.take_all()
        if self.config.count is not None:
            batch = first_datagrams(batch, self.config.count - self.received)
        before = self.session.counters.received
        self.session.ingest(batch)
        self.sending.poll()  # a repeat's sends go to the records; its end is a note
        arrived = self.session.counters.received - before  # counted, not built: entries are lazy
        self.received += arrived
        self.note_drops()
        self.note_writer_errors()
        return arrived > 0

    def read_input(self, selector: selectors.BaseSelector) -> None:
        reader = self.reader
        if reader is None or reader.ended:
            return
        lines, dropped = reader.read()
        if reader.ended and selector.get_map():
            selector.unregister(reader.fd)
        if dropped:
            self.notice(f"a line of standard input is over {MAX_LINE} bytes: not sent", Level.ERROR)
        for raw in lines:
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                self.notice(
                    "a line of standard input is not UTF-8: not sent (use /hex for bytes)", Level.ERROR
                )
                continue
            if line:  # as in the input box, an empty line sends nothing (`/hex` sends an empty datagram)
                self.run_line(line)
            if self.output.closed:
                return

    # -- what a line does: the input box's commands, on this runner as their CommandContext --

    def run_line(self, line: str) -> bool:
        """Run one line as the input box would; True when it was done."""
        try:
            return run_line(self, line)
        except CommandError as error:
            self.notice(str(error), Level.ERROR)
            return False

    def send_payload(self, payload: bytes) -> bool:
        try:
            result = self.session.send(payload)
        except SendError as error:
            self.notice(str(error), Level.ERROR)
            return False
        for _, warning in result.notices():
            self.notice(warning, Level.WARNING)
        return True

    def set_target(self, address: Address) -> None:
        self.session.set_target(address)
        self.notice(f"replying to {address} (pinned)", Level.INFO)

    def look_up_target(self, host: str, port: int) -> bool:
        """`/to NAME:PORT`: resolved here and now, so the next line of input goes to it."""
        try:
            address = resolve_host(host, port)
        except AddressError as error:
            self.notice(f"/to: {error}", Level.ERROR)
            return False
        self.set_target(address)
        return True

    def notice(self, message: str, level: Level, *, title: str = "") -> None:
        """A notice is a record like any other (and goes to `--log` too); no title without a toast."""
        self.session.note(message, level)

    def note(self, message: str) -> None:
        self.session.note(message, Level.INFO)

    def clear_log(self) -> None:
        # The screen's /clear only hides entries, so /save still writes them; without a screen
        # there is nothing to hide, and forgetting them would lose them for /save.
        self.session.note("nothing to clear without a screen: /save still writes every entry", Level.INFO)

    def save_transcript(self, path: str, *, overwrite: bool = False) -> bool:
        try:
            said = save_session(self.session, path, scrollback=self.config.scrollback, overwrite=overwrite)
            self.notice(said, Level.INFO)
        except SaveError as error:
            self.notice(str(error), Level.ERROR)
            return False
        return True

    def show_help(self) -> None:
        for usage, meaning in help_lines():
            self.notice(f"{usage}  {meaning}", Level.INFO)

    @property
    def muting(self) -> Muting:
        return self.session.muting

    @property
    def roster(self) -> PeerRoster:
        return self.session.roster

    hides_muted = False
    """Standard output is a record, like `--log`: a mute keeps writing every datagram."""

    def mutes_changed(self) -> str:
        """Standard output is a record, like `--log`: a mute keeps writing every datagram."""
        session = self.session
        target = target_meaning(self.muting, follow=session.follow, target=session.target)
        said = "still written here and counted (hiding is the screen's)"
        return f"{said}; {target}" if target else said

    def choose_decoders(self, choice: Choice, peer: Address | None) -> bool:
        """JSON lines carry the bytes themselves: decoding is the screen's."""
        self.notice("/decode changes the screen only: --jsonl records hold the raw bytes", Level.WARNING)
        return False

    # -- what the screen shows in its status bar, said as notes -------------------------------

    def note_drops(self, *, final: bool = False) -> None:
        """Datagrams lost before udptui read them are said as notes, at most once a second."""
        dropped = self.transport.refresh_drop_count() + self.transport.inbox_drops
        now = time.monotonic()
        if dropped > self._drops_noted and (final or now - self._drops_noted_at >= DROP_NOTE_INTERVAL):
            self.notice(
                f"{dropped - self._drops_noted} datagrams dropped (receive buffer full); {dropped} in all",
                Level.WARNING,
            )
            self._drops_noted, self._drops_noted_at = dropped, now

    def note_writer_errors(self) -> None:
        while (error := self.session.take_transcript_error()) is not None:
            print(f"udptui: {error}", file=sys.stderr)
            self.notice(error, Level.ERROR)


def first_datagrams(batch: list[Inbound], wanted: int) -> list[Inbound]:
    """The batch up to and with its `wanted`-th datagram: `--count` takes no more than it asked for
    (a batch from the receive thread is cut where the count is reached)."""
    seen = 0
    wanted = max(wanted, 1)
    for index, item in enumerate(batch):
        if not isinstance(item, RecvBatch):  # faults and notices
            continue
        if seen + len(item) >= wanted:
            return [*batch[:index], item.head(wanted - seen)]
        seen += len(item)
    return batch


def build_runner(
    config: Config,
    transport: UdpTransport,
    output: BinaryIO,
    stdin_fd: int | None,
    *,
    writers: Sequence[RecordWriter] = (),
    transcript: Transcript | None = None,
    clock: Clock = datetime.now,
) -> HeadlessRunner:
    """A runner whose records go to `output` (standard output, or /dev/null in the benchmark)."""
    session = new_session(config, transport, transcript, clock)
    for writer in writers:
        session.add_writer(writer)
    records = JsonLinesOutput(output)
    session.add_writer(records)
    return HeadlessRunner(config, session, records, stdin_fd)


def run_headless(
    config: Config,
    transport: UdpTransport,
    transcript: Transcript | None,
    pcap: PcapWriter | None,
) -> int:
    """Run `--jsonl` until it is done; returns the exit status."""
    stdin_fd = sys.stdin.fileno() if sys.stdin is not None else None
    writers = [pcap] if pcap is not None else []
    runner = build_runner(
        config, transport, sys.stdout.buffer, stdin_fd, writers=writers, transcript=transcript
    )

    def on_signal(number: int, frame: FrameType | None) -> None:
        runner.stop(128 + number, f"stopped by {signal.Signals(number).name}")

    previous = {number: signal.signal(number, on_signal) for number in EXIT_SIGNALS}
    where = f"udptui: listening on {transport.local_description}"
    if transport.groups.joined:
        where += f", joined {', '.join(transport.groups.labels())}"
    if config.peer is not None:
        where += f", sending to {config.peer}"
    if config.forward is not None:
        where += f", relaying to {config.forward}"
    print(where, file=sys.stderr, flush=True)
    try:
        return runner.run()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        transport.close()
        runner.session.close_writers()
