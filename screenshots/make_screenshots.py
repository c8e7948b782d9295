"""Make the README's screenshots by driving the real app headless over loopback UDP.

Run from the repository root:  python screenshots/make_screenshots.py

Each picture comes from a real session: the app binds a real socket and plain UDP sockets
on 127.0.0.1 play the peers. Fixed ports (21500-21899), a scripted clock and an explicit
receive buffer make every rerun draw the same pictures.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

from textual.pilot import Pilot

from udptui.config import Config
from udptui.net.address import Address
from udptui.net.impair_settings import ImpairSettings
from udptui.net.relay_transport import RelayTransport
from udptui.net.transport import UdpTransport, bind_socket
from udptui.ui.app import UdpTuiApp, make_app
from udptui.ui.widgets import Composer

HERE = Path(__file__).resolve().parent
SIZE = (110, 32)
RCVBUF = 256 * 1024
WAIT_SECONDS = 5.0

Scene = Callable[[Pilot[None], "Stage"], Awaitable[None]]


class ScriptedClock:
    """The app's clock: a time the script sets, so log lines read like a real chat, every run."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Stage:
    """Everything one screenshot needs: the app, its address, the peer sockets and the clock."""

    def __init__(self, app: UdpTuiApp, address: Address, clock: ScriptedClock) -> None:
        self.app = app
        self.address = address
        self.clock = clock
        self.sockets: list[socket.socket] = []

    def peer(self, port: int, host: str = "127.0.0.1") -> socket.socket:
        """A plain UDP socket on `host`:`port` (127.0.0.1 unless told) playing another program."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((host, port))
        sock.settimeout(WAIT_SECONDS)
        self.sockets.append(sock)
        return sock

    async def wait_for(self, pilot: Pilot[None], condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while not condition():
            if time.monotonic() > deadline:
                raise SystemExit(f"make_screenshots: timed out waiting for {what}")
            await pilot.pause(0.05)

    async def receive(
        self, pilot: Pilot[None], sender: socket.socket, payload: bytes, after: float = 2
    ) -> None:
        """`after` seconds later, `sender` writes `payload`; wait until the log shows it."""
        self.clock.advance(after)
        before = self.app.session.counters.received
        sender.sendto(payload, self.address.sockaddr_for(socket.AF_INET))
        await self.wait_for(pilot, lambda: self.app.session.counters.received > before, repr(payload))

    async def send(self, pilot: Pilot[None], text: str, after: float = 3) -> None:
        """`after` seconds later, the user types `text` and presses Enter."""
        self.clock.advance(after)
        sent_before = self.app.session.counters.sent
        self.app.query_one(Composer).value = text
        await pilot.press("end", "enter")
        await self.wait_for(pilot, lambda: self.app.session.counters.sent > sent_before, f"sending {text!r}")

    async def command(self, pilot: Pilot[None], line: str) -> None:
        """The user types a `/command` that sends nothing (like `/to`) and presses Enter."""
        composer = self.app.query_one(Composer)
        composer.value = line
        await pilot.press("end", "enter")
        await self.wait_for(pilot, lambda: composer.value == "", f"running {line!r}")

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


async def shoot(
    name: str,
    config: Config,
    scene: Scene,
    *,
    bind_host: str | None = "127.0.0.1",
    size: tuple[int, int] = SIZE,
) -> Path:
    """Run the app on `config`, play `scene`, and save the screen as `name`.svg next to this script."""
    clock = ScriptedClock(datetime(2026, 1, 2, 9, 41, 0))
    transport: UdpTransport
    if config.forward is not None:  # a relay: its upstream sockets on fixed ports too
        ports = iter(RELAY_UPSTREAM)
        transport = RelayTransport(
            bind_socket(bind_host, config.port, config.rcvbuf),
            server=config.forward,
            rcvbuf_requested=config.rcvbuf,
            upstream_port=lambda: next(ports, 0),
        )
    else:
        transport = UdpTransport.open(
            bind_host=bind_host, port=config.port, bufsize=config.bufsize, rcvbuf=config.rcvbuf
        )
    app = make_app(config, transport=transport, clock=clock)
    stage = Stage(app, Address("127.0.0.1", config.port), clock)
    filename = f"{name}.svg"
    try:
        async with app.run_test(size=size) as pilot:
            await scene(pilot, stage)
            composer = app.query_one(Composer)
            composer.cursor_blink = False  # a steady cursor: the picture must not depend on timing
            await pilot.pause()
            await pilot.wait_for_scheduled_animations()
            app.save_screenshot(filename=filename, path=str(HERE))
    finally:
        stage.close()
        transport.close()
    return HERE / filename


async def idle(pilot: Pilot[None], stage: Stage) -> None:
    """Nobody has written yet."""


async def conversation(pilot: Pilot[None], stage: Stage) -> None:
    """The tutorial's exchange beside the peers pane: udptui replies to whoever wrote last,
    then F4 pins the tutorial client, and a second client's messages wait as unread."""
    probe = stage.peer(21801)
    client = stage.peer(21601)
    newcomer = stage.peer(21701)
    await stage.receive(pilot, probe, b"ping from a health check", after=0)
    await stage.receive(pilot, client, b"hello", after=3)
    await stage.send(pilot, "hi! who is this?")
    await stage.receive(pilot, client, b"egon, from the tutorial client", after=4)
    await stage.send(pilot, "3 sendto calls make 3 datagrams:", after=5)
    await stage.receive(pilot, client, b"hello", after=6)
    await stage.receive(pilot, client, b"world", after=0)
    await stage.receive(pilot, client, b"egon", after=0)
    await stage.receive(pilot, client, "UTF-8 works too: grüße, 你好 👋".encode(), after=7)
    await pilot.press("f4")  # pin the tutorial client: others wait as unread
    await stage.send(pilot, "nice. pinned you with F4", after=4)
    await stage.receive(pilot, newcomer, b"hey, can I join?", after=6)
    await stage.receive(pilot, newcomer, b"hello??", after=3)


async def peer_mode(pilot: Pilot[None], stage: Stage) -> None:
    """Talking to a pinned peer; another address writes in and is marked, the target stays."""
    peer = stage.peer(21602)
    stranger = stage.peer(21702)
    await stage.send(pilot, "ping from udptui", after=0)
    peer.recv(100)
    await stage.receive(pilot, peer, b"pong", after=1)
    await stage.receive(pilot, stranger, b"hey, can I join?", after=5)
    await stage.send(pilot, "replies still go to the pinned peer", after=3)
    peer.recv(100)
    await stage.receive(pilot, peer, b"got it", after=1)


async def hostile(pilot: Pilot[None], stage: Stage) -> None:
    """Datagrams that try to drive the terminal, the markup parser or the reader; all shown inert."""
    attacker = stage.peer(21603)
    payloads = [
        b"\x1b[2J\x1b[Hclear screen",
        b"\x1b]0;pwned\x07 window title",
        b"\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ OSC8",
        b"\x1b[31mred?\x1b[0m \x1b[5mblink?\x1b[0m",
        "\u202eexe.txt\u202c \u2066bidi\u2069".encode(),
        b"\xc2\x9b31m C1 CSI \xc2\x85 NEL",
        "zero\u200bwidth\u200d\ufeffBOM".encode(),
        b"[@click=app.quit]quit?[/]",
        b"[link=http://x]link[/link]",
        b"NUL\x00 BEL\x07 BS\x08 DEL\x7f",
        b"line one\nline two\r\n",
        b"\xff\xfe\x00A bad \xc3\x28",
        b"",
        "\u6f22\u5b57 \U0001f44b Z\u0338\u0322 e\u0301".encode(),
        b"hello, the rest of this datagram is lost",
    ]
    for payload in payloads:
        await stage.receive(pilot, attacker, payload, after=0.4)
    await pilot.press("f2")  # hide the peers pane: the longest lines need the full width


async def hex_view(pilot: Pilot[None], stage: Stage) -> None:
    """F3: an xxd-style dump under each datagram; F2 hides the pane so whole dump lines fit."""
    device = stage.peer(21604)
    await stage.receive(pilot, device, b"hello", after=0)
    await stage.receive(pilot, device, bytes.fromhex("a5 01 00 2a") + b"21.5C", after=1)
    await stage.send(pilot, "/hex a5 81 00 2a 00 00", after=2)
    await stage.receive(pilot, device, b"\x1b[31mred?\x1b[0m", after=1)
    await stage.send(pilot, "ok, got 4 datagrams", after=2)
    await pilot.press("f2", "f3")


async def many_peers(pilot: Pilot[None], stage: Stage) -> None:
    """Sensors report in; the gateway is pinned, the rest wait as unread; the pane has focus."""
    gateway = stage.peer(21605)
    sensors = [stage.peer(port) for port in (21705, 21706, 21707, 21708, 21709)]
    await stage.command(pilot, "/to 127.0.0.1:21605")
    await stage.send(pilot, "status?", after=1)
    gateway.recv(100)
    await stage.receive(pilot, gateway, b"gateway up, 5 sensors", after=1)
    readings = [b"t=21.5", b"t=19.0", b"h=41%", b"t=22.1", b"door=closed"]
    for sensor, reading in zip(sensors, readings, strict=True):
        await stage.receive(pilot, sensor, reading, after=2)
    await stage.receive(pilot, sensors[1], b"t=19.2", after=2)
    await stage.receive(pilot, sensors[3], b"t=22.4", after=1)
    await stage.receive(pilot, sensors[1], b"t=19.3", after=2)
    await pilot.press("tab", "tab", "down", "down")  # past the log to the pane, the cursor on the third peer


async def by_host(pilot: Pilot[None], stage: Stage) -> None:
    """One-shot senders: syslog lines from a new port each (127.0.0.1), StatsD from another
    host (127.0.0.3), muted with `m`; the pane grouped by host (`g`), a chat peer (127.0.0.2)
    still the target."""
    chat = stage.peer(21870, "127.0.0.2")
    await stage.receive(pilot, chat, b"deploying web01 now", after=1)
    await stage.send(pilot, "ok, watching the logs", after=2)
    chat.recv(100)
    lines = [b"starting nginx", b"listening on :443", b"GET /health 200", b"GET /health 200"]
    statsd = [b"web.req:1|c", b"web.lat:12|ms", b"web.req:1|c", b"web.lat:9|ms"]
    for index, (line, metric) in enumerate(zip(lines, statsd, strict=True)):
        await stage.receive(pilot, stage.peer(21861 + index, "127.0.0.3"), metric, after=0.5)
        syslog = b"<30>1 2026-01-02T09:41:0%dZ web01 nginx - - - " % index + line
        await stage.receive(pilot, stage.peer(21851 + index), syslog, after=0.5)
    await stage.receive(pilot, chat, b"done, any errors?", after=2)
    # Into the pane, grouped by host; the cursor on 127.0.0.3 (the third host), muted.
    await pilot.press("shift+tab", "g", "down", "down", "m")
    await stage.wait_for(pilot, lambda: bool(stage.app.session.muting), "the mute")
    stage.app.clear_notifications()


async def inspector(pilot: Pilot[None], stage: Stage) -> None:
    """F6 on a DNS query from `dig`, between a game packet and syslog lines: the inspector
    beside the log shows where, when and what, then every byte and the text."""
    game = stage.peer(21607)
    resolver = stage.peer(21707)
    syslog = stage.peer(21807)
    await stage.receive(pilot, game, bytes.fromhex("beef001a421c0000000000003f800000c2480000ff"), after=0)
    await stage.receive(
        pilot, syslog, b"<134>1 2026-01-02T09:41:01.250Z web01 nginx 4242 - - GET /health 200", after=1
    )
    dns_query = bytes.fromhex(
        "74ea01200001000000000001076578616d706c6503636f6d000001000100002904d000000000000c000a0008"
        "9b82e13cd554632b"
    )
    await stage.receive(pilot, resolver, dns_query, after=0.031)
    await stage.receive(pilot, game, bytes.fromhex("beef001a421d0000000000003f800000c2480000fe"), after=0.016)
    await stage.receive(
        pilot, syslog, b"<131>1 2026-01-02T09:41:01.420Z web01 nginx 4242 - - upstream timed out", after=0.1
    )
    await pilot.press("f2", "f6", "up", "up")  # the inspector on the DNS query


RELAY_SERVER = 21951
RELAY_UPSTREAM = (21970, 21971, 21972)
"""udptui's own socket to the server, then each client's session, in the order they come."""


class TutorialServer:
    """The tutorial's server on a thread: prints nothing, answers `ok: ` + what came."""

    def __init__(self, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                data, client = self.sock.recvfrom(1024)
                self.sock.sendto(b"ok: " + data, client)
            except OSError:  # closed
                return

    def close(self) -> None:
        self.sock.close()


async def relay(pilot: Pilot[None], stage: Stage) -> None:
    """udptui between two tutorial clients and the tutorial's server: both ways in the log,
    the clients in the pane; typing goes to the server, then to a client chosen with /to."""
    app = stage.app
    alpha, beta = stage.peer(21961), stage.peer(21962)

    async def through(client: socket.socket, payload: bytes, after: float) -> None:
        stage.clock.advance(after)
        before = sum(bool(entry.relay) for entry in app.session.store)
        client.sendto(payload, stage.address.sockaddr_for(socket.AF_INET))
        client.recvfrom(1024)
        await stage.wait_for(
            pilot, lambda: sum(bool(e.relay) for e in app.session.store) == before + 2, "relayed"
        )

    await through(alpha, b"hello from alpha", 0)
    await through(beta, b"beta here", 2)
    await through(alpha, b"3 sendto calls", 3)
    await stage.send(pilot, "status? (typed in udptui)", after=2)
    await stage.wait_for(pilot, lambda: app.session.counters.received == 7, "the server's answer")
    await stage.command(pilot, "/to 127.0.0.1:21962")
    await stage.send(pilot, "psst, beta: udptui here", after=3)


def dns_question(name: str, kind: int) -> bytes:
    """A DNS query (id 0, as mDNS sends them) for `name`, type `kind`, class IN."""
    labels = b"".join(bytes([len(part)]) + part.encode() for part in name.split(".")) + b"\0"
    return bytes(4) + b"\x00\x01" + bytes(6) + labels + kind.to_bytes(2, "big") + b"\x00\x01"


async def multicast(pilot: Pilot[None], stage: Stage) -> None:
    """Joined to the mDNS group on lo: two hosts ask there, a third broadcasts, one writes to
    us alone; F6 on a question sent to the group."""
    printer, laptop, tv = stage.peer(21608), stage.peer(21708), stage.peer(21808)
    for sock in (printer, laptop, tv):
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    await stage.command(pilot, "/join 224.0.0.251%lo")
    port = stage.address.port
    app = stage.app
    for sender, payload, host in (
        (printer, dns_question("_ipp._tcp.local", 12), "224.0.0.251"),
        (laptop, dns_question("_services._dns-sd._udp.local", 12), "224.0.0.251"),
        (tv, b"DISCOVER tv-livingroom 1.4", "127.255.255.255"),
        (laptop, b"hello, just you", "127.0.0.1"),
        (printer, dns_question("printer.local", 1), "224.0.0.251"),
    ):
        stage.clock.advance(0.7)
        before = app.session.counters.received
        sender.sendto(payload, (host, port))
        await stage.wait_for(pilot, lambda before=before: app.session.counters.received > before, host)  # type: ignore[misc]
    await pilot.press("f2", "f6", "up", "up", "up")  # the inspector on the laptop's question


async def lesson(pilot: Pilot[None], stage: Stage) -> None:
    """The README's lesson: a client losing 30% of what it sends (`--loss 30% --seed 1`) to
    the tutorial's server, which answers what reaches it."""
    server = stage.peer(21608)
    for word in ("one", "two", "three", "four", "five", "six"):
        stage.clock.advance(2)
        before = len(stage.app.session.store)
        stage.app.query_one(Composer).value = word
        await pilot.press("end", "enter")
        await stage.wait_for(pilot, lambda n=before: len(stage.app.session.store) > n, f"sending {word!r}")
        fate = stage.app.session.store[-1].impairment
        if fate is None or not fate.lost:
            server.recv(100)
            await stage.receive(pilot, server, f"ok, got {word}".encode(), after=0.001)


async def main() -> None:
    made = [
        await shoot("listen-idle", Config(port=21501, listening=True, rcvbuf=RCVBUF), idle, bind_host=None),
        await shoot("conversation", Config(port=21502, listening=True, rcvbuf=RCVBUF), conversation),
        await shoot(
            "peer-mode",
            Config(port=21503, peer=Address("127.0.0.1", 21602), rcvbuf=RCVBUF),
            peer_mode,
        ),
        await shoot("hostile", Config(port=21504, listening=True, bufsize=32, rcvbuf=RCVBUF), hostile),
        await shoot("hex-view", Config(port=21505, listening=True, rcvbuf=RCVBUF), hex_view),
        await shoot("peers", Config(port=21506, listening=True, rcvbuf=RCVBUF), many_peers),
        await shoot("peers-by-host", Config(port=21508, listening=True, rcvbuf=RCVBUF), by_host),
        await shoot(
            "inspector", Config(port=21507, listening=True, rcvbuf=RCVBUF), inspector, size=(150, 34)
        ),
        await shoot(
            "multicast",
            Config(port=21509, listening=True, rcvbuf=RCVBUF),
            multicast,
            bind_host=None,
            size=(150, 34),
        ),
        await shoot(
            "lesson-loss",
            Config(
                port=21510,
                peer=Address("127.0.0.1", 21608),
                rcvbuf=RCVBUF,
                impair=ImpairSettings(loss=0.3, seed=1),
            ),
            lesson,
        ),
    ]
    server = TutorialServer(RELAY_SERVER)
    try:
        forward = Address("127.0.0.1", RELAY_SERVER)
        config = Config(port=21511, listening=True, forward=forward, rcvbuf=RCVBUF)
        made.append(await shoot("relay", config, relay))
    finally:
        server.close()
    for path in made:
        print(f"wrote {path.parent.name}/{path.name}")


if __name__ == "__main__":
    asyncio.run(main())
