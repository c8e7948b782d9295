"""The real program on the command line: start-up errors are one line on stderr with exit
status 2 (never a traceback), `--version` and `--help` answer, and flags become a Config."""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from udptui import __version__
from udptui.cli import build_parser, config_from_args
from udptui.net.address import Address

REPO = Path(__file__).resolve().parent.parent


def run_udptui(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "udptui", *args],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], words: str) -> None:
    assert result.returncode == 2, result
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("udptui: error: ")
    assert words in lines[0]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ((), "say where to talk"),
        (("--listen", "70000"), "port 70000 is out of range"),
        (("--listen", "abc"), "bad port 'abc'"),
        (("--listen", "-1"), "port -1 is out of range"),
        (("--peer", "nohost.invalid:80"), "cannot resolve host 'nohost.invalid'"),
        (("--peer", "127.0.0.1"), "expected HOST:PORT"),
        (("--peer", "::1:80"), "brackets"),
        (("--listen", "0", "--bufsize", "0"), "--bufsize: 0 is out of range"),
        (("--listen", "0", "--rcvbuf", "lots"), "--rcvbuf: expected a size in bytes"),
        (("--listen", "0", "--bogus"), "unrecognized arguments: --bogus"),
        (("--peer", "http://127.0.0.1:8080"), "expected HOST:PORT without http://, like 127.0.0.1:8080"),
        (("--peer", "[::1]:"), "expected a number from 1 to 65535"),
        (("--peer", "[::1]:0"), "expected 1 to 65535"),
        (("--listen", "8083", "--listen", "8084"), "--listen is given more than once"),
        (("--listen=8083", "--listen=8084"), "--listen is given more than once"),
        (("--listen", "0", "--log", "a.jsonl", "--log", "b.jsonl"), "--log is given more than once"),
        (("--listen", "0", "--eol", "cr"), "argument --eol: invalid choice: 'cr'"),
        (("--listen", "0", "--respond", "x("), "--respond: expected 2 arguments"),
        (("--listen", "0", "--respond", "x(", "y"), "--respond: bad pattern 'x('"),
        (("--listen", "0", "--respond", "x", "\\2"), "--respond: bad reply"),
        (("--listen", "0", "--respond-hex", "x", "/hex zz"), "--respond-hex: bad reply '/hex zz'"),
        (
            ("--listen", "0", "--forward", "127.0.0.1"),
            "--forward: bad address '127.0.0.1': expected HOST:PORT",
        ),
        (("--forward", "127.0.0.1:9000"), "--forward needs --listen PORT"),
        (
            ("--listen", "0", "--forward", "127.0.0.1:9", "--session-timeout", "0"),
            "a positive number of seconds",
        ),
        (
            ("--listen", "0", "--forward", "127.0.0.1:9", "--session-timeout", "-1"),
            "a positive number of seconds",
        ),
        (
            ("--listen", "0", "--forward", "127.0.0.1:9", "--session-timeout", "soon"),
            "expected seconds like 5",
        ),
        (("--listen", "0", "--session-timeout", "5"), "--session-timeout works with --forward"),
        (("--listen", "0", "--peer", "127.0.0.1:9", "--forward", "127.0.0.1:9"), "--forward and --peer"),
        (
            ("--listen", "0", "--forward", "127.0.0.1:9", "--respond", "a", "b"),
            "--respond does not work with",
        ),
    ],
)
def test_startup_errors_are_one_line(args: tuple[str, ...], words: str) -> None:
    assert_one_line_error(run_udptui(*args), words)


def test_port_in_use_is_one_line() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
        result = run_udptui("--listen", str(port))
    assert_one_line_error(result, "already in use")
    assert str(port) in result.stderr


def test_version() -> None:
    result = run_udptui("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"udptui {__version__}" == "udptui 0.1.0"


def test_help() -> None:
    result = run_udptui("--help")
    assert result.returncode == 0
    for flag in ("--listen", "--peer", "--bind", "--bufsize", "--rcvbuf", "--scrollback", "--version"):
        assert flag in result.stdout
    assert result.stderr == ""


def test_help_shows_one_example_a_line_with_what_it_does() -> None:
    lines = run_udptui("--help").stdout.splitlines()
    examples = lines[lines.index("examples:") + 1 :]
    assert len(examples) >= 3, lines
    for line in examples:
        command, _, words = line.strip().partition("  ")
        assert command.startswith("udptui --"), line
        assert command.count("udptui") == 1, line
        assert len(words.split()) >= 3, f"no words saying what {command!r} does"

    too_wide = [line for line in lines if len(line) > 80]
    assert not too_wide, "--help must fit an 80-column terminal"


def single_value_flags() -> list[tuple[str, str]]:
    """Every flag of the real parser that takes one value, with a value it accepts."""
    values = {
        "--listen": "0",
        "--peer": "127.0.0.1:9",
        "--bind": "127.0.0.1",
        "--log": "chat.jsonl",
        "--delay": "80ms",
        "--jitter": "20ms",
        "--rate": "100kbit",
        "--forward": "127.0.0.1:9",
    }
    flags = []
    for action in build_parser()._actions:
        repeatable = isinstance(action, argparse._AppendAction)  # e.g. --decoder-path, one per file
        if action.option_strings and action.nargs is None and action.const is None and not repeatable:
            flag = action.option_strings[-1]
            choices = list(action.choices or ())
            flags.append((flag, values.get(flag, choices[-1] if choices else "1")))
    return flags


HEADLESS_ONLY = ("--count", "--idle-timeout")
"""Flags that need --jsonl beside them."""
RELAY_ONLY = ("--session-timeout",)
"""Flags that need --forward beside them."""


@pytest.mark.parametrize(("flag", "value"), single_value_flags())
def test_every_single_value_flag_refuses_to_be_given_twice(
    flag: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Generic, so a flag added later is covered too: the second value is never silently taken."""
    listen = [] if flag == "--listen" else ["--listen", "0"]
    listen += ["--jsonl"] if flag in HEADLESS_ONLY else []
    listen += ["--delay", "80ms"] if flag == "--jitter" else []  # jitter is at most the delay
    listen += ["--forward", "127.0.0.1:9"] if flag in RELAY_ONLY else []
    config_from_args([*listen, flag, value])
    with pytest.raises(SystemExit) as caught:
        config_from_args([flag, value, flag, value, *listen])
    assert caught.value.code == 2
    error = capsys.readouterr().err
    assert error == f"udptui: error: {flag} is given more than once: give it once\n"


def test_a_parser_can_parse_twice() -> None:
    parser = build_parser()
    assert parser.parse_args(["--listen", "1"]).listen == 1
    assert parser.parse_args(["--listen", "2"]).listen == 2


def test_config_listen_any_port() -> None:
    config = config_from_args(["--listen", "0"])
    assert config.port == 0
    assert config.listening
    assert config.peer is None
    assert config.bind_host is None
    assert config.follows_sender


def test_config_peer_ipv6() -> None:
    config = config_from_args(["--peer", "[::1]:9000"])
    assert config.peer == Address("::1", 9000)
    assert not config.listening
    assert config.port == 0
    assert not config.follows_sender  # a peer given without --listen stays pinned


def test_config_listen_and_peer() -> None:
    config = config_from_args(["--listen", "8080", "--peer", "127.0.0.1:5000"])
    assert config.port == 8080
    assert config.peer == Address("127.0.0.1", 5000)
    assert config.listening
    assert config.follows_sender  # --listen: reply to whoever wrote last


def test_config_rules_keep_their_command_line_order() -> None:
    config = config_from_args(
        ["--listen", "0", "--respond", "a", "1", "--respond-hex", "^ff", "/hex 00", "--respond", "b", "2"]
    )
    assert [(rule.pattern, rule.hex_match) for rule in config.rules] == [
        ("a", False),
        ("^ff", True),
        ("b", False),
    ]
    assert config.eol == "none"
    assert config_from_args(["--listen", "0", "--eol", "crlf"]).eol == "crlf"


def test_config_sizes() -> None:
    config = config_from_args(["--listen", "0", "--bufsize", "1", "--rcvbuf", "512K", "--scrollback", "3"])
    assert (config.bufsize, config.rcvbuf, config.scrollback) == (1, 512 * 1024, 3)


def test_config_errors_exit_2_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        config_from_args(["--peer", "[::1]:9000", "--bind", "127.0.0.1"])
    assert caught.value.code == 2
    assert "the IP versions differ" in capsys.readouterr().err


def test_a_receive_buffer_over_what_setsockopt_takes_is_a_usage_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "udptui", "--listen", "0", "--rcvbuf", "4096M"], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1 and "2047M at most" in done.stderr
