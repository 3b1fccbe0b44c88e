"""The console pane's search bar: a pattern, its toggles, and the match count.

It only reports what the user asks (:class:`SearchBar.Changed`, :class:`SearchBar.Step`,
:class:`SearchBar.Closed`, :class:`SearchBar.CopyMatch`); the pane does the searching.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Static

from ..text import safe_text


class SearchBar(Horizontal):
    DEFAULT_CSS = """
    SearchBar {
        dock: bottom;
        height: 1;
        background: $panel;
        display: none;
        &.-open { display: block; }
        & > Input { width: 1fr; border: none; height: 1; padding: 0 1; }
        & > #search-count { width: auto; padding: 0 1; color: $text-muted; }
        & > #search-count.-error { color: $error; text-style: bold; }
    }
    """
    BINDINGS: ClassVar[list[Any]] = [
        Binding("escape", "close", "Close search", show=False, id="search.close"),
        Binding("shift+enter,down", "step(1)", "Newer match", show=False, id="search.newer_match"),
        Binding("up", "step(-1)", "Older match", show=False, id="search.older_match"),
        Binding("ctrl+r", "toggle_regex", "Regex", show=False, id="search.regex"),
        Binding("ctrl+t", "toggle_case", "Case", show=False, id="search.case"),
        Binding("ctrl+y", "copy_match", "Copy match", show=False, id="search.copy_match"),
    ]

    @dataclass
    class Changed(Message):
        pattern: str
        regex: bool
        case: bool

    @dataclass
    class Step(Message):
        delta: int

    class Closed(Message):
        pass

    class CopyMatch(Message):
        pass

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.regex = False
        self.case = False

    def compose(self) -> ComposeResult:
        yield Input(placeholder="search", id="search-input", compact=True)
        yield Static(id="search-count")

    @property
    def input(self) -> Input:
        return self.query_one("#search-input", Input)

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    def open(self) -> None:
        self.add_class("-open")
        if self.app.is_headless:
            self.input.cursor_blink = False  # screenshots stay the same from run to run
        self.screen.set_focus(self.input)
        self.show_count("")

    def close(self) -> None:
        self.remove_class("-open")

    def show_count(self, count: str, *, error: bool = False) -> None:
        text = Text()
        text.append(".*" if self.regex else "  ", style="bold" if self.regex else "dim")
        text.append(" regex(ctrl+r) ", style="dim")
        text.append("Aa" if self.case else "aa", style="bold" if self.case else "dim")
        text.append(" case(ctrl+t)  ", style="dim")
        text.append_text(safe_text(count))
        widget = self.query_one("#search-count", Static)
        widget.set_class(error, "-error")
        widget.update(text)

    def _changed(self) -> None:
        self.post_message(self.Changed(self.input.value, self.regex, self.case))

    @on(Input.Changed, "#search-input")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        self._changed()

    @on(Input.Submitted, "#search-input")
    def _enter(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Step(-1))

    def action_step(self, delta: int) -> None:
        self.post_message(self.Step(delta))

    def action_toggle_regex(self) -> None:
        self.regex = not self.regex
        self._changed()

    def action_toggle_case(self) -> None:
        self.case = not self.case
        self._changed()

    def action_close(self) -> None:
        self.post_message(self.Closed())

    def action_copy_match(self) -> None:
        self.post_message(self.CopyMatch())
