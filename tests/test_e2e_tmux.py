"""End-to-end: the real `udptui` program in tmux, typed into and read off the screen.

Each test gets a private tmux server (`tmux -L udptui-e2e-<random>`), starts `udptui` and
the tutorial's example scripts in sessions of their own, types with `send-keys` and reads
with `capture-pane`. Every wait polls the screen up to a deadline; nothing asserts on time.
All traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

UDPTUI = Path(sys.executable).parent / "udptui"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DEADLINE = 10.0
"""Seconds a wait may poll the screen before the test fails."""
WIDTH, HEIGHT = 110, 32


def udptui_path() -> str:
    """The console script next to this interpreter; a clear failure when it is not installed."""
    if not UDPTUI.exists():
        pytest.fail(f"no udptui console script at {UDPTUI}: install the package (pip install -e .)")
    return str(UDPTUI)


def udptui_command(*args: str) -> str:
    # No stderr redirection: Textual draws on stderr.
    return shlex.join([udptui_path(), *args])


def example_command(script: str, *args: str) -> str:
    return shlex.join([sys.executable, "-u", str(EXAMPLES / script), *args])


class Tmux:
    """One private tmux server; sessions are addressed by exact name."""

    def __init__(self, executable: str, socket_name: str) -> None:
        self.executable = executable
        self.socket_name = socket_name
        self.env = {key: value for key, value in os.environ.items() if key != "TMUX"}
        self.env["PATH"] = os.pathsep.join([str(UDPTUI.parent), self.env.get("PATH", "")])
        self.socket_path: str | None = None

    def tmux(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(
            [self.executable, "-L", self.socket_name, "-f", os.devnull, *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=DEADLINE,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def start(self, name: str, command: str, *, width: int = WIDTH) -> None:
        """Run `command` in a new detached session of 110 (or `width`) x 32 cells."""
        self.tmux("new-session", "-d", "-s", name, "-x", str(width), "-y", str(HEIGHT), command)
        if self.socket_path is None:
            self.socket_path = self.tmux("display-message", "-p", "#{socket_path}").strip()

    def screen(self, name: str) -> str:
        return self.tmux("capture-pane", "-p", "-t", f"={name}:")

    def title(self, name: str) -> str:
        return self.tmux("display-message", "-p", "-t", f"={name}:", "#{pane_title}").rstrip("\n")

    def type(self, name: str, text: str, *, enter: bool = True) -> None:
        self.tmux("send-keys", "-t", f"={name}:", "-l", text)
        if enter:
            self.tmux("send-keys", "-t", f"={name}:", "Enter")

    def key(self, name: str, key: str) -> None:
        self.tmux("send-keys", "-t", f"={name}:", key)

    def wait_for(self, name: str, condition: str | Callable[[str], bool]) -> str:
        """Poll the screen until it contains the text (or the predicate holds); return the screen."""
        check = (lambda screen: condition in screen) if isinstance(condition, str) else condition
        deadline = time.monotonic() + DEADLINE
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen(name)
            if check(screen):
                return screen
            time.sleep(0.05)
        wanted = repr(condition) if isinstance(condition, str) else "the condition"
        raise AssertionError(f"{wanted} did not show in {name!r} within {DEADLINE} s; screen:\n{screen}")

    def kill_server(self) -> None:
        """End the server and every program in it; tmux leaves its socket file, so remove it."""
        self.tmux("kill-server", check=False)
        if self.socket_path:
            Path(self.socket_path).unlink(missing_ok=True)


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    executable = shutil.which("tmux")
    if executable is None:
        pytest.fail("tmux is not on PATH: these end-to-end tests need it (apt-get install tmux)")
    server = Tmux(executable, f"udptui-e2e-{secrets.token_hex(6)}")
    try:
        yield server
    finally:
        server.kill_server()


@pytest.fixture
def plain_socket() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(DEADLINE)
    try:
        yield sock
    finally:
        sock.close()


def start_listener(tmux: Tmux, name: str, *args: str, width: int = WIDTH) -> int:
    """Start `udptui --listen 0 ...` and return the port it bound, read from its header."""
    tmux.start(name, udptui_command("--listen", "0", *args), width=width)
    listening = re.compile(r"listening on \S+:(\d+)")
    match = listening.search(tmux.wait_for(name, lambda screen: listening.search(screen) is not None))
    assert match is not None
    return int(match.group(1))


def bound_port(screen: str) -> int:
    match = re.search(r"bound to \S+:(\d+)", screen)
    assert match is not None, f"no `bound to` in the header:\n{screen}"
    return int(match.group(1))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


PANE_BORDER = "▏"
"""The left edge of the peers pane, shown beside the log on a 110-column screen."""


def log_side(screen: str) -> list[str]:
    """The screen's lines without the peers pane."""
    return [line.split(PANE_BORDER, 1)[0] for line in screen.splitlines()]


def received_lines(screen: str, sender: str) -> list[str]:
    """The payload part of each `← sender  payload` line on the screen."""
    marker = f"← {sender}  "
    return [line.split(marker, 1)[1].rstrip() for line in log_side(screen) if marker in line]


def test_two_udptui_processes_chat_both_ways(tmux: Tmux) -> None:
    port = start_listener(tmux, "alpha")
    tmux.start("beta", udptui_command("--peer", f"127.0.0.1:{port}"))
    beta_screen = tmux.wait_for("beta", f"peer 127.0.0.1:{port}")
    beta_port = bound_port(beta_screen)

    tmux.type("beta", "hello from beta")
    alpha_screen = tmux.wait_for("alpha", f"← 127.0.0.1:{beta_port}  hello from beta")
    assert f"peer 127.0.0.1:{beta_port}" in alpha_screen.splitlines()[0]
    tmux.wait_for("beta", f"→ 127.0.0.1:{port}  hello from beta")

    tmux.type("alpha", "hi beta, alpha here")
    tmux.wait_for("beta", f"← 127.0.0.1:{port}  hi beta, alpha here")
    tmux.wait_for("alpha", f"→ 127.0.0.1:{beta_port}  hi beta, alpha here")


def test_listen_against_the_tutorial_client(tmux: Tmux) -> None:
    port = start_listener(tmux, "app")
    client = example_command("tutorial_client.py", "127.0.0.1", str(port), "--send", "ping")
    tmux.start("client", client + "; echo EXITED $?; sleep 30")
    arrived = re.compile(r"← 127\.0\.0\.1:(\d+)  ping")
    match = arrived.search(tmux.wait_for("app", lambda screen: arrived.search(screen) is not None))
    assert match is not None
    client_port = int(match.group(1))
    tmux.wait_for("app", f"peer 127.0.0.1:{client_port}")

    tmux.type("app", "pong from udptui")
    client_screen = tmux.wait_for("client", "EXITED 0")
    assert client_screen.splitlines()[:3] == ["sent ping", "pong from udptui", "EXITED 0"]


def test_peer_against_the_tutorial_server(tmux: Tmux) -> None:
    port = free_port()
    tmux.start("server", example_command("tutorial_server.py", "127.0.0.1", str(port), "--reply", "ok!"))
    tmux.wait_for("server", f"listening on 127.0.0.1:{port}")
    tmux.start("app", udptui_command("--peer", f"127.0.0.1:{port}"))
    tmux.wait_for("app", f"peer 127.0.0.1:{port}")

    tmux.type("app", "hello, tutorial server")
    tmux.wait_for("server", "hello, tutorial server")
    tmux.wait_for("app", f"← 127.0.0.1:{port}  ok!")


def test_round_trip_time_of_the_tutorial_servers_reply_and_a_counted_repeat(
    tmux: Tmux, tmp_path: Path
) -> None:
    port = free_port()
    tmux.start("server", example_command("tutorial_server.py", "127.0.0.1", str(port), "--reply", "ok!"))
    tmux.wait_for("server", f"listening on 127.0.0.1:{port}")
    messages = tmp_path / "messages.toml"
    tmux.start("app", udptui_command("--peer", f"127.0.0.1:{port}", "--messages", str(messages)))
    tmux.wait_for("app", f"peer 127.0.0.1:{port}")

    tmux.type("app", "are you there?")
    reply = re.compile(rf"← 127\.0\.0\.1:{port}  ok!  \[↩ [\d.,]+ ms\]")
    screen = tmux.wait_for("app", lambda screen: reply.search(screen) is not None)
    assert re.search(r"rtt [\d.,]+/[\d.,]+/[\d.,]+ ms", screen), screen  # min/avg/max in the peers pane

    tmux.type("app", "/repeat 5 10ms ping")
    tmux.wait_for(
        "app",
        lambda screen: (
            re.search(rf"→ 127\.0\.0\.1:{port}  ping  \[\u00d75 at [\d.,]+/s\]", screen) is not None
        ),
    )
    tmux.wait_for("server", lambda screen: screen.count("ping") == 5)


def run_boundaries_client(port: int) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "tutorial_client.py"), "127.0.0.1", str(port), "--boundaries"],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert done.returncode == 0, done.stderr


def test_datagram_boundaries_hello_world_egon_are_three_entries(tmux: Tmux) -> None:
    port = start_listener(tmux, "app")
    run_boundaries_client(port)
    screen = tmux.wait_for("app", lambda s: "egon" in s)
    payloads = [line.split("  ", 1)[1].rstrip() for line in log_side(screen) if " ← 127.0.0.1:" in line]
    assert payloads == ["hello", "world", "egon"], screen


def test_bufsize_1_cuts_each_datagram_to_one_byte(tmux: Tmux) -> None:
    port = start_listener(tmux, "app", "--bufsize", "1")
    run_boundaries_client(port)
    screen = tmux.wait_for("app", "4 bytes sent, 1 kept")
    payloads = [line.split("  ", 1)[1].rstrip() for line in log_side(screen) if " ← 127.0.0.1:" in line]
    assert payloads == [
        "h  [truncated: 5 bytes sent, 1 kept]",
        "w  [truncated: 5 bytes sent, 1 kept]",
        "e  [truncated: 4 bytes sent, 1 kept]",
    ], screen


HOSTILE: list[tuple[bytes, str]] = [
    (b"\x1b]0;PWNED\x07", r"\x{1b}]0;PWNED\x{07}"),
    (b"\x1b]2;PWNED\x1b\\", "\\x{1b}]2;PWNED\\x{1b}\\"),
    (b"\x1b[2J", r"\x{1b}[2J"),
    (b"\x1b[H", r"\x{1b}[H"),
    ("\x9b2J".encode(), r"\x{9b}2J"),
    ("abc\u202edef".encode(), r"abc\u{202e}def"),
    (b"[@click=app.quit]x[/]", "[@click=app.quit]x[/]"),
    (b"\xff\xfe\x1b[2J", "6 B  ff fe 1b 5b 32 4a  ...[2J"),
    (b"\x124 col\tumn", r"\x{12}4 col→    umn"),
]
"""What a hostile peer sends, and text that must show on screen for it instead."""


def test_hostile_payloads_show_as_text_and_do_not_reach_the_terminal(
    tmux: Tmux, plain_socket: socket.socket
) -> None:
    port = start_listener(tmux, "app")
    tmux.key("app", "F2")  # hide the peers pane: the longest line needs the full width
    tmux.wait_for("app", lambda screen: "no peers yet" not in screen)
    me = f"127.0.0.1:{plain_socket.getsockname()[1]}"
    plain_socket.sendto(b"an honest first message", ("127.0.0.1", port))
    tmux.wait_for("app", f"← {me}  an honest first message")
    title_before = tmux.title("app")

    for payload, _ in HOSTILE:
        plain_socket.sendto(payload, ("127.0.0.1", port))
    plain_socket.sendto(b"the last one", ("127.0.0.1", port))
    screen = tmux.wait_for("app", f"← {me}  the last one")

    title_after = tmux.title("app")
    assert "PWNED" not in title_after
    assert title_after == title_before
    lines = received_lines(screen, me)
    assert lines[0] == "an honest first message", screen
    assert len(lines) == len(HOSTILE) + 2, screen
    for (_, visible), line in zip(HOSTILE, lines[1:-1], strict=True):
        assert visible in line, f"expected {visible!r} in {line!r}"
    assert screen.splitlines()[0].startswith(" udptui  listening on"), screen  # no cursor jump, no clear

    tmux.type("app", "still here")
    reply, sender = plain_socket.recvfrom(1024)
    assert reply == b"still here"
    assert sender[1] == port
    tmux.wait_for("app", f"→ {me}  still here")


@pytest.mark.parametrize("key", ["C-q", "C-c"])
def test_quit_key_ends_the_process_with_status_0(tmux: Tmux, key: str) -> None:
    tmux.start("app", udptui_command("--listen", "0") + "; echo EXITED $?; sleep 30")
    tmux.wait_for("app", "listening on")
    tmux.key("app", key)
    tmux.wait_for("app", "EXITED 0")


def test_port_out_of_range_is_one_line_and_status_2() -> None:
    done = subprocess.run(
        [udptui_path(), "--listen", "99999"], capture_output=True, text=True, timeout=DEADLINE
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith("udptui: error:") and "99999" in done.stderr


def test_to_picks_one_of_two_peers_hex_sends_raw_bytes_and_log_keeps_it_all(
    tmux: Tmux, plain_socket: socket.socket, tmp_path: Path
) -> None:
    log_file = tmp_path / "udptui.jsonl"
    tmux.start("app", udptui_command("--listen", "0", "--log", str(log_file)) + "; echo EXITED $?; sleep 30")
    listening = re.compile(r"listening on \S+:(\d+)")
    match = listening.search(tmux.wait_for("app", lambda screen: listening.search(screen) is not None))
    assert match is not None
    app = ("127.0.0.1", int(match.group(1)))
    first = plain_socket
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as second:
        second.bind(("127.0.0.1", 0))
        me, other = (f"127.0.0.1:{sock.getsockname()[1]}" for sock in (first, second))
        first.sendto(b"from the first", app)
        tmux.wait_for("app", f"← {me}  from the first")
        second.sendto(b"from the second", app)
        tmux.wait_for("app", f"peer {other}  follow")  # follow mode: the last sender is the target

        tmux.type("app", f"/to {me}")
        tmux.wait_for("app", f"peer {me}  pinned")
        tmux.type("app", "only for the first")
        assert first.recvfrom(1024) == (b"only for the first", app)
        tmux.type("app", "/hex 00 ff 41")
        assert first.recvfrom(1024) == (b"\x00\xffA", app)
        second.settimeout(0.3)  # loopback delivers at once: a short wait proves nothing came
        with pytest.raises(TimeoutError):
            second.recvfrom(1024)
        tmux.wait_for("app", f"→ {me}  3 B  00 ff 41  ..A")  # binary shows its size and bytes first

    tmux.key("app", "C-q")
    tmux.wait_for("app", "EXITED 0")
    records = [json.loads(line) for line in log_file.read_text(encoding="utf-8").splitlines()]
    datagrams = [
        (record["dir"], record["peer"], record["len"], record.get("text"), record.get("hex"))
        for record in records
        if record["dir"] != "note"
    ]
    assert datagrams == [
        ("in", me, 14, "from the first", None),
        ("in", other, 15, "from the second", None),
        ("out", me, 18, "only for the first", None),
        ("out", me, 3, None, "00ff41"),
    ], records
    for record in records:
        assert datetime.fromisoformat(record["ts"]).utcoffset() is not None, record
        assert re.search(r"T\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d$", record["ts"]), record


def test_a_multi_line_paste_goes_as_one_datagram_holding_its_newlines(
    tmux: Tmux, plain_socket: socket.socket
) -> None:
    """A bracketed paste, as a terminal sends it (tmux turns each line break into \\r)."""
    app = ("127.0.0.1", start_listener(tmux, "app"))
    me = f"127.0.0.1:{plain_socket.getsockname()[1]}"
    plain_socket.sendto(b"ping", app)
    tmux.wait_for("app", f"peer {me}  follow")
    tmux.tmux("set-buffer", "-b", "clip", "line one\nline two\nline three")
    tmux.tmux("paste-buffer", "-p", "-b", "clip", "-t", "=app:")
    tmux.wait_for("app", "line one⏎line two⏎line three")
    tmux.key("app", "Enter")
    assert plain_socket.recvfrom(1024) == (b"line one\nline two\nline three", app)
    plain_socket.settimeout(0.3)  # loopback delivers at once: a short wait proves nothing more came
    with pytest.raises(TimeoutError):
        plain_socket.recvfrom(1024)
    tmux.wait_for("app", f"→ {me}  line one\\x{{0a}}line two\\x{{0a}}line three")


HEX_ROW = re.compile(r"([0-9a-f]{8}): ")
HEX_ASCII_COLUMN = 10 + 39 + 2
"""Where the ASCII column of a 16-byte `xxd` row starts, from its offset."""


def test_a_real_dig_query_shows_its_size_first_and_f6_shows_its_name_in_hex(tmux: Tmux) -> None:
    dig = shutil.which("dig")
    if dig is None:
        pytest.fail("dig is not on PATH: this test needs it (apt-get install dnsutils)")
    # Raw bytes, as any binary datagram shows: a decoded one reads `DNS query …` (test_e2e_decoders).
    port = start_listener(tmux, "app", "--bind", "127.0.0.1", "--decode", "none", width=80)
    query = subprocess.Popen(
        [dig, "@127.0.0.1", "-p", str(port), "example.com", "+tries=1", "+time=1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        size_first = re.compile(r"← 127\.0\.0\.1:\d+  (\d+) B  [0-9a-f]{2} [0-9a-f]{2} ")
        screen = tmux.wait_for("app", lambda screen: size_first.search(screen) is not None)
        match = size_first.search(screen)
        assert match is not None
        size = int(match.group(1))
        assert 28 <= size <= 80, screen  # a DNS query for example.com, with or without EDNS

        tmux.key("app", "F6")
        screen = tmux.wait_for("app", f"Hex: {size} bytes")
        ascii_column = ""
        for line in screen.splitlines():
            row = HEX_ROW.search(line)
            if row is not None:
                ascii_column += line[row.start() + HEX_ASCII_COLUMN :].rstrip().ljust(16)
        assert "example" in ascii_column and "com" in ascii_column, screen
    finally:
        query.wait(timeout=DEADLINE)


def test_relay_between_the_tutorial_client_and_server(tmux: Tmux) -> None:
    """`udptui --listen 0 --forward` between the tutorial's scripts: the client's `ping` goes up
    to the server through the relay, the server's `ok!` comes down to the client, and udptui
    shows both, with the client, and lists the client in its pane."""
    server_port = free_port()
    tmux.start(
        "server", example_command("tutorial_server.py", "127.0.0.1", str(server_port), "--reply", "ok!")
    )
    tmux.wait_for("server", f"listening on 127.0.0.1:{server_port}")
    tmux.start(
        "relay",
        udptui_command("--listen", "0", "--bind", "127.0.0.1", "--forward", f"127.0.0.1:{server_port}"),
    )
    relaying = re.compile(r"relaying 127\.0\.0\.1:(\d+) → 127\.0\.0\.1:" + str(server_port))
    match = relaying.search(tmux.wait_for("relay", lambda screen: relaying.search(screen) is not None))
    assert match is not None
    relay_port = int(match.group(1))
    assert "to server" in tmux.screen("relay").splitlines()[0]

    client = example_command("tutorial_client.py", "127.0.0.1", str(relay_port), "--send", "ping")
    tmux.start("client", client + "; echo EXITED $?; sleep 30")
    client_screen = tmux.wait_for("client", "EXITED 0")
    assert client_screen.splitlines()[:3] == ["sent ping", "ok!", "EXITED 0"]
    tmux.wait_for("server", "ping")
    up = re.compile(r"↑ client 127\.0\.0\.1:(\d+) → server  ping")
    screen = tmux.wait_for("relay", lambda screen: up.search(screen) is not None and "ok!" in screen)
    found = up.search(screen)
    assert found is not None
    client_port = found.group(1)
    assert f"↓ server → client 127.0.0.1:{client_port}  ok!" in screen
    assert f"client 127.0.0.1:{client_port}: new session, upstream port" in screen
    pane = [line.split(PANE_BORDER, 1)[1] for line in screen.splitlines() if PANE_BORDER in line]
    assert any(f"127.0.0.1:{client_port}" in line for line in pane), screen


def test_relay_with_loss_marks_the_lost_datagrams_both_ways(tmux: Tmux) -> None:
    """`--loss 50% --seed 1` on a relay between the tutorial's scripts (both ways, the relay's
    default): the three datagrams of `--boundaries` go up, and those the seed drops are
    marked `✗ dropped by --loss` and never reach the server; of the server's replies, those
    the seed drops on the way down are marked too. The seed decides: the test works it out."""
    import random

    up_draws, down_draws = random.Random(1), random.Random("1/down")
    words = ["hello", "world", "egon"]
    lost_up = [word for word in words if up_draws.random() < 0.5]
    arrived = [word for word in words if word not in lost_up]
    lost_down = [draw < 0.5 for draw in (down_draws.random() for _ in arrived)]
    assert lost_up and arrived  # the seed shows both fates

    server_port = free_port()
    tmux.start(
        "server", example_command("tutorial_server.py", "127.0.0.1", str(server_port), "--reply", "ok!")
    )
    tmux.wait_for("server", f"listening on 127.0.0.1:{server_port}")
    relay_args = ["--listen", "0", "--bind", "127.0.0.1", "--forward", f"127.0.0.1:{server_port}"]
    tmux.start("relay", udptui_command(*relay_args, "--loss", "50%", "--seed", "1"), width=130)
    relaying = re.compile(r"relaying 127\.0\.0\.1:(\d+) → ")
    match = relaying.search(tmux.wait_for("relay", lambda screen: relaying.search(screen) is not None))
    assert match is not None
    tmux.start("client", example_command("tutorial_client.py", "127.0.0.1", match.group(1), "--boundaries"))

    def settled(screen: str) -> bool:
        return screen.count("↑ client") == 3 and screen.count("↓ server") == len(arrived)

    screen = tmux.wait_for("relay", settled)
    lines = log_side(screen)
    for word in words:
        line = next(line for line in lines if f"→ server  {word}" in line)
        assert ("✗ dropped by --loss" in line) == (word in lost_up), line
    down = [line for line in lines if "↓ server → client" in line]
    assert [("✗ dropped by --loss" in line) for line in down] == lost_down, down
    assert "impair⇅ loss 50%" in screen  # the status bar says what is on
    server_screen = tmux.wait_for("server", arrived[-1])
    for word in lost_up:
        assert word not in server_screen.splitlines()[1:]
