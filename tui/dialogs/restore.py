"""``R``: restore a container's task from one of its checkpoints, or a copy of it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Checkbox, Input, OptionList
from textual.widgets.option_list import Option

from runtime import Checkpoint, errors
from runtime.ids import validate as validate_id

from ..model import checkpoint_line
from ..widgets.tickbox import TickBox
from .base import Dialog, field_input


@dataclass(frozen=True)
class RestoreRequest:
    path: str
    #: Empty: into the same container (its task must be gone or stopped).
    new_id: str


class RestoreDialog(Dialog[RestoreRequest]):
    TITLE = "Restore"
    OK_LABEL = "Restore"

    def __init__(
        self,
        subject: str,
        checkpoints: Sequence[Checkpoint],
        *,
        running: bool,
        taken: Iterable[str],
    ) -> None:
        super().__init__(subject)
        self.checkpoints = list(checkpoints)
        #: A live task cannot be replaced: then only a new container will do.
        self.running = running
        self.taken = set(taken)

    def _free_id(self) -> str:
        name, n = f"{self.subject}-restored", 2
        while name in self.taken:
            name, n = f"{self.subject}-restored-{n}", n + 1
        return name

    def fields(self) -> Iterable[tuple[str, Widget]]:
        yield (
            "",
            TickBox(
                "into a new container (a copy of this one)", self.running, id="new", compact=True
            ),
        )
        yield "name", field_input(self._free_id(), id="name")

    def extra(self) -> ComposeResult:
        yield OptionList(
            *(Option(checkpoint_line(c), id=str(i)) for i, c in enumerate(self.checkpoints)),
            id="checkpoints",
        )

    def on_mount(self) -> None:
        super().on_mount()
        self._new_changed()
        listing = self.query_one("#checkpoints", OptionList)
        listing.highlighted = 0
        listing.focus()

    @on(Checkbox.Changed, "#new")
    def _new_changed(self) -> None:
        self.query_one("#name", Input).disabled = not self.query_one("#new", Checkbox).value

    @on(OptionList.OptionSelected, "#checkpoints")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_submit()

    def build(self) -> RestoreRequest:
        index = self.query_one("#checkpoints", OptionList).highlighted
        if index is None:
            raise ValueError("pick a checkpoint")
        path = str(self.checkpoints[index].path)
        if not self.query_one("#new", Checkbox).value:
            if self.running:
                raise ValueError(f"{self.subject} is running: restore into a new container")
            return RestoreRequest(path, "")
        name = self.query_one("#name", Input).value.strip()
        try:
            validate_id(name, "container name")
        except errors.InvalidArgument as e:
            raise ValueError(str(e)) from None
        if name in self.taken:
            raise ValueError(f"container {name!r} already exists")
        return RestoreRequest(path, name)
