"""JSON: one object or array per datagram (a bare `42` or `"hi"` is chat, not JSON).

Nesting is measured before parsing, so a datagram of 30,000 `[` costs one scan, not a
deep recursion; the field tree stops at a fixed number of nodes.
"""

from __future__ import annotations

import json
from typing import Any

from udptui.decoders.base import DecodeContext, Decoded, DecodeError, Field

MAX_DEPTH = 64
MAX_NODES = 1000
"""Fields the tree holds at most; the rest are counted."""
SUMMARY_CHARACTERS = 400


def nesting_depth(text: str) -> int:
    """The deepest `[`/`{` nesting outside strings, in one pass."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


class JsonDecoder:
    """A JSON object or array."""

    name = "json"
    ports: frozenset[int] = frozenset()

    def decode(self, payload: bytes, context: DecodeContext) -> Decoded | None:
        stripped = payload.strip()
        if not stripped or stripped[:1] not in b"[{" or stripped[-1:] not in b"]}":
            return None
        try:
            text = payload.decode("utf-8-sig")
        except UnicodeDecodeError:
            return None
        if nesting_depth(text) > MAX_DEPTH:
            raise DecodeError(f"malformed JSON: nested deeper than {MAX_DEPTH}")
        try:
            value = json.loads(text)
        except (ValueError, RecursionError) as error:
            raise DecodeError(f"malformed JSON: {error}") from None
        compact = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        if len(compact) > SUMMARY_CHARACTERS:
            compact = compact[:SUMMARY_CHARACTERS] + "…"
        budget = [MAX_NODES]
        return Decoded("JSON", (compact,), (_field("(root)", value, budget),))


def _field(name: str, value: Any, budget: list[int]) -> Field:
    """A node per key or item, while the budget lasts."""
    budget[0] -= 1
    if isinstance(value, dict):
        items: list[tuple[str, Any]] = [(str(key), item) for key, item in value.items()]
        label = f"object, {len(items)} keys"
    elif isinstance(value, list):
        items = [(f"[{index}]", item) for index, item in enumerate(value)]
        label = f"array, {len(items)} items"
    else:
        return Field(name, json.dumps(value, ensure_ascii=False))
    children: list[Field] = []
    for index, (key, item) in enumerate(items):
        if budget[0] <= 0:
            children.append(Field("…", f"{len(items) - index} more"))
            break
        children.append(_field(key, item, budget))
    return Field(name, label, None, tuple(children))
