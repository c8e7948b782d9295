"""One relay session (`Upstream`: a client's socket towards the server) and the marks the
relay puts on what it forwards or refuses. Nothing here knows about Textual."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from udptui.net.address import Address
from udptui.net.impairments import Fate

DEFAULT_SESSION_TIMEOUT = 60.0
"""Seconds a client's session lives without a datagram either way (`--session-timeout`)."""

Forward = Callable[["Upstream", bytes], Any]
"""One direction's forwarding function: the session and the datagram's bytes; it returns
what happened to the datagram for the log (an impairment's `Fate`), or None."""


@dataclass(frozen=True, slots=True)
class RelayTag:
    """A relayed batch: `up` (from clients, each datagram's sender is its client, forwarded
    to the server) or `down` (from the server, forwarded to `client`)."""

    up: bool
    client: Address | None = None
    """The client a `down` batch went to (an upstream socket serves one client)."""
    fates: tuple[Any, ...] | None = None
    """What the relay's impairments did to each datagram (a `Fate` or None), when on."""


@dataclass(frozen=True, slots=True)
class NotForwarded(Fate):
    """The mark of a datagram the relay took but did not send on: `[✗ not forwarded: …]` in
    the log, `"not_forwarded": why` in the records."""

    why: str = ""

    def kinds(self) -> list[str]:
        return ["not forwarded"]

    def text(self) -> str:
        return f"✗ not forwarded: {self.why}"

    def record(self) -> dict[str, Any]:
        return {"not_forwarded": self.why}


def not_forwarded(why: str) -> NotForwarded:
    return NotForwarded(-1, lost="relay", why=why)


TABLE_FULL = not_forwarded("the relay is full")
SEND_FAILED = not_forwarded("the send failed")
LOOPED = not_forwarded("from the relay's own upstream socket")


UP = RelayTag(up=True)
"""The mark of every batch from the clients (each datagram's sender is its client)."""


class Upstream:
    """One client's session: its upstream socket towards the server, and when it was last used."""

    __slots__ = ("client", "client_sockaddr", "held", "last", "local", "name", "port", "sock", "tag")

    def __init__(self, client: Address | None, client_sockaddr: Any, sock: socket.socket, now: float) -> None:
        self.client = client
        self.name: bytes | None = None
        """The client's raw sockaddr as recvmmsg gave it, for sendmmsg (None: from recvmsg)."""
        """None for udptui's own socket (what you type to the server goes from it)."""
        self.client_sockaddr = client_sockaddr
        """Where `down` sends: the client's address as the listening socket takes it."""
        self.sock = sock
        self.local = Address.from_sockaddr(sock.getsockname())
        """Where the server sees this session's datagrams come from."""
        self.port = self.local.port
        self.last = now
        """time.monotonic() of the latest datagram either way (or of the latest held one's release)."""
        self.held = 0
        """Its datagrams an impairer holds back now: a session never closes while it has any."""
        self.tag = None if client is None else RelayTag(up=False, client=client)
        """What the batches read from this socket are marked with (None: not relayed)."""
