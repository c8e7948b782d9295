"""The UDP socket: set-up, a receive loop for a worker thread, and sends with size checks.

Nothing here knows about Textual. The receive loop drains the socket as fast as the kernel
delivers into an inbox (a deque, safe to append from one thread and pop from another), and
the UI takes everything in it on a timer: the thread never waits on the UI.
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
from collections import deque
from dataclasses import dataclass
from typing import Any, TypeAlias

from udptui.address import Address

SO_RXQ_OVFL = 40
"""Linux: add the socket's cumulative drop counter to each datagram's ancillary data."""
SO_MEMINFO = 55
"""Linux: the socket's memory counters; entry 8 (SK_MEMINFO_DROPS) is the same drop counter."""
SO_RCVBUFFORCE = 33
"""Linux: like SO_RCVBUF but may exceed `rmem_max` (needs CAP_NET_ADMIN)."""
IP_RECVERR = 11
IPV6_RECVERR = 25
_RECVERR_LEVELS = {(socket.IPPROTO_IP, IP_RECVERR), (socket.IPPROTO_IPV6, IPV6_RECVERR)}
"""Linux: report ICMP errors (port unreachable) on unconnected sockets too."""

MAX_PAYLOAD_IPV4 = 65507
"""65535 - 20 (IPv4 header) - 8 (UDP header)."""
MAX_PAYLOAD_IPV6 = 65527
"""65535 - 8 (UDP header); IPv6's payload length excludes its own header."""
SAFE_PAYLOAD = {False: 508, True: 1232}
"""Largest payload every path must carry unfragmented: 576 - 60 - 8 on IPv4, 1280 - 40 - 8 on IPv6."""
ETHERNET_PAYLOAD = {False: 1472, True: 1452}
"""Largest payload that fits one 1500-byte Ethernet frame: 1500 - 20/40 - 8."""

DEFAULT_BUFSIZE = 65535
DEFAULT_RCVBUF = 4 * 1024 * 1024
MAX_PENDING = 500_000
"""Datagrams the inbox holds for the UI before it counts them as dropped by the app."""
MAX_PENDING_BYTES = 256 * 1024 * 1024
"""Payload bytes the inbox holds for the UI, likewise: a stalled screen cannot eat memory."""
RETRY_PAUSE = 0.1
"""Seconds the receive loop waits after an error before it reads again."""
DRAIN_BATCH = 2048
"""Datagrams read per wake-up before the loop checks whether it should stop."""

IS_LINUX = sys.platform.startswith("linux")
_MSG_TRUNC = int(getattr(socket, "MSG_TRUNC", 0))
"""As a plain int: `&` with the `IntFlag` member costs a microsecond, per datagram."""


PORT_UNREACHABLE = "peer port closed? (ICMP port unreachable)"
_ICMP_ERRORS = {
    errno.ECONNREFUSED: PORT_UNREACHABLE,
    errno.EHOSTUNREACH: "host unreachable (ICMP)",
    errno.ENETUNREACH: "network unreachable (ICMP)",
    errno.EMSGSIZE: "too large for the path (ICMP fragmentation needed)",
}


def icmp_error_text(code: int) -> str:
    """What an ICMP error means for the user, from the errno the kernel gave it."""
    if code in _ICMP_ERRORS:
        return _ICMP_ERRORS[code]
    return f"ICMP error: {os.strerror(code)}" if code else "ICMP error"


class TransportError(Exception):
    """A socket could not be set up; the message is one line for the user."""


class SendError(Exception):
    """A datagram was not sent; the message is one line for the user."""


RawDatagram: TypeAlias = tuple[bytes, Any, int, int]
"""(kept bytes, sender sockaddr, bytes on the wire, truncation: 0 none, 1 cut, 2 possibly)."""


@dataclass(frozen=True, slots=True)
class Fault:
    """Something the network told us instead of a datagram."""

    message: str
    address: Address | None = None
    unreachable: bool = False
    """An ICMP error: the peer's port (or host) refused the last datagram."""

    @property
    def text(self) -> str:
        """The message with the address it concerns, for the log and the toast."""
        return f"{self.message} {self.address}" if self.address else self.message


Inbound: TypeAlias = RawDatagram | Fault


def _bind_error(error: OSError, where: str, port: int) -> TransportError:
    if error.errno == errno.EADDRINUSE:
        reason = f"address already in use (another program has UDP port {port})"
    elif error.errno == errno.EACCES:
        reason = "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
    elif error.errno == errno.EADDRNOTAVAIL:
        reason = "that address is not on this machine"
    else:
        reason = error.strerror or str(error)
    return TransportError(f"cannot bind {where}: {reason}")


class UdpTransport:
    """One UDP socket, its receive loop, and its counters."""

    def __init__(self, sock: socket.socket, *, bufsize: int = DEFAULT_BUFSIZE) -> None:
        self.sock = sock
        self.family = socket.AddressFamily(sock.family)
        self.bufsize = bufsize
        self.dual_stack = self.family == socket.AF_INET6 and not sock.getsockopt(
            socket.IPPROTO_IPV6, socket.IPV6_V6ONLY
        )
        self.counts_drops = self._enable_drop_counter()
        self.detects_truncation = IS_LINUX and hasattr(sock, "recvmsg_into")
        self._enable_icmp_errors()
        sock.setblocking(False)
        self.rcvbuf_granted = int(sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))
        """The receive buffer the kernel granted (Linux reports twice the request, for overhead)."""
        self.kernel_drops = 0
        """Datagrams the kernel dropped because the receive buffer was full (SO_RXQ_OVFL)."""
        self.inbox_drops = 0
        """Datagrams read but let go because the UI had MAX_PENDING (or MAX_PENDING_BYTES) waiting."""
        self._bytes_queued = 0
        """Payload bytes put in the inbox (written by the receive thread only)."""
        self._bytes_taken = 0
        """Payload bytes taken out of it (written by the UI thread only)."""
        self._inbox: deque[Inbound] = deque()
        self._buffer = bytearray(bufsize)
        """Where each datagram lands before its bytes are copied out (receive thread only)."""
        self._view = memoryview(self._buffer)
        self._stopping = threading.Event()
        self._receiving = threading.Lock()
        """Held while `run_receiver` runs: `close` waits for it before closing the sockets."""
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._wake_reader.setblocking(False)
        self._closed = False

    # -- set-up ---------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        *,
        bind_host: str | None = None,
        port: int = 0,
        bufsize: int = DEFAULT_BUFSIZE,
        rcvbuf: int = DEFAULT_RCVBUF,
    ) -> UdpTransport:
        """Bind a socket: `bind_host` None means every interface, IPv6 and IPv4 on one socket."""
        if bind_host is None:
            try:
                sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
                host = "::"
            except OSError:  # no IPv6 on this machine
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                host = "0.0.0.0"
        else:
            host = bind_host
            family = socket.AF_INET6 if ":" in bind_host else socket.AF_INET
            try:
                sock = socket.socket(family, socket.SOCK_DGRAM)
            except OSError as error:  # no IPv6 on this machine, or out of file descriptors
                raise TransportError(
                    f"cannot open a socket for {bind_host}: {error.strerror or error}"
                ) from None
            if host == "::":
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        set_receive_buffer(sock, rcvbuf)
        try:
            sock.bind((host, port))
        except OSError as error:
            sock.close()
            raise _bind_error(error, str(Address(host, port)), port) from None
        return cls(sock, bufsize=bufsize)

    def _enable_drop_counter(self) -> bool:
        if not IS_LINUX:
            return False
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_RXQ_OVFL, 1)
        except OSError:
            return False
        return True

    def _enable_icmp_errors(self) -> None:
        if not IS_LINUX:
            return  # elsewhere the next receive reports it as ConnectionResetError
        options = [(socket.IPPROTO_IP, IP_RECVERR)]
        if self.family == socket.AF_INET6:
            options.append((socket.IPPROTO_IPV6, IPV6_RECVERR))
        for level, option in options:
            with contextlib.suppress(OSError):
                self.sock.setsockopt(level, option, 1)

    @property
    def local_address(self) -> Address:
        return Address.from_sockaddr(self.sock.getsockname())

    @property
    def local_description(self) -> str:
        """`0.0.0.0:8080 and [::]:8080` for a dual-stack wildcard, else the bound address."""
        local = self.local_address
        if self.dual_stack and local.host == "::":
            return f"0.0.0.0:{local.port} and [::]:{local.port}"
        return str(local)

    # -- receiving ------------------------------------------------------------------------

    def take_all(self) -> list[Inbound]:
        """Everything received since the last call, oldest first (for the UI thread)."""
        inbox = self._inbox
        items = [inbox.popleft() for _ in range(len(inbox))]
        self._bytes_taken += sum(len(item[0]) for item in items if type(item) is tuple)
        return items

    @property
    def pending(self) -> int:
        return len(self._inbox)

    def run_receiver(self) -> None:
        """Receive until `stop()`; meant for a worker thread. Errors become `Fault`s in the inbox."""
        with self._receiving:
            if self._closed:
                return
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

    def _drain(self) -> None:
        """Read what the socket holds, up to DRAIN_BATCH datagrams.

        This loop is the app's ceiling under a flood, so it does as little per datagram
        as it can: one reused buffer (or none, when no datagram can be cut), plain-int
        flag tests (an `IntFlag` `&` costs a microsecond), and the drop counter read once
        per batch, not per datagram: it is cumulative, so the newest value is all that
        matters.
        """
        sock = self.sock
        inbox = self._inbox
        append = inbox.append
        bufsize = self.bufsize
        buffer = self._buffer
        view = self._view
        latest_ancillary: list[tuple[int, int, bytes]] = []
        room = MAX_PENDING_BYTES - (self._bytes_queued - self._bytes_taken)
        queued = 0
        try:
            if self.detects_truncation and bufsize >= MAX_PAYLOAD_IPV6:
                # No UDP payload is larger than the buffer, so nothing can be cut: `recvmsg`
                # hands back the bytes themselves, a copy cheaper than `recvmsg_into`'s.
                recvmsg = sock.recvmsg
                ancillary_size = socket.CMSG_SPACE(4) if self.counts_drops else 0
                for _ in range(DRAIN_BATCH):
                    try:
                        payload, ancillary, flags, sender = recvmsg(bufsize, ancillary_size)
                    except BlockingIOError:
                        return
                    except OSError as error:
                        if self._on_receive_error(error):
                            continue
                        return
                    if ancillary:
                        latest_ancillary = ancillary
                    length = len(payload)
                    if len(inbox) >= MAX_PENDING or queued + length > room:
                        self.inbox_drops += 1
                        continue
                    queued += length
                    # MSG_TRUNC cannot happen here; if it ever did, the size sent is unknown.
                    append((payload, sender, length, 2 if flags & _MSG_TRUNC else 0))
            elif self.detects_truncation:
                recvmsg_into = sock.recvmsg_into
                buffers = (buffer,)
                ancillary_size = socket.CMSG_SPACE(4) if self.counts_drops else 0
                for _ in range(DRAIN_BATCH):
                    try:
                        length, ancillary, flags, sender = recvmsg_into(buffers, ancillary_size, _MSG_TRUNC)
                    except BlockingIOError:
                        return
                    except OSError as error:
                        if self._on_receive_error(error):
                            continue
                        return
                    if ancillary:
                        latest_ancillary = ancillary
                    if len(inbox) >= MAX_PENDING or queued + length > room:
                        self.inbox_drops += 1
                        continue
                    queued += length
                    cut = 1 if flags & _MSG_TRUNC else 0
                    if length <= bufsize:
                        append((view[:length].tobytes(), sender, length, cut))
                    else:
                        append((view.tobytes(), sender, length, cut))
            else:
                for _ in range(DRAIN_BATCH):
                    try:
                        length, sender = sock.recvfrom_into(buffer)
                    except BlockingIOError:
                        return
                    except OSError as error:
                        if self._on_receive_error(error):
                            continue
                        return
                    if len(inbox) >= MAX_PENDING or queued + length > room:
                        self.inbox_drops += 1
                        continue
                    queued += length
                    cut = 2 if length == bufsize and bufsize < DEFAULT_BUFSIZE else 0
                    append((view[:length].tobytes(), sender, length, cut))
        finally:
            self._bytes_queued += queued
            if latest_ancillary:
                self._read_drop_counter(latest_ancillary)

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

    def _read_drop_counter(self, ancillary: list[tuple[int, int, bytes]]) -> None:
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_RXQ_OVFL and len(data) >= 4:
                # The UI thread may have read a newer count already: never go backwards.
                self.kernel_drops = max(self.kernel_drops, struct.unpack("=I", data[:4])[0])

    def _read_icmp_errors(self) -> list[Fault]:
        """Turn the ICMP errors queued on the socket (Linux) into faults naming the address."""
        faults: list[Fault] = []
        if not IS_LINUX:
            return faults
        while True:
            try:
                _, ancillary, _, destination = self.sock.recvmsg(1, 512, socket.MSG_ERRQUEUE)
            except OSError:
                return faults
            code = 0
            for level, kind, data in ancillary:
                if (level, kind) in _RECVERR_LEVELS and len(data) >= 4:
                    code = struct.unpack_from("=I", data)[0]  # sock_extended_err.ee_errno
            address = Address.from_sockaddr(destination) if destination else None
            faults.append(Fault(icmp_error_text(code), address, unreachable=True))

    def stop(self) -> None:
        """Make `run_receiver` return promptly, even while it waits for data."""
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._wake_writer.send(b"\0")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.stop()
        # Closing a socket does not wake a thread waiting on it in the selector: a wake-up
        # that races with the close is lost, and the thread would wait forever.
        if self._receiving.acquire(timeout=2):
            self._receiving.release()
        for sock in (self.sock, self._wake_reader, self._wake_writer):
            sock.close()

    # -- sending --------------------------------------------------------------------------

    def max_payload(self, to: Address) -> int:
        return MAX_PAYLOAD_IPV6 if to.is_ipv6 else MAX_PAYLOAD_IPV4

    def send(self, payload: bytes, to: Address) -> int:
        """Send one datagram; raises `SendError` with a one-line reason when it was not sent."""
        limit = self.max_payload(to)
        if len(payload) > limit:
            raise SendError(
                f"not sent: {len(payload)} bytes is over the largest UDP payload "
                f"({limit} bytes on {'IPv6' if to.is_ipv6 else 'IPv4'})"
            )
        if to.is_ipv6 and self.family == socket.AF_INET:
            raise SendError(f"not sent: this socket is IPv4 only and {to} is IPv6")
        if not to.is_ipv6 and self.family == socket.AF_INET6 and not self.dual_stack:
            raise SendError(f"not sent: this socket is IPv6 only and {to} is IPv4")
        try:
            return self.sock.sendto(payload, to.sockaddr_for(self.family))
        except (ConnectionRefusedError, ConnectionResetError):
            # An earlier datagram's ICMP error surfaced here; this one was not sent.
            raise SendError(
                f"not sent: {to} refused an earlier datagram (peer port closed?); try again"
            ) from None
        except BlockingIOError:
            raise SendError("not sent: the socket's send buffer is full; try again") from None
        except OSError as error:
            raise SendError(f"not sent to {to}: {error.strerror or error}") from None


def set_receive_buffer(sock: socket.socket, size: int) -> None:
    """Ask for `size` bytes of receive buffer; beyond `rmem_max` only root gets it (SO_RCVBUFFORCE)."""
    if size <= 0:
        return
    if IS_LINUX:
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, size)
            return
        except OSError:
            pass
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
