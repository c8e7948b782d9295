"""Muted peers and hosts: their datagrams are counted and recorded but not shown.

syslog, StatsD and `dig` send each datagram from a new port: muting a host silences every
port it will ever use. A mute decides three things, all without Textual:

- which received entries the log leaves out (`visible_runs`, chunk by chunk: a batch from
  one muted sender is skipped whole, without making an entry);
- that a muted sender never becomes the reply target in `follow` mode (the session asks
  `is_muted` once per sender per take, never per datagram);
- how many datagrams the log hides now (`hidden`, for the status bar and `/mute`): those
  the store holds from senders muted now, kept per sender by `udptui.chat.held`.

`--log`, `--pcap` and headless standard output record every datagram, muted or not.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Sequence

from udptui.chat.datagram import Direction, Entry
from udptui.chat.held import HeldCounts
from udptui.chat.store import BatchChunk, Chunk, EntryRange
from udptui.net.address import Address, AddressError, parse_port, resolve_host


class MuteError(ValueError):
    """A mute or unmute that cannot be done as typed; the message is one line for the user."""


def parse_mute_spec(text: str) -> tuple[str, int | None]:
    """`127.0.0.1`, `127.0.0.1:514`, `::1`, `[::1]`, `[::1]:514` -> (numeric host, port or None)."""
    text = text.strip()
    if not text:
        raise MuteError("give a host or HOST:PORT, like 127.0.0.1 or 127.0.0.1:514")
    port_text: str | None = None
    if text.startswith("["):
        close = text.find("]")
        if close == -1 or (text[close + 1 :] and not text[close + 1 :].startswith(":")):
            raise MuteError(f"bad address {text!r}: expected [IPv6] or [IPv6]:PORT")
        host, rest = text[1:close], text[close + 1 :]
        port_text = rest[1:] if rest else None
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:  # IPv4 or a bare IPv6 address: a host without a port
        host = text
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        if host.replace(".", "").isdigit():
            raise MuteError(f"{host!r} is not a valid IPv4 or IPv6 address") from None
        raise MuteError(f"give the peer's address as numbers, not {host!r}") from None
    try:
        port = None if port_text is None else parse_port(port_text, allow_zero=False)
        return resolve_host(host, port or 0).host, port
    except AddressError as error:
        raise MuteError(str(error)) from None


def spec_text(host: str, port: int | None) -> str:
    """How a host or address is written back to the user: `127.0.0.1`, `[::1]:514`."""
    if port is not None:
        return str(Address(host, port))
    return host


class Muting:
    """The muted hosts and addresses. Empty (falsy) costs nothing anywhere."""

    def __init__(self) -> None:
        self.hosts: set[str] = set()
        self.addresses: set[Address] = set()
        self.held = HeldCounts(self.is_muted, self.__bool__)
        """The store's received datagrams per sender (the session's store reports to it)."""
        self.version = 0
        """Moves on every change, so a view can tell when to redraw."""

    def __bool__(self) -> bool:
        return bool(self.hosts or self.addresses)

    def is_muted(self, address: Address) -> bool:
        # The host first: a set of strings, where an Address would be hashed field by field.
        return address.host in self.hosts or (bool(self.addresses) and address in self.addresses)

    @property
    def hidden(self) -> int:
        """Datagrams the log leaves out now: in the store, from a sender muted now."""
        return self.held.hidden

    def host_muted(self, host: str) -> bool:
        return host in self.hosts

    def hides(self, entry: Entry) -> bool:
        """Whether the log leaves this entry out: a datagram received from a muted sender.

        What you sent, and notes, stay: they are yours, not the noise."""
        return entry.direction is Direction.RECEIVED and entry.peer is not None and self.is_muted(entry.peer)

    def mute(self, host: str, port: int | None) -> str:
        """Mute a host (every port) or one address; returns what to tell the user."""
        if port is None:
            if host in self.hosts:
                raise MuteError(f"{host} is muted already")
            self.hosts.add(host)
            self.addresses = {address for address in self.addresses if address.host != host}
        else:
            address = Address(host, port)
            if host in self.hosts:
                raise MuteError(f"{address} is muted already: its host {host} is")
            if address in self.addresses:
                raise MuteError(f"{address} is muted already")
            self.addresses.add(address)
        self.version += 1
        self.held.recount()
        return f"muted {spec_text(host, port)}{' (every port)' if port is None else ''}"

    def unmute(self, host: str, port: int | None) -> str:
        """Unmute a host (and every port of it muted alone) or one address."""
        if port is None:
            ports = {address for address in self.addresses if address.host == host}
            if host not in self.hosts and not ports:
                raise MuteError(f"{host} is not muted")
            freed = [host] if host in self.hosts else sorted(str(address) for address in ports)
            self.hosts.discard(host)
            self.addresses -= ports
            self.version += 1
            self.held.recount()
            return f"unmuted {', '.join(freed)}"
        else:
            address = Address(host, port)
            if address not in self.addresses:
                if host in self.hosts:
                    raise MuteError(f"{address} is muted with its host: /unmute {host}")
                raise MuteError(f"{address} is not muted")
            self.addresses.discard(address)
        self.version += 1
        self.held.recount()
        return f"unmuted {spec_text(host, port)}"

    def listing(self) -> list[str]:
        """Every mute, hosts first, as the user would type it."""
        hosts = sorted(self.hosts)
        addresses = sorted(str(address) for address in self.addresses)
        return [f"{host} (every port)" for host in hosts] + addresses

    @property
    def status(self) -> int | None:
        """What the status bar says: datagrams hidden now, while anything is muted."""
        return self.hidden if self else None

    # -- what the log shows --------------------------------------------------------------------

    def visible_runs(self, chunk: Chunk, start: int, end: int) -> list[tuple[int, int]]:
        """The index ranges of `chunk[start:end]` the log shows, in order.

        A batch from one sender (a flood) is decided by one `list.count`, whatever its size,
        and makes no entry; a batch from many senders is looked at sender by sender."""
        if start >= end:
            return []
        if not self:
            return [(start, end)]
        hidden: list[bool]
        if type(chunk) is BatchChunk:
            senders = chunk.batch.senders[start:end]
            first = senders[0]
            try:
                if senders.count(first) == len(senders):
                    return [] if self._sender_muted(chunk, first) else [(start, end)]
                verdicts = {sender: self._sender_muted(chunk, sender) for sender in set(senders)}
            except TypeError:  # an unhashable sender (never from a socket)
                verdicts = None
            if verdicts is not None:
                hidden = [verdicts[sender] for sender in senders]
            else:
                hidden = [self._sender_muted(chunk, sender) for sender in senders]
        else:
            hidden = [self.hides(chunk.entry(index)) for index in range(start, end)]
        runs: list[tuple[int, int]] = []
        run_start: int | None = None
        for offset, hide in enumerate(hidden):
            if hide and run_start is not None:
                runs.append((run_start, start + offset))
                run_start = None
            elif not hide and run_start is None:
                run_start = start + offset
        if run_start is not None:
            runs.append((run_start, end))
        return runs

    def _sender_muted(self, chunk: BatchChunk, sender: object) -> bool:
        try:
            return self.is_muted(chunk.resolve(sender))
        except Exception:  # an odd sender makes an entry with no peer: never muted
            return False

    def visible_entries(self, spans: Iterable[tuple[Chunk, int, int]]) -> Iterator[Entry]:
        """The entries of `spans` (chunk, start, end) the log shows; hidden ones are never made."""
        for chunk, start, end in spans:
            for run_start, run_end in self.visible_runs(chunk, start, end):
                for index in range(run_start, run_end):
                    yield chunk.entry(index)

    def shown_seqs(self, entries: Sequence[Entry]) -> Iterator[tuple[int, int]]:
        """(first seq, count) of each run of a take's `entries` the log shows, making no entry
        of an `EntryRange` (what an ingest adds)."""
        if isinstance(entries, EntryRange):
            for chunk, length in entries.parts():
                for start, end in self.visible_runs(chunk, 0, length):
                    yield chunk.first_seq + start, end - start
        else:
            for entry in entries:
                if not self.hides(entry):
                    yield entry.seq, 1

    def shown(self, entries: Sequence[Entry]) -> Iterator[Entry]:
        """What of a take's `entries` the log shows: an `EntryRange` is looked at chunk by chunk."""
        if isinstance(entries, EntryRange):
            yield from self.visible_entries((chunk, 0, length) for chunk, length in entries.parts())
        else:
            yield from (entry for entry in entries if not self.hides(entry))
