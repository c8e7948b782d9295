"""End-to-end: real `dig` and `logger` against the real `udptui` in tmux, 110 columns wide."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from test_e2e_tmux import DEADLINE, Tmux, log_side, start_listener, tmux

__all__ = ["tmux"]  # the fixture, shared with test_e2e_tmux.py


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not on PATH: this test drives the real tool (see .ci/run)")
    return path


def test_dig_and_logger_show_as_decoded_lines(tmux: Tmux) -> None:
    port = start_listener(tmux, "app")
    tmux.key("app", "F2")  # hide the peers pane: the log gets the whole 110 columns
    tmux.wait_for("app", lambda screen: "▏" not in screen.splitlines()[1])

    dig = [tool("dig"), "@127.0.0.1", "-p", str(port), "example.com", "+tries=1", "+time=1"]
    subprocess.run(dig, capture_output=True, timeout=DEADLINE)  # no answer comes: dig gives up
    screen = tmux.wait_for("app", "DNS query A example.com  id ")

    logger = [tool("logger"), "-n", "127.0.0.1", "-P", str(port), "-d", "--rfc5424=nohost"]
    subprocess.run([*logger, "-p", "user.warning", "-t", "backup", "disk /var is 93% full"], check=True)
    screen = tmux.wait_for("app", "syslog user.warning backup: disk /var is 93% full")
    lines = [line for line in log_side(screen) if "← 127.0.0.1:" in line]
    assert len(lines) == 2 and all(len(line.rstrip()) <= 110 for line in lines)
