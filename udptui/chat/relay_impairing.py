"""Impairments of a relay (`--forward` with `--loss`, `--delay`, …; `--impair up|down|both`,
both by default): one `Impairer` a way, standing in the relay table's forwarding function
of that way (`RelayTable.up`, client to server; `RelayTable.down`, server to client), so
each datagram forwarded passes through it on the receive thread. A surviving copy is sent
when it is released (held ones from the scheduler's thread); the relayed entry in the log
carries its fate (`✗ dropped by --loss`, `delayed 80.0 ms`, …), as udptui's own sends do.

What udptui itself sends and receives in relay mode (typed to the server or a client) is
not impaired: the relay's traffic is. While no impairment is on, the table forwards with
its own functions (and sendmmsg) and nothing here runs.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from udptui.chat.impairing import Impairing
from udptui.chat.session import ChatSession
from udptui.net.impair_settings import ImpairSettings
from udptui.net.impairments import Fate, ImpairClosed, Impairer
from udptui.net.relay import RelayTable
from udptui.net.relay_session import Upstream
from udptui.net.scheduler import Schedules

RELAY_DIRECTIONS = ("up", "down", "both")
"""`--impair` in relay mode: what clients send (up), what the server sends back (down), both."""


def is_held(fate: Fate) -> bool:
    """Whether the impairer held this copy back (released later, from the scheduler's thread),
    as `Impairer.submit` decides it."""
    return not fate.lost and (fate.delay > 0 or fate.reordered)


def shown_fate(results: list[tuple[bytes, Fate]]) -> Fate | None:
    """The one fate a relayed entry shows for the copies `submit` made: a lost one's, else the
    first copy's, marked `duplicate` when a second went too; None when nothing happened."""
    fate = results[0][1]
    if len(results) > 1 and not fate.lost:
        fate = replace(fate, duplicate=True)
    return fate if fate.impaired else None


class RelayImpairing(Impairing):
    """The impairments of the relay's two ways, and their counts (`/impair` changes them)."""

    WHERE = {"up": "on what clients send", "down": "on what the server sends back", "both": "both ways"}
    ARROWS = {"up": "↑", "down": "↓", "both": "⇅"}

    def __init__(
        self,
        session: ChatSession,
        settings: ImpairSettings,
        direction: str = "both",
        *,
        table: RelayTable,
        scheduler: Schedules | None = None,
    ) -> None:
        self.table = table
        self.up: Impairer[Upstream] | None = None
        self.down: Impairer[Upstream] | None = None
        super().__init__(session, settings, direction, scheduler=scheduler)
        self.up = Impairer(
            self.settings,
            lambda payload, upstream, fate: table.release_up(upstream, payload, is_held(fate)),
            scheduler=self.scheduler,
            direction="up",
            on_error=self._failed,
        )
        self.down = Impairer(
            self.settings,
            lambda payload, upstream, fate: table.release_down(upstream, payload, is_held(fate)),
            scheduler=self.scheduler,
            direction="down",
            on_error=self._failed,
        )
        self._hook()

    @property
    def impairs_out(self) -> bool:
        return False  # what udptui types goes out as it is: the relay's traffic is impaired

    @property
    def impairs_in(self) -> bool:
        return False

    def _impair_up(self, upstream: Upstream, payload: bytes) -> Fate | None:
        assert self.up is not None
        return self._submit(self.up, upstream, payload)

    def _impair_down(self, upstream: Upstream, payload: bytes) -> Fate | None:
        assert self.down is not None
        return self._submit(self.down, upstream, payload)

    def _submit(self, impairer: Impairer[Upstream], upstream: Upstream, payload: bytes) -> Fate | None:
        """Impair one relayed datagram; the copies held back count in its session, which
        stays open until the last is released (counted first: a release may come at once)."""
        table = self.table
        table.held(upstream, 2)  # at most two copies: whatever submit holds, counted before
        held = 0
        try:
            results = impairer.submit(payload, upstream)
            held = sum(1 for _, fate in results if is_held(fate))
        except ImpairClosed:  # closed while the receive thread was on its way here: unimpaired
            send = table.send_up if impairer is self.up else table.send_down
            send(upstream, payload)
            return None
        finally:
            table.held(upstream, held - 2)
        return shown_fate(results)

    def _hook(self) -> None:
        """Stand in the table's way up and down while impairments are on for it."""
        super()._hook()
        if self.up is None:  # still being made
            return
        table, active = self.table, self.settings.active and not self.closed
        table.up = self._impair_up if active and self.direction in ("up", "both") else table.send_up
        table.down = self._impair_down if active and self.direction in ("down", "both") else table.send_down

    def update(
        self, settings: ImpairSettings, direction: str | None = None, *, restart: bool = False
    ) -> None:
        super().update(settings, direction, restart=restart)
        for impairer in (self.up, self.down):
            if impairer is not None:
                impairer.update(self.settings, restart=restart)
        self._hook()

    def sending_impairers(self) -> list[Impairer[Any]]:
        """Both ways forward what they held: headless mode waits for them at its end."""
        return [impairer for impairer in (self.out, self.up, self.down) if impairer is not None]

    def counted_impairers(self) -> list[Impairer[Any]]:
        """A relay's counts are its two ways' (what you type is not impaired)."""
        return [impairer for impairer in (self.up, self.down) if impairer is not None]

    def close(self) -> int:
        table = self.table
        table.up, table.down = table.send_up, table.send_down
        held = sum(impairer.close() for impairer in (self.up, self.down) if impairer is not None)
        return held + super().close()
