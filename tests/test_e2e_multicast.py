"""End-to-end multicast: the real `udptui` in tmux joined to an IPv4 group on loopback, a
second `udptui` sending to the group out of `lo` (`--iface lo`), the `→ GROUP` mark on the
screen, the header's `joined`, and `/leave` (helpers from `test_e2e_tmux`)."""

from __future__ import annotations

import random
import re

from test_e2e_tmux import Tmux, bound_port, start_listener, udptui_command
from test_e2e_tmux import tmux as tmux  # the fixture


def test_the_screen_marks_a_datagram_sent_to_the_group(tmux: Tmux) -> None:
    group = f"239.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(1, 254)}"
    port = start_listener(tmux, "member", "--join", f"{group}%lo")
    header = tmux.wait_for("member", f"joined {group}%lo").splitlines()[0]
    assert f":{port}" in header

    tmux.start("sender", udptui_command("--peer", f"{group}:{port}", "--iface", "lo", "--ttl", "1"))
    sender_port = bound_port(tmux.wait_for("sender", f"peer {group}:{port}"))
    tmux.type("sender", "hello group")
    tmux.wait_for("sender", f"→ {group}:{port}  hello group")
    # The sender's address is the one the kernel picked for lo by index (perhaps not 127.0.0.1).
    marked = re.compile(rf"← \S+:{sender_port} → {re.escape(group)}  hello group")
    tmux.wait_for("member", lambda screen: marked.search(screen) is not None)

    tmux.type("member", f"/leave {group}")
    tmux.wait_for("member", f"left {group}%lo")
    tmux.wait_for("member", lambda screen: f"joined {group}" not in screen.splitlines()[0])
