"""End-to-end: impairments in the real `udptui` program in tmux, against the tutorial's
server script and another udptui. What is lost is predicted here from `random.Random(seed)`,
independently of udptui, and read off both screens."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from test_e2e_tmux import Tmux, bound_port, example_command, free_port, start_listener, tmux, udptui_command

__all__ = ["tmux"]  # the fixture, used by name

MESSAGES = [f"message {i}" for i in range(8)]


def test_loss_50_seed_1_marks_what_the_tutorial_server_never_got(tmux: Tmux, tmp_path: Path) -> None:
    """`--loss 50% --seed 1` against the tutorial's server: each lost message is marked
    `✗ dropped by --loss` on udptui's screen and is missing from the server's; the others
    arrive and are answered."""
    predictor = random.Random(1)
    lost = [message for message in MESSAGES if predictor.random() < 0.5]
    assert 0 < len(lost) < len(MESSAGES)
    port = free_port()
    tmux.start("server", example_command("tutorial_server.py", "127.0.0.1", str(port), "--reply", "ok!"))
    tmux.wait_for("server", f"listening on 127.0.0.1:{port}")
    log = tmp_path / "run.jsonl"
    command = udptui_command("--peer", f"127.0.0.1:{port}", "--loss", "50%", "--seed", "1", "--log", str(log))
    tmux.start("app", command)
    tmux.wait_for("app", f"peer 127.0.0.1:{port}")
    for message in MESSAGES:
        tmux.type("app", message)
        tmux.wait_for("app", f"→ 127.0.0.1:{port}  {message}")

    screen = tmux.wait_for("app", lambda s: s.count("ok!") == len(MESSAGES) - len(lost))
    marked = re.findall(rf"→ 127\.0\.0\.1:{port}  (message \d)  \[✗ dropped by --loss\]", screen)
    assert marked == lost
    assert f"lost {len(lost)}" in screen.splitlines()[-2]  # the status bar counts them
    server = tmux.screen("server")
    assert [line for line in server.splitlines() if line.startswith("message")] == [
        message for message in MESSAGES if message not in lost
    ]
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [record["text"] for record in records if record.get("impaired") == "lost"] == lost


def test_two_udptuis_one_losing_30_percent_of_what_it_receives(tmux: Tmux) -> None:
    """The README's lesson: alpha listens with `--impair in --loss 30% --seed 4`; beta writes
    to it. What alpha drops shows there, marked; beta's own screen cannot tell."""
    predictor = random.Random("4/in")
    lost = [message for message in MESSAGES if predictor.random() < 0.3]
    assert lost
    port = start_listener(tmux, "alpha", "--impair", "in", "--loss", "30%", "--seed", "4")
    tmux.start("beta", udptui_command("--peer", f"127.0.0.1:{port}"))
    beta_port = bound_port(tmux.wait_for("beta", f"peer 127.0.0.1:{port}"))
    for message in MESSAGES:
        tmux.type("beta", message)
        tmux.wait_for("beta", f"→ 127.0.0.1:{port}  {message}")
    screen = tmux.wait_for("alpha", MESSAGES[-1])
    for message in MESSAGES:
        line = f"← 127.0.0.1:{beta_port}  {message}"
        if message in lost:
            assert f"{line}  [✗ dropped by --loss]" in screen, screen
        else:
            assert line in screen and f"{line}  [" not in screen, screen
    assert "[✗" not in tmux.screen("beta")
