"""Saved messages: the TOML file read and written back, `/send`, `/keep`, the palette's
`Send: NAME`, and a broken file at start (exit 2, naming the line)."""

from __future__ import annotations

import socket
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Notices, address_of, fixed_clock, type_line, wait_for
from hypothesis import given
from hypothesis import strategies as st
from textual.content import Content

from udptui.chat.saved_messages import (
    SavedMessage,
    SavedMessages,
    SavedMessagesError,
    parse_messages,
    table_text,
    toml_string,
)
from udptui.config import Config
from udptui.net.transport import UdpTransport
from udptui.ui.app import UdpTuiApp, make_app
from udptui.ui.widgets import Composer

OpenTransport = Callable[..., UdpTransport]
REPO = Path(__file__).resolve().parent.parent

EXAMPLE = """\
# requests for the service under test
[ping]
text = "PING 1\\r\\n"

["dns query"]
hex = "12 34 01 00"
"""


@given(st.text())
def test_any_text_round_trips_through_the_writer(text: str) -> None:
    assert tomllib.loads(f"value = {toml_string(text)}\n")["value"] == text


@given(
    st.text(min_size=1, max_size=64).filter(lambda name: name.strip() == name and name.isprintable()),
    st.binary(),
)
def test_any_message_round_trips(name: str, payload: bytes) -> None:
    for is_hex in (True, False):
        if not is_hex:
            try:
                payload.decode("utf-8")
            except UnicodeDecodeError:
                continue
        message = SavedMessage(name, payload, is_hex)
        assert parse_messages(table_text(message), "f") == {name: message}


def test_the_example_file_reads() -> None:
    messages = parse_messages(EXAMPLE, "messages.toml")
    assert messages["ping"].payload == b"PING 1\r\n"
    assert messages["dns query"].payload == b"\x12\x34\x01\x00"
    assert messages["dns query"].is_hex


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ('[a]\ntext = "x\n', "line 2: Illegal character"),
        ('[a]\ntext = "x"\n\n[b]\nhex = "zz"\n', "line 5: b.hex: expected byte pairs"),
        ('[a]\ntext = "x"\n[b]\ntext = 5\n', "line 4: b.text must be a string"),
        ('[a]\nfoo = "x"\n', 'line 1: [a] needs one of text = "…" or hex = "…"'),
        ('a = "x"\n', "line 1: [a] needs one of"),
    ],
)
def test_a_broken_file_names_the_line(source: str, words: str) -> None:
    with pytest.raises(SavedMessagesError, match=words.replace("[", r"\[").replace("]", r"\]")):
        parse_messages(source, "messages.toml")


def test_keep_appends_and_keeps_the_comments_and_keep_bang_replaces_in_place(tmp_path: Path) -> None:
    path = tmp_path / "messages.toml"
    path.write_text(EXAMPLE)
    saved = SavedMessages.load(path)
    saved.keep("binary", b"\x00\xff")
    assert path.read_text().startswith(EXAMPLE)
    with pytest.raises(SavedMessagesError, match="/keep! ping replaces it"):
        saved.keep("ping", b"other")
    saved.keep("ping", b"PING 2", overwrite=True)
    text = path.read_text()
    assert text.startswith(
        '# requests for the service under test\n["ping"]\ntext = "PING 2"\n\n["dns query"]'
    )
    again = SavedMessages.load(path).messages
    assert {name: message.payload for name, message in again.items()} == {
        "ping": b"PING 2",
        "dns query": b"\x12\x34\x01\x00",
        "binary": b"\x00\xff",
    }
    assert again["binary"].is_hex and not again["ping"].is_hex


def test_keep_bang_finds_the_table_by_its_toml_name(tmp_path: Path) -> None:
    """Names with quotes and backslashes, and a table that is not first, are replaced in place."""
    path = tmp_path / "messages.toml"
    saved = SavedMessages.load(path)
    for name in ("first", 'say "hi"', "back\\slash"):
        saved.keep(name, name.encode())
    saved.keep('say "hi"', b"new", overwrite=True)
    saved.keep("back\\slash", b"newer", overwrite=True)
    again = SavedMessages.load(path).messages
    assert {name: message.payload for name, message in again.items()} == {
        "first": b"first",
        'say "hi"': b"new",
        "back\\slash": b"newer",
    }
    assert path.read_text().count("[") == 3


def test_keep_makes_the_file_and_its_directory(tmp_path: Path) -> None:
    path = tmp_path / "config" / "udptui" / "messages.toml"
    saved = SavedMessages.load(path)
    assert saved.messages == {}
    saved.keep("hello", b"hi\n")
    assert SavedMessages.load(path).messages["hello"].payload == b"hi\n"


def test_a_broken_file_at_start_exits_2_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "messages.toml"
    path.write_text('[ok]\ntext = "x"\n[broken]\nhex = "0"\n')
    result = subprocess.run(
        [sys.executable, "-m", "udptui", "--listen", "0", "--messages", str(path)],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert (
        result.stderr
        == f"udptui: error: messages file {path}, line 4: broken.hex: expected byte pairs like DE AD BE EF\n"
    )


def build(open_transport: OpenTransport, peer: socket.socket, path: Path) -> UdpTuiApp:
    config = Config(peer=address_of(peer), saved=SavedMessages.load(path), eol="lf")
    return make_app(config, transport=open_transport(), clock=fixed_clock)


async def test_send_keep_and_the_palette(
    open_transport: OpenTransport, peer: socket.socket, tmp_path: Path
) -> None:
    path = tmp_path / "messages.toml"
    path.write_text(EXAMPLE)
    app = build(open_transport, peer, path)
    notices = Notices()
    async with app.run_test(message_hook=notices) as pilot:
        await type_line(pilot, app, "/send dns query")
        assert peer.recv(100) == b"\x12\x34\x01\x00"  # as saved: no line ending added
        await type_line(pilot, app, "/send nope")
        await wait_for(
            pilot, lambda: bool(notices.matching("no saved message 'nope'")), "an unknown-name notice"
        )
        assert app.query_one(Composer).value == "/send nope"

        await type_line(pilot, app, "hello")
        assert peer.recv(100) == b"hello\n"
        await type_line(pilot, app, "/keep greeting")
        assert SavedMessages.load(path).messages["greeting"].payload == b"hello\n"
        await type_line(pilot, app, "/keep ping")
        await wait_for(pilot, lambda: bool(notices.matching("/keep! ping replaces it")), "a refusal")
        assert app.query_one(Composer).value == "/keep ping"
        await type_line(pilot, app, "/keep! ping")
        assert SavedMessages.load(path).messages["ping"].payload == b"hello\n"

        titles = {command.title: command for command in app.get_system_commands(app.screen)}
        assert {"Send: ping", "Send: dns query", "Send: greeting"} <= titles.keys()
        titles["Send: dns query"].callback()
        assert peer.recv(100) == b"\x12\x34\x01\x00"

        await type_line(pilot, app, "/keep [b]bold?[/b] [@click=app.quit]quit[/]")
        shown = [Content.from_markup(command.title).plain for command in app.get_system_commands(app.screen)]
        assert "Send: [b]bold?[/b] [@click=app.quit]quit[/]" in shown  # a name is never markup


@pytest.mark.parametrize("entry", ['ping = { text = "PING 1" }  # inline', 'ping.text = "PING 1"  # dotted'])
def test_keep_bang_refuses_a_table_it_cannot_replace_in_place(tmp_path: Path, entry: str) -> None:
    """An inline or dotted `ping` would have meant writing the whole file anew (its comments
    gone): the user is told to edit it by hand, and the file stays byte for byte."""
    path = tmp_path / "messages.toml"
    source = f'# the service\'s requests\n{entry}\n\n[other]  # kept\ntext = "x"\n'
    path.write_text(source)
    saved = SavedMessages.load(path)
    with pytest.raises(SavedMessagesError, match=r"not a \[ping\] table .*edit that entry by hand"):
        saved.keep("ping", b"PING 2", overwrite=True)
    assert path.read_text() == source


def test_keep_reads_the_file_again_and_keeps_what_was_added_since(tmp_path: Path) -> None:
    """Messages and comments written into the file after the start stay, and can be sent;
    a name added meanwhile needs `!` like any other."""
    path = tmp_path / "messages.toml"
    path.write_text(EXAMPLE)
    saved = SavedMessages.load(path)
    added = '\n# added by hand while udptui ran\n[later]\ntext = "LATER"\n'
    path.write_text(EXAMPLE + added)
    saved.keep("ping", b"PING 2", overwrite=True)
    saved.keep("fresh", b"FRESH")
    with pytest.raises(SavedMessagesError, match="/keep! later replaces it"):
        saved.keep("later", b"other")
    text = path.read_text()
    assert "# requests for the service under test\n" in text and added in text
    again = {name: message.payload for name, message in SavedMessages.load(path).messages.items()}
    assert again == {
        "ping": b"PING 2",
        "dns query": b"\x12\x34\x01\x00",
        "later": b"LATER",
        "fresh": b"FRESH",
    }
    assert saved.get("later") is not None  # sendable here too


async def test_keep_bang_on_an_inline_table_is_a_notice_and_the_text_stays(
    open_transport: OpenTransport, peer: socket.socket, tmp_path: Path
) -> None:
    path = tmp_path / "messages.toml"
    path.write_text('# mine\nping = { text = "PING 1" }\n')
    app = build(open_transport, peer, path)
    notices = Notices()
    async with app.run_test(message_hook=notices) as pilot:
        await type_line(pilot, app, "hello")
        assert peer.recv(100) == b"hello\n"
        await type_line(pilot, app, "/keep! ping")
        await wait_for(pilot, lambda: bool(notices.matching("edit that entry by hand")), "a refusal")
        assert app.query_one(Composer).value == "/keep! ping"
    assert path.read_text() == '# mine\nping = { text = "PING 1" }\n'
