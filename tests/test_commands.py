"""What a typed line means: messages, `//` escapes and every `/command`, with one-line errors."""

from __future__ import annotations

import pytest

from udptui.address import Address
from udptui.commands import (
    ClearLog,
    CommandError,
    SaveTranscript,
    SendBytes,
    SendText,
    SetTarget,
    ShowHelp,
    parse_hex,
    parse_line,
)


def test_plain_text_is_a_message() -> None:
    assert parse_line("hello /to world") == SendText("hello /to world")


def test_double_slash_sends_a_literal_slash() -> None:
    assert parse_line("//to 1.2.3.4:5") == SendText("/to 1.2.3.4:5")
    assert parse_line("//") == SendText("/")


def test_to_parses_and_resolves_an_address() -> None:
    assert parse_line("/to 127.0.0.1:9000") == SetTarget(Address("127.0.0.1", 9000))
    assert parse_line("/to [::1]:9000") == SetTarget(Address("::1", 9000))


@pytest.mark.parametrize("line", ["/to", "/to 127.0.0.1", "/to [::1]", "/to 1.2.3.4:99999"])
def test_bad_to_is_a_one_line_error(line: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_line(line)
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("/to")


def test_hex_sends_exactly_those_bytes() -> None:
    assert parse_line("/hex DE AD BE EF") == SendBytes(b"\xde\xad\xbe\xef")
    assert parse_line("/hex 00 ff 41") == SendBytes(b"\x00\xffA")
    assert parse_hex("0xde 0xAD") == b"\xde\xad"
    assert parse_hex("deadbeef") == b"\xde\xad\xbe\xef"
    assert parse_line("/hex") == SendBytes(b"")


@pytest.mark.parametrize("text", ["zz", "abc", "de ad b"])
def test_bad_hex_is_an_error(text: str) -> None:
    with pytest.raises(CommandError, match="bad hex"):
        parse_hex(text)


def test_other_commands() -> None:
    assert parse_line("/clear") == ClearLog()
    assert parse_line("/help") == ShowHelp()
    assert parse_line("/save out.jsonl") == SaveTranscript("out.jsonl")


@pytest.mark.parametrize(
    ("line", "words"),
    [("/save", "needs a file"), ("/nope", "unknown command /nope"), ("/clear x", "takes no argument")],
)
def test_command_errors_say_what_is_wrong(line: str, words: str) -> None:
    with pytest.raises(CommandError, match=words):
        parse_line(line)
