"""Headless mode (`--jsonl`): the real `udptui` program in real processes, with real sockets
on loopback. Records on standard output, lines of standard input sent as datagrams,
`--count`, `--idle-timeout`, exit statuses, and a closed pipe. Every wait has a deadline;
nothing asserts on time."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest
from conftest import (
    LISTENING,
    REPO,
    UDPTUI,
    WAIT_SECONDS,
    Headless,
    closed_port,
    read_line,
    start,
    udp_socket,
)
from test_cli import assert_one_line_error, run_udptui

EXAMPLES = REPO / "examples"


def test_count_three_prints_the_tutorials_three_datagrams_and_exits_0(headless: list[Headless]) -> None:
    """`--listen 0 --jsonl --count 3` and the tutorial client's three sendto calls."""
    udptui = start(headless, "--listen", "0", "--jsonl", "--count", "3", stdin=subprocess.DEVNULL)
    client = [sys.executable, str(EXAMPLES / "tutorial_client.py"), "127.0.0.1", str(udptui.port)]
    subprocess.run([*client, "--boundaries"], check=True, timeout=WAIT_SECONDS, capture_output=True)
    status, records, errors = udptui.finish()
    assert status == 0, errors
    assert [(record["dir"], record["text"], record["len"]) for record in records] == [
        ("in", "hello", 5),
        ("in", "world", 5),
        ("in", "egon", 4),
    ]
    assert all(record["peer"].startswith("127.0.0.1:") for record in records)
    assert errors == ""


def test_count_takes_no_more_than_it_asked_for(headless: list[Headless]) -> None:
    """Five datagrams arrive in one batch; `--count 2` writes two and ends."""
    udptui = start(headless, "--listen", "0", "--jsonl", "--count", "2", stdin=subprocess.DEVNULL)
    with udp_socket() as peer:
        for number in range(5):
            peer.sendto(b"%d" % number, ("127.0.0.1", udptui.port))
    status, records, _ = udptui.finish()
    assert status == 0
    assert [record["text"] for record in records] == ["0", "1"]


def test_a_closed_pipe_ends_udptui_quietly_with_status_0(headless: list[Headless]) -> None:
    """`udptui --listen 0 --jsonl | head -1`: once head has gone, udptui ends with 0, no traceback."""
    udptui = start(headless, "--listen", "0", "--jsonl", stdin=subprocess.DEVNULL)
    head = subprocess.Popen(["head", "-1"], stdin=udptui.stdout, stdout=subprocess.PIPE)
    udptui.stdout.close()  # only head reads it now
    with udp_socket() as peer:
        deadline = time.monotonic() + WAIT_SECONDS
        while udptui.process.poll() is None and time.monotonic() < deadline:
            peer.sendto(b"tick", ("127.0.0.1", udptui.port))
            time.sleep(0.05)
    first, _ = head.communicate(timeout=WAIT_SECONDS)
    assert json.loads(first)["text"] == "tick"
    assert udptui.process.wait(timeout=WAIT_SECONDS) == 0
    assert udptui.process.stderr is not None
    assert udptui.process.stderr.read() == b""


def test_lines_of_standard_input_are_sent_and_commands_run(headless: list[Headless]) -> None:
    """Each line is one datagram (no newline); /hex, // and /to work; notices are records;
    the end of input does not end listening."""
    with udp_socket() as peer, udp_socket() as other:
        host, port = peer.getsockname()
        udptui = start(headless, "--peer", f"{host}:{port}", "--jsonl")
        udptui.type("hello", "/hex DE AD be ef", "//slash", "", "/nope")
        assert [peer.recvfrom(100)[0] for _ in range(3)] == [b"hello", b"\xde\xad\xbe\xef", b"/slash"]
        sent = [udptui.record() for _ in range(4)]
        assert [(record["dir"], record.get("text", record.get("hex"))) for record in sent] == [
            ("out", "hello"),
            ("out", "deadbeef"),
            ("out", "/slash"),
            ("note", "unknown command /nope: try /help (start with // to send a literal /)"),
        ]
        udptui.type(f"/to localhost:{other.getsockname()[1]}", "moved")  # a name: looked up first
        assert other.recvfrom(100)[0] == b"moved"
        other_address = f"127.0.0.1:{other.getsockname()[1]}"
        assert udptui.record()["text"] == f"replying to {other_address} (pinned)"
        assert udptui.record()["peer"] == other_address
        udptui.end_input()  # end of input: still listening
        peer.sendto(b"still there?", ("127.0.0.1", udptui.port))
        assert udptui.record()["text"] == "still there?"
        assert udptui.process.poll() is None
        udptui.process.send_signal(signal.SIGTERM)
        status, records, errors = udptui.finish()
    assert status == 128 + signal.SIGTERM
    assert [record["text"] for record in records] == ["stopped by SIGTERM"]
    assert errors == ""


def test_a_last_line_without_newline_is_sent_and_bad_lines_are_notices(headless: list[Headless]) -> None:
    with udp_socket() as peer:
        udptui = start(headless, "--peer", f"127.0.0.1:{peer.getsockname()[1]}", "--jsonl")
        assert udptui.process.stdin is not None
        udptui.process.stdin.write(b"\xff\xfe\n/hex zz\nlast")
        udptui.end_input()
        assert peer.recvfrom(100)[0] == b"last"
        texts = [udptui.record().get("text") for _ in range(3)]
        assert "not UTF-8" in str(texts[0]) and "bad hex" in str(texts[1]) and texts[2] == "last"


@pytest.mark.parametrize(
    ("args", "sends", "status"),
    [
        (("--idle-timeout", "0.3"), 0, 1),
        (("--idle-timeout", "0.5", "--count", "2"), 1, 1),
        (("--idle-timeout", "0.5"), 1, 0),
    ],
    ids=["nothing came", "count not reached", "something came"],
)
def test_idle_timeout_exit_status(
    headless: list[Headless], args: tuple[str, ...], sends: int, status: int
) -> None:
    """1 when `--count` (or, without it, a first datagram) was not reached before the timeout."""
    udptui = start(headless, "--listen", "0", "--jsonl", *args, stdin=subprocess.DEVNULL)
    with udp_socket() as peer:
        for _ in range(sends):
            peer.sendto(b"one", ("127.0.0.1", udptui.port))
    got, records, _ = udptui.finish()
    assert got == status
    assert [record["text"] for record in records] == ["one"] * sends


def readme_health_check() -> str:
    """The README's health-check line, as a shell command (its comment left off)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    (line,) = [line for line in text.splitlines() if line.endswith("# a one-line UDP health check")]
    return line.split("#")[0].strip()


@pytest.mark.parametrize("answering", [True, False], ids=["service up", "service down"])
def test_the_readmes_health_check_against_an_echo_socket(answering: bool) -> None:
    """The README's `printf 'PING\\n' | udptui --peer 127.0.0.1:9000 --jsonl --count 1
    --idle-timeout 2`, run as written (the port and the command swapped for the test's):
    0 and both records when the echo answers; 1 when nothing does, within the idle time."""
    command = readme_health_check()
    assert command.startswith(
        "printf 'PING\\n' | udptui --peer 127.0.0.1:9000 --jsonl --count 1 --idle-timeout "
    )
    with udp_socket() as echo:
        stop = threading.Event()

        def serve() -> None:
            echo.settimeout(0.1)
            while not stop.is_set():
                try:
                    data, sender = echo.recvfrom(100)
                except TimeoutError:
                    continue
                echo.sendto(data, sender)

        server = threading.Thread(target=serve, daemon=True)
        if answering:
            server.start()
        port = echo.getsockname()[1] if answering else closed_port()
        command = command.replace("| udptui ", f"| {' '.join(UDPTUI)} ").replace(":9000 ", f":{port} ")
        result = subprocess.run(
            ["sh", "-c", command], cwd=REPO, capture_output=True, text=True, timeout=WAIT_SECONDS * 2
        )
        stop.set()
        if answering:
            server.join()
    records = [json.loads(line) for line in result.stdout.splitlines()]
    if answering:
        assert result.returncode == 0, result.stderr
        assert [(record["dir"], record["text"]) for record in records] == [("out", "PING"), ("in", "PING")]
    else:
        assert result.returncode == 1, result.stderr
        assert [record["dir"] for record in records if record["dir"] != "note"] == ["out"]


def test_the_readmes_jq_example(headless: list[Headless]) -> None:
    """`udptui --listen PORT --jsonl | jq -r .text` prints the text of each datagram."""
    if shutil.which("jq") is None:
        pytest.fail("this test runs the README's example with jq: install it (apt-get install jq)")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = f"{' '.join(UDPTUI)} --listen {port} --jsonl --count 2 | jq -r .text"
    shell = subprocess.Popen(["sh", "-c", command], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert shell.stderr is not None
        assert LISTENING.match(read_line(shell.stderr).decode().strip())
        with udp_socket() as peer:
            peer.sendto(b"first line", ("127.0.0.1", port))
            peer.sendto(b"second", ("127.0.0.1", port))
        out, _ = shell.communicate(timeout=WAIT_SECONDS)
    finally:
        if shell.poll() is None:
            shell.kill()
    assert out.decode().splitlines() == ["first line", "second"]


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_ends_it_as_it_ends_the_screen(headless: list[Headless], number: signal.Signals) -> None:
    """Ctrl+C, SIGTERM, SIGHUP: status 128 + N, a last note saying why, no traceback."""
    udptui = start(headless, "--listen", "0", "--jsonl", "--count", "5", stdin=subprocess.DEVNULL)
    with udp_socket() as peer:
        peer.sendto(b"one", ("127.0.0.1", udptui.port))
        assert udptui.record()["text"] == "one"
    udptui.process.send_signal(number)
    status, records, errors = udptui.finish()
    assert status == 128 + number
    assert [(record["dir"], record["text"]) for record in records] == [("note", f"stopped by {number.name}")]
    assert errors == ""


def test_headless_never_imports_textual() -> None:
    """Headless mode runs without Textual: not one of its modules is loaded."""
    code = (
        "import sys\n"
        "from udptui.cli import main\n"
        "try:\n"
        "    main(['--listen', '0', '--jsonl', '--idle-timeout', '0.1'])\n"
        "except SystemExit as done:\n"
        "    status = done.code\n"
        "loaded = sorted(name for name in sys.modules if name.split('.')[0] in ('textual', 'rich'))\n"
        "print(status, loaded, flush=True)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.stdout.strip() == "1 []", result


def test_drops_are_said_as_a_note(headless: list[Headless]) -> None:
    """Datagrams the kernel dropped (a tiny buffer, a burst while stopped) become a note record."""
    udptui = start(headless, "--listen", "0", "--jsonl", "--rcvbuf", "1", stdin=subprocess.DEVNULL)
    os.kill(udptui.process.pid, signal.SIGSTOP)
    try:
        with udp_socket() as peer:
            for _ in range(200):
                peer.sendto(b"x" * 1000, ("127.0.0.1", udptui.port))
    finally:
        os.kill(udptui.process.pid, signal.SIGCONT)
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        record = udptui.record()
        if record["dir"] == "note":
            assert "datagrams dropped (receive buffer full)" in record["text"]
            return
    raise AssertionError("no note about dropped datagrams")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--listen", "0"), "the screen needs a terminal: run udptui in one, or add --jsonl"),
        (("--listen", "0", "--count", "3"), "--count works with --jsonl (headless mode) only"),
        (("--listen", "0", "--idle-timeout", "1"), "--idle-timeout works with --jsonl"),
        (("--listen", "0", "--jsonl", "--idle-timeout", "0"), "--idle-timeout: expected a positive number"),
        (("--listen", "0", "--jsonl", "--idle-timeout", "nan"), "--idle-timeout: expected a positive number"),
        (("--listen", "0", "--jsonl", "--count", "0"), "--count: 0 is out of range"),
    ],
)
def test_bad_starts_are_one_line_with_status_2(args: tuple[str, ...], words: str) -> None:
    """Without a terminal (standard input is /dev/null here) and without --jsonl, udptui says so
    in one line instead of failing inside Textual; headless flags alone are usage errors."""
    assert_one_line_error(run_udptui(*args), words)


def test_a_full_disk_on_standard_output_is_one_line_and_status_1() -> None:
    """`> /dev/full`: every write fails (ENOSPC); udptui says so once on stderr and ends with 1."""
    with open("/dev/full", "wb") as full:
        udptui = subprocess.Popen(
            [*UDPTUI, "--listen", "0", "--jsonl"],
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=full,
            stderr=subprocess.PIPE,
            bufsize=0,
        )
    try:
        assert udptui.stderr is not None
        port = LISTENING.match(read_line(udptui.stderr).decode())
        assert port is not None
        with udp_socket() as peer:
            peer.sendto(b"lost", ("127.0.0.1", int(port.group(1))))
        _, errors = udptui.communicate(timeout=WAIT_SECONDS)
    finally:
        if udptui.poll() is None:
            udptui.kill()
    assert udptui.returncode == 1
    assert errors.decode().splitlines() == [
        "udptui: standard output: No space left on device; it records nothing more"
    ]


def test_an_over_long_line_is_one_notice_and_the_next_line_goes(headless: list[Headless]) -> None:
    """A line of 3 MiB (more than any datagram) is not kept whole in memory: one notice, then on."""
    with udp_socket() as peer:
        udptui = start(headless, "--peer", f"127.0.0.1:{peer.getsockname()[1]}", "--jsonl")
        assert udptui.process.stdin is not None
        writer = threading.Thread(
            target=udptui.process.stdin.write, args=(b"x" * (3 * 1024 * 1024) + b"\nnext\n",)
        )
        writer.start()
        assert "over 1048576 bytes: not sent" in udptui.record()["text"]
        assert udptui.record()["text"] == "next"
        writer.join(WAIT_SECONDS)
        assert peer.recvfrom(100)[0] == b"next"


def test_standard_output_and_the_log_hold_the_same_records(headless: list[Headless], tmp_path: Path) -> None:
    """One schema: what `--jsonl` prints is, line for line, what `--log` appends."""
    log = tmp_path / "chat.jsonl"
    udptui = start(headless, "--listen", "0", "--jsonl", "--log", str(log), "--count", "2")
    with udp_socket() as peer:
        peer.sendto("héllo \u202e".encode(), ("127.0.0.1", udptui.port))
        assert udptui.record()["text"] == "héllo \u202e"
        udptui.type("/hex ff 00", "/nope")
        # Both typed lines are done before the second datagram, or --count 2 could end it first.
        printed = [read_line(udptui.stdout).decode().rstrip("\n") for _ in range(2)]
        peer.sendto(b"\xff\xfe", ("127.0.0.1", udptui.port))
        out, _ = udptui.process.communicate(timeout=WAIT_SECONDS)
    assert udptui.process.returncode == 0
    printed += out.decode().splitlines()
    assert len(printed) == 3  # the out datagram, the notice, the second in (the first was read above)
    assert log.read_text(encoding="utf-8").splitlines()[1:] == printed


def test_sigterm_ends_it_while_its_output_pipe_is_full(headless: list[Headless]) -> None:
    """`udptui --listen 0 --jsonl | sleep 60`, flooded: the write to the full pipe blocked and
    Python retried it after each signal, so SIGTERM only set a flag nobody looked at."""
    udptui = start(headless, "--listen", "0", "--jsonl", stdin=subprocess.DEVNULL)
    out_fd = udptui.stdout.fileno()
    deadline = time.monotonic() + WAIT_SECONDS
    with udp_socket() as peer:
        # Nobody reads standard output: send until the pipe holds a full buffer and more waits.
        while _unread(out_fd) < 60_000:
            assert time.monotonic() < deadline, f"the pipe holds only {_unread(out_fd)} bytes"
            for _ in range(50):
                peer.sendto(b"x" * 1000, ("127.0.0.1", udptui.port))
            time.sleep(0.01)
        for _ in range(200):  # more records than the pipe can take: udptui waits to write them
            peer.sendto(b"x" * 1000, ("127.0.0.1", udptui.port))
    time.sleep(0.2)
    udptui.process.send_signal(signal.SIGTERM)
    try:
        status = udptui.process.wait(timeout=WAIT_SECONDS)
    finally:
        udptui.kill()
    assert status == 128 + signal.SIGTERM


def _unread(fd: int) -> int:
    """Bytes waiting in a pipe, read end (FIONREAD)."""
    return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]  # type: ignore[no-any-return]


def test_clear_keeps_the_session_for_save(headless: list[Headless], tmp_path: Path) -> None:
    """As on the screen, /clear never loses entries for /save: without a screen it says so."""
    udptui = start(headless, "--listen", "0", "--jsonl")
    saved = tmp_path / "session.jsonl"
    with udp_socket() as peer:
        peer.sendto(b"keep me", ("127.0.0.1", udptui.port))
        assert udptui.record()["text"] == "keep me"
    udptui.type("/clear", f"/save {saved}")
    assert "nothing to clear" in udptui.record()["text"]
    assert udptui.record()["text"].startswith("saved ")
    assert any(json.loads(line).get("text") == "keep me" for line in saved.read_text().splitlines())
    udptui.process.send_signal(signal.SIGTERM)
    assert udptui.finish()[0] == 128 + signal.SIGTERM
