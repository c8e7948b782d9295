"""What a typed line does: messages, `//` escapes and every `/command` from the table, run on a
context that records the calls (as the App or a screen-less runner would act on them)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from udptui.chat.commands import (
    COMMANDS,
    HELP,
    CommandContext,
    CommandError,
    help_lines,
    parse_hex,
    run_line,
)
from udptui.chat.datagram import Level
from udptui.chat.sending import Sending
from udptui.chat.session import ChatSession
from udptui.config import Config
from udptui.decoders import Choice
from udptui.net.address import Address
from udptui.net.transport import UdpTransport

_transports: list[UdpTransport] = []


@pytest.fixture(autouse=True, scope="module")
def close_transports() -> Iterator[None]:
    """The recorders' sending state sits on real sessions; their sockets close after the module."""
    yield
    for transport in _transports:
        transport.close()


class Recorder:
    """A `CommandContext` that records what the commands asked of it."""

    def __init__(self, *, done: bool = True) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.done = done
        if not _transports:
            _transports.append(UdpTransport.open(bind_host="127.0.0.1"))
        self.sending = Sending(ChatSession(_transports[0]))
        self.config = Config(listening=True)

    def send_payload(self, payload: bytes) -> bool:
        self.calls.append(("send", payload))
        return self.done

    def set_target(self, address: Address) -> None:
        self.calls.append(("target", address))

    def look_up_target(self, host: str, port: int) -> bool:
        self.calls.append(("look up", host, port))
        return False

    def notice(self, message: str, level: Level, *, title: str = "") -> None:
        self.calls.append(("notice", message, level))

    def clear_log(self) -> None:
        self.calls.append(("clear",))

    def save_transcript(self, path: str, *, overwrite: bool = False) -> bool:
        self.calls.append(("save", path, overwrite))
        return self.done

    def show_help(self) -> None:
        self.calls.append(("help",))

    def choose_decoders(self, choice: Choice, peer: Address | None) -> bool:
        self.calls.append(("decode", str(choice), peer))
        return self.done


def calls(line: str, context: Recorder | None = None) -> list[tuple[Any, ...]]:
    context = context or Recorder()
    checked: CommandContext = context  # the recorder is a full context, as mypy checks here
    assert run_line(checked, line) is context.done
    return context.calls


def test_plain_text_is_a_message() -> None:
    assert calls("hello /to world") == [("send", b"hello /to world")]
    assert calls("grüße") == [("send", "grüße".encode())]


def test_lines_with_newlines_are_one_message() -> None:
    assert calls("one\ntwo\n") == [("send", b"one\ntwo\n")]
    assert calls("//one\ntwo") == [("send", b"/one\ntwo")]


def test_double_slash_sends_a_literal_slash() -> None:
    assert calls("//to 1.2.3.4:5") == [("send", b"/to 1.2.3.4:5")]
    assert calls("//") == [("send", b"/")]


def test_a_failed_send_keeps_the_line() -> None:
    assert calls("hello", Recorder(done=False)) == [("send", b"hello")]


def test_to_parses_and_resolves_an_address() -> None:
    assert calls("/to 127.0.0.1:9000") == [("target", Address("127.0.0.1", 9000))]
    assert calls("/to [::1]:9000") == [("target", Address("::1", 9000))]


def test_to_a_name_is_left_to_the_context_to_look_up() -> None:
    """A name can take seconds to resolve: the command never resolves it itself."""
    recorder = Recorder()
    assert run_line(recorder, "/to localhost:9000") is False  # the line stays while it resolves
    assert recorder.calls == [("look up", "localhost", 9000)]
    recorder = Recorder()
    run_line(recorder, "/to nohost.invalid:80")  # parsing alone never fails on a name
    assert recorder.calls == [("look up", "nohost.invalid", 80)]


@pytest.mark.parametrize(
    "line", ["/to", "/to 127.0.0.1", "/to host:0", "/to 127.0.0.1%x:80", "/to [::1]", "/to 1.2.3.4:99999"]
)
def test_bad_to_is_a_one_line_error(line: str) -> None:
    with pytest.raises(CommandError) as caught:
        run_line(Recorder(), line)
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("/to")


def test_hex_sends_exactly_those_bytes() -> None:
    assert calls("/hex DE AD BE EF") == [("send", b"\xde\xad\xbe\xef")]
    assert calls("/hex 00 ff 41") == [("send", b"\x00\xffA")]
    assert parse_hex("0xde 0xAD") == b"\xde\xad"
    assert parse_hex("deadbeef") == b"\xde\xad\xbe\xef"
    assert calls("/hex") == [("send", b"")]


@pytest.mark.parametrize("text", ["zz", "abc", "de ad b"])
def test_bad_hex_is_an_error(text: str) -> None:
    with pytest.raises(CommandError, match="bad hex"):
        parse_hex(text)


def test_other_commands() -> None:
    assert calls("/clear") == [("clear",)]
    assert calls("/help") == [("help",)]
    assert calls("/save out.jsonl") == [("save", "out.jsonl", False)]
    assert calls("/save! out.jsonl") == [("save", "out.jsonl", True)]


def test_decode_for_everyone_or_one_peer() -> None:
    assert calls("/decode dns") == [("decode", "dns", None)]
    assert calls("/decode DNS,syslog") == [("decode", "dns,syslog", None)]
    assert calls("/decode none 127.0.0.1:53") == [("decode", "none", Address("127.0.0.1", 53))]
    assert calls("/decode auto [::1]:5353") == [("decode", "auto", Address("::1", 5353))]


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("/decode", "needs a decoder"),
        ("/decode dns 1.2.3.4:53 extra", "needs a decoder"),
        ("/decode auto,dns", "expected auto, none"),
        ("/decode dns example.com:53", "as numbers"),
        ("/decode dns 127.0.0.1:0", "/decode:"),
        ("/save", "needs a file"),
        ("/nope", "unknown command /nope"),
        ("/clear x", "takes no argument"),
        ("/help me", "takes no argument"),
        ("/clear!", "writes no file"),
        ("/clear\nmore", "a /command is one line"),
    ],
)
def test_command_errors_say_what_is_wrong(line: str, words: str) -> None:
    recorder = Recorder()
    with pytest.raises(CommandError, match=words):
        run_line(recorder, line)
    assert recorder.calls == []


def test_help_and_the_palette_come_from_one_table() -> None:
    assert [usage for usage, _ in help_lines()] == [command.usage for command in COMMANDS] + ["//text"]
    assert list(HELP) == [usage for usage, _ in help_lines()]
    names = [
        "to",
        "hex",
        "file",
        "repeat",
        "stop",
        "send",
        "keep",
        "respond",
        "eol",
        "join",
        "leave",
        "groups",
        "impair",
        "clear",
        "save",
        "decode",
        "mute",
        "unmute",
        "help",
    ]
    assert [command.name for command in COMMANDS] == names
    with_argument = {
        "to",
        "hex",
        "save",
        "file",
        "repeat",
        "send",
        "keep",
        "respond",
        "eol",
        "decode",
        "join",
        "leave",
        "impair",
        "mute",
        "unmute",
    }
    assert {command.name for command in COMMANDS if command.takes_argument} == with_argument
    assert all(command.title and command.help for command in COMMANDS)


def test_the_command_table_imports_no_textual() -> None:
    import subprocess
    import sys

    code = "import sys, udptui.chat.commands; assert not [m for m in sys.modules if m.startswith('textual')]"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_line_ending_goes_on_typed_messages_only() -> None:
    recorder = Recorder()
    assert calls("/eol crlf", recorder)[-1][0] == "notice"
    assert calls("hi", recorder)[-1] == ("send", b"hi\r\n")
    assert calls("//x", recorder)[-1] == ("send", b"/x\r\n")
    assert calls("/hex 01 02", recorder)[-1] == ("send", b"\x01\x02")
    calls("/eol LF", recorder)
    assert calls("hi", recorder)[-1] == ("send", b"hi\n")
    calls("/eol none", recorder)
    assert calls("hi", recorder)[-1] == ("send", b"hi")


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("/eol", "none|lf|crlf"),
        ("/eol cr", "none, lf or crlf"),
        ("/file", "needs a file name"),
        ("/repeat 10 1ms", "COUNT INTERVAL MESSAGE"),
        ("/repeat ten 1ms ping", "bad count"),
        ("/repeat 0 1ms ping", "bad count"),
        ("/repeat 10 5 ping", "bad interval"),
        ("/repeat 10 fast ping", "bad interval"),
        ("/repeat 10 2d ping", "bad interval"),
        ("/repeat 10 1ms /to 1.2.3.4:5", "a message or /hex"),
        ("/repeat 10 1ms /hex zz", "bad hex"),
        ("/stop now", "takes no argument"),
    ],
)
def test_sending_command_errors_say_what_is_wrong(line: str, words: str) -> None:
    recorder = Recorder()
    with pytest.raises(CommandError, match=words):
        run_line(recorder, line)
    assert recorder.calls == []
