"""The peer commands of the table: `/mute` and `/unmute` a host or one address.

A muted sender's datagrams are counted and recorded (`--log`, `--pcap`, headless standard
output) but the log on screen leaves them out, and in `follow` mode it never becomes the
reply target. The `m` key of the peers pane does the same through `toggle_mute`. Nothing
here knows of Textual.
"""

from __future__ import annotations

from typing import Any

from udptui.command_base import Command, CommandContext, CommandError
from udptui.datagram import Level
from udptui.muting import MuteError, parse_mute_spec

MuteSpec = tuple[str, int | None] | None
"""A numeric host and a port (None: every port of the host); None alone: list the mutes."""


def parse_mute(argument: str) -> MuteSpec:
    if not argument:
        return None
    try:
        return parse_mute_spec(argument)
    except MuteError as error:
        raise CommandError(str(error)) from None


def parse_unmute(argument: str) -> MuteSpec:
    if not argument:
        raise CommandError("/unmute needs a host or HOST:PORT: /mute alone lists what is muted")
    return parse_mute(argument)


def toggle_mute(context: CommandContext, host: str, port: int | None, mute: bool) -> None:
    """Mute or unmute, redraw what that changes, and say so; `CommandError` if it cannot be."""
    muting = context.muting
    try:
        said = muting.mute(host, port) if mute else muting.unmute(host, port)
    except MuteError as error:
        raise CommandError(f"/{'mute' if mute else 'unmute'}: {error}") from None
    meaning = context.mutes_changed()
    context.notice(f"{said}: {meaning}" if mute else said, Level.INFO, title="Mute")


def handle_mute(context: CommandContext, spec: MuteSpec, overwrite: bool) -> bool:
    if spec is None:
        listing = context.muting.listing()
        hidden = context.muting.hidden
        if listing:
            context.note(f"muted: {', '.join(listing)}; {hidden:,} datagrams hidden so far")
        else:
            context.note("nothing is muted: /mute HOST or /mute HOST:PORT")
        return True
    toggle_mute(context, *spec, mute=True)
    return True


def handle_unmute(context: CommandContext, spec: MuteSpec, overwrite: bool) -> bool:
    assert spec is not None  # the parser asks for one
    toggle_mute(context, *spec, mute=False)
    return True


PEER_COMMANDS: tuple[Command[Any], ...] = (
    Command(
        "mute",
        "/mute [HOST[:PORT]]",
        "hide a host's (or one address's) datagrams: still counted and logged; alone, list mutes",
        "Mute a peer or host…",
        parse_mute,
        handle_mute,
    ),
    Command(
        "unmute",
        "/unmute HOST[:PORT]",
        "show a muted host's or address's datagrams again, earlier ones included",
        "Unmute a peer or host…",
        parse_unmute,
        handle_unmute,
    ),
)
