"""What every dialog shares: a titled box, labelled fields, an error line, OK/Cancel.

A dialog is a ``ModalScreen[T]`` that dismisses with its request (a small dataclass) or
None. ``build()`` checks the input and raises ``ValueError`` with a message for the user;
the message is shown in the dialog, which stays open.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, ClassVar, Generic, TypeVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Static, TextArea

from runtime import errors

from ..failures import notify_failure
from ..text import safe_text

T = TypeVar("T")

#: Engine errors caused by what the user typed: the dialog stays open to fix it.
INPUT_ERRORS = (errors.InvalidArgument, errors.AlreadyExists)


def field_input(value: str = "", *, id: str, placeholder: str = "") -> Input:
    return Input(value, placeholder=placeholder, id=id, compact=True)


class Dialog(ModalScreen[T | None], Generic[T]):
    """Subclasses set TITLE and OK_LABEL and implement ``fields`` and ``build``."""

    BINDINGS: ClassVar[list[Any]] = [
        Binding("escape", "cancel", "Cancel", id="dialog.cancel"),
        Binding("ctrl+s", "submit", "OK", show=False, id="dialog.submit"),
    ]
    TITLE: ClassVar[str] = ""
    OK_LABEL: ClassVar[str] = "OK"
    OK_VARIANT: ClassVar[str] = "primary"

    def __init__(self, subject: str = "") -> None:
        super().__init__()
        #: The object the dialog acts on, shown after the title (plain text, never markup).
        self.subject = subject
        self._action: Callable[[T], Awaitable[object]] | None = None
        self._what: Callable[[T], str] | None = None
        self._busy = False

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
                title.append_text(safe_text(self.subject, "bold cyan"))
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
        self.query_one("#error", Static).update(safe_text(message, "bold red"))

    def on_submit(
        self, action: Callable[[T], Awaitable[object]], what: Callable[[T], str]
    ) -> Dialog[T]:
        """Run ``action`` on OK before closing: an error the input caused (a bad or taken
        name, bad labels) is shown here and the dialog stays open, with what was typed;
        any other error closes it and becomes a notification titled ``what(request)``."""
        self._action = action
        self._what = what
        return self

    @on(Button.Pressed, "#ok")
    def action_submit(self) -> None:
        if self._busy:
            return
        try:
            result = self.build()
        except ValueError as e:
            self.show_error(str(e))
            return
        if self._action is None:
            self.dismiss(result)
            return
        self._set_busy(True)
        # An app worker: it finishes (and reports) even if the dialog is cancelled.
        self.app.run_worker(self._run(result), group="dialogs", exit_on_error=False)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.query_one("#ok", Button).disabled = busy
        if busy:
            self.query_one("#error", Static).update(Text("working...", style="dim"))

    async def _run(self, result: T) -> None:
        assert self._action is not None and self._what is not None
        failure: Exception | None = None
        try:
            await self._action(result)
        except INPUT_ERRORS as e:
            if self.is_attached and self.app.screen is self:
                self._set_busy(False)
                self.show_error(str(e))
                return
            failure = e
        except Exception as e:  # the UI must survive anything an action does
            failure = e
        open_ = self.is_attached and self.app.screen is self
        if failure is None:
            if open_:
                self.dismiss(result)
            return
        if open_:
            self.dismiss(None)
        notify_failure(self.app, self._what(result), failure)

    @on(Input.Submitted)
    def _input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
