"""Who sent a batch and how much: counted in C, so a flood costs no Python per datagram.

The session's ingest asks these once per batch, for the roster and the peers pane.
"""

from __future__ import annotations

from collections import Counter
from itertools import compress, repeat
from operator import eq
from typing import Any

from udptui.net.batch import RecvBatch


def senders_of(senders: list[Any]) -> list[tuple[Any, int]]:
    """Each sender of a batch with its datagram count, ordered by when it last sent.

    C does the counting: a flood from one sender is one `list.count`."""
    if not senders:
        return []
    first = senders[0]
    try:
        if senders.count(first) == len(senders):
            return [(first, len(senders))]
        counted = Counter(senders)
        return [(sender, counted[sender]) for sender in reversed(dict.fromkeys(reversed(senders)))]
    except TypeError:  # an unhashable sender (never from a socket): count one by one
        return [(sender, 1) for sender in senders]


def sender_bytes(batch: RecvBatch, senders: list[tuple[Any, int]]) -> list[int]:
    """Bytes on the wire from each of `senders` (as `senders_of` lists them) in `batch`.

    C does the work in the usual cases: a flood from one sender is the batch's total; one-shot
    senders (each datagram its own) are the sizes as they are; datagrams all of one size are
    that size times each count; up to `FEW_SENDERS` senders, each but the busiest is summed by
    `compress` over a C comparison of the senders, the busiest being what is left. Only a batch
    from more senders, of mixed sizes, is summed datagram by datagram, where each of its
    senders already costs the ingest its own Python work."""
    if len(senders) == 1:
        return [batch.wire_bytes]
    sizes = batch.wire if batch.wire is not None else list(map(len, batch.payloads))
    if len(senders) == len(sizes):  # every datagram from its own sender (or unhashable ones)
        return list(sizes)
    if sizes.count(sizes[0]) == len(sizes):
        return [count * sizes[0] for _, count in senders]
    all_senders = batch.senders
    if len(senders) <= FEW_SENDERS:
        busiest = max(range(len(senders)), key=lambda index: senders[index][1])
        totals = [
            0 if index == busiest else sum(compress(sizes, map(eq, all_senders, repeat(sender))))
            for index, (sender, _) in enumerate(senders)
        ]
        totals[busiest] = batch.wire_bytes - sum(totals)
        return totals
    summed: dict[Any, int] = {}
    for sender, size in zip(all_senders, sizes, strict=True):
        summed[sender] = summed.get(sender, 0) + size
    return [summed[sender] for sender, _ in senders]


FEW_SENDERS = 4
"""Up to this many senders in a batch, their bytes are summed in C (one pass each but one)."""
