"""``?``: the keys, and what shimdeck is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from ..backend.base import ACTIONS as ALL_CAPABILITIES
from ..backend.base import Capability
from ..widgets.pods import PodColumns
from .main import ACTIONS, NEEDS, ONLY_WHERE_ABLE, SANDBOXES, action_keys

if TYPE_CHECKING:
    from ..app import ShimdeckApp


def help_table(
    keymap: Mapping[str, str],
    capabilities: frozenset[Capability] = ALL_CAPABILITIES,
    *,
    pods: bool = False,
) -> Table:
    """The keys the backend's ``capabilities`` allow; ``pods``: with the ones only a
    Kubernetes node's containers have."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for key, action, _label, help in [*ACTIONS, *([SANDBOXES] if pods else [])]:
        if action in ONLY_WHERE_ABLE and NEEDS[action] not in capabilities:
            continue
        table.add_row(action_keys(key, action, keymap), help)
    table.add_row("ctrl+]", "Leave the console pane (the process keeps running)")
    palette = keymap.get("app.command_palette", "ctrl+p").replace(",", ", ")
    table.add_row(palette, "Command palette: every action by name")
    table.add_row("tab", "Move between panes; enter on a container attaches")
    return table


class HelpScreen(ModalScreen[None]):
    app: ShimdeckApp

    BINDINGS: ClassVar[list[Any]] = [
        Binding("escape,q,question_mark", "dismiss_help", "Close", id="help.close"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help"):
            yield Static(
                Text("shimdeck: look inside containers while they run", style="bold"),
                classes="dialog-title",
            )
            pods = PodColumns().shown(list(self.app.model.rows.values()))
            yield Static(
                help_table(self.app.config.keymap, self.app.backend.capabilities, pods=pods)
            )
            yield Static(Text("escape closes this help", style="dim"), classes="dialog-note")

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
