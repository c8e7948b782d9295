"""The flood as a user feels it: the real `udptui` in a real terminal (tmux), read off its screen.

The status bar's `rx` and `dropped` are the counts; CPU per datagram comes from
/proc/PID/task/TID/schedstat (the main thread draws, the busiest other thread receives).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from threads import busiest_other, per_datagram_us, threads_ns

HOST = "127.0.0.1"
WARM_UP = 200
QUIET = 0.7
"""The screen's counts are final when they have not moved for this long."""
RUN_LIMIT = 60.0


@dataclass
class TerminalRun:
    sent: int = 0
    received: int = 0
    dropped: int = 0
    unaccounted: int = 0
    cpu_us: dict[str, float] = field(default_factory=dict)
    timed_out: bool = False
    screen: str = ""


def tmux(server: str, *args: str) -> str:
    done = subprocess.run(["tmux", "-L", server, *args], capture_output=True, text=True, timeout=10)
    return done.stdout


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def counts(screen: str) -> tuple[int, int] | None:
    """(rx, dropped) from the status bar, or None when it is not drawn."""
    rx = re.search(r"rx ([\d,]+)", screen)  # the bar writes thousands with commas
    dropped = re.search(r"dropped ([\d,]+)", screen)
    if rx is None or dropped is None:
        return None
    return int(rx.group(1).replace(",", "")), int(dropped.group(1).replace(",", ""))


def wait_counts(server: str, target: str, condition: object = None) -> tuple[tuple[int, int], bool]:
    """Poll the screen until its counts stop moving for QUIET seconds."""
    deadline = time.monotonic() + RUN_LIMIT
    seen = counts(tmux(server, "capture-pane", "-p", "-t", target))
    since = time.monotonic()
    while time.monotonic() - since < QUIET:
        time.sleep(0.05)
        now = counts(tmux(server, "capture-pane", "-p", "-t", target))
        if now != seen:
            seen, since = now, time.monotonic()
        if time.monotonic() > deadline:
            return seen or (0, 0), True
    return seen or (0, 0), False


def terminal_run(command: list[str], sender: Path, count: int, rate: int = 0, size: int = 64) -> TerminalRun:
    """One flood into `udptui --listen PORT` running in a 110x32 tmux window."""
    server = f"udptui-flood-{os.getpid()}"
    port = free_port()
    result = TerminalRun()
    socket_path = ""
    try:
        tmux(
            server,
            "new-session",
            "-d",
            "-s",
            "flood",
            "-x",
            "110",
            "-y",
            "32",
            " ".join([*command, "--listen", str(port)]),
        )
        socket_path = tmux(server, "display-message", "-p", "#{socket_path}").strip()
        deadline = time.monotonic() + 10
        while "listening on" not in tmux(server, "capture-pane", "-p", "-t", "flood"):
            if time.monotonic() > deadline:
                raise RuntimeError("udptui did not start in tmux")
            time.sleep(0.05)
        pid = int(tmux(server, "display-message", "-p", "-t", "flood", "#{pane_pid}").strip())
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as warm:
            for number in range(WARM_UP):
                warm.sendto(number.to_bytes(8, "big") + b"w" * 56, (HOST, port))
                if number % 20 == 19:
                    time.sleep(0.01)
        (rx_before, dropped_before), _ = wait_counts(server, "flood")
        before = threads_ns(pid)
        done = subprocess.run(
            [str(sender), HOST, str(port), str(count), str(rate), str(size)],
            capture_output=True,
            check=True,
        )
        result.sent = int(done.stdout.split()[1])
        (rx, dropped), result.timed_out = wait_counts(server, "flood")
        after = threads_ns(pid)
        result.received, result.dropped = rx - rx_before, dropped - dropped_before
        result.unaccounted = result.sent - result.received - result.dropped
        receiver = busiest_other(before, after, pid)
        result.cpu_us = {
            "receive": per_datagram_us(
                before.get(receiver or 0, 0), after.get(receiver or 0, 0), result.received
            ),
            "ui": per_datagram_us(before.get(pid, 0), after.get(pid, 0), result.received),
            "process": per_datagram_us(sum(before.values()), sum(after.values()), result.received),
        }
        result.screen = tmux(server, "capture-pane", "-p", "-t", "flood").rstrip().splitlines()[-2:][0]
    finally:
        subprocess.run(["tmux", "-L", server, "kill-server"], capture_output=True)
        if socket_path:  # tmux leaves its socket file behind after kill-server
            Path(socket_path).unlink(missing_ok=True)
    return result
