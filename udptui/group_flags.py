"""The multicast flags: `--join GROUP` (repeatable), `--ttl N`, `--loop/--no-loop` and
`--iface NAME`, and the checks that need the other flags (`--join` needs `--listen` and a
socket bound to no one unicast address). A bad value is one line and exit status 2."""

from __future__ import annotations

import argparse

from udptui.flag_actions import SwitchOnce
from udptui.net.address import AddressError, parse_port, split_host_port
from udptui.net.destinations import is_group
from udptui.net.groups import JOIN_NEEDS_LISTEN, GroupError, GroupSpec, parse_group
from udptui.net.outgoing import check_interface


def _group(text: str) -> GroupSpec:
    try:
        return parse_group(text)
    except GroupError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _interface(text: str) -> str:
    try:
        check_interface(text)
    except GroupError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def _ttl(text: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if not 0 <= value <= 255:
        raise argparse.ArgumentTypeError(f"{value} is out of range: expected 0 to 255")
    return value


def add_group_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--join",
        metavar="GROUP",
        dest="joins",
        action="append",
        type=_group,
        default=[],
        help="join a multicast group: 239.1.2.3, 239.1.2.3%%eth0, ff02::fb%%eth0, or "
        "SOURCE@GROUP (source-specific); repeatable; needs --listen",
    )
    parser.add_argument(
        "--ttl", metavar="N", type=_ttl, help="hops a datagram to a group may take (default 1)"
    )
    parser.add_argument(
        "--loop",
        action=SwitchOnce,
        help="hear our own datagrams to a group on this machine (default: yes)",
    )
    parser.add_argument(
        "--iface", metavar="NAME", type=_interface, help="send datagrams to a group out of this interface"
    )


def check_join_needs_listen(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """`--join` without `--listen`: a group's datagrams go to a port its senders know."""
    if args.listen is None and args.joins:
        hint = f" (the group's port: --listen {_port_of(args.peer)})" if _port_of(args.peer) else ""
        parser.error(JOIN_NEEDS_LISTEN + hint)


def _port_of(peer: str | None) -> int:
    """The port of `--peer` as written (no lookup), 0 if none."""
    try:
        return parse_port(split_host_port(peer)[1]) if peer else 0
    except AddressError:
        return 0


def check_joins(parser: argparse.ArgumentParser, joins: list[GroupSpec], bind_host: str | None) -> None:
    """`--join` needs a socket bound to no one unicast address."""
    if not joins:
        return
    if bind_host is not None and bind_host not in ("0.0.0.0", "::") and not is_group(bind_host):
        parser.error(
            f"--join with --bind {bind_host}: a socket bound to one unicast address hears nothing sent "
            "to a group; leave --bind out"
        )
