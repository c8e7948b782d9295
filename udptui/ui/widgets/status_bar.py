"""The bottom status line: traffic counters, drops and the receive rate."""

from __future__ import annotations

from dataclasses import dataclass

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget


def human_bytes(count: int) -> str:
    """`512 B`, `1.5 KiB`, `4.0 MiB`."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{count} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


RATE_SHOWN_FROM = 100.0
"""Datagrams per second from which the rate is worth a place on the bar (a flood, not a chat)."""


@dataclass(frozen=True)
class Stats:
    """One reading of every counter the status bar shows."""

    received: int = 0
    sent: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    kernel_drops: int = 0
    app_drops: int = 0
    counts_drops: bool = True
    """False where the platform cannot count kernel drops."""
    rate: float = 0.0
    """Datagrams received per second, over the last second."""
    let_go: int = 0
    """Entries the scrollback let go."""
    faults: int = 0
    """Faults (ICMP errors) taken: their notes are counted and at most one a second each."""
    rcvbuf: int = 0
    sending: tuple[tuple[str, str], ...] = ()
    """(label, value) pairs from the sending state: the line ending, a repeat's progress."""
    muted: int | None = None
    """Datagrams from muted peers, counted but hidden; None while nothing was ever muted."""


class StatusBar(Widget):
    """`rx 12  tx 3  in 1.2 KiB  out 96 B  dropped 0  …`; always visible."""

    stats: reactive[Stats] = reactive(Stats)

    def render(self) -> Content:
        stats = self.stats
        dropped = stats.kernel_drops + stats.app_drops
        Parts = list[str | tuple[str, str]]
        # In order of what a narrow bar gives up first: the receive buffer's size (it never
        # changes), then the byte totals; counts, drops and a repeat's progress stay.
        rcvbuf: Parts = [("rcvbuf ", "dim"), human_bytes(stats.rcvbuf)]
        volume: Parts = [
            ("in ", "dim"), human_bytes(stats.bytes_in), "  ", ("out ", "dim"), human_bytes(stats.bytes_out),
        ]  # fmt: skip
        traffic: Parts = [("rx ", "dim"), f"{stats.received:,}", "  ", ("tx ", "dim"), f"{stats.sent:,}"]
        if stats.counts_drops:
            drops: Parts = [("dropped ", "dim"), (f"{dropped:,}", "bold red" if dropped else "")]
        else:
            drops = [("dropped ", "dim"), ("uncounted", "italic")]
        if stats.rate >= RATE_SHOWN_FROM:
            drops += ["  ", (f"{stats.rate:,.0f}/s", "bold")]
        if stats.faults:
            drops += ["  ", ("faults ", "dim"), (f"{stats.faults:,}", "bold yellow")]
        extra, compact = self._extra(stats, compact=False), self._extra(stats, compact=True)
        gap: Parts = ["  "]
        layouts = [
            (traffic, gap, volume, gap, drops, extra, gap, rcvbuf),
            (traffic, gap, volume, gap, drops, extra),
            (traffic, gap, drops, extra),
            (traffic, gap, drops, compact),
        ]
        width = self.size.width or 10_000
        for groups in layouts:
            content = Content.assemble(*(part for group in groups for part in group))
            if content.cell_length <= width:
                break
        return content

    @staticmethod
    def _extra(stats: Stats, *, compact: bool) -> list[str | tuple[str, str]]:
        """Mutes, the sending state and the scrollback's losses. `compact` drops a value
        that a continuation (a pair with no label) follows, so `impair→ lost 2` keeps its
        counts on a narrow bar and gives up the settings (`loss 30%, delay 80ms`) first."""
        extra: list[str | tuple[str, str]] = []
        if stats.muted is not None:
            extra += ["  ", ("muted ", "dim"), f"{stats.muted:,}"]
        pairs = stats.sending
        joined = False  # the previous label gave up its value: this continuation follows it
        for index, (label, value) in enumerate(pairs):
            continued = index + 1 < len(pairs) and not pairs[index + 1][0]
            if compact and continued:
                extra += ["  ", (label, "dim")]
            else:
                extra += ["" if joined else "  ", (label, "dim"), (value, "bold")]
            joined = compact and continued
        if stats.let_go:
            extra += ["  ", ("scrollback let go ", "dim"), f"{stats.let_go:,}"]
        return extra
