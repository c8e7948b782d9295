"""The top line: where we listen, the multicast groups joined, and who the next message goes to."""

from __future__ import annotations

from collections.abc import Iterator

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from udptui.net.address import Address

Part = str | tuple[str, str]


def shorten_middle(text: str, width: int) -> str:
    """`[2001:db8:…:1]:9000`: cut from the middle, so the start and the port stay."""
    if len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    keep = width - 1
    return text[: keep - keep // 2] + "…" + text[len(text) - keep // 2 :]


class ChatHeader(Widget):
    """Shows the local address, the multicast groups joined, the reply target (or `no peer
    yet`) and the target mode.

    When the line does not fit, it gives up, in order: the full local address (only its port
    stays), the groups' addresses (`joined 1 group`, `joined 3 groups` stay), the app's name,
    the `listening on` words, the groups' count, the local port, the `peer` word, and last the
    middle of the target address. The target and the mode stay to the end.
    """

    local: reactive[str] = reactive("")
    """The bound address, as `UdpTransport.local_description` words it."""
    listening: reactive[bool] = reactive(True)
    target: reactive[Address | None] = reactive(None)
    follow: reactive[bool] = reactive(True)
    server: reactive[Address | None] = reactive(None)
    """In relay mode, the server (`--forward`): the header says `relaying` and to whom typing goes."""
    groups: reactive[tuple[str, ...]] = reactive(())
    """The multicast groups joined, as `/groups` lists them."""

    def _layouts(self) -> Iterator[list[Part]]:
        """The header from its fullest to its shortest form."""
        verb: Part = ("listening on " if self.listening else "bound to ", "dim")
        local = self.local
        port = ":" + self.local.rpartition(":")[2]
        mode: Part = ("follow" if self.follow else "pinned", "reverse")
        target = None if self.target is None else str(self.target)
        peer: list[Part] = (
            [("no peer yet", "italic")] if target is None else [("peer ", "dim"), (target, "bold")]
        )
        if self.server is not None:  # `relaying :9000 → 127.0.0.1:8080   to server`
            verb = ("relaying ", "dim")
            local += f" → {self.server}"  # the server stays where the local address shortens
            port += f" → {self.server}"
            to_server = self.target == self.server
            peer = (
                [("to ", "dim"), ("server", "bold")]
                if to_server
                else [("to client ", "dim"), (target or "?", "bold")]
            )
        name: list[Part] = [("udptui", "bold"), "  "]
        if self.groups:
            joined: Part = ("  joined ", "dim")
            count = f"{len(self.groups)} group" + ("s" if len(self.groups) > 1 else "")
            listed = ", ".join(self.groups)
            yield [*name, verb, local, joined, listed, "  ", *peer, "  ", mode]
            yield [*name, verb, port, joined, listed, "  ", *peer, "  ", mode]
            yield [*name, verb, local, joined, count, "  ", *peer, "  ", mode]
            yield [*name, verb, port, joined, count, "  ", *peer, "  ", mode]
            yield [verb, port, joined, count, "  ", *peer, "  ", mode]
            yield [port, joined, count, "  ", *peer, "  ", mode]
        yield [*name, verb, local, "   ", *peer, "  ", mode]
        yield [*name, verb, port, "   ", *peer, "  ", mode]
        yield [verb, port, "   ", *peer, "  ", mode]
        yield [port, "  ", *peer, "  ", mode]
        yield [*peer, "  ", mode]
        if target is not None:
            yield [(target, "bold"), "  ", mode]
            room = max(1, self.content_size.width - len("  pinned"))
            yield [(shorten_middle(target, room), "bold"), "  ", mode]

    def render(self) -> Content:
        width = self.content_size.width
        content = Content()
        for parts in self._layouts():
            content = Content.assemble(*parts)
            if not width or content.cell_length <= width:
                break
        return content
