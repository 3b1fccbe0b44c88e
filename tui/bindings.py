"""Where keys are looked up together, for checking a keymap before the app starts.

Each scope is a screen with the app's bindings and those of the widgets that usually have
the focus there: a key a keymap gives to two bindings of one scope would run only one.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.dom import DOMNode
from textual.widgets import Input, TextArea

from .app import ShimdeckApp
from .dialogs import (
    CheckpointDialog,
    ConfirmDialog,
    CreateDialog,
    ExecDialog,
    KillDialog,
    LabelsDialog,
    RestoreDialog,
    SaveDialog,
)
from .screens import ConsoleScreen, HelpScreen, MainScreen
from .screens.main import SANDBOXES, binding_id
from .widgets.linetable import LineTable
from .widgets.searchbar import SearchBar
from .widgets.terminal import TerminalView

#: Bindings only containerd's main screen offers (namespaces, a Kubernetes node's sandboxes).
CONTAINERD_ONLY = frozenset({binding_id("namespaces"), binding_id(SANDBOXES[1])})


def _bindings(*nodes: type[DOMNode]) -> list[Binding]:
    """Every binding of these classes, as Textual merges each class's with its bases'."""
    return [
        binding
        for node in nodes
        for bindings in node._merge_bindings().key_to_bindings.values()
        for binding in bindings
    ]


def scopes() -> dict[str, list[Binding]]:
    scopes = {
        "main": _bindings(ShimdeckApp, MainScreen, LineTable),
        "console": _bindings(ShimdeckApp, ConsoleScreen, TerminalView),
        # The search bar has the focus; the console screen's priority keys still apply.
        "search": _bindings(ShimdeckApp, ConsoleScreen, SearchBar, Input),
        "help": _bindings(ShimdeckApp, HelpScreen),
    }
    dialogs = (CheckpointDialog, ConfirmDialog, CreateDialog, ExecDialog, KillDialog)
    for dialog in (*dialogs, RestoreDialog, SaveDialog):
        scopes[dialog.__name__] = _bindings(ShimdeckApp, dialog, Input)
    scopes[LabelsDialog.__name__] = _bindings(ShimdeckApp, LabelsDialog, Input, TextArea)
    return scopes
