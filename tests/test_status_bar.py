"""The status bar keeps what matters in view on a narrow terminal."""

from __future__ import annotations

from textual.app import App, ComposeResult

from udptui.ui.widgets import StatusBar
from udptui.ui.widgets.status_bar import Stats

REPEAT = ("repeat ", "\u00d71,234/\u221e at 100/s (Esc stops)")


class BarOnly(App[None]):
    def compose(self) -> ComposeResult:
        yield StatusBar()


async def test_a_repeats_progress_stays_on_an_80_column_bar() -> None:
    """A bar cuts from the right: the receive buffer's size (which never changes) goes first."""
    stats = Stats(
        received=104_333, sent=103_169, bytes_in=9_000_000, bytes_out=9_000_000, rcvbuf=64 * 1024**2,
        sending=(("eol ", "crlf"), REPEAT),
    )  # fmt: skip
    app = BarOnly()
    async with app.run_test(size=(80, 3)) as pilot:
        app.query_one(StatusBar).stats = stats
        await pilot.pause()
        bar = app.query_one(StatusBar)
        shown = bar.render().plain[: bar.size.width]  # one line: what is past the width is cut
    assert "Esc stops" in shown, shown
    assert "rx 104,333  tx 103,169" in shown, "counts read with thousands separators, as repeats do"


async def test_impairment_counts_stay_when_their_settings_do_not_fit() -> None:
    """Five impairments at 80 columns: the settings give way, what they hit stays in view."""
    settings = "loss 30%, delay 80ms±20ms, duplicate 1%, reorder 5%, corrupt 30%"
    stats = Stats(
        received=34_688, sent=12, rcvbuf=64 * 1024**2,
        sending=(("impair→ ", settings), ("", "lost 2, delayed 12")),
    )  # fmt: skip
    app = BarOnly()
    async with app.run_test(size=(80, 3)) as pilot:
        bar = app.query_one(StatusBar)
        bar.stats = stats
        await pilot.pause()
        narrow = bar.render().plain[: bar.size.width]
        await pilot.resize_terminal(200, 3)
        await pilot.pause()
        wide = bar.render().plain[: bar.size.width]
    assert "impair→ lost 2, delayed 12" in narrow and "loss 30%" not in narrow, narrow
    assert f"impair→ {settings}  lost 2, delayed 12" in wide, wide
