"""A udptui decoder for a made-up game protocol: load it with
`udptui --listen 7777 --decoder-path examples/game_decoder.py`.

Every datagram is: magic `GP`, version 1 (one byte), kind (one byte), player (u16), seq
(u32), then a body: join and chat carry a length-prefixed UTF-8 string, move three
big-endian float32 (x, y, z). `make_packet` builds one, to try it with.

A decoder returns None for bytes that are not its protocol, raises DecodeError for bytes
that are but are broken, and returns peer text as it is: udptui makes it safe to draw.
"""

from __future__ import annotations

import struct

from udptui.decoders import DecodeContext, Decoded, DecodeError, Field

HEADER = struct.Struct(">2sBBHI")
KINDS = {1: "join", 2: "move", 3: "chat", 4: "leave"}


class GameDecoder:
    name = "game"
    ports = frozenset({7777})
    """Tried first on this port (and by content everywhere else)."""

    def decode(self, payload: bytes, context: DecodeContext) -> Decoded | None:
        if len(payload) < HEADER.size or not payload.startswith(b"GP\x01"):
            return None
        _, _, kind, player, seq = HEADER.unpack_from(payload)
        if kind not in KINDS:
            raise DecodeError(f"malformed game packet: unknown kind {kind}")
        body = payload[HEADER.size :]
        fields = [
            Field("kind", KINDS[kind], (3, 4)),
            Field("player", str(player), (4, 6)),
            Field("seq", str(seq), (6, 10)),
        ]
        if kind == 2:
            if len(body) != 12:
                raise DecodeError(f"malformed game packet: a move has 12 body bytes, not {len(body)}")
            x, y, z = struct.unpack(">3f", body)
            detail = f"x={x:g} y={y:g} z={z:g}"
            fields.append(Field("position", detail, (10, 22)))
        elif kind in (1, 3):
            if not body or body[0] != len(body) - 1:
                raise DecodeError("malformed game packet: bad string length")
            detail = body[1:].decode("utf-8", errors="replace")
            fields.append(Field("name" if kind == 1 else "text", detail, (11, len(payload))))
        else:
            detail = ""
        return Decoded("GAME", (f"{KINDS[kind]} player {player}", f"seq {seq}", detail), tuple(fields))


DECODER = GameDecoder()


def make_packet(kind: str, player: int, seq: int, body: bytes = b"") -> bytes:
    """A packet of this protocol, e.g. `make_packet("chat", 7, 1, b"\\x02hi")`."""
    code = next(code for code, name in KINDS.items() if name == kind)
    return HEADER.pack(b"GP", 1, code, player, seq) + body
