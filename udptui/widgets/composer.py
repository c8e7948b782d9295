"""The input box at the bottom: what is typed here is sent as one datagram."""

from __future__ import annotations

from textual.widgets import Input


class Composer(Input):
    """An `Input` that says where Enter will send."""

    def show_target(self, target: str | None) -> None:
        """Update the placeholder to name the reply target."""
        if target is None:
            self.placeholder = "No peer yet: wait for someone to write"
        else:
            self.placeholder = f"Message to {target}; Enter sends one datagram"
