"""The multicast commands of the table: `/join GROUP`, `/leave GROUP` and `/groups`.

They act on the transport's memberships through the `CommandContext` (its `sending` state
holds the session, and the session the transport): nothing here knows of Textual. A group
that cannot be joined or left is a notice; the typed line stays in the box.
"""

from __future__ import annotations

from typing import Any

from udptui.chat.command_base import Command, CommandContext, CommandError, no_argument
from udptui.chat.datagram import Level
from udptui.net.groups import EXAMPLES, GroupError, GroupSpec, Memberships, parse_group


def _memberships(context: CommandContext) -> Memberships:
    return context.sending.session.transport.groups


def parse_spec(name: str) -> Any:
    def parse(argument: str) -> GroupSpec:
        if not argument:
            raise CommandError(f"/{name} needs a group: /{name} GROUP, as in {EXAMPLES}")
        try:
            return parse_group(argument, leaving=name == "leave")
        except GroupError as error:
            raise CommandError(f"/{name}: {error}") from None

    return parse


def handle_join(context: CommandContext, spec: GroupSpec, overwrite: bool) -> bool:
    try:
        said = _memberships(context).join(spec)
    except GroupError as error:
        context.notice(str(error), Level.ERROR, title="Multicast")
        return False
    port = context.sending.session.transport.local_address.port
    context.notice(f"{said}: datagrams sent to it on port {port} arrive here", Level.INFO, title="Multicast")
    return True


def handle_leave(context: CommandContext, spec: GroupSpec, overwrite: bool) -> bool:
    try:
        said = _memberships(context).leave(spec)
    except GroupError as error:
        context.notice(str(error), Level.ERROR, title="Multicast")
        return False
    context.notice(said, Level.INFO, title="Multicast")
    return True


def handle_groups(context: CommandContext, _: None, overwrite: bool) -> bool:
    labels = _memberships(context).described()
    if not labels:
        context.note("no multicast groups joined: /join GROUP joins one")
    for number, label in enumerate(labels, 1):
        context.note(f"group {number}: {label}")
    return True


GROUP_COMMANDS: tuple[Command[Any], ...] = (
    Command(
        "join",
        "/join GROUP",
        "join a multicast group: 239.1.2.3, 239.1.2.3%eth0, ff02::fb%eth0, SOURCE@GROUP",
        "Join multicast group…",
        parse_spec("join"),
        handle_join,
    ),
    Command(
        "leave",
        "/leave GROUP",
        "leave a multicast group joined with --join or /join",
        "Leave multicast group…",
        parse_spec("leave"),
        handle_leave,
    ),
    Command(
        "groups",
        "/groups",
        "list the multicast groups joined",
        "List multicast groups",
        no_argument("groups"),
        handle_groups,
    ),
)
