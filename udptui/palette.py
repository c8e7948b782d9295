"""The command palette's entries (Ctrl+P): every `/command` from the table, and the toggles."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING

from textual.app import SystemCommand

from udptui.commands import COMMANDS, Invocation
from udptui.widgets import Composer

if TYPE_CHECKING:
    from udptui.app import UdpTuiApp


def system_commands(app: UdpTuiApp) -> Iterator[SystemCommand]:
    """A command with an argument prefills `/name ` in the box (keeping a draft); one without
    runs at once."""
    composer = app.query_one(Composer)
    for command in COMMANDS:
        help_text = f"{command.usage}: {command.help}"
        if command.takes_argument:
            yield SystemCommand(command.title, help_text, partial(composer.prefill, f"/{command.name} "))
        else:
            invocation = Invocation(command, command.parse(""))
            yield SystemCommand(command.title, help_text, partial(invocation.run, app))
    yield SystemCommand("Toggle peers pane", "Show or hide every peer seen", app.action_toggle_peers)
    yield SystemCommand("Toggle hex view", "A hex dump under each datagram", app.action_toggle_hex)
    yield SystemCommand("Toggle follow/pinned", "Follow the last sender, or stay", app.action_toggle_follow)
    yield SystemCommand("Filter log", "Show only matching entries", app.action_filter)
    yield SystemCommand("Jump to newest", "Scroll to the end", partial(app.action_scroll_log, "end"))
