"""Protocol decoders: what a datagram means (DNS, syslog, StatsD, JSON, OSC, your own).

Nothing here imports Textual, and the libraries a decoder needs load on its first use.
Write your own with `Decoded` and `Field` (see the README's Decoders section).
"""

from udptui.decoders.base import DecodeContext, Decoded, DecodeError, Decoder, Field, tree_rows
from udptui.decoders.decoding import (
    AUTO,
    NONE,
    Choice,
    Decoding,
    Failure,
    Outcome,
    decode_payload,
    run_decoder,
)
from udptui.decoders.registry import ENTRY_POINT_GROUP, DecoderLoadError, Registry

__all__ = [
    "AUTO",
    "ENTRY_POINT_GROUP",
    "NONE",
    "Choice",
    "DecodeContext",
    "DecodeError",
    "Decoded",
    "Decoder",
    "DecoderLoadError",
    "Decoding",
    "Failure",
    "Field",
    "Outcome",
    "Registry",
    "decode_payload",
    "run_decoder",
    "tree_rows",
]
