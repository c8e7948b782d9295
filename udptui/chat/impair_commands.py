"""`/impair`: show or change the impairments while running (`/impair loss 25%`,
`/impair delay 200ms jitter 20ms`, `/impair in`, `/impair off`, `/impair` alone to see them).

Nothing here knows of Textual: the handler acts through the `CommandContext`.
"""

from __future__ import annotations

from dataclasses import dataclass

from udptui.chat.command_base import Command, CommandContext, CommandError
from udptui.chat.datagram import Level
from udptui.chat.impairing import DIRECTIONS
from udptui.net.impair_settings import ImpairError, ImpairSettings

USAGE = "/impair [NAME VALUE…|off|out|in|both|up|down]"
RELAY_DIRECTIONS = ("up", "down")


@dataclass(frozen=True)
class ImpairArguments:
    """`/impair` parsed: what to change (nothing: show them)."""

    changes: tuple[tuple[str, str], ...] = ()
    """(name, value text) pairs, in the order typed."""
    off: bool = False
    direction: str | None = None


def parse_impair(argument: str) -> ImpairArguments:
    words = argument.split()
    if not words:
        return ImpairArguments()
    if words == ["off"]:
        return ImpairArguments(off=True)
    direction = None
    if words[0].lower() in (*DIRECTIONS, *RELAY_DIRECTIONS):  # up, down: the handler knows the mode
        direction = words.pop(0).lower()
    if words == ["off"]:  # `/impair in off`
        return ImpairArguments(off=True, direction=direction)
    if len(words) % 2:
        raise CommandError(f"/impair: {words[-1]!r} needs a value, as in /impair loss 25%; usage: {USAGE}")
    changes = tuple((words[i].lower(), words[i + 1]) for i in range(0, len(words), 2))
    known = (*ImpairSettings.NAMES, "seed")
    for name, _ in changes:
        if name not in known:
            raise CommandError(f"/impair: no impairment {name!r} ({', '.join(known)})")
    return ImpairArguments(changes, direction=direction)


def handle_impair(context: CommandContext, arguments: ImpairArguments, overwrite: bool) -> bool:
    impairing = context.sending.impairing
    relaying = context.config.forward is not None
    if arguments.direction in RELAY_DIRECTIONS and not relaying:
        raise CommandError(f"/impair {arguments.direction}: up and down are for relay mode (--forward)")
    if arguments.direction in ("out", "in") and relaying:
        raise CommandError(f"/impair {arguments.direction}: a relay impairs up, down or both")
    if not arguments.changes and not arguments.off and arguments.direction is None:
        context.note(f"impairments: {impairing.describe()}")
        counted = impairing.counts().parts()
        context.note(f"impaired so far: {', '.join(counted) if counted else 'none'}")
        return True
    settings = impairing.settings.off() if arguments.off else impairing.settings
    try:
        for name, text in arguments.changes:
            settings = settings.changed(name, text)
        settings.checked()  # after all of them: `/impair delay 50ms jitter 20ms` in any order
    except ImpairError as error:
        raise CommandError(f"/impair: {str(error).replace('bad --', 'bad ')}") from None
    restart = any(name == "seed" for name, _ in arguments.changes)  # the same seed replays too
    impairing.update(settings, arguments.direction, restart=restart)
    context.notice(f"impairments: {impairing.describe()}", Level.INFO)
    return True


IMPAIR_COMMAND: Command[ImpairArguments] = Command(
    "impair",
    USAGE,
    "show or change the impairments: /impair loss 25%, delay 200ms, in, off (NAME off for one)",
    "Impairments…",
    parse_impair,
    handle_impair,
)
