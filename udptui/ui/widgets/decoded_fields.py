"""The decoded field tree of one datagram, as lines for the inspector's `Decoded` section:
every field with its value and, where the decoder knew it, the bytes it came from.

The inspector draws one visible line at a time, so the tree comes as lines with their
guides (`├─`, `│  └─`), not as a tree of widgets. Every string was made visible by the
decoder registry; these lines only arrange it.
"""

from __future__ import annotations

from udptui.decoders import Decoded, Failure, Outcome, tree_rows

Line = list[tuple[str, str]]
"""(text, inspector style name) parts of one line."""


def decoded_section(outcome: Outcome) -> tuple[str, list[Line]] | None:
    """The section's heading and lines: the tree, or one line saying why a decoder gave up
    (`malformed DNS: …`), or None when no decoder read the datagram."""
    if outcome is None:
        return None
    if isinstance(outcome, Failure):
        return f"Not decoded: {outcome.reason}", []
    assert isinstance(outcome, Decoded)
    lines: list[Line] = []
    for guide, field in tree_rows(outcome.fields):
        line = [(guide, "label"), (field.name, "title")]
        if field.value:
            line.append(("  " + field.value, ""))
        if field.span is not None:
            line.append((f"  [{field.span[0]}:{field.span[1]}]", "label"))
        lines.append(line)
    return f"Decoded: {outcome.tag} {outcome.summary}", lines
