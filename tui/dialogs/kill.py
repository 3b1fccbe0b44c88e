"""``k``: send a signal, picked from a list, to the task (or all its processes) or an exec."""

from __future__ import annotations

import signal
from collections.abc import Iterable
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Checkbox, OptionList
from textual.widgets.option_list import Option

from ..widgets.tickbox import TickBox
from .base import Dialog

#: The signals offered, in order, with what each usually means to a process.
SIGNALS: list[tuple[signal.Signals, str]] = [
    (signal.SIGTERM, "ask to terminate"),
    (signal.SIGKILL, "kill now (cannot be caught)"),
    (signal.SIGINT, "interrupt, like ctrl+c"),
    (signal.SIGHUP, "hang up / reload"),
    (signal.SIGQUIT, "quit with a core dump"),
    (signal.SIGUSR1, "user-defined 1"),
    (signal.SIGUSR2, "user-defined 2"),
    (signal.SIGSTOP, "stop (cannot be caught)"),
    (signal.SIGCONT, "continue if stopped"),
    (signal.SIGWINCH, "window size changed"),
]


@dataclass(frozen=True)
class KillRequest:
    signal: int
    all: bool


class KillDialog(Dialog[KillRequest]):
    TITLE = "Send a signal to"
    OK_LABEL = "Send"
    OK_VARIANT = "error"

    def __init__(self, subject: str, *, exec: bool = False) -> None:
        super().__init__(subject)
        self.is_exec = exec

    def fields(self) -> Iterable[tuple[str, Widget]]:
        box = TickBox(
            "all processes of the task (--all)",
            False,
            id="all",
            compact=True,
            disabled=self.is_exec,
        )
        yield "", box

    def extra(self) -> ComposeResult:
        options = []
        for sig, meaning in SIGNALS:
            label = Text(f"{sig.name:<9}", style="bold")
            label.append(f"{int(sig):>3}  ", style="dim")
            label.append(meaning)
            options.append(Option(label, id=sig.name))
        yield OptionList(*options, id="signals")

    def on_mount(self) -> None:
        super().on_mount()
        signals = self.query_one("#signals", OptionList)
        signals.highlighted = 0
        signals.focus()

    @on(OptionList.OptionSelected, "#signals")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_submit()

    def build(self) -> KillRequest:
        signals = self.query_one("#signals", OptionList)
        index = signals.highlighted
        if index is None:
            raise ValueError("pick a signal")
        sig = SIGNALS[index][0]
        return KillRequest(int(sig), self.query_one("#all", Checkbox).value)
