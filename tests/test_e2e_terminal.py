"""End-to-end: the terminal is always given back, and udptui always ends.

`kill -TERM` (as `timeout` or a service manager sends), `kill -HUP` and `kill -INT` quit
as Ctrl+Q does: the pane leaves the alternate screen with mouse reporting off, the shell
sees 128 + the signal's number, and the `--log` transcript holds everything. When the
terminal disappears (the tmux session or server killed), udptui is gone within 2 s, even
when no SIGHUP reaches it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import shutil
import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from test_e2e_tmux import DEADLINE, Tmux, udptui_command

from udptui.ui.terminal import TerminalOutput

GONE_WITHIN = 2.0
"""Seconds the issue allows udptui to outlive its terminal."""


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    """A private tmux server, as in test_e2e_tmux."""
    executable = shutil.which("tmux")
    if executable is None:
        pytest.fail("tmux is not on PATH: these end-to-end tests need it (apt-get install tmux)")
    server = Tmux(executable, f"udptui-e2e-{secrets.token_hex(6)}")
    try:
        yield server
    finally:
        server.kill_server()


@pytest.fixture
def peer() -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(DEADLINE)
        yield sock


def pane(tmux: Tmux, name: str, *formats: str) -> list[str]:
    """tmux format variables of the session's pane, e.g. `alternate_on`."""
    line = tmux.tmux("display-message", "-p", "-t", f"={name}:", " ".join(f"#{{{f}}}" for f in formats))
    return line.split()


def udptui_pid(tmux: Tmux, name: str) -> int:
    """The udptui process: the one child of the pane's shell."""
    shell = int(pane(tmux, name, "pane_pid")[0])
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        children = Path(f"/proc/{shell}/task/{shell}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.05)
    raise AssertionError(f"no child of the pane's shell {shell}")


def running(pid: int) -> bool:
    """Alive and not a zombie (a zombie has exited; only its parent's wait is missing)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_gone(pid: int, deadline: float, poke: Callable[[], object] = lambda: None) -> bool:
    """Poll until the process is gone, calling `poke` between looks."""
    limit = time.monotonic() + deadline
    while time.monotonic() < limit:
        if not running(pid):
            return True
        poke()
        time.sleep(0.01)
    return not running(pid)


def listening_port(screen: str) -> int:
    return int(screen.split("listening on ", 1)[1].split()[0].rsplit(":", 1)[1])


def mouse_and_screen(tmux: Tmux, name: str) -> list[str]:
    return pane(tmux, name, "alternate_on", "mouse_any_flag", "mouse_all_flag", "mouse_sgr_flag")


@pytest.mark.parametrize(("signal_name", "status"), [("TERM", 143), ("HUP", 129), ("INT", 130)])
def test_a_signal_gives_the_terminal_back_and_keeps_the_transcript(
    tmux: Tmux, peer: socket.socket, tmp_path: Path, signal_name: str, status: int
) -> None:
    log = tmp_path / "chat.jsonl"
    command = udptui_command("--listen", "0", "--log", str(log))
    tmux.start("app", f"{command}; echo EXIT=$?; sleep 30")
    port = listening_port(tmux.wait_for("app", "listening on"))
    me = f"127.0.0.1:{peer.getsockname()[1]}"
    peer.sendto("hello 你好".encode(), ("127.0.0.1", port))
    tmux.wait_for("app", f"← {me}  hello 你好")
    tmux.type("app", "a reply")
    assert peer.recvfrom(1024)[0] == b"a reply"
    assert mouse_and_screen(tmux, "app") == ["1", "1", "1", "1"]  # what there is to give back

    pid = udptui_pid(tmux, "app")
    os.kill(pid, signal.Signals[f"SIG{signal_name}"])
    tmux.wait_for("app", f"EXIT={status}")
    assert mouse_and_screen(tmux, "app") == ["0", "0", "0", "0"]
    assert pane(tmux, "app", "cursor_flag") == ["1"]

    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert [(r["dir"], r["text"]) for r in records] == [
        ("in", "hello 你好"),
        ("out", "a reply"),
        ("note", f"stopped by SIG{signal_name}"),
    ]


@pytest.mark.parametrize("how", ["kill-session", "kill-server"])
@pytest.mark.parametrize("hup", ["sent", "ignored"])
def test_udptui_ends_when_its_terminal_disappears(
    tmux: Tmux, peer: socket.socket, tmp_path: Path, how: str, hup: str
) -> None:
    """`ignored`: the shell ignores SIGHUP, so it lives on and no SIGHUP reaches udptui (as
    under nohup, or a shell that does not pass it on); udptui must notice the hang-up itself.
    Before the fix it stayed, one thread spinning a core on EOF. Datagrams keep arriving
    meanwhile, so the screen keeps writing to the dead terminal."""
    prefix = "trap '' HUP; " if hup == "ignored" else ""
    log = tmp_path / "chat.jsonl"
    tmux.start("app", f"{prefix}{udptui_command('--listen', '0', '--log', str(log))}; sleep 30")
    port = listening_port(tmux.wait_for("app", "listening on"))
    pid = udptui_pid(tmux, "app")
    if how == "kill-session":
        tmux.start("keep", "sleep 60")  # the server stays; only the session goes
        tmux.tmux("kill-session", "-t", "=app")
    else:
        tmux.tmux("kill-server")
    try:

        def poke() -> None:
            with contextlib.suppress(OSError):  # a port closed a moment ago may answer ICMP
                peer.sendto(b"still there?", ("127.0.0.1", port))

        assert wait_gone(pid, GONE_WITHIN, poke), f"udptui ({pid}) still running {GONE_WITHIN} s after {how}"
    finally:
        if running(pid):
            os.kill(pid, 9)
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert records[-1]["dir"] == "note", records
    # With SIGHUP sent, it may come before or after udptui sees the hang-up itself.
    expected = {"stopped: the terminal hung up"} | ({"stopped by SIGHUP"} if hup == "sent" else set())
    assert records[-1]["text"] in expected, records


def test_writes_to_a_dead_terminal_are_dropped_not_raised() -> None:
    """A pty whose other side closed answers writes with EIO: the writer thread must not die
    of it (its queue would fill and block the screen's next write for good)."""
    primary, secondary = os.openpty()
    stream = os.fdopen(secondary, "w", encoding="utf-8")
    failures: list[bool] = []
    try:
        output = TerminalOutput(stream, lambda: failures.append(True))
        assert output.write("alive\n") == 6
        output.flush()
        assert os.read(primary, 100) == b"alive\r\n"
        os.close(primary)
        with pytest.raises(OSError) as caught:  # what the terminal itself now says
            os.write(secondary, b"x")
        assert caught.value.errno == errno.EIO
        for _ in range(100):
            assert output.write("\x1b[?1049l" * 100) == 800
            output.flush()
        assert output.dead and failures == [True]
    finally:
        with contextlib.suppress(OSError):  # its buffer still holds what could not be written
            stream.close()


def test_datagrams_still_held_at_quit_are_said_on_the_terminal(tmux: Tmux, peer: socket.socket) -> None:
    """`--delay 5s` and Ctrl+Q at once: the screen closes, and the shell's terminal says what
    never went, as the transcript does."""
    me = f"127.0.0.1:{peer.getsockname()[1]}"
    command = udptui_command("--peer", me, "--delay", "5s")
    tmux.start("app", f"{command}; echo EXIT=$?; sleep 30")
    tmux.wait_for("app", f"peer {me}")
    tmux.type("app", "held")
    tmux.wait_for("app", "held  [delayed 5000.0 ms]")
    tmux.tmux("send-keys", "-t", "=app:", "C-q")
    screen = tmux.wait_for("app", "EXIT=0")
    assert "udptui: 1 datagram held back by impairments never went: udptui stopped first" in screen
