"""``e``: run another process in a running task."""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass

from textual.widget import Widget
from textual.widgets import Checkbox, Input

from runtime import errors
from runtime.ids import validate as validate_id

from ..widgets.tickbox import TickBox
from .base import Dialog, field_input


@dataclass(frozen=True)
class ExecRequest:
    exec_id: str
    args: tuple[str, ...]
    terminal: bool
    attach: bool


class ExecDialog(Dialog[ExecRequest]):
    TITLE = "Exec in"
    OK_LABEL = "Run"

    def __init__(self, subject: str, existing: Iterable[str] = ()) -> None:
        super().__init__(subject)
        self.existing = set(existing)

    def _free_id(self) -> str:
        n = 1
        while f"exec-{n}" in self.existing:
            n += 1
        return f"exec-{n}"

    def fields(self) -> Iterable[tuple[str, Widget]]:
        yield "command", field_input("sh", id="command", placeholder="e.g. ps aux")
        yield "exec id", field_input(self._free_id(), id="exec-id")
        yield "tty", TickBox("give it a terminal", True, id="tty", compact=True)
        yield "attach", TickBox("open its console", True, id="attach", compact=True)

    def build(self) -> ExecRequest:
        try:
            args = tuple(shlex.split(self.query_one("#command", Input).value))
        except ValueError as e:
            raise ValueError(f"command: {e}") from None
        if not args:
            raise ValueError("command: say what to run, e.g. sh")
        exec_id = self.query_one("#exec-id", Input).value.strip()
        try:
            validate_id(exec_id, "exec id")
        except errors.InvalidArgument as e:
            raise ValueError(str(e)) from None
        if exec_id in self.existing:
            raise ValueError(f"exec {exec_id!r} already exists in this task")
        return ExecRequest(
            exec_id,
            args,
            self.query_one("#tty", Checkbox).value,
            self.query_one("#attach", Checkbox).value,
        )
