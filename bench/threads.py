"""CPU time per thread from /proc (Linux): what each thread of a receiver costs per datagram.

`/proc/PID/task/TID/schedstat` starts with the nanoseconds the thread has run on a CPU; it
counts only that thread, so it is a fair figure even on a busy machine, where rates are not.
"""

from __future__ import annotations

import os
from pathlib import Path


def thread_ns(tid: int, pid: int | None = None) -> int:
    """Nanoseconds thread `tid` (of process `pid`, this one by default) has run on a CPU."""
    path = Path(f"/proc/{pid or os.getpid()}/task/{tid}/schedstat")
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def threads_ns(pid: int) -> dict[int, int]:
    """Every thread of process `pid` and its CPU nanoseconds."""
    try:
        tids = [int(name) for name in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        return {}
    return {tid: thread_ns(tid, pid) for tid in tids}


def per_datagram_us(before: int, after: int, datagrams: int) -> float:
    return (after - before) / 1000 / datagrams if datagrams else 0.0


def busiest_other(before: dict[int, int], after: dict[int, int], main: int) -> int | None:
    """The thread other than `main` that ran longest between two readings (the receive thread)."""
    deltas = {tid: after[tid] - before.get(tid, 0) for tid in after if tid != main}
    return max(deltas, key=lambda tid: deltas[tid]) if deltas else None
