"""``c``: checkpoint a task with CRIU into a directory."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from textual.widget import Widget
from textual.widgets import Checkbox, Input

from ..widgets.tickbox import TickBox
from .base import Dialog, field_input

DEFAULT_DIR = "/var/lib/shimdeck/checkpoints"


@dataclass(frozen=True)
class CheckpointRequest:
    path: str
    exit: bool


class CheckpointDialog(Dialog[CheckpointRequest]):
    TITLE = "Checkpoint"
    OK_LABEL = "Checkpoint"

    def fields(self) -> Iterable[tuple[str, Widget]]:
        yield "path", field_input(f"{DEFAULT_DIR}/{self.subject}", id="path")
        yield "", TickBox("stop the task after the checkpoint", False, id="exit", compact=True)

    def build(self) -> CheckpointRequest:
        path = self.query_one("#path", Input).value.strip()
        if not path:
            raise ValueError("path: where should the checkpoint go?")
        p = PurePosixPath(path)
        if not p.is_absolute() or ".." in p.parts:
            raise ValueError(f"path {path!r} must be absolute, with no '..'")
        return CheckpointRequest(str(p), self.query_one("#exit", Checkbox).value)
