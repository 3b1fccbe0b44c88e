"""``d``: confirm a deletion (or any yes/no question)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from ..text import safe_text
from .base import Dialog


class ConfirmDialog(Dialog[bool]):
    TITLE = "Delete"
    OK_LABEL = "Delete"
    OK_VARIANT = "error"
    BINDINGS: ClassVar[list[Any]] = [
        Binding("y", "submit", "Yes", show=False, id="confirm.yes"),
        Binding("n", "cancel", "No", show=False, id="confirm.no"),
    ]

    def __init__(self, subject: str, question: str, *, verb: str = "") -> None:
        """``verb`` (e.g. "Kill") asks about another action than a deletion."""
        super().__init__(subject)
        self.question = question
        self.verb = verb
        if verb:
            self.TITLE = self.OK_LABEL = verb  # type: ignore[misc]

    def extra(self) -> ComposeResult:
        yield Static(safe_text(self.question), classes="dialog-note")
        yield Static(Text(self.hint, style="dim"), classes="dialog-note")

    @property
    def hint(self) -> str:
        """The keys, in the words of the verb."""
        verb = (self.verb or "delete").lower()
        # "keep" answers a deletion; a kill or a pause is simply not done.
        no = "keep" if verb == "delete" else f"don't {verb}"
        return f"y/enter: {verb}   n/escape: {no}"

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#ok").focus()

    def build(self) -> bool:
        return True
