"""What a line typed in the input box means: a message, or a `/command` from one table.

Each command is an entry of `COMMANDS`: its name, usage, one line of help, a parser (the
argument text to arguments, or `CommandError`) and a handler. Handlers act on a
`CommandContext`, which the App implements and a screen-less runner can implement too, so
nothing here knows of Textual. `/help` and the command palette are made from the same table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from udptui.chat.command_base import Command as Command
from udptui.chat.command_base import CommandContext as CommandContext
from udptui.chat.command_base import CommandError as CommandError
from udptui.chat.command_base import no_argument as no_argument
from udptui.chat.command_base import parse_hex as parse_hex
from udptui.chat.group_commands import GROUP_COMMANDS
from udptui.chat.impair_commands import IMPAIR_COMMAND
from udptui.chat.peer_commands import PEER_COMMANDS
from udptui.chat.sending_commands import SENDING_COMMANDS
from udptui.decoders.decoding import Choice
from udptui.net.address import Address, AddressError, is_name, parse_port, resolve_host, split_host_port
from udptui.record.files import OVERWRITE_SUFFIX


@dataclass(frozen=True)
class TargetSpec:
    """`/to HOST:PORT` parsed: the address when HOST is numeric, else a name to look up."""

    host: str
    port: int
    address: Address | None


SERVER = "server"
"""`/to server`: in relay mode, what is typed goes to the server (from udptui's own port)."""


def parse_target(argument: str) -> TargetSpec:
    """Checks the form at once; a name is left for the context to resolve, off the UI thread."""
    if not argument:
        raise CommandError("/to needs an address: /to HOST:PORT")
    if argument == SERVER:
        return TargetSpec(SERVER, 0, None)
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


@dataclass(frozen=True)
class DecodeSpec:
    """`/decode NAME|auto|none [HOST:PORT]` parsed."""

    choice: Choice
    peer: Address | None


def parse_decode(argument: str) -> DecodeSpec:
    words = argument.split()
    if not 1 <= len(words) <= 2:
        raise CommandError("/decode needs a decoder: /decode dns|syslog|…|auto|none [HOST:PORT]")
    try:
        choice = Choice.parse(words[0])
    except ValueError as error:
        raise CommandError(f"/decode: {error}") from None
    if len(words) == 1:
        return DecodeSpec(choice, None)
    try:
        host, port_text = split_host_port(words[1])
        if is_name(host):
            raise CommandError(f"/decode: give the peer's address as numbers, not the name {host!r}")
        return DecodeSpec(choice, resolve_host(host, parse_port(port_text, allow_zero=False)))
    except AddressError as error:
        raise CommandError(f"/decode: {error}") from None


CLIENTS_NAMED = 5
"""How many clients a refused `/to` in relay mode names (the most recently seen)."""


def relay_target(context: CommandContext, server: Address, target: TargetSpec) -> Address:
    """Relaying, `/to` chooses the server or a client the relay has seen, nothing else: a
    datagram typed to any other address would leave from the relay's port to a stranger."""
    if (target.host == SERVER and not target.port) or target.address == server:
        return server
    clients = [peer.address for peer in context.roster.ordered() if peer.received and peer.address != server]
    if target.address is not None and target.address in clients:
        return target.address
    typed = f"{target.host}:{target.port}" if target.address is None else str(target.address)
    named = ", ".join(str(client) for client in clients[:CLIENTS_NAMED])
    more = f" (and {len(clients) - CLIENTS_NAMED} more)" if len(clients) > CLIENTS_NAMED else ""
    choices = (
        f"/to server, or a client: {named}{more}" if clients else "/to server (no client has written yet)"
    )
    raise CommandError(f"/to: {typed} is not a client of this relay; relaying, give {choices}")


def handle_target(context: CommandContext, target: TargetSpec, overwrite: bool) -> bool:
    server = context.config.forward
    if server is not None:  # relay mode: the server, or one of the relay's clients
        context.set_target(relay_target(context, server, target))
        return True
    if target.host == SERVER and not target.port:
        raise CommandError("/to server is for relay mode (--forward HOST:PORT): give /to HOST:PORT")
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
        "send to this peer from now on (pinned); relaying, /to server or /to CLIENT",
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
    *SENDING_COMMANDS,
    *GROUP_COMMANDS,
    IMPAIR_COMMAND,
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
    Command(
        "decode",
        "/decode NAME|auto|none [HOST:PORT]",
        "decode datagrams as NAME (dns, syslog, statsd, json, osc, …), by content, or not at all",
        "Decode as…",
        parse_decode,
        lambda context, spec, _: context.choose_decoders(spec.choice, spec.peer),
    ),
    *PEER_COMMANDS,
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
    """The datagram a line that is not a command sends: UTF-8, one leading `/` of `//` dropped
    (the line ending, `--eol`, is added after)."""
    return (line[1:] if line.startswith("//") else line).encode("utf-8")


def run_line(context: CommandContext, line: str) -> bool:
    """Run what was typed on `context`; True when it is done and the box may be cleared.

    Raises `CommandError` when the line is a command that cannot run as typed."""
    invocation = parse_command(line)
    if invocation is None:
        return context.send_payload(context.sending.message(message_payload(line)))
    return invocation.run(context)
