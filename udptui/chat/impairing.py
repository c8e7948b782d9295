"""Impairments of a chat session (`--impair out|in|both`, `--loss`, `/impair …`): what udptui
sends goes through an `Impairer` before `transport.send`, and what it receives goes through
another between the receive thread's inbox and the session.

Each datagram an impairment hits carries its `Fate` in its entry (`Entry.impairment`): the
log marks it, the transcript records it, the inspector names it. A datagram lost on the way
in is an entry of its own that counts as nothing received. While no impairment is on, the
session holds no hook of this module and its receive path is the one it always was.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, NamedTuple

from udptui.chat.datagram import Direction, Entry
from udptui.chat.repeat import FULL_BUFFER_PAUSE
from udptui.chat.store import TRUNCATIONS
from udptui.net.address import Address
from udptui.net.batch import SO_TIMESTAMPNS, TIMESPEC, Ancillary, RecvBatch, local_datetime
from udptui.net.impair_settings import ImpairSettings
from udptui.net.impairments import Fate, ImpairCounts, Impairer, flip_bit
from udptui.net.scheduler import Scheduler, Schedules
from udptui.net.transport import Inbound, RawDatagram, SendBufferFull, SendError

if TYPE_CHECKING:
    from udptui.chat.session import ChatSession

FULL_BUFFER_WAIT = 1.0
"""Seconds a repeat's impaired send waits at most for room in a full send buffer."""
MAX_SETTLE = 60.0
"""Seconds headless mode waits at most, at its end, for what impairments still hold."""
DIRECTIONS = ("out", "in", "both")
"""`--impair`: what udptui sends (the default), what it receives, or both."""


class ImpairedBatch(RecvBatch):
    """Received datagrams that passed the way-in impairments, each with its fate."""

    __slots__ = ("fates",)

    fates: list[Fate | None]


class _Arrival(NamedTuple):
    """What a received datagram came with, kept while it is held back."""

    sender: Any
    wire: int
    cut: int
    ancillary: Ancillary
    local_port: int


def _stamped(ancillary: Ancillary, nanoseconds: int) -> Ancillary:
    """The ancillary data with its arrival time replaced: a delayed datagram arrives later."""
    seconds, rest = divmod(nanoseconds, 1_000_000_000)
    kept = [item for item in ancillary if (item[0], item[1]) != (socket.SOL_SOCKET, SO_TIMESTAMPNS)]
    return [*kept, (socket.SOL_SOCKET, SO_TIMESTAMPNS, TIMESPEC.pack(seconds, rest))]


class Impairing:
    """The impairments of one session, both ways, and their counts."""

    WHERE = {"out": "on what udptui sends", "in": "on what it receives", "both": "both ways"}
    """How `describe` names each `--impair` direction."""
    ARROWS = {"out": "→", "in": "←", "both": "⇄"}
    """The status bar's arrow for each direction."""

    def __init__(
        self,
        session: ChatSession,
        settings: ImpairSettings,
        direction: str = "out",
        *,
        scheduler: Schedules | None = None,
    ) -> None:
        if settings.seed is None:  # one picked now and shown, so the run can be repeated
            settings = replace(settings, seed=random.randrange(1_000_000))
        self.session = session
        self.settings = settings
        self.direction = direction
        self.errors: deque[str] = deque(maxlen=100)
        """Sends that failed when their time came (on the scheduler's thread), to be said."""
        self.failures = 0
        """How many of them, ever (written by the scheduler's thread only)."""
        self._failures_said = 0
        self._pacing = threading.local()
        """`on` while a repeat's pacing thread submits: its sends wait out a full buffer."""
        self._own_scheduler = scheduler is None
        self.scheduler: Schedules = scheduler if scheduler is not None else Scheduler(on_error=self._failed)
        self.out: Impairer[Address] = Impairer(
            settings, self._send, scheduler=self.scheduler, direction="out", on_error=self._failed
        )
        self.inbound: Impairer[_Arrival] = Impairer(
            settings, self._arrive, scheduler=self.scheduler, direction="in", on_error=self._failed
        )
        self._arrived: deque[tuple[bytes, _Arrival, Fate, int]] = deque()
        """Received datagrams released by the way-in impairments, for the next ingest."""
        self.closed = False
        """After `close`, sends and what is received pass by the impairments, unimpaired."""
        self._hook()

    # -- settings -------------------------------------------------------------------------

    @property
    def impairs_out(self) -> bool:
        return self.settings.active and self.direction in ("out", "both") and not self.closed

    @property
    def impairs_in(self) -> bool:
        return self.settings.active and self.direction in ("in", "both") and not self.closed

    def sending_impairers(self) -> list[Impairer[Any]]:
        """The impairers whose held datagrams go out (a relay adds its two ways)."""
        return [self.out]

    def holding(self, *, inbound: bool = True) -> bool:
        """Whether a datagram is still held back on the way out (or, with `inbound`, on the
        way in, or released and not yet taken)."""
        if any(impairer.held for impairer in self.sending_impairers()):
            return True
        return inbound and bool(self.inbound.held or self._arrived)

    def longest_wait(self) -> float:
        """Seconds at most until everything held now has gone (or arrived), at most MAX_SETTLE."""
        impairers = [*self.sending_impairers(), self.inbound]
        return min(MAX_SETTLE, max(impairer.longest_wait() for impairer in impairers))

    def update(
        self, settings: ImpairSettings, direction: str | None = None, *, restart: bool = False
    ) -> None:
        """Impair by new settings (and direction) from the next datagram on; `restart` (`/impair
        seed N`) starts the seed's sequence again, so a run can be replayed."""
        if settings.seed is None:
            settings = replace(settings, seed=self.settings.seed)
        self.settings = settings
        self.direction = direction or self.direction
        self.out.update(settings, restart=restart)
        self.inbound.update(settings, restart=restart)
        self._hook()

    def _hook(self) -> None:
        """Put the session's hooks in place while an impairment is on (or datagrams are held)."""
        session = self.session
        session.impair_out = self if self.impairs_out else None
        if self.impairs_in or self.inbound.held or self._arrived:
            session.impair_in = self
        else:
            session.impair_in = None

    def describe(self) -> str:
        """`loss 10% on what udptui sends (seed 7)`, or `off (seed 7)`."""
        seed = f"seed {self.settings.seed}"
        if not self.settings.active:
            return f"off ({seed})"
        return f"{self.settings.describe()} {self.WHERE.get(self.direction, self.direction)} ({seed})"

    def counted_impairers(self) -> list[Impairer[Any]]:
        """The impairers whose counts the status bar and `/impair` add up."""
        return [self.out, self.inbound]

    def counts(self) -> ImpairCounts:
        """Both directions' counts added up."""
        total = ImpairCounts()
        for impairer in self.counted_impairers():
            for name, value in vars(impairer.counts).items():
                setattr(total, name, getattr(total, name) + value)
        return total

    def status(self) -> list[tuple[str, str]]:
        """The status bar's part: what is on, and what each kind hit."""
        if not self.settings.active and not any(vars(self.counts()).values()):
            return []
        what = self.settings.describe() if self.settings.active else "off"
        parts = [(f"impair{self.ARROWS.get(self.direction, '')} ", what)]
        if counted := self.counts().parts():
            parts.append(("", ", ".join(counted)))
        return parts

    # -- the way out ----------------------------------------------------------------------

    def _send(self, payload: bytes, destination: Address, fate: Fate) -> None:
        """Send one copy. On a repeat's pacing thread a full send buffer is waited out, as a
        repeat without impairments waits (its fate is drawn: the same copy goes again); the
        wait is bounded, then the send fails as any other."""
        transport = self.session.transport
        if not getattr(self._pacing, "on", False):
            transport.send(payload, destination)
            return
        deadline = time.monotonic() + FULL_BUFFER_WAIT
        while True:
            try:
                transport.send(payload, destination)
                return
            except SendBufferFull:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(FULL_BUFFER_PAUSE)

    def _failed(self, error: BaseException) -> None:
        """A held datagram failed when its time came (on the scheduler's thread)."""
        self.errors.append(str(error) if isinstance(error, SendError) else f"impairment: {error!r}")
        self.failures += 1

    def take_failures(self) -> str | None:
        """One note's text for the held datagrams that failed since the last call (None if
        none did): the error itself, or how many failed and the last error."""
        count = self.failures - self._failures_said
        if not count or not self.errors:
            return None
        self._failures_said += count
        errors = [self.errors.popleft() for _ in range(len(self.errors))]
        if count == 1:
            return errors[-1]
        return f"{count:,} datagrams held by impairments failed when their time came; the last: {errors[-1]}"

    def submit(self, payload: bytes, destination: Address) -> list[tuple[bytes, Fate]]:
        """A send through the way-out impairments (`ChatSession.send` records it): every copy,
        a lost one too, with its fate; `SendError` at once for what can never go."""
        # What can never go fails now, with the text still typed (not later, from the
        # scheduler's thread); a broadcast's SO_BROADCAST note belongs to this send.
        self.session.transport.check(payload, destination)
        return self.out.submit(payload, destination)

    def repeat_sender(self, destination: Address, *, record: bool) -> ImpairedSends:
        """A repeat's sends through the way-out impairments."""
        return ImpairedSends(self.out, destination, record=record, pacing=self._pacing)

    # -- the way in -----------------------------------------------------------------------

    def _arrive(self, payload: bytes, arrival: _Arrival, fate: Fate) -> None:
        """A received datagram released (on the scheduler's thread when it was held)."""
        arrived_ns = time.time_ns() if fate.delay > 0 or fate.reordered else -1
        self._arrived.append((payload, arrival, fate, arrived_ns))

    def filter_inbound(self, items: Sequence[Inbound | RawDatagram]) -> list[Inbound | RawDatagram | Entry]:
        """What the receive thread took, through the way-in impairments: batches of what
        survived (and what was released since the last take), an entry for each datagram
        lost, and faults as they were."""
        out: list[Inbound | RawDatagram | Entry] = []
        if items and self.impairs_in:
            now, now_ns = self.scheduler.now(), time.time_ns()
            for item in items:
                if type(item) is tuple:
                    item = RecvBatch.of([item], read_ns=now_ns)
                if not isinstance(item, RecvBatch):
                    self._take_arrived(out)
                    out.append(item)
                    continue
                for index, payload in enumerate(item.payloads):
                    arrived_ns = item.arrival_ns(index)
                    arrival = _Arrival(
                        item.senders[index],
                        item.wire_length(index),
                        item.truncation(index),
                        item.ancillary(index),
                        item.local_port,
                    )
                    at = now - max(0, now_ns - arrived_ns) / 1e9
                    for data, fate in self.inbound.submit(payload, arrival, at=at):
                        if fate.lost:
                            self._take_arrived(out)
                            out.append(self._lost_entry(data, arrival, fate, arrived_ns))
        else:
            out.extend(items)
        self._take_arrived(out)
        if not self.impairs_in:
            self._hook()
        return out

    def _take_arrived(self, out: list[Inbound | RawDatagram | Entry]) -> None:
        arrived = self._arrived
        if not arrived:
            return
        taken = [arrived.popleft() for _ in range(len(arrived))]
        batch = ImpairedBatch(
            [item[0] for item in taken],
            [item[1].sender for item in taken],
            wire=[item[1].wire for item in taken],
            cut=[item[1].cut for item in taken],
            controls=[
                item[1].ancillary if item[3] < 0 else _stamped(item[1].ancillary, item[3]) for item in taken
            ],
            read_ns=time.time_ns(),
            local_port=taken[0][1].local_port,
        )
        batch.fates = [item[2] if item[2].impaired else None for item in taken]
        out.append(batch)

    def _lost_entry(self, payload: bytes, arrival: _Arrival, fate: Fate, arrived_ns: int) -> Entry:
        session = self.session
        when = local_datetime(arrived_ns) if session.arrival_times else session.clock()
        try:
            peer: Address | None = session.address_of(arrival.sender)
        except Exception:
            peer = None
        entry = Entry(when, Direction.RECEIVED, peer, payload, arrival.wire, TRUNCATIONS[arrival.cut])
        entry.impairment = fate
        return entry

    def close(self) -> int:
        """Stop releasing; returns how many held datagrams never went (or arrived). What is
        sent or received after it passes by the impairments (the last take of the receive
        thread's inbox at quit): none would release it."""
        held = self.out.close() + self.inbound.close()
        self.closed = True
        self._hook()
        if self._own_scheduler and isinstance(self.scheduler, Scheduler):
            self.scheduler.stop()
        return held


def typed_payload(entry: Entry) -> bytes:
    """The bytes a sent entry was sent with before `--corrupt` flipped one of them (the entry
    shows them as they went; `/keep` saves them as they were typed)."""
    fate = entry.impairment
    if fate is None or fate.corrupt_bit < 0:
        return entry.payload
    return flip_bit(entry.payload, fate.corrupt_bit)


class ImpairedSends:
    """A repeat's send, through the way-out impairments, on the pacing thread: it counts the
    copies that went and keeps each copy's time, bytes and fate for the transcript (the log
    keeps its one counting line for the repeat)."""

    def __init__(
        self,
        impairer: Impairer[Address],
        destination: Address,
        *,
        record: bool,
        pacing: threading.local | None = None,
    ) -> None:
        self.impairer = impairer
        self.pacing = pacing if pacing is not None else threading.local()
        self.destination = destination
        self.went = 0
        """Copies that went out (not lost), written by the pacing thread only."""
        self._sends: deque[tuple[int, bytes, Fate]] | None = deque() if record else None

    def __call__(self, payload: bytes) -> None:
        self.pacing.on = True
        try:
            results = self.impairer.submit(payload, self.destination)
        finally:
            self.pacing.on = False
        self.went += sum(1 for _, fate in results if not fate.lost)
        if self._sends is not None:
            now = time.time_ns()
            self._sends.extend((now, data, fate) for data, fate in results)

    def take_entries(self) -> list[Entry]:
        """An entry for each copy sent since the last call, with its fate, for the transcript."""
        sends = self._sends
        if not sends:
            return []
        entries = []
        for _ in range(len(sends)):
            ns, data, fate = sends.popleft()
            entry = Entry(local_datetime(ns), Direction.SENT, self.destination, data, len(data))
            entry.impairment = fate if fate.impaired else None
            entries.append(entry)
        return entries
