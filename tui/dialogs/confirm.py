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

    def __init__(self, subject: str, question: str) -> None:
        super().__init__(subject)
        self.question = question

    def extra(self) -> ComposeResult:
        yield Static(safe_text(self.question), classes="dialog-note")
        yield Static(Text("y/enter: delete   n/escape: keep", style="dim"), classes="dialog-note")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#ok").focus()

    def build(self) -> bool:
        return True
