"""Sending like a test bench, without a screen: the line ending typed messages get, `/file`,
and the running `/repeat` with its one counting log entry.

The App (or a screen-less runner) holds one `Sending` beside its `ChatSession`, calls
`poll()` on its UI timer, and shows what that returns.
"""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from udptui.chat.datagram import Direction, Entry, Level
from udptui.chat.impairing import ImpairedSends, Impairing, typed_payload
from udptui.chat.marks import LogMarks
from udptui.chat.repeat import BufferFull, Repeat, RepeatPlan, rate_text
from udptui.chat.responder import Responder, Rule
from udptui.chat.rtt import rtt_text
from udptui.chat.saved_messages import SavedMessage, SavedMessages, SavedMessagesError
from udptui.chat.session import ChatSession
from udptui.net.address import Address
from udptui.net.impair_settings import ImpairSettings
from udptui.net.transport import SendError, UdpTransport

LINE_ENDINGS = {"none": b"", "lf": b"\n", "crlf": b"\r\n"}
"""`--eol` and `/eol`: what every typed message ends with (never a `/hex` one)."""


class SendingError(ValueError):
    """Something to send that cannot be; one line for the user (the typed text stays)."""


_KINDS = {
    stat.S_IFIFO: "a FIFO (a named pipe)",
    stat.S_IFCHR: "a character device (a terminal, or like /dev/zero)",
    stat.S_IFBLK: "a block device",
    stat.S_IFDIR: "a directory",
    stat.S_IFSOCK: "a socket",
}
"""What `/file` names when it is not a regular file."""


def read_datagram_file(path: str, limit: int) -> bytes:
    """A file's bytes for one datagram; `SendingError` if it is missing, unreadable or over `limit`."""
    target = Path(path).expanduser()
    try:
        # O_NONBLOCK: opening a FIFO for reading waits for a writer, on the UI thread; only
        # a regular file is read, and its reads never wait, flag or not. O_NOCTTY: naming a
        # terminal must not make it ours.
        descriptor = os.open(target, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
        try:
            status = os.fstat(descriptor)
            if not stat.S_ISREG(status.st_mode):  # checked before fdopen, which refuses a directory
                kind = _KINDS.get(stat.S_IFMT(status.st_mode), "not a regular file")
                raise SendingError(f"{path} is {kind}: /file sends the bytes of a regular file")
            file = os.fdopen(descriptor, "rb")
        except BaseException:
            os.close(descriptor)
            raise
        with file:
            size = status.st_size
            if size > limit:
                raise SendingError(f"{path} is {size:,} bytes: one datagram holds {limit:,} at most")
            data = file.read(limit + 1)  # a file that grows meanwhile is still checked
    except OSError as error:
        raise SendingError(f"cannot read {path}: {error.strerror or error}") from None
    except RuntimeError as error:  # `~user` that does not expand
        raise SendingError(f"cannot read {path}: {error}") from None
    if len(data) > limit:
        raise SendingError(f"{path} is over {limit:,} bytes: one datagram holds {limit:,} at most")
    return data


TIMES = "\u00d7"
"""The multiplication sign a repeat counts with, as in `x2,000`."""


def repeat_sender(transport: UdpTransport, destination: Address) -> Callable[[bytes], object]:
    """A bare `sendto` for the pacing thread: the first send of the repeat went through
    `transport.send` and its checks already, so each further one costs only the system call."""
    sock = transport.socket_for(destination)
    sockaddr = destination.sockaddr_for(socket.AddressFamily(sock.family))

    def send(payload: bytes) -> None:
        try:
            sock.sendto(payload, sockaddr)
        except BlockingIOError:
            raise BufferFull from None
        except OSError as error:
            raise transport.send_failure(error, destination) from None

    return send


def arrived(entry: Entry) -> bool:
    """A received datagram that reached udptui: not one the way-in impairments dropped, which
    is an entry of its own but answers nothing and ends no round trip."""
    return entry.direction is Direction.RECEIVED and (entry.impairment is None or not entry.impairment.lost)


def count_text(sent: int, count: int | None) -> str:
    return f"{TIMES}{sent:,}" if count is None or sent >= count else f"{TIMES}{sent:,}/{count:,}"


@dataclass
class PollResult:
    """What changed since the last poll, for the screen to show."""

    entries: list[Entry] = field(default_factory=list)
    """New log entries (a repeat's closing note)."""
    marks_changed: set[int] = field(default_factory=set)
    """Seqs of entries whose mark changed."""


class Sending:
    """The sending state of one session."""

    def __init__(
        self,
        session: ChatSession,
        *,
        eol: str = "none",
        rules: Iterable[Rule] = (),
        saved: SavedMessages | None = None,
        impair: ImpairSettings | None = None,
        impair_direction: str = "out",
    ) -> None:
        self.session = session
        self.impairing = Impairing(session, impair or ImpairSettings(), impair_direction)
        """`--loss`, `--delay`, … and `/impair`: the impairments each way, and their counts."""
        self.saved = saved if saved is not None else SavedMessages()
        """`/send NAME`, `/keep NAME` and the palette's `Send: NAME`."""
        self.eol = eol
        self.marks = LogMarks()
        self.responder = Responder(rules)
        self._hook_responder()
        self.repeat: Repeat | None = None
        self.closing_note: str | None = None
        """Set at close when impairments still held datagrams: said on stderr once the screen is gone."""
        self._impaired_sends: ImpairedSends | None = None
        """The running repeat's sends, when they go through impairments."""
        self._repeat_entry: Entry | None = None
        self._repeat_counted = 0
        """The repeat's sends already added to the counters and the roster."""

    # -- line endings -------------------------------------------------------------------------

    def set_eol(self, name: str) -> None:
        if name not in LINE_ENDINGS:
            raise SendingError(f"bad line ending {name!r}: none, lf or crlf")
        self.eol = name

    def message(self, text_payload: bytes) -> bytes:
        """A typed message as it goes out: with the line ending."""
        return text_payload + LINE_ENDINGS[self.eol]

    # -- auto-replies ----------------------------------------------------------------------------

    def _hook_responder(self) -> None:
        """The receive path calls `_react` on every batch (round trips pair only with sends,
        and the responder works only while there are rules)."""
        self.session.react = self._react

    def _react(self, entries: Sequence[Entry], counts: dict[Address, int]) -> list[Entry]:
        rtt = self.session.rtt
        if rtt.waiting:
            waiting = {peer for peer in counts if rtt.is_waiting_for(peer)}
            if waiting:
                self._pair(entries, waiting)
        if not self.responder.rules:
            return []
        return self._answer((entry.peer, entry.payload) for entry in entries if arrived(entry) and entry.peer)

    def _pair(self, entries: Sequence[Entry], waiting: set[Address]) -> None:
        """Mark the first datagram from each peer that was sent to with its round trip,
        measured to its arrival time (the kernel's, where it gives one)."""
        rtt, roster = self.session.rtt, self.session.roster
        for entry in entries:
            peer = entry.peer
            if peer in waiting and arrived(entry):
                waiting.discard(peer)
                arrived_ns = int(entry.time.timestamp() * 1_000_000) * 1000  # µs: what the entry holds
                milliseconds = rtt.arrived(peer, arrived_ns)
                known = roster.get(peer)
                if milliseconds is not None and known is not None:
                    self.marks.put(entry.seq, rtt_text(milliseconds))
                    known.rtt = rtt.stats[peer].summary
                    roster.version += 1
                if not waiting:
                    return

    def add_rule(self, rule: Rule) -> None:
        self.responder.add(rule)
        self._hook_responder()

    def remove_rule(self, number: int | None) -> list[Rule]:
        """Remove rule `number` (1 is the first), or every rule for None; IndexError if none."""
        if number is None:
            removed, self.responder.rules = self.responder.rules, []
        else:
            removed = [self.responder.remove(number)]
        self._hook_responder()
        return removed

    def _answer(self, datagrams: Iterable[tuple[Address, bytes]]) -> list[Entry]:
        entries = []
        for peer, reply, rule in self.responder.respond(datagrams):
            try:
                result = self.session.send(reply, peer, by_hand=False)
            except SendError:
                rule.failed += 1
                continue
            for entry in result.entries:  # with the copy `--duplicate` made
                self.marks.put(entry.seq, "auto")
                entries.append(entry)
        return entries

    # -- saved messages ----------------------------------------------------------------------------

    def saved_payload(self, name: str) -> bytes:
        message = self.saved.get(name)
        if message is None:
            known = ", ".join(sorted(self.saved.messages)) or "none yet: /keep NAME saves the last sent"
            raise SendingError(f"no saved message {name!r} (saved: {known})")
        return message.payload

    def keep(self, name: str, *, overwrite: bool = False) -> SavedMessage:
        """Save the last datagram sent by hand under `name`."""
        last = self.session.last_sent
        if last is None:
            raise SendingError("nothing sent yet: /keep saves the last datagram you sent")
        try:
            return self.saved.keep(name, typed_payload(last), overwrite=overwrite)
        except SavedMessagesError as error:
            raise SendingError(str(error)) from None

    # -- /file ----------------------------------------------------------------------------------

    def file_payload(self, path: str) -> bytes:
        """The bytes `/file PATH` sends to the current target (its size limit checked here)."""
        target = self.session.target
        limit = self.session.transport.max_payload(target) if target is not None else 65527
        return read_datagram_file(path, limit)

    # -- /repeat --------------------------------------------------------------------------------

    def check_repeat(self) -> None:
        if self.repeat is not None and self.repeat.running:
            raise SendingError("a repeat is running: /stop (or Escape in the box) ends it first")

    def start_repeat(self, plan: RepeatPlan) -> None:
        """Go on from the datagram just sent (`session.last_sent`, the first of the repeat)."""
        self.check_repeat()
        self._finish_repeat()
        entry = self.session.last_sent
        if entry is None or entry.peer is None:
            raise SendingError("send the first datagram before starting a repeat")
        impaired, record = self.session.impair_out, bool(self.session.writers)
        sends = impaired.repeat_sender(entry.peer, record=record) if impaired is not None else None
        send = sends if sends is not None else repeat_sender(self.session.transport, entry.peer)
        repeat = Repeat(plan, send, record_times=record and sends is None)
        self._impaired_sends = sends
        # The first send is counted already; an impaired repeat counts the copies that went.
        self.repeat, self._repeat_entry, self._repeat_counted = repeat, entry, 1 if sends is None else 0
        self.marks.put(entry.seq, self._repeat_mark(repeat))
        repeat.start()

    def stop_repeat(self) -> bool:
        """Stop the running repeat; False when none was running."""
        return self.repeat is not None and self.repeat.stop()

    def _repeat_mark(self, repeat: Repeat) -> str:
        plan = repeat.plan
        if repeat.running:
            return f"{count_text(repeat.sent, plan.count)} at {plan.asked_rate}"
        parts = [f"{TIMES}{repeat.sent:,} at {rate_text(repeat.achieved_rate)}"]
        if repeat.failed:
            parts.append(f"{repeat.failed:,} failed")
        if repeat.stopped:
            parts.append("stopped")
        return ", ".join(parts)

    def _count_repeat(self, repeat: Repeat, entry: Entry) -> None:
        """Add the sends since the last poll to the counters, roster and transcript."""
        sends = self._impaired_sends
        sent = repeat.sent if sends is None else sends.went
        new = sent - self._repeat_counted
        self._repeat_counted = sent
        if new > 0 and entry.peer is not None:
            counters = self.session.counters
            counters.sent += new
            counters.bytes_out += new * len(repeat.plan.payload)
            size = new * len(repeat.plan.payload)
            self.session.roster.sent(entry.peer, self.session.clock(), count=new, size=size)
        if sends is not None:  # each copy with its fate
            if impaired := sends.take_entries():
                self.session.transcribe(impaired)
            return
        times = repeat.take_times()
        if times:  # the transcript has every send, each with its own time
            peer, payload = entry.peer, entry.payload
            self.session.transcribe(
                [
                    Entry(datetime.fromtimestamp(ns / 1e9), Direction.SENT, peer, payload, len(payload))
                    for ns in times
                ]
            )

    def _finish_repeat(self) -> Entry | None:
        """Forget a repeat that has ended, with a note saying how it went."""
        repeat, entry = self.repeat, self._repeat_entry
        if repeat is None or entry is None or repeat.running:
            return None
        self.repeat = self._repeat_entry = None
        text = f"repeat to {entry.peer}: {self._repeat_mark(repeat)}"
        if repeat.last_error:
            text += f"; last error: {repeat.last_error}"
        level = Level.WARNING if repeat.failed else Level.INFO
        return self.session.note(text, level)

    def status(self) -> list[tuple[str, str]]:
        """(label, value) pairs for the status bar: the line ending unless none, auto-replies
        (and the surplus the limit held back), a running repeat's progress."""
        parts = []
        if self.eol != "none":
            parts.append(("eol ", self.eol))
        if self.responder.rules:
            responder = self.responder
            over = f", {responder.limited:,} over the limit" if responder.limited else ""
            over += f", {responder.skipped:,} skipped" if responder.skipped else ""
            parts.append(("auto ", f"{responder.answered:,}{over}"))
        parts += self.impairing.status()
        repeat = self.repeat
        if repeat is not None and repeat.running:
            progress = f"{count_text(repeat.sent, repeat.plan.count)} at {repeat.plan.asked_rate}"
            parts.append(("repeat ", f"{progress} (Esc stops)"))
        return parts

    def entry_fields(self, entry: Entry) -> list[tuple[str, str]]:
        """The inspector's lines for an entry: its mark, and its peer's round trips."""
        fields = []
        if entry.impairment is not None:
            fields.append(("impaired", entry.impairment.text()))
        if mark := self.marks.get(entry.seq):
            fields.append(("marked", mark))
        stats = self.session.rtt.stats.get(entry.peer) if entry.peer is not None else None
        if stats is not None and stats.samples:
            summary = stats.summary.removeprefix("rtt ")
            fields.append(("peer round trips", f"{summary} min/avg/max of the last {len(stats.samples)}"))
        return fields

    # -- the UI timer ------------------------------------------------------------------------------

    def poll(self) -> PollResult:
        """Bring the counters, the transcript and the marks up to date with the pacing thread."""
        result = PollResult()
        repeat, entry = self.repeat, self._repeat_entry
        if repeat is not None and entry is not None:
            ended = not repeat.running
            self._count_repeat(repeat, entry)
            self.marks.put(entry.seq, self._repeat_mark(repeat))
            if ended:
                note = self._finish_repeat()
                if note is not None:
                    result.entries.append(note)
        failed = self.impairing.take_failures()
        if failed is not None:  # sends an impairment held that failed when their time came: one note
            result.entries.append(self.session.note(failed, Level.ERROR))
        result.marks_changed = self.marks.take_changed()
        return result

    def close(self) -> None:
        """Stop the repeat and the impairments' releases (at quit), with a note of what they
        still held."""
        self.stop_repeat()
        held = self.impairing.close()
        if held:
            them = "1 datagram" if held == 1 else f"{held:,} datagrams"
            self.closing_note = f"{them} held back by impairments never went: udptui stopped first"
            self.session.note(self.closing_note)
