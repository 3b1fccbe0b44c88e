"""``n``: create a container from a template or a command."""

from __future__ import annotations

import shlex
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from textual import on
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Select

from runtime import errors
from runtime.ids import validate as validate_id

from ..model import parse_labels
from ..templates import TEMPLATES
from ..widgets.tickbox import TickBox
from .base import Dialog, field_input

CUSTOM = "custom"


@dataclass(frozen=True)
class CreateRequest:
    id: str
    args: tuple[str, ...]
    terminal: bool
    labels: dict[str, str] = field(default_factory=dict)
    start: bool = True
    #: The image to run it from ("": the backend's busybox bundle).
    image: str = ""


class CreateDialog(Dialog[CreateRequest]):
    TITLE = "Create a container"
    OK_LABEL = "Create"

    def __init__(
        self,
        existing: Iterable[str] = (),
        template: str = "shell",
        *,
        images: Callable[[], Awaitable[list[str]]] | None = None,
    ) -> None:
        """``images``: where the backend runs images, how to list them (an image field)."""
        super().__init__()
        self.existing = set(existing)
        self.template = template if template in TEMPLATES else CUSTOM
        self._images = images

    def fields(self) -> Iterable[tuple[str, Widget]]:
        t = TEMPLATES.get(self.template)
        options = [(f"{name}: {tpl.description}", name) for name, tpl in TEMPLATES.items()]
        options.append(("custom command", CUSTOM))
        yield "name", field_input(self._free_name(), id="name", placeholder="container id")
        if self._images is not None:
            yield "image", Select([], prompt="loading images...", id="image", compact=True)
        yield (
            "template",
            Select(options, value=self.template, allow_blank=False, id="template", compact=True),
        )
        yield (
            "command",
            field_input(
                shlex.join(t.args) if t else "",
                id="command",
                placeholder="e.g. sh -c 'echo hi; sleep 60'",
            ),
        )
        yield (
            "tty",
            TickBox("give it a terminal", t.terminal if t else False, id="tty", compact=True),
        )
        yield "labels", field_input("", id="labels", placeholder="key=value, key=value")
        yield "start", TickBox("start it now", True, id="start", compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        if self._images is not None:
            self.run_worker(self._load_images(self._images), exit_on_error=False)

    async def _load_images(self, images: Callable[[], Awaitable[list[str]]]) -> None:
        select = self.query_one("#image", Select)
        try:
            names = await images()
        except errors.Error as e:
            self.show_error(f"images: {e}")
            return
        select.set_options([(name, name) for name in names])
        select.prompt = "choose an image" if names else "the image store is empty"
        if names:
            select.value = names[0]

    def _free_name(self) -> str:
        base = self.template if self.template != CUSTOM else "box"
        if base not in self.existing:
            return base
        n = 2
        while f"{base}-{n}" in self.existing:
            n += 1
        return f"{base}-{n}"

    @on(Select.Changed, "#template")
    def _template_changed(self, event: Select.Changed) -> None:
        t = TEMPLATES.get(str(event.value))
        if t is None:
            return
        self.query_one("#command", Input).value = shlex.join(t.args)
        self.query_one("#tty", Checkbox).value = t.terminal
        name = self.query_one("#name", Input)
        if not name.value or name.value.split("-")[0] in TEMPLATES:
            self.template = t.name
            name.value = self._free_name()

    def build(self) -> CreateRequest:
        id = self.query_one("#name", Input).value.strip()
        try:
            validate_id(id, "container id")
        except errors.InvalidArgument as e:
            raise ValueError(str(e)) from None
        if id in self.existing:
            raise ValueError(f"container {id!r} already exists")
        command = self.query_one("#command", Input).value.strip()
        try:
            args = tuple(shlex.split(command))
        except ValueError as e:
            raise ValueError(f"command: {e}") from None
        if not args:
            raise ValueError("command: say what the container runs, e.g. sh")
        labels = parse_labels(self.query_one("#labels", Input).value)
        image = ""
        if self._images is not None:
            value = self.query_one("#image", Select).value
            if not isinstance(value, str) or not value:
                raise ValueError("image: choose one from the image store")
            image = value
        return CreateRequest(
            id=id,
            args=args,
            terminal=self.query_one("#tty", Checkbox).value,
            labels=labels,
            start=self.query_one("#start", Checkbox).value,
            image=image,
        )
