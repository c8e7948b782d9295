"""The peer commands of the table: `/mute` and `/unmute` a host or one address.

A muted sender's datagrams are counted and recorded (`--log`, `--pcap`, headless standard
output) but the log on screen leaves them out, and in `follow` mode it never becomes the
reply target. The `m` key of the peers pane does the same through `toggle_mute`. Nothing
here knows of Textual.
"""

from __future__ import annotations

from typing import Any

from udptui.chat.command_base import Command, CommandContext, CommandError
from udptui.chat.datagram import Level
from udptui.chat.muting import MuteError, Muting, parse_mute_spec
from udptui.net.address import Address

MuteSpec = tuple[str, int | None] | None
"""A numeric host and a port (None: every port of the host); None alone: list the mutes."""


def _parse(name: str, argument: str) -> MuteSpec:
    try:
        return parse_mute_spec(argument)
    except MuteError as error:
        raise CommandError(f"/{name}: {error}") from None


def parse_mute(argument: str) -> MuteSpec:
    return _parse("mute", argument) if argument else None


def parse_unmute(argument: str) -> MuteSpec:
    if not argument:
        raise CommandError("/unmute needs a host or HOST:PORT: /mute alone lists what is muted")
    return _parse("unmute", argument)


def target_meaning(muting: Muting, *, follow: bool, target: Address | None) -> str:
    """What a mute does to the reply target, truly: in `follow` mode a muted sender no longer
    takes it when it writes, but a target muted now stays the target until another is chosen."""
    said = ["when it writes, it no longer becomes the reply target"] if follow else []
    if target is not None and muting.is_muted(target):
        said.append(f"replies still go to {target} until you choose another peer")
    return "; ".join(said)


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
        if listing and context.hides_muted:
            hidden = f"{context.muting.hidden:,} of their datagrams hidden from the log now"
            context.note(f"muted: {', '.join(listing)}; {hidden}")
        elif listing:  # headless: every datagram is still written, none hidden
            context.note(f"muted: {', '.join(listing)}")
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
