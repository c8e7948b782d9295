"""A small dialog that saves a datagram's bytes to a file, asking before it overwrites one."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from udptui.record.files import FileExists, write_new_file


class SaveBytes(ModalScreen[None]):
    """Enter saves; an existing file is named and a second Enter on the same name overwrites it."""

    BINDINGS = [Binding("escape", "dismiss", "Cancel", id="save-cancel", tooltip="Save nothing")]

    def __init__(self, payload: bytes, what: str) -> None:
        super().__init__()
        self.payload = payload
        self.what = what
        self._confirm: str | None = None
        """The path the user was told exists; Enter on it again overwrites."""

    def compose(self) -> ComposeResult:
        with Vertical(id="save-dialog"):
            yield Label(Content(f"Save the {len(self.payload)} bytes of {self.what} to:"))
            yield Input(placeholder="file name", id="save-path")
            yield Label("Enter saves, Escape cancels", id="save-hint")

    def on_input_changed(self) -> None:
        self._confirm = None
        self.query_one("#save-hint", Label).update("Enter saves, Escape cancels")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        path = event.value.strip()
        if not path:
            return
        try:
            written = write_new_file(path, self.payload, overwrite=path == self._confirm)
        except FileExists:
            self._confirm = path
            hint = Content(f"{path} exists: Enter again overwrites it, Escape cancels")
            self.query_one("#save-hint", Label).update(hint)
            return
        except (OSError, RuntimeError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            self.query_one("#save-hint", Label).update(Content(f"cannot save to {path}: {reason}"))
            return
        self.notify(f"saved {len(self.payload)} bytes to {written}", title="Saved", markup=False)
        self.dismiss(None)
