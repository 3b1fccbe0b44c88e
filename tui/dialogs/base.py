"""What every dialog shares: a titled box, labelled fields, an error line, OK/Cancel.

A dialog is a ``ModalScreen[T]`` that dismisses with its request (a small dataclass) or
None. ``build()`` checks the input and raises ``ValueError`` with a message for the user;
the message is shown in the dialog, which stays open.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, Generic, TypeVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Static, TextArea

T = TypeVar("T")


def field_input(value: str = "", *, id: str, placeholder: str = "") -> Input:
    return Input(value, placeholder=placeholder, id=id, compact=True)


class Dialog(ModalScreen[T | None], Generic[T]):
    """Subclasses set TITLE and OK_LABEL and implement ``fields`` and ``build``."""

    BINDINGS: ClassVar[list[Any]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "submit", "OK", show=False),
    ]
    TITLE: ClassVar[str] = ""
    OK_LABEL: ClassVar[str] = "OK"
    OK_VARIANT: ClassVar[str] = "primary"

    def __init__(self, subject: str = "") -> None:
        super().__init__()
        #: The object the dialog acts on, shown after the title (plain text, never markup).
        self.subject = subject

    def fields(self) -> Iterable[tuple[str, Widget]]:
        """(label, widget) pairs laid out in a two-column grid."""
        return ()

    def extra(self) -> ComposeResult:
        """Widgets under the grid (a note, a list)."""
        yield from ()

    def build(self) -> T:
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            title = Text(self.TITLE, style="bold")
            if self.subject:
                title.append("  ")
                title.append(self.subject, style="bold cyan")
            yield Static(title, classes="dialog-title")
            with Grid(classes="dialog-grid"):
                for label, widget in self.fields():
                    yield Label(label, classes="field-label")
                    yield widget
            yield from self.extra()
            yield Static("", classes="dialog-error", id="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(
                    self.OK_LABEL,
                    variant=self.OK_VARIANT,  # type: ignore[arg-type]
                    id="ok",
                    compact=True,
                )
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        if self.app.is_headless:
            # A blinking cursor would make screenshots differ from run to run.
            for widget in self.query(Input):
                widget.cursor_blink = False
            for area in self.query(TextArea):
                area.cursor_blink = False

    def show_error(self, message: str) -> None:
        self.query_one("#error", Static).update(Text(message, style="bold red"))

    @on(Button.Pressed, "#ok")
    def action_submit(self) -> None:
        try:
            result = self.build()
        except ValueError as e:
            self.show_error(str(e))
            return
        self.dismiss(result)

    @on(Input.Submitted)
    def _input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
