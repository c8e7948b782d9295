"""What the command line asked for, as one value the app is built from."""

from __future__ import annotations

from dataclasses import dataclass, field

from udptui.chat.responder import Rule
from udptui.chat.saved_messages import SavedMessages
from udptui.decoders.decoding import AUTO, Choice
from udptui.net.address import Address
from udptui.net.groups import GroupSpec
from udptui.net.impair_settings import ImpairSettings
from udptui.net.outgoing import MulticastOptions
from udptui.net.relay_session import DEFAULT_SESSION_TIMEOUT
from udptui.net.transport import DEFAULT_BUFSIZE, DEFAULT_RCVBUF

DEFAULT_SCROLLBACK = 10_000


@dataclass(frozen=True)
class Config:
    """Settings for one udptui session."""

    port: int = 0
    """Local UDP port to bind; 0 lets the system choose."""
    bind_host: str | None = None
    """Local address to bind; None means every interface, IPv4 and IPv6."""
    peer: Address | None = None
    """The peer to talk to from the start; None waits for someone to write."""
    listening: bool = False
    """Started with `--listen`: the reply target follows whoever wrote last."""
    bufsize: int = DEFAULT_BUFSIZE
    """Receive buffer per datagram; a larger datagram is cut and marked truncated."""
    rcvbuf: int = DEFAULT_RCVBUF
    """Socket receive buffer (SO_RCVBUF) to ask the kernel for."""
    scrollback: int = DEFAULT_SCROLLBACK
    """Entries the log keeps; older ones are let go and counted."""
    log_path: str | None = None
    """`--log FILE`: append every datagram and notice to this file as JSON lines."""
    pcap_path: str | None = None
    """`--pcap FILE`: write every datagram in and out to this new file as pcap."""
    jsonl: bool = False
    """`--jsonl`: no screen; records on standard output, lines from standard input sent."""
    count: int | None = None
    """`--count N` (headless): end after N datagrams received."""
    idle_timeout: float | None = None
    """`--idle-timeout SECONDS` (headless): end when nothing arrives for this long."""
    rules: tuple[Rule, ...] = ()
    """`--respond` / `--respond-hex`: auto-reply rules, the first that matches answers."""
    saved: SavedMessages | None = field(default=None, compare=False)
    """Saved messages, read from `--messages FILE` (or the config directory's) at start."""
    eol: str = "none"
    """`--eol`: what every typed message ends with: none, lf (`\\n`) or crlf (`\\r\\n`)."""
    decode: Choice = AUTO
    """`--decode`: which decoders read datagrams (auto: by content and well-known port)."""
    decoder_paths: tuple[str, ...] = ()
    """`--decoder-path FILE.py`: the user's own decoders, loaded at start."""
    forward: Address | None = None
    """`--forward HOST:PORT`: relay mode, every client of the listening port relayed to this server."""
    session_timeout: float = DEFAULT_SESSION_TIMEOUT
    """`--session-timeout SECONDS`: a relayed client's session closes after this long idle."""
    joins: tuple[GroupSpec, ...] = ()
    """`--join GROUP`: multicast groups joined at start, in order."""
    multicast: MulticastOptions = field(default_factory=MulticastOptions)
    """`--ttl`, `--loop/--no-loop`, `--iface`: how datagrams to a group leave."""
    impair: ImpairSettings = field(default_factory=ImpairSettings)
    """`--loss`, `--delay`, `--jitter`, `--duplicate`, `--reorder`, `--corrupt`, `--rate`, `--seed`."""
    impair_direction: str | None = None
    """`--impair`: out (what udptui sends), in, or both; None when not given (out)."""

    @property
    def follows_sender(self) -> bool:
        """Reply to whoever wrote last (listen mode), rather than keep a pinned peer."""
        if self.forward is not None:
            return False  # a relay types to the server until a client is chosen
        return self.listening or self.peer is None
