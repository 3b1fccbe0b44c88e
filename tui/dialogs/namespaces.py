"""``N`` (on containerd): pick a namespace, each shown with its container count."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from .base import Dialog, field_input


class NamespacePicker(Dialog[str]):
    """Dismisses with the chosen namespace's name, or None; typing filters the list."""

    TITLE = "Namespace"
    OK_LABEL = "Switch"

    def __init__(self, namespaces: Sequence[tuple[str, int]], current: str) -> None:
        super().__init__(current)
        self.namespaces = sorted(namespaces)
        self.current = current
        self._shown: list[str] = []

    def extra(self) -> ComposeResult:
        yield field_input(id="filter", placeholder="filter")
        yield OptionList(id="namespaces")

    def on_mount(self) -> None:
        super().on_mount()
        self._show("")
        self.query_one("#filter", Input).focus()

    def _line(self, name: str, count: int) -> Text:
        width = max((len(n) for n, _ in self.namespaces), default=0)
        line = Text(f"{name:<{width}}  ", style="bold" if name == self.current else "")
        line.append(f"{count:>5}", style="dim")
        if name == self.current:
            line.append("  (current)", style="dim")
        return line

    def _show(self, text: str) -> None:
        listing = self.query_one("#namespaces", OptionList)
        listing.clear_options()
        needle = text.strip().lower()
        shown = [(n, c) for n, c in self.namespaces if needle in n.lower()]
        self._shown = [n for n, _ in shown]
        listing.add_options([Option(self._line(n, c), id=n) for n, c in shown])
        if shown:
            names = self._shown
            listing.highlighted = names.index(self.current) if self.current in names else 0

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._show(event.value)

    def on_key(self, event: events.Key) -> None:
        # Up and down move in the list while the filter keeps the focus.
        if event.key in ("up", "down") and self.focused is self.query_one("#filter", Input):
            listing = self.query_one("#namespaces", OptionList)
            if event.key == "up":
                listing.action_cursor_up()
            else:
                listing.action_cursor_down()
            event.stop()

    @on(OptionList.OptionSelected, "#namespaces")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_submit()

    def build(self) -> str:
        index = self.query_one("#namespaces", OptionList).highlighted
        if index is None or not self._shown:
            raise ValueError("no namespace matches the filter")
        return self._shown[index]
