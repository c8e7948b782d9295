"""The receive side of the transport: a loop for a worker thread that drains the socket in
whole batches into an inbox the UI takes on a timer, the drop counter and ICMP errors.

The loop never waits on the UI: the inbox is a deque, safe to append from one thread and pop
from another, and it is bounded (beyond MAX_PENDING the batches are counted as dropped).
"""

from __future__ import annotations

import contextlib
import errno
import os
import selectors
import socket
import struct
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

from udptui.net.address import Address
from udptui.net.batch import Ancillary, RecvBatch

if TYPE_CHECKING:
    from udptui.net.mmsg import MmsgReader

DEFAULT_BUFSIZE = 65535
SO_MEMINFO = 55
"""Linux: the socket's memory counters; entry 8 (SK_MEMINFO_DROPS) is the same drop counter."""
IP_RECVERR = 11
IPV6_RECVERR = 25
_RECVERR_LEVELS = {(socket.IPPROTO_IP, IP_RECVERR), (socket.IPPROTO_IPV6, IPV6_RECVERR)}
"""Linux: report ICMP errors (port unreachable) on unconnected sockets too."""

MAX_PENDING = 500_000
"""Datagrams the inbox holds for the UI before it counts them as dropped by the app."""
MAX_PENDING_BYTES = 256 * 1024 * 1024
"""Payload bytes the inbox holds for the UI, likewise: a stalled screen cannot eat memory."""
RETRY_PAUSE = 0.1
"""Seconds the receive loop waits after an error before it reads again."""
DRAIN_BATCH = 2048
"""Datagrams read per wake-up before the loop checks whether it should stop."""
BATCH = 256
"""Datagrams per batch from the `recvmsg` loop (recvmmsg batches are one system call each)."""

IS_LINUX = sys.platform.startswith("linux")
_MSG_TRUNC = int(getattr(socket, "MSG_TRUNC", 0))

PORT_UNREACHABLE = "peer port closed? (ICMP port unreachable)"
_ICMP_ERRORS = {
    errno.ECONNREFUSED: PORT_UNREACHABLE,
    errno.EHOSTUNREACH: "host unreachable (ICMP)",
    errno.ENETUNREACH: "network unreachable (ICMP)",
    errno.EMSGSIZE: "too large for the path (ICMP fragmentation needed)",
}


PENDING_ERRORS = frozenset({errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH})
"""A send that fails so reports an earlier datagram's ICMP error, not its own: the failed
call cleared the error, so a relay sends the same datagram again (at most RESENDS times)."""
RESENDS = 8
"""Times one datagram is sent again after such errors (each a new ICMP error) at most."""


def icmp_error_text(code: int) -> str:
    """What an ICMP error means for the user, from the errno the kernel gave it."""
    if code in _ICMP_ERRORS:
        return _ICMP_ERRORS[code]
    return f"ICMP error: {os.strerror(code)}" if code else "ICMP error"


RawDatagram: TypeAlias = tuple[bytes, Any, int, int]
"""(kept bytes, sender sockaddr, bytes on the wire, truncation: 0 none, 1 cut, 2 possibly):
one datagram, as `ChatSession.ingest` also takes it (tests, other sources)."""


@dataclass(frozen=True, slots=True)
class Fault:
    """Something the network told us instead of a datagram."""

    message: str
    address: Address | None = None
    unreachable: bool = False
    """An ICMP error: the peer's port (or host) refused the last datagram."""
    count: int = 1
    """How many identical faults this one stands for (the error queue's are read together)."""

    @property
    def text(self) -> str:
        """The message with the address it concerns, for the log and the toast."""
        return f"{self.message} {self.address}" if self.address else self.message


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the receive thread has to say that is no fault: a relay's session opened or
    closed (`udptui.net.relay`). It becomes a note in the log where it came."""

    message: str
    address: Address | None = None
    warning: bool = False
    at_ns: int = field(default_factory=time.time_ns)
    """When it happened (the log's note carries this time, not the moment the UI took it)."""


Inbound: TypeAlias = RecvBatch | Fault | Notice
"""What the receive thread hands the UI: whole batches, and faults and notices between them."""


class ReceiveLoop:
    """The receiving half of `UdpTransport` (which sets these attributes up)."""

    sock: socket.socket
    bufsize: int
    counts_drops: bool
    detects_truncation: bool
    kernel_drops: int
    """Datagrams the kernel dropped because the receive buffer was full (SO_RXQ_OVFL)."""
    inbox_drops: int
    """Datagrams read but let go because the UI had MAX_PENDING (or MAX_PENDING_BYTES) waiting."""
    receive_call: str
    """How the receive thread reads: `recvmmsg` once it has started, where it can."""
    _inbox: deque[Inbound]
    _queued: int
    _bytes_queued: int
    _taken: int
    _bytes_taken: int
    _buffer: bytearray
    _view: memoryview
    _control_size: int
    _local_port: int
    _batch_receive: bool
    _reader: MmsgReader | None
    _stopping: threading.Event
    _receiving: threading.Lock
    _wake_reader: socket.socket
    _wake_writer: socket.socket
    _closed: bool
    _flood_pause: float
    """Seconds to let a flood gather between recvmmsg calls; 0 when the receive buffer is small."""

    # -- receiving ------------------------------------------------------------------------

    def take_all(self) -> list[Inbound]:
        """Everything received since the last call, oldest first, in whole batches (for the
        UI thread): a `RecvBatch` per system call, and a `Fault` for each error."""
        inbox = self._inbox
        items = [inbox.popleft() for _ in range(len(inbox))]
        for item in items:
            if type(item) is RecvBatch:
                self._taken += len(item)
                self._bytes_taken += item.payload_bytes
        return items

    @property
    def pending(self) -> int:
        """Datagrams waiting for the UI."""
        return self._queued - self._taken

    def run_receiver(self) -> None:
        """Receive until `stop()`; meant for a worker thread. Errors become `Fault`s in the inbox."""
        with self._receiving:
            if self._closed:
                return
            self._start_reader()
            selector = selectors.DefaultSelector()
            selector.register(self.sock, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            try:
                while not self._stopping.is_set():
                    try:
                        ready = selector.select()
                    except OSError as error:
                        if self._stopping.is_set() or error.errno == errno.EBADF:
                            return
                        self._on_receive_error(error)
                        continue
                    for key, _ in ready:
                        if key.fileobj is self._wake_reader:
                            continue
                        try:
                            self._drain()
                        except Exception as error:  # a bug must not end receiving: say so, go on
                            self._inbox.append(Fault(f"receive error: {error!r}"))
                            self._stopping.wait(RETRY_PAUSE)
            finally:
                selector.close()

    def _start_reader(self) -> None:
        """Make the recvmmsg reader where it can be used (on the receive thread)."""
        if self._reader is None and self._batch_receive:
            from udptui.net.mmsg import MmsgReader  # here: `udptui --version` never loads it

            # Made here, on the receive thread, after the first frame: ctypes costs 10 ms.
            self._reader = MmsgReader.create(self.sock, self.bufsize, control=self._control_size > 0)
            self.receive_call = "recvmmsg" if self._reader is not None else self.receive_call

    def _queue(self, batch: RecvBatch) -> None:
        """Put a batch in the inbox, unless the UI has too much waiting: then count it dropped."""
        count, size = len(batch), batch.payload_bytes
        if (
            self._queued - self._taken + count > MAX_PENDING
            or self._bytes_queued - self._bytes_taken + size > MAX_PENDING_BYTES
        ):
            self.inbox_drops += count
        else:
            self._queued += count
            self._bytes_queued += size
            self._inbox.append(batch)
        if self.counts_drops:
            dropped = batch.latest_drop_count()
            if dropped is not None:  # the UI thread may have read a newer count: never go back
                self.kernel_drops = max(self.kernel_drops, dropped)

    def _drain(self) -> None:
        """Read what the socket holds, up to DRAIN_BATCH datagrams, as whole batches.

        This loop is the app's ceiling under a flood: with recvmmsg one system call reads
        up to 256 datagrams and the per-datagram work is done by C (see `mmsg`)."""
        reader = self._reader
        if reader is None:
            self._drain_one_by_one()
            return
        for _ in range(max(1, DRAIN_BATCH // reader.count)):
            try:
                batch = reader.read()
            except OSError as error:
                if self._on_receive_error(error):
                    continue
                return
            if batch is None:
                return
            self._queue(batch)
            if len(batch) < reader.count:
                if len(batch) > 1 and self._flood_pause:
                    # A flood is on: let datagrams gather for a moment, so the next call reads
                    # a full batch instead of waking for every few (the kernel buffer has room).
                    if self._stopping.wait(self._flood_pause):
                        return
                    continue
                return  # the socket ran dry during the call: wait in the selector

    def _drain_one_by_one(self) -> None:
        """The `recvmsg` loop, where recvmmsg is missing (or `UDPTUI_RECVMMSG=0`)."""
        sock = self.sock
        bufsize = self.bufsize
        buffer = self._buffer
        view = self._view
        buffers = (buffer,)
        recvmsg_into = sock.recvmsg_into if self.detects_truncation else None
        ancillary_size = self._control_size
        payloads: list[bytes] = []
        senders: list[Any] = []
        wire: list[int] = []
        cut: list[int] = []
        controls: list[Ancillary] = []

        def flush() -> None:
            if payloads:
                self._queue(
                    RecvBatch(
                        payloads.copy(),
                        senders.copy(),
                        wire=None if wire == list(map(len, payloads)) else wire.copy(),
                        cut=cut.copy() if any(cut) else None,
                        controls=controls.copy() if ancillary_size else None,
                        read_ns=time.time_ns(),
                        local_port=self._local_port,
                    )
                )
                for made in (payloads, senders, wire, cut, controls):
                    made.clear()

        try:
            for _ in range(DRAIN_BATCH):
                try:
                    if recvmsg_into is not None:
                        # MSG_TRUNC: Linux returns the size on the wire, even when it cut the datagram.
                        length, ancillary, flags, sender = recvmsg_into(buffers, ancillary_size, _MSG_TRUNC)
                        truncation = 1 if flags & _MSG_TRUNC else 0
                    else:
                        length, sender = sock.recvfrom_into(buffer)
                        ancillary = []
                        truncation = 2 if length == bufsize and bufsize < DEFAULT_BUFSIZE else 0
                except BlockingIOError:
                    return
                except OSError as error:
                    flush()  # what came before the error goes first
                    if self._on_receive_error(error):
                        continue
                    return
                payloads.append(view[: min(length, bufsize)].tobytes())
                senders.append(sender)
                wire.append(length)
                cut.append(truncation)
                controls.append(ancillary)
                if len(payloads) >= BATCH:
                    flush()
        finally:
            flush()

    def _on_receive_error(self, error: OSError) -> bool:
        """Deal with a receive call's error; True to go on reading, False to end this drain.

        On Linux an ICMP error (port, host or network unreachable) waits in the socket's
        error queue and keeps it readable until it is read: read it all, or the loop spins.
        """
        if isinstance(error, InterruptedError):
            return True
        if self._stopping.is_set() or error.errno == errno.EBADF:
            return False
        faults = self._read_icmp_errors()
        if faults:
            self._inbox.extend(faults)
            return True
        if isinstance(error, ConnectionRefusedError | ConnectionResetError):
            # Elsewhere (Windows) the next receive reports an ICMP error, with no address.
            self._inbox.append(Fault(PORT_UNREACHABLE, unreachable=True))
            return True
        self._inbox.append(Fault(f"receive failed: {error.strerror or error}"))
        self._stopping.wait(RETRY_PAUSE)  # a lasting error must not spin the loop
        return False

    def refresh_drop_count(self) -> int:
        """The kernel's drop count now (SO_RXQ_OVFL reports it only with the next datagram)."""
        if self.counts_drops and not self._closed:
            try:
                meminfo = self.sock.getsockopt(socket.SOL_SOCKET, SO_MEMINFO, 9 * 4)
            except OSError:
                return self.kernel_drops
            if len(meminfo) >= 9 * 4:
                self.kernel_drops = max(self.kernel_drops, struct.unpack_from("=9I", meminfo)[8])
        return self.kernel_drops

    def _read_icmp_errors(self) -> list[Fault]:
        """Turn the ICMP errors queued on the socket (Linux) into faults naming the address."""
        return read_icmp_errors(self.sock)

    def stop(self) -> None:
        """Make `run_receiver` return promptly, even while it waits for data."""
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._wake_writer.send(b"\0")


def read_icmp_errors(sock: socket.socket) -> list[Fault]:
    """The ICMP errors queued on `sock` (Linux, IP_RECVERR) as faults naming the address each
    refused datagram went to; a run of one address's becomes one fault with a count."""
    faults: list[Fault] = []
    if not IS_LINUX:
        return faults
    while True:
        try:
            _, ancillary, _, destination = sock.recvmsg(1, 512, socket.MSG_ERRQUEUE)
        except OSError:
            return faults
        code = 0
        for level, kind, data in ancillary:
            if (level, kind) in _RECVERR_LEVELS and len(data) >= 4:
                code = struct.unpack_from("=I", data)[0]  # sock_extended_err.ee_errno
        address = Address.from_sockaddr(destination) if destination else None
        fault = Fault(icmp_error_text(code), address, unreachable=True)
        last = faults[-1] if faults else None
        if last is not None and (last.message, last.address) == (fault.message, address):
            # A repeat to a closed port queues one error per send: one fault counts them.
            faults[-1] = Fault(last.message, address, unreachable=True, count=last.count + 1)
        else:
            faults.append(fault)
