"""``l``: edit a container's labels, one ``key=value`` per line."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static, TextArea

from ..model import parse_labels
from .base import Dialog


class LabelsDialog(Dialog[dict[str, str]]):
    TITLE = "Labels of"
    OK_LABEL = "Save"

    def __init__(self, subject: str, labels: dict[str, str]) -> None:
        super().__init__(subject)
        self.labels = labels

    def extra(self) -> ComposeResult:
        text = "\n".join(f"{k}={v}" for k, v in sorted(self.labels.items()))
        yield TextArea(text, id="labels", soft_wrap=False, show_line_numbers=False)
        yield Static(
            "one key=value per line; ctrl+s saves, escape cancels",
            classes="dialog-note",
            markup=False,
        )

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#labels", TextArea).focus()

    def build(self) -> dict[str, str]:
        return parse_labels(self.query_one("#labels", TextArea).text, separators="\n")
