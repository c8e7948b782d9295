"""The relay flags: `--forward HOST:PORT` (with `--listen PORT`) and `--session-timeout SECONDS`.
A bad value, or a flag that cannot go with them, is one line and exit status 2."""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import socket
from typing import NoReturn, Protocol

from udptui.net.address import Address, AddressError, parse_endpoint, resolve_host
from udptui.net.receiving import DEFAULT_BUFSIZE
from udptui.net.relay_session import DEFAULT_SESSION_TIMEOUT


class _Errors(Protocol):
    def error(self, message: str) -> NoReturn: ...


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds like 5 or 0.5, not {text!r}") from None
    if not 0 < value < 10**9:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, not {text!r}")
    return value


def add_relay_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--forward",
        metavar="HOST:PORT",
        help="relay mode (with --listen): relay every client of the listening port to this server",
    )
    parser.add_argument(
        "--session-timeout",
        metavar="SECONDS",
        type=_seconds,
        help="with --forward: close a client's session after this long idle "
        f"(default {DEFAULT_SESSION_TIMEOUT:g})",
    )


def relay_from_args(args: argparse.Namespace, parser: _Errors) -> tuple[Address | None, float]:
    """The server to relay to (None when not relaying) and the session timeout."""
    timeout = args.session_timeout or DEFAULT_SESSION_TIMEOUT
    if args.forward is None:
        if args.session_timeout is not None:
            parser.error("--session-timeout works with --forward (relay mode) only")
        return None, timeout
    if args.listen is None:
        parser.error("--forward needs --listen PORT: the port the clients write to")
    if args.peer is not None:
        parser.error("--forward and --peer: give one (a relay types to the server, or /to a client)")
    if args.rules:
        parser.error("--respond does not work with --forward: a relay forwards, it does not answer")
    if args.joins:
        parser.error("--join does not work with --forward: a relay listens for its clients only")
    if args.bufsize != DEFAULT_BUFSIZE:
        parser.error("--bufsize does not work with --forward: a relay forwards every datagram whole")
    try:
        server = parse_endpoint(args.forward)
    except AddressError as error:
        parser.error(f"--forward: {error}")
    if forwards_to_itself(server, args.listen, args.bind):
        parser.error(f"--forward {args.forward} is the relay's own listening port: it would relay to itself")
    return server, timeout


def forwards_to_itself(server: Address, port: int, bind: str | None) -> bool:
    """Whether `server` is the listening socket (`--listen port`, `--bind bind`) itself."""
    if port == 0 or server.port != port:
        return False
    try:
        bound = resolve_host(bind).host if bind is not None else None
    except AddressError:
        return False  # said by the caller's own check of --bind
    if bound is not None and not ipaddress.ip_address(bound.split("%")[0]).is_unspecified:
        return ipaddress.ip_address(bound.split("%")[0]) == ipaddress.ip_address(server.host.split("%")[0])
    return is_local(server.host)


def is_local(host: str) -> bool:
    """Whether `host` is an address of this machine (loopback, or one a socket can bind)."""
    numeric = ipaddress.ip_address(host.split("%")[0])
    if numeric.is_loopback:
        return True
    family = socket.AF_INET6 if numeric.version == 6 else socket.AF_INET
    with contextlib.suppress(OSError), socket.socket(family, socket.SOCK_DGRAM) as probe:
        probe.bind((host, 0))
        return True
    return False
