"""The sending commands of the table: `/eol`, `/file`, `/repeat`, `/stop`.

Each parses its arguments up front (a bad one is a `CommandError` and the typed line stays)
and acts through the `CommandContext`, its `sending` state included: nothing here knows of
Textual.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from udptui.command_base import Command, CommandContext, CommandError, no_argument, parse_hex
from udptui.datagram import Level
from udptui.repeat import RepeatError, RepeatPlan, parse_count, parse_interval
from udptui.sending import LINE_ENDINGS, SendingError


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
        "eol",
        "/eol none|lf|crlf",
        "end every typed message with nothing, \\n or \\r\\n (never /hex)",
        "Line ending…",
        parse_eol,
        handle_eol,
    ),
)
