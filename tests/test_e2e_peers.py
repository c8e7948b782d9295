"""End-to-end: 200 one-shot senders (as syslog, StatsD and `dig` send, a new source port for
every datagram) against the real `udptui --listen` in tmux: the peers pane grouped by host,
then the host muted, its datagrams still counted and written to `--log`."""

from __future__ import annotations

import json
import re
import socket
from contextlib import ExitStack
from pathlib import Path

from test_e2e_tmux import PANE_BORDER, Tmux, log_side, start_listener, tmux

__all__ = ["tmux"]  # the fixture, shared with test_e2e_tmux.py

SENDERS = 200


def send_one_shots(port: int, count: int, payload: bytes) -> list[int]:
    """`count` plain sockets each send one datagram from a port of their own; their ports.

    All stay open until every one has sent, so the kernel gives each a different port."""
    with ExitStack() as stack:
        socks = [stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM)) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
            sock.sendto(payload, ("127.0.0.1", port))
        return [sock.getsockname()[1] for sock in socks]


def pane_side(screen: str) -> list[str]:
    """The peers pane's lines (what is right of its border)."""
    return [line.split(PANE_BORDER, 1)[1].rstrip() for line in screen.splitlines() if PANE_BORDER in line]


def test_two_hundred_one_shot_senders_group_into_one_host_row_and_mute_as_one(
    tmux: Tmux, tmp_path: Path
) -> None:
    log_path = tmp_path / "chat.jsonl"
    port = start_listener(tmux, "app", "--log", str(log_path))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as chat:
        chat.bind(("127.0.0.2", 0))
        chat_address = f"127.0.0.2:{chat.getsockname()[1]}"
        chat.sendto(b"hello", ("127.0.0.1", port))
        tmux.wait_for("app", f"← {chat_address}  hello")
        ports = send_one_shots(port, SENDERS, b"<13>disk full")
        # Each step waits for the whole screen it checks: a capture can fall between the
        # redraws of two widgets on a loaded machine.
        screen = tmux.wait_for(
            "app",
            lambda text: (
                f"rx {SENDERS + 1}" in text
                and f"peer 127.0.0.1:{ports[-1]}" in text.splitlines()[0]  # follow: the last one
                # By port, the pane is full of one-datagram peers and the chat peer is off screen.
                and not any(chat_address in line for line in pane_side(text))
            ),
        )

        tmux.key("app", "BTab")  # from the input box back to the peers pane
        tmux.wait_for("app", "m Mute")  # its keys are in the footer once it has focus
        tmux.key("app", "g")
        screen = tmux.wait_for(
            "app", lambda text: "by host: 2 (g: by port)" in text and len(pane_side(text)) > 4
        )
        pane = pane_side(screen)
        assert pane[1].startswith(f"▶ 127.0.0.1  {SENDERS} ports"), pane
        assert re.fullmatch(rf"  \d\d:\d\d:\d\d  in {SENDERS}  out 0", pane[2]), pane
        assert pane[3] == f"  {SENDERS * 13 / 1024:.1f} KiB in  0 B out", pane  # 13 bytes each
        assert pane[4].strip() == "127.0.0.2  1 port"

        tmux.key("app", "m")  # mute the host under the cursor: every port of it
        screen = tmux.wait_for(  # its datagrams so far, hidden now
            "app",
            lambda text: (
                f"muted {SENDERS}" in text
                and not [line for line in log_side(text) if "← 127.0.0.1:" in line]
                and f"127.0.0.1  {SENDERS} ports  muted" in "\n".join(pane_side(text))
            ),
        )
        assert f"← {chat_address}  hello" in screen
        assert f"127.0.0.1  {SENDERS} ports  muted" in "\n".join(pane_side(screen))

        late = send_one_shots(port, 3, b"<13>still full")
        screen = tmux.wait_for(
            "app", lambda text: f"muted {SENDERS + 3}" in text and f"rx {SENDERS + 4}" in text
        )
        assert f"peer 127.0.0.1:{ports[-1]}" in screen.splitlines()[0]  # no new port took it
        chat.sendto(b"still here", ("127.0.0.1", port))
        screen = tmux.wait_for(
            "app",
            lambda text: (
                f"← {chat_address}  still here" in text and f"peer {chat_address}" in text.splitlines()[0]
            ),
        )

        tmux.key("app", "g")  # by port again: the muted host stays one row
        screen = tmux.wait_for(
            "app",
            lambda text: (
                "by host" not in text
                and pane_side(text)[:1] == [f"▶ {chat_address}"]
                and f"  127.0.0.1  {SENDERS + 3} ports  muted" in pane_side(text)
            ),
        )
        rows = pane_side(screen)
        assert rows[0] == f"▶ {chat_address}", rows
        assert rows[2] == f"  127.0.0.1  {SENDERS + 3} ports  muted", rows

        tmux.key("app", "Down")  # to the muted host's row: unmuted, nothing hidden, no field
        tmux.key("app", "m")
        screen = tmux.wait_for(
            "app",
            lambda text: (
                f"{SENDERS + 3} ports  muted" not in text
                and "muted"
                not in next((line for line in text.splitlines() if line.startswith(" rx ")), "muted")
            ),
        )

    tmux.key("app", "C-q")
    records = [json.loads(line) for line in log_path.read_text().splitlines()]
    senders = {record["peer"] for record in records if record["dir"] == "in"}
    assert {f"127.0.0.1:{number}" for number in ports + late} <= senders  # every one, in --log
