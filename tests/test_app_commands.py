"""`/to` through Pilot: a note says where replies go, and a slow name lookup freezes nothing.

Name resolution is not the socket under test, so a stand-in for `socket.getaddrinfo` blocks
until the test lets it answer; the datagrams the app receives meanwhile are real ones.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import (
    WAIT_SECONDS,
    Notices,
    address_of,
    app_address,
    fixed_clock,
    receive_from,
    type_line,
    wait_for,
)

from udptui.chat.datagram import Direction
from udptui.config import Config
from udptui.net.address import Address
from udptui.net.transport import UdpTransport
from udptui.ui.app import UdpTuiApp, make_app
from udptui.ui.widgets import ChatHeader, Composer

OpenTransport = Callable[..., UdpTransport]


def build(open_transport: OpenTransport) -> UdpTuiApp:
    return make_app(Config(listening=True), transport=open_transport(), clock=fixed_clock)


def notes(app: UdpTuiApp) -> list[str]:
    return [entry.note for entry in app.session.store if entry.direction is Direction.NOTE]


def screen_text(app: UdpTuiApp) -> str:
    """What the terminal shows now, as plain text (the app's own render of its screen)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def lookup_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("lookup ")]


class SlowResolver:
    """Stands in for `socket.getaddrinfo`: names ending in `.slow.test` wait until `release()`,
    then resolve to 127.0.0.1; `.fail.test` names fail as an unknown name does."""

    def __init__(self) -> None:
        self.real = socket.getaddrinfo
        self.started = threading.Event()
        self.released = threading.Event()
        self.returned = threading.Event()
        self.threads: list[str] = []

    def __call__(self, host: Any, *args: Any, **kwargs: Any) -> Any:
        if not str(host).endswith((".slow.test", ".fail.test")):
            return self.real(host, *args, **kwargs)
        self.threads.append(threading.current_thread().name)
        self.started.set()
        self.released.wait(WAIT_SECONDS)
        self.returned.set()
        if str(host).endswith(".fail.test"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.real("127.0.0.1", *args, **kwargs)


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlowResolver]:
    slow = SlowResolver()
    monkeypatch.setattr(socket, "getaddrinfo", slow)
    yield slow
    slow.released.set()


async def test_to_logs_where_replies_go(open_transport: OpenTransport, peer: socket.socket) -> None:
    app = build(open_transport)
    async with app.run_test() as pilot:
        await type_line(pilot, app, f"/to {address_of(peer)}")
        assert notes(app) == [f"replying to {address_of(peer)} (pinned)"]
        assert f"replying to {address_of(peer)} (pinned)" in screen_text(app)


async def test_a_slow_lookup_leaves_the_screen_and_the_receive_path_running(
    open_transport: OpenTransport,
    peer: socket.socket,
    stranger: socket.socket,
    resolver: SlowResolver,
) -> None:
    app = build(open_transport)
    async with app.run_test(size=(100, 24)) as pilot:
        await receive_from(pilot, app, stranger, b"hello")
        line = f"/to peer.slow.test:{address_of(peer).port}"
        await type_line(pilot, app, line)
        await wait_for(pilot, resolver.started.is_set, "the lookup to start")

        await receive_from(pilot, app, stranger, b"arrived while resolving")
        await wait_for(pilot, lambda: "arrived while resolving" in screen_text(app), "the datagram drawn")
        assert not resolver.returned.is_set(), "the lookup had to end before the screen could go on"
        assert resolver.threads and resolver.threads[0] != threading.main_thread().name
        assert app.session.target == address_of(stranger)
        composer = app.query_one(Composer)
        assert composer.value == line  # the line stays until the answer comes
        assert "looking up peer.slow.test…" in notes(app)

        resolver.released.set()
        target = Address("127.0.0.1", address_of(peer).port)
        await wait_for(pilot, lambda: app.session.target == target, "the target to change")
        assert app.query_one(ChatHeader).target == target
        assert app.session.follow is False
        assert composer.value == ""
        assert notes(app)[-1] == f"replying to {target} (pinned)"
        await type_line(pilot, app, "to the looked-up peer")
        assert peer.recvfrom(100) == (b"to the looked-up peer", app_address(app))


async def test_a_failed_lookup_is_a_notice_and_keeps_the_line(
    open_transport: OpenTransport, stranger: socket.socket, resolver: SlowResolver
) -> None:
    app = build(open_transport)
    notices = Notices()
    async with app.run_test(message_hook=notices) as pilot:
        await receive_from(pilot, app, stranger, b"hello")
        await type_line(pilot, app, "/to nobody.fail.test:9")
        resolver.released.set()
        says = "/to: cannot resolve host 'nobody.fail.test'"
        await wait_for(pilot, lambda: bool(notices.matching(says)), "a 'cannot resolve' notice")
        assert notices.matching(says)[0].notification.severity == "error"
        assert app.query_one(Composer).value == "/to nobody.fail.test:9"
        assert app.session.target == address_of(stranger)
        assert app.session.follow is True


async def test_a_later_to_wins_over_an_earlier_lookup(
    open_transport: OpenTransport, peer: socket.socket, resolver: SlowResolver
) -> None:
    app = build(open_transport)
    async with app.run_test() as pilot:
        await type_line(pilot, app, "/to first.slow.test:9")
        await wait_for(pilot, resolver.started.is_set, "the lookup to start")
        await type_line(pilot, app, f"/to {address_of(peer)}")
        resolver.released.set()
        # The thread hands its answer to the UI and waits until it ran: once it is gone, it was heard.
        await wait_for(pilot, lambda: not lookup_threads(), "the first lookup's answer to be handled")
        assert app.session.target == address_of(peer)
