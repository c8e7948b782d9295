"""Linux `recvmmsg` through ctypes: hundreds of datagrams per system call, into buffers made once.

A ctypes call releases the interpreter lock, so the kernel copies a whole batch while the
UI thread runs. The headers, sender addresses and control buffers live in byte arrays made
once; after each call the lengths are read for the whole batch at once through a memoryview
(C speed), and a flood from one sender is recognised with one comparison.
Only 64-bit Linux (the `struct mmsghdr` layout below); elsewhere `MmsgReader.create` says
no and the transport keeps its `recvmsg` loop.
"""

from __future__ import annotations

import errno
import mmap
import os
import socket
import struct
import sys
import time
from array import array
from itertools import repeat
from typing import Any

from udptui.net.batch import RecvBatch
from udptui.net.receiving import PENDING_ERRORS, RESENDS

MSG_TRUNC = 0x20
"""Passed to recvmmsg, each message's length is its size on the wire, even when cut."""
HEADER_SIZE = 64
"""sizeof(struct mmsghdr) on 64-bit Linux: a 56-byte msghdr, msg_len, padding."""
_U32 = HEADER_SIZE // 4
"""The header's size in 32-bit words: msg_namelen is word 2, msg_controllen 10, msg_len 14."""
MAX_BATCH = 256
"""Datagrams per call at most."""
SLOTS_BYTES = 8 * 1024 * 1024
"""Payload slots take at most this much address space (pages are touched only when used)."""
CONTROL_SIZE = 128
"""Ancillary bytes per message: a timestamp (32), the drop counter (24), pktinfo (40)."""


class MmsgReader:
    """Reads batches from one socket with recvmmsg; one per receive thread."""

    def __init__(self, sock: socket.socket, slot: int, libc: Any, control: bool) -> None:
        import ctypes  # here, on the receive thread, so start-up never pays for it

        self.fd = sock.fileno()
        self.slot = slot
        self.count = count = max(1, min(MAX_BATCH, SLOTS_BYTES // max(slot, 1)))
        self.name_size = 28 if sock.family == socket.AF_INET6 else 16
        self.control_size = CONTROL_SIZE if control else 0
        self.local_port = int(sock.getsockname()[1])
        self._recvmmsg = libc.recvmmsg
        self._recvmmsg.restype = ctypes.c_int
        self._recvmmsg.argtypes = [
            ctypes.c_int,
            ctypes.c_void_p,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_void_p,
        ]
        self._get_errno = ctypes.get_errno
        # An anonymous map is zero pages until written: 128 slots of 64 KiB cost nothing unused.
        self._payloads = mmap.mmap(-1, count * slot)
        self._names = bytearray(count * self.name_size)
        self._controls = bytearray(max(1, count * self.control_size))
        self._iovecs = bytearray(count * 16)
        self._headers = bytearray(count * HEADER_SIZE)

        def address(buffer: Any) -> int:
            return ctypes.addressof(ctypes.c_char.from_buffer(buffer))

        payloads, names = address(self._payloads), address(self._names)
        controls, iovecs = address(self._controls), address(self._iovecs)
        for index in range(count):
            struct.pack_into("@PN", self._iovecs, index * 16, payloads + index * slot, slot)
            struct.pack_into(
                "@PI4xPNPNi4xI4x",
                self._headers,
                index * HEADER_SIZE,
                names + index * self.name_size,
                self.name_size,
                iovecs + index * 16,
                1,
                controls + index * self.control_size if control else 0,
                self.control_size,
                0,
                0,
            )
        self._template = bytes(self._headers)
        """msg_namelen and msg_controllen are written back by the kernel: reset before each call."""
        self._headers_address = address(self._headers)
        self._words = memoryview(self._headers).cast("I")
        self._starts = [index * slot for index in range(count)]
        self._name_starts = [index * self.name_size for index in range(count)]
        self._keep = (ctypes, self._payloads)  # the buffers must outlive every call
        self._libc = libc
        self._address = address
        self._lengths: list[int] = []
        """The kept length of each datagram of the latest batch (what `forward` sends)."""
        self._sender: _Sender | None = None

    @classmethod
    def create(cls, sock: socket.socket, slot: int, *, control: bool) -> MmsgReader | None:
        """A reader for `sock`, or None where recvmmsg cannot be used (not 64-bit Linux)."""
        if not sys.platform.startswith("linux") or struct.calcsize("P") != 8:
            return None
        if os.environ.get("UDPTUI_RECVMMSG", "1") == "0":
            return None  # forced off: the recvmsg loop, to test it (or to compare)
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.recvmmsg  # noqa: B018 - raises AttributeError where libc lacks it
        except (OSError, AttributeError):
            return None
        return cls(sock, slot, libc, control)

    def read(self) -> RecvBatch | None:
        """One batch from the socket; None when it is empty. Raises OSError as recvmsg does."""
        headers = self._headers
        headers[:] = self._template
        received = self._recvmmsg(self.fd, self._headers_address, self.count, MSG_TRUNC, None)
        if received <= 0:
            if received == 0:
                return None
            code = self._get_errno()
            if code == errno.EAGAIN:  # nothing more to read now
                return None
            raise OSError(code, os.strerror(code))  # OSError picks the subclass for the errno
        read_ns = time.time_ns()
        words = self._words
        lengths = words[14 : 14 + _U32 * received : _U32].tolist()
        self._lengths = lengths
        slot = self.slot
        payloads_map = self._payloads
        wire: list[int] | None = None
        cut: list[int] | None = None
        # A comprehension slicing the map beats map(slice) here: `m[a:b]` takes the fast path.
        if max(lengths) <= slot:
            payloads = [
                payloads_map[start : start + length]
                for start, length in zip(self._starts, lengths, strict=False)
            ]
        else:  # some were cut: keep what fitted, remember the size sent
            wire = lengths
            payloads = [
                payloads_map[start : start + min(length, slot)]
                for start, length in zip(self._starts, lengths, strict=False)
            ]
            cut = [1 if length > slot else 0 for length in lengths]
        size = self.name_size
        names = bytes(memoryview(self._names)[: received * size])
        first = names[:size]
        if names == first * received:  # a flood from one sender: one key, repeated
            senders: list[Any] = list(repeat(first, received))
        else:
            senders = [names[start : start + size] for start in self._name_starts[:received]]
        controls: bytes | None = None
        control_lens: list[int] | None = None
        if self.control_size:
            controls = bytes(memoryview(self._controls)[: received * self.control_size])
            control_lens = words[10 : 10 + _U32 * received : _U32].tolist()
        return RecvBatch(
            payloads,
            senders,
            wire=wire,
            cut=cut,
            controls=controls,
            control_size=self.control_size,
            control_lens=control_lens,
            read_ns=read_ns,
            local_port=self.local_port,
        )

    def forward(self, fd: int, start: int, count: int, name: bytes | None) -> tuple[list[int], int, int]:
        """Send datagrams `start` to `start + count` of the latest batch out of `fd` with
        sendmmsg, straight from the slots they were read into (a relay forwards so: no Python
        per datagram). `name` is the destination sockaddr, None on a connected socket.
        Returns (the indexes of datagrams not sent, errno of the first failure or 0, earlier datagrams' ICMP
        errors met): a failed one is skipped and the rest go on, as one `sendto` each would;
        one that met an earlier datagram's ICMP error is sent again (`PENDING_ERRORS`)."""
        sender = self._sender
        if sender is None:
            sender = self._sender = _Sender(self)
        return sender.send(fd, start, count, name, self._lengths)


class _Sender:
    """sendmmsg headers over a reader's slots: one set for connected sockets, one with a name."""

    def __init__(self, reader: MmsgReader) -> None:
        import ctypes

        self.sendmmsg = reader._libc.sendmmsg
        self.sendmmsg.restype = ctypes.c_int
        self.sendmmsg.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int]
        self.get_errno = reader._get_errno
        self.slot = slot = reader.slot
        self.count = count = reader.count
        address = reader._address
        self.name = bytearray(128)
        self.iovecs = bytearray(count * 16)
        base = address(reader._payloads)
        for index in range(count):
            struct.pack_into("@PN", self.iovecs, index * 16, base + index * slot, slot)
        self.iov_words = memoryview(self.iovecs).cast("Q")
        iovecs, name = address(self.iovecs), address(self.name)
        self.plain = bytearray(count * HEADER_SIZE)
        self.named = bytearray(count * HEADER_SIZE)
        for index in range(count):
            iov = iovecs + index * 16
            struct.pack_into("@PI4xPNPNi4xI4x", self.plain, index * HEADER_SIZE, 0, 0, iov, 1, 0, 0, 0, 0)
            struct.pack_into("@PI4xPNPNi4xI4x", self.named, index * HEADER_SIZE, name, 0, iov, 1, 0, 0, 0, 0)
        self.named_words = memoryview(self.named).cast("I")
        self.name_length = 0
        self.addresses = (address(self.plain), address(self.named))
        self._keep = (reader, ctypes)

    def send(
        self, fd: int, start: int, count: int, name: bytes | None, lengths: list[int]
    ) -> tuple[list[int], int, int]:
        end = start + count
        kept = lengths[start:end]
        if max(kept, default=0) > self.slot:  # cut on the way in: send what was kept
            kept = [min(length, self.slot) for length in kept]
        self.iov_words[2 * start + 1 : 2 * end + 1 : 2] = array("Q", kept)
        if name is None:
            headers = self.addresses[0]
        else:
            headers = self.addresses[1]
            self.name[: len(name)] = name
            if len(name) != self.name_length:  # msg_namelen is word 2 of every header
                self.name_length = len(name)
                self.named_words[2::_U32] = array("I", [len(name)] * self.count)
        failed: list[int] = []
        first_error = pending = resent = 0
        done = start
        while done < end:
            sent = self.sendmmsg(fd, headers + done * HEADER_SIZE, end - done, 0)
            if sent > 0:
                done += sent
                resent = 0
                continue
            code = self.get_errno()
            if code == errno.EINTR:
                continue
            if code in PENDING_ERRORS and resent < RESENDS:
                pending += 1  # an earlier datagram's error, now cleared: this one again
                resent += 1
                continue
            first_error = first_error or code
            failed.append(done)
            done += 1  # that one is lost; the rest go on
            resent = 0
        return failed, first_error, pending
