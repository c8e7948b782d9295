"""What a line typed in the input box means: a message, or a `/command` from one table.

Each command is an entry of `COMMANDS`: its name, usage, one line of help, a parser (the
argument text to arguments, or `CommandError`) and a handler. Handlers act on a
`CommandContext`, which the App implements and a screen-less runner can implement too, so
nothing here knows of Textual. `/help` and the command palette are made from the same table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from udptui.address import Address, AddressError, is_name, parse_port, resolve_host, split_host_port
from udptui.datagram import Level
from udptui.files import OVERWRITE_SUFFIX

A = TypeVar("A")


class CommandError(ValueError):
    """A command that cannot run as typed; the message is one line for the user."""


class CommandContext(Protocol):
    """What commands act on. Methods that can fail say so to the user themselves and
    return False, so the typed line stays in the box."""

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

    def clear_log(self) -> None:
        """Clear what the log shows."""
        ...

    def save_transcript(self, path: str, *, overwrite: bool = False) -> bool:
        """Write this session's transcript to `path`; True when it was written."""
        ...

    def show_help(self) -> None:
        """List the commands (`help_lines()`) for the user."""
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


@dataclass(frozen=True)
class TargetSpec:
    """`/to HOST:PORT` parsed: the address when HOST is numeric, else a name to look up."""

    host: str
    port: int
    address: Address | None


def parse_target(argument: str) -> TargetSpec:
    """Checks the form at once; a name is left for the context to resolve, off the UI thread."""
    if not argument:
        raise CommandError("/to needs an address: /to HOST:PORT")
    try:
        host, port_text = split_host_port(argument)
        port = parse_port(port_text, allow_zero=False)
        address = None if is_name(host) else resolve_host(host, port)
    except AddressError as error:
        raise CommandError(f"/to: {error}") from None
    return TargetSpec(host, port, address)


def parse_file(argument: str) -> str:
    if not argument:
        raise CommandError("/save needs a file name: /save FILE")
    return argument


def handle_target(context: CommandContext, target: TargetSpec, overwrite: bool) -> bool:
    if target.address is None:
        return context.look_up_target(target.host, target.port)
    context.set_target(target.address)
    return True


def handle_clear(context: CommandContext, _: None, overwrite: bool) -> bool:
    context.clear_log()
    return True


def handle_help(context: CommandContext, _: None, overwrite: bool) -> bool:
    context.show_help()
    return True


COMMANDS: tuple[Command[Any], ...] = (
    Command(
        "to",
        "/to HOST:PORT",
        "send to this peer from now on (pinned)",
        "Reply to…",
        parse_target,
        handle_target,
    ),
    Command(
        "hex",
        "/hex DE AD BE EF",
        "send these bytes as one datagram",
        "Send hex bytes…",
        parse_hex,
        lambda context, payload, _: context.send_payload(payload),
    ),
    Command("clear", "/clear", "clear the log", "Clear log", no_argument("clear"), handle_clear),
    Command(
        "save",
        "/save FILE",
        "write this session to a new FILE: JSON lines, or pcap for FILE.pcap; /save! replaces one",
        "Save transcript…",
        parse_file,
        lambda context, path, overwrite: context.save_transcript(path, overwrite=overwrite),
        overwrite=True,
    ),
    Command("help", "/help", "list the commands", "Command help", no_argument("help"), handle_help),
)
BY_NAME = {command.name: command for command in COMMANDS}
LITERAL_SLASH_HELP = ("//text", "send text that starts with /")


def help_lines() -> list[tuple[str, str]]:
    """(usage, help) for every command, then the `//` escape: what `/help` lists."""
    return [(command.usage, command.help) for command in COMMANDS] + [LITERAL_SLASH_HELP]


HELP = dict(help_lines())


@dataclass(frozen=True)
class Invocation:
    """A typed `/command`, parsed: which command, its arguments, and whether `!` was given."""

    command: Command[Any]
    arguments: Any
    overwrite: bool = False

    def run(self, context: CommandContext) -> bool:
        return self.command.handle(context, self.arguments, self.overwrite)


def parse_command(line: str) -> Invocation | None:
    """The `/command` in `line`, or None when the line is a message (`//` sends a literal `/`).

    Raises `CommandError` for an unknown command or a bad argument."""
    if not line.startswith("/") or line.startswith("//"):
        return None
    if "\n" in line:  # a pasted block that starts with `/` is not a command
        raise CommandError("a /command is one line: start with // to send lines that begin with /")
    name, _, argument = line[1:].partition(" ")
    overwrite = name.endswith(OVERWRITE_SUFFIX)
    command = BY_NAME.get(name.removesuffix(OVERWRITE_SUFFIX))
    if command is None:
        raise CommandError(f"unknown command /{name}: try /help (start with // to send a literal /)")
    if overwrite and not command.overwrite:
        raise CommandError(f"/{command.name} writes no file: it takes no {OVERWRITE_SUFFIX}")
    return Invocation(command, command.parse(argument.strip()), overwrite)


def message_payload(line: str) -> bytes:
    """The datagram a line that is not a command sends: UTF-8, one leading `/` of `//` dropped."""
    return (line[1:] if line.startswith("//") else line).encode("utf-8")


def run_line(context: CommandContext, line: str) -> bool:
    """Run what was typed on `context`; True when it is done and the box may be cleared.

    Raises `CommandError` when the line is a command that cannot run as typed."""
    invocation = parse_command(line)
    if invocation is None:
        return context.send_payload(message_payload(line))
    return invocation.run(context)
