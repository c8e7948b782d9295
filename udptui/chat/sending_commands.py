"""The sending commands of the table: `/eol`, `/file`, `/repeat`, `/stop`.

Each parses its arguments up front (a bad one is a `CommandError` and the typed line stays)
and acts through the `CommandContext`, its `sending` state included: nothing here knows of
Textual.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from udptui.chat.command_base import Command, CommandContext, CommandError, no_argument, parse_hex
from udptui.chat.datagram import Level
from udptui.chat.repeat import RepeatError, RepeatPlan, parse_count, parse_interval
from udptui.chat.responder import MATCH_CHARS, Rule, RuleError
from udptui.chat.sending import LINE_ENDINGS, SendingError


def parse_eol(argument: str) -> str:
    name = argument.lower()
    if name not in LINE_ENDINGS:
        raise CommandError(
            f"/eol takes none, lf or crlf, not {argument!r}" if argument else "/eol none|lf|crlf"
        )
    return name


def handle_eol(context: CommandContext, name: str, overwrite: bool) -> bool:
    context.sending.set_eol(name)
    shown = {"none": "nothing", "lf": "\\n", "crlf": "\\r\\n"}[name]
    context.notice(f"typed messages now end with {shown} (--eol {name})", Level.INFO)
    return True


def parse_path(argument: str) -> str:
    if not argument:
        raise CommandError("/file needs a file name: /file PATH")
    return argument


def handle_file(context: CommandContext, path: str, overwrite: bool) -> bool:
    try:
        payload = context.sending.file_payload(path)
    except SendingError as error:
        raise CommandError(f"/file: {error}") from None
    return context.send_payload(payload)


@dataclass(frozen=True)
class RepeatArguments:
    count: int | None
    interval: float
    payload: bytes
    typed: bool
    """A typed message (it gets the line ending), not `/hex` bytes."""


def parse_repeat(argument: str) -> RepeatArguments:
    words = argument.split(maxsplit=2)
    if len(words) < 3:
        raise CommandError(
            "/repeat COUNT INTERVAL MESSAGE, as in /repeat 100 10ms ping or /repeat forever 1s /hex 01"
        )
    count_word, interval_word, message = words
    try:
        count, interval = parse_count(count_word), parse_interval(interval_word)
    except RepeatError as error:
        raise CommandError(f"/repeat: {error}") from None
    if message.startswith("/hex ") or message == "/hex":
        return RepeatArguments(count, interval, parse_hex(message[4:]), typed=False)
    if message.startswith("/") and not message.startswith("//"):
        raise CommandError("/repeat sends a message or /hex bytes (start with // to send a literal /)")
    text = message[1:] if message.startswith("//") else message
    return RepeatArguments(count, interval, text.encode("utf-8"), typed=True)


def handle_repeat(context: CommandContext, arguments: RepeatArguments, overwrite: bool) -> bool:
    sending = context.sending
    try:
        sending.check_repeat()
        payload = sending.message(arguments.payload) if arguments.typed else arguments.payload
        if not context.send_payload(payload):  # the first goes like any send: checks, warnings
            return False
        if arguments.count != 1:
            sending.start_repeat(RepeatPlan(arguments.count, arguments.interval, payload))
    except SendingError as error:
        raise CommandError(f"/repeat: {error}") from None
    return True


def handle_stop(context: CommandContext, _: None, overwrite: bool) -> bool:
    if not context.sending.stop_repeat():
        context.notice("no repeat is running", Level.INFO)
    return True


def parse_name(command: str) -> Callable[[str], str]:
    def parse(argument: str) -> str:
        if not argument:
            raise CommandError(f"/{command} needs a name: /{command} NAME")
        return argument

    return parse


def handle_send(context: CommandContext, name: str, overwrite: bool) -> bool:
    try:
        payload = context.sending.saved_payload(name)
    except SendingError as error:
        raise CommandError(f"/send: {error}") from None
    return context.send_payload(payload)


def handle_keep(context: CommandContext, name: str, overwrite: bool) -> bool:
    try:
        message = context.sending.keep(name, overwrite=overwrite)
    except SendingError as error:
        raise CommandError(f"/keep: {error}") from None
    kind = "hex" if message.is_hex else "text"
    where = context.sending.saved.path
    context.notice(f"kept {message.name!r} ({kind}, {len(message.payload)} bytes) in {where}", Level.INFO)
    return True


@dataclass(frozen=True)
class RespondArguments:
    """`/respond` (list), `/respond add[-hex] PATTERN REPLY`, `/respond remove N|all`."""

    rule: Rule | None = None
    remove: int | None = None
    remove_all: bool = False


RESPOND_USAGE = "/respond [add|add-hex 'PATTERN' 'REPLY' | remove N|all]"


def parse_respond(argument: str) -> RespondArguments:
    if not argument:
        return RespondArguments()
    action, _, rest = argument.partition(" ")
    if action in ("add", "add-hex"):
        try:
            words = shlex.split(rest)
        except ValueError as error:
            raise CommandError(f"/respond {action}: {error} (quote PATTERN and REPLY with '…')") from None
        if len(words) != 2:
            raise CommandError(f"/respond {action} 'PATTERN' 'REPLY': two quoted words, got {len(words)}")
        try:
            return RespondArguments(Rule(words[0], words[1], hex_match=action == "add-hex"))
        except RuleError as error:
            raise CommandError(f"/respond: {error}") from None
    if action == "remove":
        if rest.strip() == "all":
            return RespondArguments(remove_all=True)
        if rest.strip().isdigit():
            return RespondArguments(remove=int(rest))
        raise CommandError("/respond remove N (its number in /respond) or /respond remove all")
    raise CommandError(f"usage: {RESPOND_USAGE}")


def handle_respond(context: CommandContext, arguments: RespondArguments, overwrite: bool) -> bool:
    sending = context.sending
    if arguments.rule is not None:
        sending.add_rule(arguments.rule)
        context.notice(f"auto-reply {len(sending.responder.rules)}: {arguments.rule.describe()}", Level.INFO)
    elif arguments.remove is not None or arguments.remove_all:
        try:
            removed = sending.remove_rule(arguments.remove)
        except IndexError:
            raise CommandError(
                f"/respond: there is no rule {arguments.remove}: /respond lists them"
            ) from None
        context.notice(
            f"auto-replies removed: {len(removed)}; {len(sending.responder.rules)} left", Level.INFO
        )
    elif not sending.responder.rules:
        context.note("no auto-reply rules: /respond add 'PATTERN' 'REPLY' makes one")
    else:
        responder = sending.responder
        context.note(
            f"auto-reply rules (at most {responder.limit} replies/s per peer per rule; the first "
            f"{MATCH_CHARS} characters searched, in at most {responder.search_limit} datagrams/s per peer):"
        )
        if responder.skipped:
            context.note(f"{responder.skipped:,} datagrams skipped unsearched (over the limit)")
        for number, rule in enumerate(sending.responder.rules, 1):
            context.note(f"{number}. {rule.describe()}")
    return True


SENDING_COMMANDS: tuple[Command[Any], ...] = (
    Command(
        "file",
        "/file PATH",
        "send a file's bytes as one datagram",
        "Send a file…",
        parse_path,
        handle_file,
    ),
    Command(
        "repeat",
        "/repeat COUNT INTERVAL MESSAGE",
        "send MESSAGE (or /hex …) COUNT times (or forever), INTERVAL apart (10ms, 0.5s, 0)",
        "Repeat a message…",
        parse_repeat,
        handle_repeat,
    ),
    Command(
        "stop",
        "/stop",
        "stop the running repeat (Escape in the box too)",
        "Stop repeat",
        no_argument("stop"),
        handle_stop,
    ),
    Command(
        "send",
        "/send NAME",
        "send a saved message (the palette lists them as Send: NAME)",
        "Send a saved message…",
        parse_name("send"),
        handle_send,
    ),
    Command(
        "keep",
        "/keep NAME",
        "save the last datagram you sent as NAME; /keep! NAME replaces one",
        "Keep the last sent as…",
        parse_name("keep"),
        handle_keep,
        overwrite=True,
    ),
    Command(
        "respond",
        RESPOND_USAGE,
        "list, add or remove auto-reply rules (REPLY may use \\1 and /hex; the first 4 KiB is searched)",
        "Auto-reply rules…",
        parse_respond,
        handle_respond,
    ),
    Command(
        "eol",
        "/eol none|lf|crlf",
        "end every typed message with nothing, \\n or \\r\\n (never /hex)",
        "Line ending…",
        parse_eol,
        handle_eol,
    ),
)
