"""The top line: where we listen, and who the next message goes to."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from udptui.address import Address


class ChatHeader(Widget):
    """Shows the local address, the reply target (or `no peer yet`) and the target mode."""

    local: reactive[str] = reactive("")
    """The bound address, as `UdpTransport.local_description` words it."""
    listening: reactive[bool] = reactive(True)
    target: reactive[Address | None] = reactive(None)
    follow: reactive[bool] = reactive(True)

    def render(self) -> Content:
        verb = "listening on " if self.listening else "bound to "
        parts: list[str | tuple[str, str]] = [
            ("udptui", "bold"),
            "  ",
            (verb, "dim"),
            self.local,
            "   ",
        ]
        if self.target is None:
            parts += [("no peer yet", "italic"), "  "]
        else:
            parts += [("peer ", "dim"), (str(self.target), "bold"), "  "]
        parts.append(("follow" if self.follow else "pinned", "reverse"))
        return Content.assemble(*parts)
