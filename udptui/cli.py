"""Command line: flags, addresses, and start-up errors (one line on stderr, exit status 2).

Textual is imported only once the socket is bound, so `--version`, `--help` and every
start-up error answer at once.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from udptui import __version__
from udptui.chat.responder import Rule, RuleError
from udptui.chat.saved_messages import SavedMessages, SavedMessagesError, default_path
from udptui.config import DEFAULT_SCROLLBACK, Config
from udptui.decoders.decoding import Choice
from udptui.flag_actions import StoreOnce
from udptui.group_flags import add_group_flags, check_join_needs_listen, check_joins
from udptui.impair_flags import add_impair_flags, impair_from_args, join_negative_values
from udptui.net.address import (
    Address,
    AddressError,
    parse_endpoint,
    parse_port,
    resolve_host,
)
from udptui.net.outgoing import MulticastOptions
from udptui.net.transport import DEFAULT_BUFSIZE, DEFAULT_RCVBUF, TransportError
from udptui.relay_flags import add_relay_flags, relay_from_args

EXIT_USAGE = 2
MAX_SOCKET_BUFFER = 2**31 - 1
"""setsockopt takes a C int."""


EXAMPLES = """\
examples:
  udptui --listen 8080                    wait on 8080, reply to the last sender
  udptui --peer 127.0.0.1:8080            talk to a peer from a free port
  udptui --listen 8080 --peer [::1]:9000  a fixed local port and a first peer
  udptui --listen 0 --log chat.jsonl      any free port, every datagram kept
  udptui --listen 0 --pcap chat.pcap      every datagram as pcap, for tcpdump
  udptui --listen 5514 --jsonl | jq -r .text  no screen: each datagram's text
  udptui --listen 9000 --forward 127.0.0.1:8080  relay clients to a server
  udptui --listen 5353 --join 224.0.0.251  hear mDNS (multicast DNS) queries
  udptui --peer 255.255.255.255:9999      broadcast to the local network
  udptui --peer 127.0.0.1:8080 --loss 30%  lose 30% of what you send, marked
"""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and no usage block, and every plain flag
    (the default `store` action, so flags added later too) may be given only once."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.register("action", None, StoreOnce)
        self.register("action", "store", StoreOnce)
        self.given: set[str] = set()
        """Destinations set by this parse; reset by every parse."""

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        self.given = set()
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _byte_size(text: str) -> int:
    """`4194304`, `4M`, `512K`, `4MiB` -> bytes."""
    units = {"": 1, "k": 1024, "kib": 1024, "m": 1024**2, "mib": 1024**2}
    number = text.rstrip("kKmMiIbB")
    unit = text[len(number) :].lower()
    if unit not in units or not number.isdigit() or int(number) <= 0:
        raise argparse.ArgumentTypeError(f"expected a size in bytes like 4194304 or 4M, not {text!r}")
    size = int(number) * units[unit]
    if size > MAX_SOCKET_BUFFER:
        raise argparse.ArgumentTypeError(f"{text} is more than a socket buffer can be (2047M at most)")
    return size


def _int_range(low: int, high: int) -> argparse._ActionType:
    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range: expected {low} to {high}")
        return value

    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds like 5 or 0.5, not {text!r}") from None
    if not 0 < value < 10**9:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, not {text!r}")
    return value


class AppendRule(argparse._AppendAction):
    """`--respond` and `--respond-hex` append to one list, so their order on the command line
    is the order the rules are tried in; each item is (hex_match, pattern, reply)."""

    hex_match = False

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, *_: Any
    ) -> None:
        rules = list(getattr(namespace, self.dest, None) or [])
        rules.append((self.hex_match, *values))
        setattr(namespace, self.dest, rules)


class AppendHexRule(AppendRule):
    hex_match = True


def _choice(text: str) -> Choice:
    try:
        return Choice.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _port(text: str) -> int:
    try:
        return parse_port(text)
    except AddressError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="udptui",
        description="A terminal chat over raw UDP: see every datagram, reply with a keystroke.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--listen",
        metavar="PORT",
        type=_port,
        help="bind this UDP port (0: any free port) and reply to whoever wrote last",
    )
    parser.add_argument("--peer", metavar="HOST:PORT", help="talk to this peer (IPv4, [IPv6] or a host name)")
    parser.add_argument(
        "--bind", metavar="ADDR", help="local address to bind (default: every interface, IPv4 and IPv6)"
    )
    parser.add_argument(
        "--bufsize",
        metavar="N",
        type=_int_range(1, DEFAULT_BUFSIZE),
        default=DEFAULT_BUFSIZE,
        help="receive buffer per datagram; larger ones are cut and marked (default 65535)",
    )
    parser.add_argument(
        "--rcvbuf",
        metavar="BYTES",
        type=_byte_size,
        default=DEFAULT_RCVBUF,
        help="socket receive buffer to ask the kernel for (default 64M)",
    )
    parser.add_argument(
        "--scrollback",
        metavar="N",
        type=_int_range(1, 10_000_000),
        default=DEFAULT_SCROLLBACK,
        help=f"entries the log keeps (default {DEFAULT_SCROLLBACK})",
    )
    parser.add_argument(
        "--log",
        metavar="FILE",
        help="append every datagram in and out, and every notice, to FILE as JSON lines",
    )
    parser.add_argument(
        "--pcap",
        metavar="FILE",
        help="write every datagram in and out to FILE, a new pcap file (tcpdump -r, Wireshark)",
    )
    parser.add_argument(
        "--jsonl",
        action="store_true",
        help="no screen: JSON lines on standard output; each line of standard input is sent",
    )
    parser.add_argument(
        "--count",
        metavar="N",
        type=_int_range(1, 2**63 - 1),
        help="with --jsonl: end after N datagrams received (status 1 if --idle-timeout comes first)",
    )
    parser.add_argument(
        "--idle-timeout",
        metavar="SECONDS",
        type=_seconds,
        help="with --jsonl: end when nothing has arrived for this long",
    )
    parser.add_argument(
        "--respond",
        dest="rules",
        action=AppendRule,
        nargs=2,
        metavar=("PATTERN", "REPLY"),
        help="answer datagrams whose text matches PATTERN (a regex) with REPLY (\\1 for captures, "
        "/hex … for bytes); repeatable, the first match answers, 20 replies/s per peer at most",
    )
    parser.add_argument(
        "--respond-hex",
        dest="rules",
        action=AppendHexRule,
        nargs=2,
        metavar=("PATTERN", "REPLY"),
        help="the same, matching PATTERN against the bytes as hex pairs: 'de ad be ef'",
    )
    parser.add_argument(
        "--messages",
        metavar="FILE",
        help="saved messages (TOML) for /send, /keep and the palette "
        "(default: messages.toml in the user's config directory)",
    )
    parser.add_argument(
        "--eol",
        choices=("none", "lf", "crlf"),
        default="none",
        help="end every typed message with nothing (default), \\n or \\r\\n; never a /hex one",
    )
    parser.add_argument(
        "--decode",
        metavar="WHICH",
        type=_choice,
        default=Choice(),
        help="auto (by content and well-known port, the default), none, or names like dns,syslog",
    )
    parser.add_argument(
        "--decoder-path",
        metavar="FILE.py",
        action="append",
        default=[],
        help="load your own decoder(s) from this Python file (DECODER or DECODERS in it)",
    )
    add_relay_flags(parser)
    add_group_flags(parser)
    add_impair_flags(parser)
    parser.add_argument("--version", action="version", version=f"udptui {__version__}")
    return parser  # fmt: skip


def config_from_args(argv: list[str] | None = None) -> Config:
    """Parse flags into a Config; usage errors exit with status 2 and one line."""
    parser = build_parser()
    args = parser.parse_args(join_negative_values(sys.argv[1:] if argv is None else argv))
    check_join_needs_listen(parser, args)
    forward, session_timeout = relay_from_args(args, parser)
    if args.listen is None and args.peer is None:
        parser.error("say where to talk: --listen PORT, --peer HOST:PORT, or both")
    for flag, value in (("--count", args.count), ("--idle-timeout", args.idle_timeout)):
        if value is not None and not args.jsonl:
            parser.error(f"{flag} works with --jsonl (headless mode) only")
    try:
        peer = parse_endpoint(args.peer) if args.peer is not None else None
        bind_host = resolve_host(args.bind).host if args.bind is not None else None
    except AddressError as error:
        parser.error(str(error))
    if peer and bind_host and bind_host != "::" and Address(bind_host, 0).is_ipv6 != peer.is_ipv6:
        parser.error(f"cannot reach {peer} from bind address {bind_host}: the IP versions differ")
    check_joins(parser, args.joins, bind_host)
    rules = []
    for hex_match, pattern, reply in args.rules or ():
        try:
            rules.append(Rule(pattern, reply, hex_match=hex_match))
        except RuleError as error:
            parser.error(f"{'--respond-hex' if hex_match else '--respond'}: {error}")
    try:
        saved = SavedMessages.load(args.messages if args.messages is not None else default_path())
    except SavedMessagesError as error:
        parser.error(str(error))
    impair, impair_direction = impair_from_args(args, parser)
    return Config(
        port=args.listen or 0,
        bind_host=bind_host,
        peer=peer,
        listening=args.listen is not None,
        bufsize=args.bufsize,
        rcvbuf=args.rcvbuf,
        scrollback=args.scrollback,
        log_path=args.log,
        pcap_path=args.pcap,
        jsonl=args.jsonl,
        count=args.count,
        idle_timeout=args.idle_timeout,
        eol=args.eol,
        rules=tuple(rules),
        saved=saved,
        decode=args.decode,
        decoder_paths=tuple(args.decoder_path),
        forward=forward,
        session_timeout=session_timeout,
        joins=tuple(args.joins),
        multicast=MulticastOptions(args.ttl, args.loop, args.iface or ""),
        impair=impair,
        impair_direction=impair_direction,
    )


def main(argv: list[str] | None = None) -> None:
    config = config_from_args(argv)
    # Loaded once the flags are good: `--version` and `--help` answer without them.
    from udptui.decoders.registry import DecoderLoadError, Registry
    from udptui.startup import NEEDS_TERMINAL, StartError, has_terminal, open_files, open_transport

    try:
        # The user's decoder files load first: one that fails stops start-up before the socket opens.
        decoders = None if config.jsonl else Registry.checked(config.decoder_paths, config.decode)
        transport = open_transport(config)
        if not config.jsonl and not has_terminal():
            transport.close()
            raise StartError(NEEDS_TERMINAL)
        transcript, pcap = open_files(config, transport)
    except (TransportError, StartError, DecoderLoadError) as error:
        print(f"udptui: error: {error}", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    if config.jsonl:
        from udptui.headless import run_headless  # no Textual at all

        sys.exit(run_headless(config, transport, transcript, pcap))
    from udptui.ui.app import make_app  # Textual loads only once the flags are known to be good
    from udptui.ui.terminal import run_in_terminal

    app = make_app(config, transport=transport, transcript=transcript, decoders=decoders)
    if pcap is not None:
        app.session.add_writer(pcap)
    sys.exit(run_in_terminal(app))
