"""The tutorial's scripts in `examples/`: `--help` answers instead of taking itself for a
host, and the client's `--timeout` says a reply never came instead of waiting forever."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import udp_socket

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(EXAMPLES / name), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)


def test_help_prints_the_usage() -> None:
    for name in ("tutorial_server.py", "tutorial_client.py"):
        result = run_example(name, "--help")
        assert result.returncode == 0 and not result.stderr, (name, result.stderr)
        assert f"python {name} [HOST] [PORT]" in result.stdout, result.stdout


def test_the_client_gives_up_on_a_lost_reply_with_timeout() -> None:
    with udp_socket() as silent:  # takes the datagram and never answers, as if it were lost
        port = silent.getsockname()[1]
        result = run_example(
            "tutorial_client.py", "127.0.0.1", str(port), "--timeout", "0.2", "--send", "a", "b"
        )
        assert silent.recv(100) == b"a" and silent.recv(100) == b"b"
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "sent a",
        "(no reply in 0.2 s: lost on the way?)",
        "sent b",
        "(no reply in 0.2 s: lost on the way?)",
    ]
