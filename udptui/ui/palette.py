"""The command palette's entries (Ctrl+P): every `/command` from the table, each saved
message (`Send: NAME`), the toggles, and the actions on the log's selected entry."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING

from textual.app import SystemCommand

from udptui.chat.commands import BY_NAME, COMMANDS, Invocation
from udptui.ui.widgets import Composer, LogPane

if TYPE_CHECKING:
    from udptui.ui.app import UdpTuiApp


def literal(text: str) -> str:
    """Text the palette (which reads titles as markup) shows exactly as written.

    `textual.markup.escape` leaves `[B]y` and `[$accent]x` as tags; escaping every `[`
    leaves no tag at all, and a backslash not before `[` stays itself."""
    return text.replace("[", "\\[")


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
    for message in list(app.sending.saved.messages.values()):  # `/keep` adds while the palette is open
        send = Invocation(BY_NAME["send"], message.name)
        # The palette reads titles as markup: a name is the user's text, kept literal.
        yield SystemCommand(
            f"Send: {literal(message.name)}", literal(message.preview), partial(send.run, app)
        )
    if app.config.forward is not None:  # relay mode: back to typing to the server
        to_server = Invocation(BY_NAME["to"], BY_NAME["to"].parse("server"))
        yield SystemCommand(
            "Type to the server", f"/to server: {app.config.forward}", partial(to_server.run, app)
        )
    yield SystemCommand("Toggle peers pane", "Show or hide every peer seen", app.action_toggle_peers)
    yield SystemCommand(
        "Toggle peers by host", "One row per host (IP), or per address (g)", app.toggle_peer_grouping
    )
    yield SystemCommand("Toggle hex view", "A hex dump under each datagram", app.action_toggle_hex)
    yield SystemCommand("Toggle follow/pinned", "Follow the last sender, or stay", app.action_toggle_follow)
    yield SystemCommand("Filter log", "Show only matching entries", app.action_filter)
    yield SystemCommand("Jump to newest", "Scroll to the end", partial(app.action_scroll_log, "end"))
    yield SystemCommand("Inspect entry", "Open or close the inspector (F6)", app.action_inspect)
    yield from entry_commands(app.query_one(LogPane))


def entry_commands(pane: LogPane) -> Iterator[SystemCommand]:
    """The keys of the log and the inspector, by name."""
    commands: list[tuple[str, str, Callable[[], None]]] = [
        ("Reply to selected sender", "Pin the selected entry's peer as target (r)", pane.action_reply),
        ("Send selected again", "Send the selected datagram's bytes again (a)", pane.action_resend),
        ("Edit selected", "Put the selected datagram in the input box (e)", pane.action_edit),
        ("Copy selected as text", "To the clipboard (c)", partial(pane.action_copy, "text")),
        ("Copy selected as hex", "To the clipboard (x)", partial(pane.action_copy, "hex")),
        ("Save selected bytes…", "Write the selected datagram to a file (s)", pane.action_save),
        ("Toggle wrap", "Wrap long entries in the log (w)", pane.action_toggle_wrap),
        ("Cycle time column", "Clock, since previous, since start (t)", pane.action_cycle_time),
    ]
    for title, help_text, callback in commands:
        yield SystemCommand(title, help_text, callback)
