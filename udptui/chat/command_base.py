"""The parts every command is made of: the context commands act on, the `Command` entry,
`CommandError`, and parsers several commands share. The table itself is in `udptui.chat.commands`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from udptui.chat.datagram import Level
from udptui.net.address import Address

if TYPE_CHECKING:
    from udptui.chat.muting import Muting
    from udptui.chat.peers import PeerRoster
    from udptui.chat.sending import Sending
    from udptui.config import Config
    from udptui.decoders.decoding import Choice

A = TypeVar("A")


class CommandError(ValueError):
    """A command that cannot run as typed; the message is one line for the user."""


class CommandContext(Protocol):
    """What commands act on. Methods that can fail say so to the user themselves and
    return False, so the typed line stays in the box."""

    config: Config
    """What the command line asked for (`/to server` reads the relay's `--forward`)."""

    def send_payload(self, payload: bytes) -> bool:
        """Send one datagram to the current target; True when it went."""
        ...

    def set_target(self, address: Address) -> None:
        """Reply to `address` from now on (pinned), and say so."""
        ...

    def look_up_target(self, host: str, port: int) -> bool:
        """Resolve the name `host` without blocking, then `set_target` (or say why not).

        True when the target is set already; False while the lookup runs (the line stays)."""
        ...

    def notice(self, message: str, level: Level, *, title: str = "") -> None:
        """Tell the user something (a note in the log, and a toast where there is a screen)."""
        ...

    def note(self, message: str) -> None:
        """A line in the log (and the transcript), without a toast: for listings."""
        ...

    def clear_log(self) -> None:
        """Clear what the log shows."""
        ...

    def save_transcript(self, path: str, *, overwrite: bool = False) -> bool:
        """Write this session's transcript to `path`; True when it was written."""
        ...

    def show_help(self) -> None:
        """List the commands (`help_lines()`) for the user."""
        ...

    def choose_decoders(self, choice: Choice, peer: Address | None) -> bool:
        """Decode with `choice` from now on, for `peer` or (None) for every peer."""
        ...

    @property
    def muting(self) -> Muting:
        """The muted hosts and addresses (the session's)."""
        ...

    @property
    def roster(self) -> PeerRoster:
        """The peers seen (the session's): relaying, the clients `/to CLIENT` can choose."""
        ...

    @property
    def hides_muted(self) -> bool:
        """Whether muted senders' datagrams are hidden here (the screen's log), or all still
        written (headless standard output)."""
        ...

    def mutes_changed(self) -> str:
        """Redraw what the mutes changed (the log, the peers pane); returns what a mute means
        here, for the notice: hidden from the screen, or still written to standard output."""
        ...

    @property
    def sending(self) -> Sending:
        """The sending state: line ending, the running repeat, auto-reply rules, saved messages."""
        ...


@dataclass(frozen=True)
class Command(Generic[A]):
    """One `/command`: how it is typed, what it means, and what runs it."""

    name: str
    """Typed after the slash: `to` for `/to`."""
    usage: str
    """How it is typed, as `/help` shows it: `/to HOST:PORT`."""
    help: str
    """One line: what it does."""
    title: str
    """Its name in the command palette."""
    parse: Callable[[str], A]
    """The text after the name (stripped) to the handler's arguments; `CommandError` if bad."""
    handle: Callable[[CommandContext, A, bool], bool]
    """Runs it with (context, arguments, overwrite); True when done and the box may be cleared."""
    overwrite: bool = False
    """Whether `/name!` is accepted: the command writes a file and `!` lets it replace one."""

    @property
    def takes_argument(self) -> bool:
        """Whether the palette prefills `/name ` for the user to finish, rather than running it."""
        return " " in self.usage


def no_argument(name: str) -> Callable[[str], None]:
    def parse(argument: str) -> None:
        if argument:
            raise CommandError(f"/{name} takes no argument")

    return parse


def parse_hex(text: str) -> bytes:
    """`DE AD BE EF`, `deadbeef`, `0xde 0xad` -> bytes."""
    cleaned = " ".join(word.removeprefix("0x").removeprefix("0X") for word in text.split())
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise CommandError(f"bad hex {text.strip()!r}: expected byte pairs like DE AD BE EF") from None
