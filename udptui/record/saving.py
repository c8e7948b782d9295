"""`/save FILE`: this session's transcript as JSON lines (pcap when FILE ends in `.pcap`),
with one line saying what was written. Shared by the screen and headless mode."""

from __future__ import annotations

from udptui.chat.datagram import Direction
from udptui.chat.session import ChatSession
from udptui.chat.store import MAX_PAYLOAD_BYTES
from udptui.record.files import FileExists, write_new_file
from udptui.record.transcript import Transcript, format_records


class SaveError(Exception):
    """The transcript was not saved; the message is one line for the user."""


def plural(count: int, one: str, many: str) -> str:
    """`1 entry`, `3 entries`."""
    return f"{count} {one if count == 1 else many}"


def let_go_reason(kept: int, scrollback: int) -> str:
    """Why the store let older entries go: it was full by count, else by payload bytes."""
    if kept >= scrollback:
        return f"--scrollback {scrollback}"
    return f"the scrollback keeps at most {MAX_PAYLOAD_BYTES // (1024 * 1024)} MiB of payload"


def save_session(session: ChatSession, path: str, *, scrollback: int, overwrite: bool = False) -> str:
    """Write the session's transcript to `path`; returns what was saved, for the user.

    The whole session when `--log` can be read back, else what the scrollback holds
    (cleared from the screen or not), saying how many older entries it had let go. An
    existing file is refused unless `overwrite` (`/save!`); the `--log` file always is.
    """
    from udptui.record.pcap import is_pcap_path

    _refuse_a_live_file(session, path)
    log = session.transcript
    missing = ""
    data: bytes | str | None
    try:
        pcap = is_pcap_path(path)
        data = _whole_pcap(session, path) if pcap else log.session_text() if log is not None else None
        if data is not None:
            detail = f"the whole session, from the {'--pcap' if pcap else '--log'} file"
        else:
            store = session.store
            if pcap:
                data = _scrollback_pcap(session)
                datagrams = sum(1 for entry in store if entry.direction is not Direction.NOTE)
                detail = plural(datagrams, "datagram", "datagrams") + " as pcap"
            else:
                data = format_records(store)
                detail = plural(len(store), "entry", "entries")
            if store.let_go:
                older = plural(store.let_go, "older one", "older ones")
                missing = f"; {older} had left the scrollback ({let_go_reason(len(store), scrollback)})"
        write_new_file(path, data, overwrite=overwrite)
    except FileExists as error:
        raise SaveError(str(error)) from None
    except (OSError, RuntimeError) as error:  # RuntimeError: `~nosuchuser` cannot expand
        why = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise SaveError(f"cannot save to {path}: {why}") from None
    return f"saved {detail} to {path}{missing}"


def _whole_pcap(session: ChatSession, path: str) -> bytes | None:
    """With `--pcap`, its file holds the whole session: a copy of it; else None."""
    from udptui.record.pcap import PcapWriter

    capture = session.find_writer(PcapWriter)
    if capture is None:
        return None
    return capture.session_bytes()


def _refuse_a_live_file(session: ChatSession, path: str) -> None:
    """Saving onto a file udptui is writing would truncate it (`!` or not), whatever `path`
    ends in: `/save! cap.bin` onto `--pcap cap.bin` too."""
    from udptui.record.pcap import PcapWriter

    for writer in session.writers:
        if isinstance(writer, Transcript | PcapWriter) and writer.is_same_file(path):
            flag = "--log" if isinstance(writer, Transcript) else "--pcap"
            raise SaveError(f"{path} is the {flag} file: it already holds everything")


def _scrollback_pcap(session: ChatSession) -> bytes:
    from udptui.record.pcap import pcap_bytes

    return pcap_bytes(session.store, session.transport.local_address)
