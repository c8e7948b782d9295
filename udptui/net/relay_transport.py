"""The relay's transport: the listening socket of `UdpTransport`, whose receive thread also
forwards. One selector waits on the listening socket, the wake-up socket and every client's
upstream socket (`udptui.net.relay`); a batch from a client is forwarded to the server, a
batch from the server to its client, both on this thread, and then queued for the screen as
any batch is, marked with the way it went (`RecvBatch.relay`).

Nothing here knows about Textual.
"""

from __future__ import annotations

import contextlib
import errno
import os
import selectors
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from udptui.net.address import Address
from udptui.net.batch import RecvBatch
from udptui.net.receiving import DRAIN_BATCH, RETRY_PAUSE, Fault
from udptui.net.relay import MAX_CLIENTS, SNDBUF, RelayTable
from udptui.net.relay_session import DEFAULT_SESSION_TIMEOUT, UP, RelayTag, Upstream
from udptui.net.transport import (
    DEFAULT_BUFSIZE,
    DEFAULT_RCVBUF,
    TransportError,
    UdpTransport,
    bind_socket,
)

if TYPE_CHECKING:
    from udptui.net.mmsg import MmsgReader

_MSG_TRUNC = int(getattr(socket, "MSG_TRUNC", 0))
_LISTEN = "listen"
_WAKE = "wake"


class RelayTransport(UdpTransport):
    """A listening socket that relays every client to `server` through a session of its own."""

    def __init__(
        self,
        sock: socket.socket,
        *,
        server: Address,
        session_timeout: float = DEFAULT_SESSION_TIMEOUT,
        max_clients: int = MAX_CLIENTS,
        rcvbuf_requested: int = 0,
        batch_receive: bool = True,
        upstream_port: Callable[[], int] | None = None,
    ) -> None:
        super().__init__(
            sock, bufsize=DEFAULT_BUFSIZE, rcvbuf_requested=rcvbuf_requested, batch_receive=batch_receive
        )  # a relay forwards every datagram whole: `--bufsize` is refused with `--forward`
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SNDBUF)
        self.server = server
        try:
            self.table = RelayTable(
                sock,
                server,
                self._inbox.append,
                timeout=session_timeout,
                max_clients=min(max_clients, session_room()),
                upstream_port=upstream_port or (lambda: 0),
            )
        except BaseException:  # no table: the wake-up pair goes (the caller closes `sock`)
            self._wake_reader.close()
            self._wake_writer.close()
            raise
        self.table.selector.register(sock, selectors.EVENT_READ, _LISTEN)
        self.table.selector.register(self._wake_reader, selectors.EVENT_READ, _WAKE)
        self._upstream_reader: MmsgReader | None = None
        self._budget: int | None = None
        """Datagrams still to relay (`relay_at_most`), or None: no end."""

    @classmethod
    def open_relay(
        cls,
        *,
        server: Address,
        bind_host: str | None = None,
        port: int = 0,
        rcvbuf: int = DEFAULT_RCVBUF,
        session_timeout: float = DEFAULT_SESSION_TIMEOUT,
    ) -> RelayTransport:
        """Bind the listening socket and open udptui's own socket to the server."""
        allow_descriptors(MAX_CLIENTS + 256)
        sock = bind_socket(bind_host, port, rcvbuf)
        try:
            return cls(
                sock,
                server=server,
                session_timeout=session_timeout,
                rcvbuf_requested=rcvbuf,
                batch_receive=os.environ.get("UDPTUI_RECVMMSG", "1") != "0",
            )
        except OSError as error:  # udptui's own socket to the server could not be made
            sock.close()
            raise TransportError(f"cannot reach the server {server}: {error.strerror or error}") from None

    @property
    def own_port(self) -> int:
        """The local port udptui's own datagrams to the server go from."""
        return self.table.own.port

    def relay_at_most(self, count: int) -> None:
        """`--count N`: read and relay N datagrams (either way, udptui's own answers too, as
        `--count` counts them), then stop relaying, so nothing is forwarded unrecorded. What
        the receive thread read past them in the same batch is dropped, as a closed port would."""
        self._budget = count

    def _within_budget(self, batch: RecvBatch) -> RecvBatch | None:
        """The part of `batch` still to relay (None: nothing); at the end, the thread stops."""
        budget = self._budget
        if budget is None:
            return batch
        if budget <= 0:
            return None
        if len(batch) > budget:
            batch = batch.head(budget)
        self._budget = budget - len(batch)
        if not self._budget:
            self._stopping.set()  # the receive loop ends: no more is read, none forwarded
        return batch

    # -- the receive thread ---------------------------------------------------------------

    def run_receiver(self) -> None:
        """Receive and forward until `stop()`, closing idle sessions as their time comes."""
        with self._receiving:
            if self._closed:
                return
            self._start_reader()
            table = self.table
            while not self._stopping.is_set():
                try:
                    ready = table.selector.select(table.tick)
                except OSError as error:
                    if self._stopping.is_set() or error.errno == errno.EBADF:
                        return
                    self._on_receive_error(error)
                    continue
                for key, _ in ready:
                    data = key.data
                    if data is _WAKE:
                        continue
                    try:
                        if data is _LISTEN:
                            self._drain()  # forwards each batch in `_queue`
                        else:
                            self._drain_upstream(data)
                    except Exception as error:  # a bug must not end relaying: say so, go on
                        self._inbox.append(Fault(f"relay error: {error!r}"))
                        self._stopping.wait(RETRY_PAUSE)
                table.expire(time.monotonic())

    def _queue(self, batch: RecvBatch) -> None:
        """A batch from the clients: forward it, then queue it for the screen."""
        within = self._within_budget(batch)
        if within is None:
            return
        batch = within
        batch.relay = UP
        fates = self.table.forward_up(batch, self._reader)
        if fates is not None:  # impaired: each datagram's fate goes with it to the log
            batch.relay = RelayTag(up=True, fates=tuple(fates))
        super()._queue(batch)

    def _drain_upstream(self, session: Upstream) -> None:
        """Read what the server sent to one session's socket, forward it to the client (not
        for udptui's own socket) and queue it for the screen."""
        for _ in range(DRAIN_BATCH // 64):
            try:
                batch = self._read_upstream(session)
            except OSError as error:
                if isinstance(error, BlockingIOError | InterruptedError):
                    return
                self.table.read_failed(error, session)
                continue  # the error was the socket's pending one: read on
            if batch is None:
                return
            within = self._within_budget(batch)
            if within is None:
                return
            batch = within
            batch.relay = session.tag
            if session.tag is not None:
                fates = self.table.forward_down(session, batch, self._upstream_reader)
                if fates is not None:
                    batch.relay = RelayTag(up=False, client=session.client, fates=tuple(fates))
            UdpTransport._queue(self, batch)

    def _read_upstream(self, session: Upstream) -> RecvBatch | None:
        """One batch from an upstream socket: recvmmsg where it can (one reader serves every
        upstream socket: they are alike, only the descriptor changes), else recvfrom."""
        reader = self._upstream_reader
        if reader is None and self._reader is not None:
            from udptui.net.mmsg import MmsgReader

            reader = self._upstream_reader = MmsgReader.create(session.sock, self.bufsize, control=True)
        if reader is not None:
            reader.fd = session.sock.fileno()
            reader.local_port = session.port
            return reader.read()
        items: list[tuple[bytes, Any, int, int]] = []
        buffers, view = (self._buffer,), self._view
        while len(items) < 64:
            try:
                if self.detects_truncation:
                    # MSG_TRUNC: Linux returns the size on the wire, even of a datagram it cut.
                    length, _, flags, sender = session.sock.recvmsg_into(buffers, 0, _MSG_TRUNC)
                else:  # no recvmsg (Windows): a datagram fits the 65,535-byte buffer anyway
                    length, sender = session.sock.recvfrom_into(self._buffer)
                    flags = 0
            except BlockingIOError:
                break
            except OSError:
                if items:
                    break  # what came before the error goes first; the error comes next time
                raise
            kept = min(length, self.bufsize)
            items.append((view[:kept].tobytes(), sender, length, 1 if flags & _MSG_TRUNC else 0))
        return RecvBatch.of(items, read_ns=time.time_ns()) if items else None

    # -- sending by hand ------------------------------------------------------------------

    def socket_for(self, to: Address) -> socket.socket:
        """The server gets udptui's own socket, so its answers are not taken for a client's."""
        return self.table.own.sock if to == self.server else self.sock

    def _sendto(self, payload: bytes, to: Address) -> int:
        if to == self.server:
            return self.table.own.sock.send(payload)  # connected to the server
        return super()._sendto(payload, to)

    def close(self) -> None:
        if self._closed:
            return
        super().close()  # waits for the receive thread to end
        self.table.close()


FD_RESERVE = 64
"""Descriptors kept free of sessions: --log, --pcap, /send's files, the terminal, and the like."""


def session_room() -> int:
    """How many sessions the open-files limit leaves room for, FD_RESERVE kept free."""
    try:
        import resource  # not on Windows
    except ImportError:
        return MAX_CLIENTS
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_CLIENTS
    return max(0, soft - FD_RESERVE - 16)  # 16: the listening, own and wake-up sockets, stdio


def allow_descriptors(wanted: int) -> None:
    """Raise the soft limit of open files towards `wanted` (an upstream socket per client)."""
    try:
        import resource  # not on Windows
    except ImportError:
        return
    with contextlib.suppress(ValueError, OSError):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        ceiling = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        if soft != resource.RLIM_INFINITY and soft < ceiling:
            resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, hard))
