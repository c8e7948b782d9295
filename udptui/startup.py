"""Opening what a session needs, the same for the screen and headless mode: the socket, the
`--log` transcript and the `--pcap` file. Each failure is one line for the user (exit 2).

Nothing here imports Textual.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING

from udptui.chat.session import ChatSession, Clock
from udptui.config import Config
from udptui.net import outgoing
from udptui.net.groups import GroupError
from udptui.net.transport import TransportError, UdpTransport
from udptui.record.files import FileExists
from udptui.record.pcap import PcapWriter
from udptui.record.transcript import Transcript, TranscriptError

if TYPE_CHECKING:
    from udptui.chat.sending import Sending


class StartError(Exception):
    """udptui cannot start as asked; one line for the user."""


NEEDS_TERMINAL = (
    "the screen needs a terminal: run udptui in one, or add --jsonl for JSON lines on standard output"
)


def has_terminal() -> bool:
    """Whether the screen can run: Textual reads keys from standard input and draws on standard error."""
    return all(stream is not None and stream.isatty() for stream in (sys.stdin, sys.stderr))


def open_transport(config: Config) -> UdpTransport:
    """Bind the socket the config asks for (`TransportError`, one line, when it cannot)."""
    transport: UdpTransport
    if config.forward is not None:
        from udptui.net.relay_transport import RelayTransport

        transport = RelayTransport.open_relay(
            server=config.forward,
            bind_host=config.bind_host,
            port=config.port,
            rcvbuf=config.rcvbuf,
            session_timeout=config.session_timeout,
        )
    else:
        transport = UdpTransport.open(
            bind_host=config.bind_host,
            port=config.port,
            bufsize=config.bufsize,
            rcvbuf=config.rcvbuf,
            share_port=bool(config.joins),
        )
    try:
        outgoing.apply(transport.sock, config.multicast)
        transport.multicast_interface = config.multicast.interface
        # Peer mode's socket has a port no sender knows: `/join` there is refused as `--join` is.
        transport.groups.listening = config.listening or config.peer is None
        for spec in config.joins:
            transport.groups.join(spec)
    except GroupError as error:
        transport.close()
        raise TransportError(str(error)) from None
    return transport


def new_session(
    config: Config, transport: UdpTransport, transcript: Transcript | None, clock: Clock = datetime.now
) -> ChatSession:
    """The chat state for `config`, the same for the screen and headless."""
    return ChatSession(
        transport,
        target=config.forward or config.peer,
        follow=config.follows_sender,
        scrollback=config.scrollback,
        transcript=transcript,
        clock=clock,
    )


def new_sending(config: Config, session: ChatSession) -> Sending:
    """The sending state for `config` (line ending, rules, saved messages, impairments)."""
    from udptui.chat.sending import Sending  # here: `udptui --version` never loads sending

    transport = session.transport
    if config.forward is None or not hasattr(transport, "table"):
        return Sending(
            session,
            eol=config.eol,
            rules=config.rules,
            saved=config.saved,
            impair=config.impair,
            impair_direction=config.impair_direction or "out",
        )
    from udptui.chat.relay_impairing import RelayImpairing

    # A relay impairs what it forwards, each way (both by default), not what udptui types.
    sending = Sending(session, eol=config.eol, rules=config.rules, saved=config.saved)
    sending.impairing = RelayImpairing(
        session, config.impair, config.impair_direction or "both", table=transport.table
    )
    return sending


def open_files(config: Config, transport: UdpTransport) -> tuple[Transcript | None, PcapWriter | None]:
    """Open `--log` (appending) and `--pcap` (a new file only); on failure close both and the socket."""
    transcript: Transcript | None = None
    try:
        if config.log_path is not None:
            transcript = Transcript(config.log_path)
        if config.pcap_path is None:
            return transcript, None
        return transcript, PcapWriter(config.pcap_path, transport.local_address)
    except (TranscriptError, FileExists, OSError, RuntimeError) as error:
        if transcript is not None:
            transcript.close()
        transport.close()
        raise StartError(_reason(config, error)) from None


def _reason(config: Config, error: Exception) -> str:
    if isinstance(error, TranscriptError):
        return str(error)
    if isinstance(error, FileExists):
        return f"--pcap {config.pcap_path}: the file already exists; remove it or name a new one"
    detail = error.strerror if isinstance(error, OSError) and error.strerror else error
    return f"cannot create pcap file {config.pcap_path!r}: {detail}"
