"""Relay benchmark: udptui's relay mode against socat forwarding the same traffic, in one run.

A client (`relay_peer client`, C) sends numbered 64-byte datagrams to the relay's port and
counts what comes back; the relay forwards each to an echo server (`relay_peer echo`, C,
recvmmsg/sendmmsg), which sends it back through the relay. Relays compared:

- socat: `socat UDP-LISTEN:A,fork,reuseaddr UDP:127.0.0.1:B`
- socat with a large receive buffer: the same with `rcvbuf=67108864` on UDP-LISTEN, since
  at full speed the buffer sizes decide as much as the forwarding (socat asks with
  SO_RCVBUF, so it gets at most `net.core.rmem_max`, printed at the start; udptui, run as
  root, asks with SO_RCVBUFFORCE and gets its 64 MiB)
- udptui headless: `udptui --listen A --forward 127.0.0.1:B --jsonl > /dev/null`
- udptui with its screen, in a private tmux server (120x40)

Two runs each: paced at 20,000 datagrams a second (each way: every datagram is echoed), where
nothing may be lost, and at full speed, where the figure is the rate of round trips
completed (datagrams back at the client / time from the first send to the last one back).
Each figure is the median of `--repeat` runs (3). The machine may be shared: compare the
columns of one run, not figures across machines.

    python bench/relay.py            # about two and a half minutes
    python bench/relay.py --quick    # one run of each, fewer datagrams
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"
SIZE = 64


@dataclass
class Run:
    sent: int
    back: int
    """Datagrams back at the client (the round trips completed)."""
    echoed: int
    """Datagrams that reached the echo server (forwarded up)."""
    seconds: float
    """From the first send to the last datagram back."""

    @property
    def lost(self) -> int:
        return self.sent - self.back

    @property
    def rate(self) -> float:
        return self.back / self.seconds if self.seconds > 0 else 0.0


def compile_peer(directory: Path) -> Path:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        sys.exit("relay bench: needs a C compiler (cc or gcc)")
    binary = directory / "relay_peer"
    subprocess.run([compiler, "-O2", "-pthread", "-o", str(binary), str(HERE / "relay_peer.c")], check=True)
    return binary


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@contextmanager
def echo_server(peer: Path) -> Iterator[tuple[int, list[str]]]:
    process = subprocess.Popen([str(peer), "echo"], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    port = int(process.stdout.readline().split()[1])
    result: list[str] = []
    try:
        yield port, result
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=10)
        result.append(out.strip())


def udp_port_bound(port: int) -> bool:
    """Whether a socket has bound UDP `port` (so the relay is up), from /proc/net/udp: a probe
    binding the port itself could take it from the relay."""
    wanted = f":{port:04X}"
    with open("/proc/net/udp") as table:
        return any(line.split()[1].endswith(wanted) for line in table.readlines()[1:])


def wait_bound(port: int, limit: float = 15.0) -> None:
    deadline = time.monotonic() + limit
    while not udp_port_bound(port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"relay on port {port} did not start")
        time.sleep(0.05)


def tmux(server: str, *args: str) -> str:
    done = subprocess.run(["tmux", "-L", server, *args], capture_output=True, text=True, timeout=10)
    return done.stdout


@contextmanager
def relay(kind: str, listen: int, server: int) -> Iterator[None]:
    """Start a relay from `listen` to `server`; stop it (and its children) afterwards."""
    udptui = [sys.executable, "-m", "udptui", "--listen", str(listen), "--bind", HOST]
    udptui += ["--forward", f"{HOST}:{server}"]
    if kind == "tmux":
        name = f"relaybench-{uuid.uuid4().hex[:8]}"
        command = " ".join([*udptui, "--rcvbuf", "64M"])
        tmux(name, "new-session", "-d", "-x", "120", "-y", "40", command)
        try:
            wait_bound(listen)
            deadline = time.monotonic() + 15
            while "relaying" not in tmux(name, "capture-pane", "-p") and time.monotonic() < deadline:
                time.sleep(0.05)
            yield
        finally:
            tmux(name, "kill-server")
        return
    if kind.startswith("socat"):
        options = ",rcvbuf=67108864" if kind == "socat-64M" else ""
        command = [
            "socat",
            f"UDP-LISTEN:{listen},bind={HOST},fork,reuseaddr{options}",
            f"UDP:{HOST}:{server}",
        ]
        stdout = None
    else:
        command = [*udptui, "--jsonl"]
        stdout = subprocess.DEVNULL
    process = subprocess.Popen(
        command, stdout=stdout, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, start_new_session=True
    )
    try:
        wait_bound(listen)
        yield
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # socat's forked children too
        process.wait(timeout=10)


def one_run(peer: Path, kind: str, count: int, rate: int) -> Run:
    listen = free_port()
    with echo_server(peer) as (server, echo_result), relay(kind, listen, server):
        time.sleep(0.3)  # the relay settles (the screen draws its first frame)
        done = subprocess.run(
            [str(peer), "client", HOST, str(listen), str(count), str(rate), str(SIZE)],
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        )
    words = done.stdout.split()
    sent, back, start, last = int(words[1]), int(words[3]), float(words[5]), float(words[9])
    echoed = int(echo_result[0].split()[1])
    return Run(sent, back, echoed, (last - start) if back else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="one run of each, fewer datagrams")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (default 3): medians")
    parser.add_argument("--paced", type=int, default=100_000, help="datagrams at 20k/s (default 100,000)")
    parser.add_argument("--full", type=int, default=200_000, help="datagrams at full speed (default 200,000)")
    parser.add_argument("--no-tmux", action="store_true", help="skip udptui with its screen")
    args = parser.parse_args()
    repeat = 1 if args.quick else args.repeat
    paced, full = (20_000, 50_000) if args.quick else (args.paced, args.full)
    if shutil.which("socat") is None:
        sys.exit("relay bench: needs socat")
    kinds = ["socat", "socat-64M", "headless"] + (
        [] if args.no_tmux or shutil.which("tmux") is None else ["tmux"]
    )
    load = os.getloadavg()[0]
    rmem_max = Path("/proc/sys/net/core/rmem_max").read_text().strip()
    print(f"cpus {os.cpu_count()}, load {load:.2f}; {repeat} run(s) each, {SIZE}-byte datagrams")
    print(f"net.core.rmem_max {int(rmem_max):,} (what socat-64M's rcvbuf gets at most)")
    started = time.monotonic()
    results: dict[tuple[str, str], list[Run]] = {}
    with tempfile.TemporaryDirectory() as directory:
        peer = compile_peer(Path(directory))
        for index in range(repeat):
            for mode, count, rate in (("20k/s", paced, 20_000), ("full", full, 0)):
                for kind in kinds:  # interleaved, so a busy moment of the machine hits all alike
                    run = one_run(peer, kind, count, rate)
                    results.setdefault((mode, kind), []).append(run)
                    print(
                        f"  run {index + 1} {mode:6} {kind:8} sent {run.sent:>8,} echoed {run.echoed:>8,} "
                        f"back {run.back:>8,} lost {run.lost:>7,}  {run.rate:>9,.0f} round trips/s",
                        flush=True,
                    )
    print(f"\nmedians of {repeat}:")
    print(f"{'mode':7} {'relay':9} {'sent':>9} {'back':>9} {'lost':>8} {'round trips/s':>14} {'vs socat':>9}")
    for mode in ("20k/s", "full"):
        socat_rate = statistics.median(run.rate for run in results[(mode, "socat")])
        for kind in kinds:
            runs = results[(mode, kind)]
            rate = statistics.median(run.rate for run in runs)
            sent, back = (statistics.median(r.sent for r in runs), statistics.median(r.back for r in runs))
            lost = statistics.median(r.lost for r in runs)
            ratio = rate / socat_rate if socat_rate else 0
            figures = f"{sent:>9,.0f} {back:>9,.0f} {lost:>8,.0f} {rate:>14,.0f} {ratio:>8.2f}x"
            print(f"{mode:7} {kind:9} {figures}")
    print(f"\n{time.monotonic() - started:.0f} s in all; load {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
