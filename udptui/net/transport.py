"""The UDP socket: set-up, its receive loop (in `receiving`), and sends with size checks.

Nothing here knows about Textual. The receive loop drains the socket as fast as the kernel
delivers into an inbox of whole batches, and the UI takes everything in it on a timer: the
thread never waits on the UI.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import threading
from collections import deque

from udptui.net.address import Address
from udptui.net.batch import IP_PKTINFO, SO_RXQ_OVFL, SO_TIMESTAMPNS
from udptui.net.destinations import is_broadcast, send_advice
from udptui.net.groups import Memberships
from udptui.net.receiving import (
    DEFAULT_BUFSIZE,
    IP_RECVERR,
    IPV6_RECVERR,
    IS_LINUX,
    PORT_UNREACHABLE,
    Fault,
    Inbound,
    Notice,
    RawDatagram,
    ReceiveLoop,
    icmp_error_text,
)

__all__ = [
    "DEFAULT_BUFSIZE",
    "PORT_UNREACHABLE",
    "SO_RXQ_OVFL",
    "Fault",
    "Inbound",
    "Notice",
    "RawDatagram",
    "SendError",
    "TransportError",
    "UdpTransport",
    "icmp_error_text",
    "rcvbuf_shortfall",
    "set_receive_buffer",
]

SO_RCVBUFFORCE = 33
"""Linux: like SO_RCVBUF but may exceed `rmem_max` (needs CAP_NET_ADMIN)."""
IPV6_RECVPKTINFO = 49
"""Linux: the local address each datagram arrived on, for IPv6 (and IPv4 on a dual-stack socket)."""
FLOOD_PAUSE = 0.0005
"""Under a flood, how long the receive thread lets datagrams gather between calls (0.5 ms:
at a million a second, 500 datagrams, far less than a 4 MiB buffer holds)."""
LOCAL_ADDRESSES = True
"""Ask the kernel for the local address each datagram arrived on (IP_PKTINFO)."""
CONTROL_SIZE = (
    socket.CMSG_SPACE(16) + socket.CMSG_SPACE(4) + socket.CMSG_SPACE(20)
    if hasattr(socket, "CMSG_SPACE")
    else 0
)
"""Ancillary bytes per datagram: arrival time, drop counter, and the address it arrived on."""
MAX_PAYLOAD_IPV4 = 65507
"""65535 - 20 (IPv4 header) - 8 (UDP header)."""
MAX_PAYLOAD_IPV6 = 65527
"""65535 - 8 (UDP header); IPv6's payload length excludes its own header."""
SAFE_PAYLOAD = {False: 508, True: 1232}
"""Largest payload every path must carry unfragmented: 576 - 60 - 8 on IPv4, 1280 - 40 - 8 on IPv6."""
ETHERNET_PAYLOAD = {False: 1472, True: 1452}
"""Largest payload that fits one 1500-byte Ethernet frame: 1500 - 20/40 - 8."""

DEFAULT_RCVBUF = 64 * 1024 * 1024
"""Kernel memory is used only while datagrams wait, so ask for plenty: a flood's bursts fit."""


class TransportError(Exception):
    """A socket could not be set up; the message is one line for the user."""


class SendError(Exception):
    """A datagram was not sent; the message is one line for the user."""


class SendBufferFull(SendError):
    """Not sent because the socket's send buffer is full: the same datagram can go once
    there is room (a repeat waits for it)."""


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


class UdpTransport(ReceiveLoop):
    """One UDP socket, its receive loop, and its counters."""

    def __init__(
        self,
        sock: socket.socket,
        *,
        bufsize: int = DEFAULT_BUFSIZE,
        rcvbuf_requested: int = 0,
        batch_receive: bool = True,
    ) -> None:
        self.sock = sock
        self.family = socket.AddressFamily(sock.family)
        self.bufsize = bufsize
        self.dual_stack = self.family == socket.AF_INET6 and not sock.getsockopt(
            socket.IPPROTO_IPV6, socket.IPV6_V6ONLY
        )
        self.counts_drops = self._enable_drop_counter()
        self.detects_truncation = IS_LINUX and hasattr(sock, "recvmsg_into")
        self._enable_icmp_errors()
        self.timestamps = self._enable(socket.SOL_SOCKET, SO_TIMESTAMPNS)
        """The kernel stamps each datagram's arrival (else the receive thread's read time is used)."""
        self.local_addresses = LOCAL_ADDRESSES and (
            self._enable(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO)
            if self.family == socket.AF_INET6
            else self._enable(socket.IPPROTO_IP, IP_PKTINFO)
        )
        any_ancillary = self.counts_drops or self.timestamps or self.local_addresses
        self._control_size = CONTROL_SIZE if any_ancillary and self.detects_truncation else 0
        sock.setblocking(False)
        self.rcvbuf_kernel = int(sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))
        """The receive buffer as the kernel reports it (Linux: twice the request, for overhead)."""
        self.rcvbuf_granted = self.rcvbuf_kernel // 2 if IS_LINUX else self.rcvbuf_kernel
        """The receive buffer granted, comparable with what was asked for."""
        self.rcvbuf_requested = rcvbuf_requested
        self._batch_receive = batch_receive
        self._flood_pause = FLOOD_PAUSE if self.rcvbuf_granted >= 4 * 1024 * 1024 else 0.0
        self._reader = None
        self.receive_call = "recvmsg" if self.detects_truncation else "recvfrom"
        """How the receive thread reads: `recvmmsg` once it has started, where it can."""
        self._local_port = int(sock.getsockname()[1]) if sock.getsockname() else 0
        self.kernel_drops = 0
        """Datagrams the kernel dropped because the receive buffer was full (SO_RXQ_OVFL)."""
        self.inbox_drops = 0
        """Datagrams read but let go because the UI had MAX_PENDING (or MAX_PENDING_BYTES) waiting."""
        self._queued = self._bytes_queued = 0
        """Datagrams and payload bytes put in the inbox (written by the receive thread only)."""
        self._taken = self._bytes_taken = 0
        """Datagrams and payload bytes taken out of it (written by the UI thread only)."""
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
        self.groups = Memberships(sock)
        """The multicast groups this socket joined (`--join`, `/join`)."""
        self.multicast_interface = ""
        """`--iface`: the interface datagrams to a group leave by ('' for the routing table's)."""
        self.broadcast = False
        """SO_BROADCAST is on: turned on by the first send to a broadcast address."""
        self._notes: list[str] = []
        shortfall = rcvbuf_shortfall(rcvbuf_requested, self.rcvbuf_granted)
        if shortfall:
            self._inbox.append(Fault(shortfall))

    # -- set-up ---------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        *,
        bind_host: str | None = None,
        port: int = 0,
        bufsize: int = DEFAULT_BUFSIZE,
        rcvbuf: int = DEFAULT_RCVBUF,
        share_port: bool = False,
    ) -> UdpTransport:
        """Bind a socket: `bind_host` None means every interface, IPv6 and IPv4 on one socket.
        `share_port` (with `--join`): SO_REUSEADDR, so the port can be shared with other
        listeners to the same groups (mDNS's avahi, another udptui); each gets its own copy
        of a group's datagrams, while a unicast datagram goes to one of them only."""
        return cls(
            bind_socket(bind_host, port, rcvbuf, share_port=share_port),
            bufsize=bufsize,
            rcvbuf_requested=rcvbuf,
            batch_receive=os.environ.get("UDPTUI_RECVMMSG", "1") != "0",
        )

    def _enable_drop_counter(self) -> bool:
        return self._enable(socket.SOL_SOCKET, SO_RXQ_OVFL)

    def _enable(self, level: int, option: int) -> bool:
        """Turn on a Linux socket option that adds ancillary data; False where it cannot be."""
        if not IS_LINUX:
            return False
        try:
            self.sock.setsockopt(level, option, 1)
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
        self.check(payload, to)
        try:
            return self._sendto(payload, to)
        except (ConnectionRefusedError, ConnectionResetError):
            # An earlier datagram's ICMP error surfaced here; this one was not sent.
            raise SendError(
                f"not sent: {to} refused an earlier datagram (peer port closed?); try again"
            ) from None
        except BlockingIOError:
            raise SendBufferFull("not sent: the socket's send buffer is full; try again") from None
        except OSError as error:
            raise self.send_failure(error, to) from None

    def send_failure(self, error: OSError, to: Address) -> SendError:
        """What a failed send says: the kernel's reason, and for a group or a broadcast
        address what to change (also for a repeat's bare sends)."""
        advice = send_advice(error, to.host.partition("%")[0], self.multicast_interface)
        reason = error.strerror or str(error)
        return SendError(f"not sent to {to}: {reason}" + (f"; {advice}" if advice else ""))

    def check(self, payload: bytes, to: Address) -> None:
        """What `send` checks before the system call: the size and the address family
        (`SendError` if the datagram can never go), and SO_BROADCAST, turned on now for a
        broadcast address. An impairment that holds a datagram checks it here, at once, so
        the send that cannot go fails while its text is still in the box."""
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
        if not self.broadcast and not to.is_ipv6 and is_broadcast(to.host):
            self._allow_broadcast(to)

    def socket_for(self, to: Address) -> socket.socket:
        """The socket a datagram to `to` leaves from (a relay sends to its server from another)."""
        return self.sock

    def _sendto(self, payload: bytes, to: Address) -> int:
        try:
            return self.sock.sendto(payload, to.sockaddr_for(self.family))
        except PermissionError as error:
            # A broadcast address the kernel knows and the list read before did not (a new one).
            if error.errno != errno.EACCES or self.broadcast or to.is_ipv6:
                raise
            self._allow_broadcast(to)
            return self.sock.sendto(payload, to.sockaddr_for(self.family))

    def _allow_broadcast(self, to: Address) -> None:
        """Turn SO_BROADCAST on (the kernel refuses broadcasts without it) and say so once."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        except OSError as error:
            raise SendError(
                f"not sent to {to}: {to.host} is a broadcast address, and the kernel refused "
                f"SO_BROADCAST ({error.strerror or error})"
            ) from None
        self.broadcast = True
        self._notes.append(f"{to.host} is a broadcast address: turned SO_BROADCAST on to send to it")

    def take_notes(self) -> list[str]:
        """What sending changed on the socket by itself since last asked (SO_BROADCAST)."""
        notes, self._notes = self._notes, []
        return notes


def bind_socket(bind_host: str | None, port: int, rcvbuf: int, *, share_port: bool = False) -> socket.socket:
    """A bound UDP socket: `bind_host` None means every interface, IPv6 and IPv4 on one socket;
    `share_port`: SO_REUSEADDR (see `UdpTransport.open`)."""
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
            raise TransportError(f"cannot open a socket for {bind_host}: {error.strerror or error}") from None
        if host == "::":
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    set_receive_buffer(sock, rcvbuf)
    try:
        if share_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise _bind_error(error, str(Address(host, port)), port) from None
    return sock


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


def _size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MiB"
    return f"{size / 1024:.0f} KiB" if size >= 1024 else f"{size} B"


def rcvbuf_shortfall(requested: int, granted: int) -> str | None:
    """What to say when the kernel granted a smaller receive buffer than asked for."""
    if requested <= 0 or granted >= requested:
        return None
    message = f"receive buffer: asked for {_size_text(requested)}, the kernel granted {_size_text(granted)}"
    if IS_LINUX:
        return (
            f"{message} (its ceiling, net.core.rmem_max); to raise it: "
            f"sudo sysctl -w net.core.rmem_max={requested}"
        )
    return message
