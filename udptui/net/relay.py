"""Relay sessions (`--listen PORT --forward HOST:PORT`): a NAT table of clients.

Every client that writes to the listening socket gets its own upstream socket, connected to
the server from a free port, so the server's replies come back on that socket and go to the
right client. A session idle (no datagram either way) for `timeout` seconds is closed; the
client's next datagram opens a fresh one. The table holds at most `max_clients` sessions:
past that, a new client's datagrams are refused (counted, and said at most once a second).

Everything here runs on the receive thread (`udptui.net.relay_transport`), which also reads
the upstream sockets: forwarding never waits on the screen. Each forwarded datagram passes
through one function per direction, `up` (client to server) and `down` (server to client);
an impairer can take their place and call `send_up` / `send_down` when it releases one.
Nothing here knows about Textual.
"""

from __future__ import annotations

import contextlib
import errno
import os
import selectors
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from udptui.net.address import Address
from udptui.net.batch import SO_TIMESTAMPNS, RecvBatch, address_of
from udptui.net.receiving import (
    PENDING_ERRORS,
    PORT_UNREACHABLE,
    RESENDS,
    Fault,
    Inbound,
    Notice,
    icmp_error_text,
    read_icmp_errors,
)
from udptui.net.relay_failures import SendFailures
from udptui.net.relay_session import (
    DEFAULT_SESSION_TIMEOUT,
    LOOPED,
    SEND_FAILED,
    TABLE_FULL,
    Forward,
    NotForwarded,
    Upstream,
    not_forwarded,
)
from udptui.net.transport import set_receive_buffer

if TYPE_CHECKING:
    from udptui.net.mmsg import MmsgReader

MAX_CLIENTS = 4096
"""Sessions the table holds at most: one upstream socket (a file descriptor, and up to
UPSTREAM_RCVBUF of kernel memory while replies wait) and about 1 KiB of Python each."""
UPSTREAM_RCVBUF = 4 * 1024 * 1024
"""Receive buffer asked for each upstream socket (the kernel uses it only while replies wait,
and the receive thread drains them as they come): at most 4,096 times 4 MiB = 16 GiB in
theory, if every session's replies waited unread at once; in practice what is queued at a
moment. 1 MiB was tried: a server answering a full-speed flood overflowed it (`bench/relay.py`
lost a third of the replies at full speed, and some at 20,000/s with the screen on)."""
SNDBUF = 4 * 1024 * 1024
"""Send buffer for the sockets that forward: a burst waits there instead of being dropped."""
NOTICE_INTERVAL = 1.0
"""Seconds between two notices that the table is full."""


class RelayTable:
    """The clients' sessions, keyed by the sender as the listening socket reports it."""

    def __init__(
        self,
        listen: socket.socket,
        server: Address,
        report: Callable[[Inbound], None],
        *,
        timeout: float = DEFAULT_SESSION_TIMEOUT,
        max_clients: int = MAX_CLIENTS,
        upstream_port: Callable[[], int] = lambda: 0,
    ) -> None:
        self.listen = listen
        self.upstream_port = upstream_port
        """The local port each new upstream socket binds: 0, any free one (tests choose fixed
        ports, so a picture of the log does not change with the ports the system picks)."""
        self.listen_family = socket.AddressFamily(listen.family)
        self.server = server
        self.family = socket.AF_INET6 if server.is_ipv6 else socket.AF_INET
        self.server_sockaddr = server.sockaddr_for(self.family)
        self.report = report
        """Where faults and notices go: the inbox the screen (or headless runner) takes."""
        self.timeout = timeout
        self.max_clients = max_clients
        self.sessions: dict[Any, Upstream] = {}
        self.selector = selectors.DefaultSelector()
        """Waits on the listening socket, the wake-up socket and every upstream socket."""
        self.up: Forward = self.send_up
        """Client to server: every datagram from a client goes through this one function."""
        self.down: Forward = self.send_down
        """Server to client: every reply from the server goes through this one function."""
        self.opened = 0
        """Sessions opened since the start."""
        self.refused = 0
        """Datagrams not forwarded because the table was full (or no socket could be made)."""
        self.looped = 0
        """Datagrams refused because they came from one of the relay's own upstream sockets."""
        self._looped_said = False
        self.refusal: NotForwarded = TABLE_FULL
        """The mark of the datagrams the latest refusal concerned."""
        self._refusal_said = float("-inf")
        self.failures = SendFailures(report)
        """Failed sends not said yet: added from any thread, said by `flush_failures`."""
        self._lock = threading.Lock()
        """Held while a socket is closed, and while an impairer's release sends through one (on
        the scheduler's thread), so a send never goes through a descriptor reused meanwhile."""
        self._locals: set[Address] = set()
        """The local address of every upstream socket, udptui's own too (see `open`)."""
        self._next_expiry = time.monotonic() + self.tick
        self.own = self._upstream(None, None, time.monotonic())
        """udptui's own socket to the server: what is typed to the server goes out of it, and
        the answers come back to udptui (shown, not forwarded). It never expires."""

    @property
    def tick(self) -> float:
        """How often idle sessions are looked for: often enough to close one within a quarter
        of the timeout past its time (at least once a second)."""
        return min(1.0, self.timeout / 4)

    # -- sessions -----------------------------------------------------------------------

    def _upstream(self, client: Address | None, client_sockaddr: Any, now: float) -> Upstream:
        sock = socket.socket(self.family, socket.SOCK_DGRAM)
        try:
            set_receive_buffer(sock, UPSTREAM_RCVBUF)
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SNDBUF)
            with contextlib.suppress(OSError):  # the kernel's arrival time of each reply (Linux)
                sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            port = self.upstream_port()
            if port:
                sock.bind(("::" if self.family == socket.AF_INET6 else "0.0.0.0", port))
            sock.connect(self.server_sockaddr)  # binds a free port; only the server's replies come in
            sock.setblocking(False)
            session = Upstream(client, client_sockaddr, sock, now)
            self.selector.register(sock, selectors.EVENT_READ, session)
            self._locals.add(session.local)
        except BaseException:
            sock.close()
            raise
        return session

    def open(self, sender: Any, now: float, count: int = 1, at_ns: int = 0) -> Upstream | None:
        """A new session for `sender` (a sockaddr from the listening socket), or None when the
        table is full or no socket can be made (its `count` datagrams counted, and said at most
        once a second; `refusal` is then their mark). `at_ns`: when the first datagram arrived
        (the time of the notes; now when 0)."""
        at_ns = at_ns or time.time_ns()
        try:
            client = address_of(sender)
        except Exception:  # not an address we know: it cannot be answered either
            return self._refuse(None, "an unknown kind of address", now, count, at_ns)
        if client in self._locals:
            self._loop(client, count, at_ns)
            return None
        if len(self.sessions) >= self.max_clients:
            return self._refuse(
                client, f"the relay is full ({self.max_clients:,} clients)", now, count, at_ns
            )
        try:
            session = self._upstream(client, client.sockaddr_for(self.listen_family), now)
        except OSError as error:
            return self._refuse(client, f"no upstream socket: {error.strerror or error}", now, count, at_ns)
        session.name = sender if type(sender) is bytes else None
        self.sessions[sender] = session
        self.opened += 1
        self.report(
            Notice(
                f"client {client}: new session, upstream port {session.port} → server", client, at_ns=at_ns
            )
        )
        return session

    def _refuse(
        self, client: Address | None, why: str, now: float, count: int, at_ns: int
    ) -> Upstream | None:
        """Count `count` datagrams refused and say (at most once a second) why a client is not
        relayed. No session: None."""
        self.refused += count
        self.refusal = not_forwarded(why.split(" (")[0])
        if now - self._refusal_said >= NOTICE_INTERVAL:
            self._refusal_said = now
            who = f"client {client}" if client is not None else "a client"
            self.report(
                Notice(
                    f"{who} not relayed: {why} ({self.refused:,} datagrams refused so far)",
                    client,
                    True,
                    at_ns,
                )
            )
        return None

    def _loop(self, client: Address, count: int, at_ns: int) -> None:
        """A datagram from one of the relay's own upstream sockets: the server is the relay
        itself (a loop through another address of this host), or its reply came back here.
        Forwarding it would open a session per datagram without end: refused, said once."""
        self.looped += count
        self.refusal = LOOPED
        if not self._looped_said:
            self._looped_said = True
            self.report(
                Notice(
                    f"not relayed: a datagram from the relay's own upstream socket {client} "
                    "(is the server this relay?); such datagrams are refused",
                    client,
                    True,
                    at_ns,
                )
            )

    def close_session(self, sender: Any, why: str) -> None:
        session = self.sessions.pop(sender, None)
        if session is None:
            return
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.selector.unregister(session.sock)
        with self._lock:
            session.sock.close()
        self._locals.discard(session.local)
        self.report(
            Notice(f"client {session.client}: {why}, upstream port {session.port} closed", session.client)
        )

    def expire(self, now: float) -> None:
        """Close the sessions idle past the timeout (looked at once a tick)."""
        if now < self._next_expiry:
            return
        self._next_expiry = now + self.tick
        idle = [
            sender
            for sender, session in self.sessions.items()
            if now - session.last > self.timeout and not session.held
        ]
        for sender in idle:
            self.close_session(sender, f"idle for {self.timeout:g} s")

    def close(self) -> None:
        with self._lock:
            for session in [*self.sessions.values(), self.own]:
                session.sock.close()
        self.sessions.clear()
        self.selector.close()

    # -- forwarding ---------------------------------------------------------------------

    def forward_up(self, batch: RecvBatch, reader: MmsgReader | None = None) -> list[Any] | None:
        """Forward a batch from the listening socket, each datagram to its client's session.

        `reader` (the recvmmsg reader the batch was just read by) sends each client's run of
        datagrams with one sendmmsg from where they were read; only when no impairer stands in
        `up`'s place, which sees every datagram. Returns what `up` said of each datagram
        (its fate, for the log) when it said anything, else None."""
        sessions = self.sessions
        now = time.monotonic()
        senders = batch.senders
        fast = reader is not None and self.up == self.send_up
        marks: list[Any] | None = None
        first = senders[0] if senders else None
        if senders and senders.count(first) == len(senders):
            runs: list[tuple[Any, int, int]] = [(first, 0, len(senders))]  # a flood from one client
        else:
            runs = []
            for index, sender in enumerate(senders):
                if runs and sender == runs[-1][0]:
                    runs[-1] = (sender, runs[-1][1], index + 1)
                else:
                    runs.append((sender, index, index + 1))
        for sender, start, end in runs:
            session = sessions.get(sender) or self.open(sender, now, end - start, batch.arrival_ns(start))
            if session is None:
                marks = marks or [None] * len(senders)
                marks[start:end] = [self.refusal] * (end - start)
                continue
            session.last = now
            if fast:
                assert reader is not None
                failed, code, pending = reader.forward(session.sock.fileno(), start, end - start, None)
                if pending:
                    self._pending(None, errno.ECONNREFUSED, pending)
                if failed:
                    self.failures.add(
                        OSError(code, os.strerror(code)), self.server, "to the server", len(failed)
                    )
                    marks = marks or [None] * len(senders)
                    for index in failed:
                        marks[index] = SEND_FAILED
            else:
                up = self.up
                said = [up(session, payload) for payload in batch.payloads[start:end]]
                if any(mark is not None for mark in said):
                    marks = marks or [None] * len(senders)
                    marks[start:end] = said
        self.flush_failures()
        return marks

    def forward_down(
        self, session: Upstream, batch: RecvBatch, reader: MmsgReader | None = None
    ) -> list[Any] | None:
        """Forward a batch the server sent to `session`'s socket on to its client (with one
        sendmmsg from `reader`'s slots when it can, as `forward_up`)."""
        session.last = time.monotonic()
        if reader is not None and session.name is not None and self.down == self.send_down:
            failed, code, pending = reader.forward(self.listen.fileno(), 0, len(batch), session.name)
            if pending:
                self._pending(self.listen, errno.ECONNREFUSED, pending)
            if failed:
                where = f"to client {session.client}"
                self.failures.add(OSError(code, os.strerror(code)), session.client, where, len(failed))
                self.flush_failures()
                marks: list[Any] = [None] * len(batch)
                for index in failed:
                    marks[index] = SEND_FAILED
                return marks
        else:
            down = self.down
            said = [down(session, payload) for payload in batch.payloads]
            self.flush_failures()
            return said if any(mark is not None for mark in said) else None
        self.flush_failures()
        return None

    def send_up(self, session: Upstream, payload: bytes) -> NotForwarded | None:
        """Send one datagram to the server from the client's upstream socket; its mark when
        it could not be sent."""
        sock = session.sock
        for _ in range(RESENDS + 1):
            try:
                sock.send(payload)
                return None
            except OSError as error:
                if error.errno not in PENDING_ERRORS:
                    self.failures.add(error, self.server, "to the server")
                    return SEND_FAILED
                self._pending(None, error.errno or 0, 1)  # an earlier datagram's: again
        self.failures.add(OSError(errno.ECONNREFUSED, "refused"), self.server, "to the server")
        return SEND_FAILED

    def send_down(self, session: Upstream, payload: bytes) -> NotForwarded | None:
        """Send one datagram to the client from the listening socket (the port it wrote to);
        its mark when it could not be sent."""
        listen, sockaddr = self.listen, session.client_sockaddr
        for _ in range(RESENDS + 1):
            try:
                listen.sendto(payload, sockaddr)
                return None
            except OSError as error:
                if error.errno not in PENDING_ERRORS:
                    self.failures.add(error, session.client, f"to client {session.client}")
                    return SEND_FAILED
                self._pending(listen, error.errno or 0, 1)  # another client's error: again
        self.failures.add(
            OSError(errno.ECONNREFUSED, "refused"), session.client, f"to client {session.client}"
        )
        return SEND_FAILED

    def held(self, session: Upstream, count: int) -> None:
        """`count` more (or, negative, fewer) of `session`'s datagrams held by an impairer."""
        with self._lock:
            session.held += count

    def release_up(self, session: Upstream, payload: bytes, held: bool) -> None:
        """An impairer lets a datagram go to the server (a `held` one from the scheduler's
        thread, which also says its failures: no batch may come to say them)."""
        self._release(self.send_up, session, payload, held, self.server, "to the server")

    def release_down(self, session: Upstream, payload: bytes, held: bool) -> None:
        """An impairer lets a datagram go to the client, as `release_up`."""
        where = f"to client {session.client}"
        self._release(self.send_down, session, payload, held, session.client, where)

    def _release(
        self, send: Forward, session: Upstream, payload: bytes, held: bool, to: Address | None, where: str
    ) -> None:
        with self._lock:  # the session's socket is not closed (and its descriptor reused) meanwhile
            if session.sock.fileno() == -1:
                self.failures.add(OSError(errno.EBADF, "closed"), to, where)
            else:
                send(session, payload)
            if held:
                session.held -= 1
                session.last = time.monotonic()  # idle from now: it closes a timeout later
        if held:
            self.flush_failures()

    def _pending(self, listen: socket.socket | None, code: int, count: int) -> None:
        """A send met an earlier datagram's ICMP error (`count` times): say whose. On the
        listening socket the error queue names the client (IP_RECVERR); an upstream socket is
        connected to the server."""
        if listen is not None:
            faults = read_icmp_errors(listen)
            if faults:
                for fault in faults:
                    self.report(fault)
                return
            self.report(Fault(icmp_error_text(code), None, unreachable=True, count=count))
        else:
            self.report(Fault(icmp_error_text(code), self.server, unreachable=True, count=count))

    def read_failed(self, error: OSError, session: Upstream) -> None:
        """An upstream socket's receive error (the server's ICMP errors arrive so)."""
        code = error.errno or 0
        message = PORT_UNREACHABLE if code == errno.ECONNREFUSED else icmp_error_text(code)
        self.report(Fault(message, self.server, unreachable=True))

    def flush_failures(self) -> None:
        """Say the failed sends not said yet (any thread)."""
        self.failures.flush()
