"""What a line typed in the input box means: a message, or a `/command`."""

from __future__ import annotations

from dataclasses import dataclass

from udptui.address import Address, AddressError, parse_endpoint


class CommandError(ValueError):
    """A command that cannot run as typed; the message is one line for the user."""


@dataclass(frozen=True)
class SendText:
    """Send this text as one UTF-8 datagram."""

    text: str


@dataclass(frozen=True)
class SendBytes:
    """Send these raw bytes as one datagram (`/hex`)."""

    payload: bytes


@dataclass(frozen=True)
class SetTarget:
    """Reply to this address from now on, pinned (`/to`)."""

    address: Address


@dataclass(frozen=True)
class ClearLog:
    """Clear the log (`/clear`)."""


@dataclass(frozen=True)
class SaveTranscript:
    """Write this session's transcript to a file (`/save`)."""

    path: str


@dataclass(frozen=True)
class ShowHelp:
    """List the commands (`/help`)."""


Command = SendText | SendBytes | SetTarget | ClearLog | SaveTranscript | ShowHelp

HELP = {
    "/to HOST:PORT": "send to this peer from now on (pinned)",
    "/hex DE AD BE EF": "send these bytes as one datagram",
    "/clear": "clear the log",
    "/save FILE": "write this session's transcript (JSON lines) to FILE",
    "/help": "list the commands",
    "//text": "send text that starts with /",
}


def parse_hex(text: str) -> bytes:
    """`DE AD BE EF`, `deadbeef`, `0xde 0xad` -> bytes."""
    cleaned = " ".join(word.removeprefix("0x").removeprefix("0X") for word in text.split())
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise CommandError(f"bad hex {text.strip()!r}: expected byte pairs like DE AD BE EF") from None


def parse_line(line: str) -> Command:
    """Turn the input box's text into a command; `CommandError` when it is not one."""
    if line.startswith("//"):
        return SendText(line[1:])
    if not line.startswith("/"):
        return SendText(line)
    name, _, argument = line[1:].partition(" ")
    argument = argument.strip()
    if name == "to":
        if not argument:
            raise CommandError("/to needs an address: /to HOST:PORT")
        try:
            return SetTarget(parse_endpoint(argument))
        except AddressError as error:
            raise CommandError(f"/to: {error}") from None
    if name == "hex":
        return SendBytes(parse_hex(argument))
    if name == "clear" and not argument:
        return ClearLog()
    if name == "save":
        if not argument:
            raise CommandError("/save needs a file name: /save FILE")
        return SaveTranscript(argument)
    if name == "help" and not argument:
        return ShowHelp()
    if name in ("clear", "help"):
        raise CommandError(f"/{name} takes no argument")
    raise CommandError(f"unknown command /{name}: try /help (start with // to send a literal /)")
