"""Keys typed faster than a frame (a fast typist, tmux send-keys, a paste of keys) reach
what the earlier keys opened: a dialog's field, the filter box, the console pane."""

from __future__ import annotations

import pytest
from textual.widgets import Input, TextArea

from tui.app import ShimdeckApp
from tui.backend.replay import ReplayBackend
from tui.dialogs import CheckpointDialog, ConfirmDialog, CreateDialog, ExecDialog, LabelsDialog
from tui.scenarios import select, settle
from tui.screens.console import ConsoleScreen
from tui.screens.main import MainScreen
from tui.sessions import DEMO_SESSION
from tui.widgets.tables import ContainersTable
from tui.widgets.terminal import TerminalView

from .conftest import burst, on_screen, wait_for


def chars(text: str) -> list[str]:
    return list(text)


@pytest.mark.parametrize(
    ("container", "keys", "dialog", "field", "expected"),
    [
        ("shell", ["n", *chars("web1")], CreateDialog, "#name", "web1"),
        ("shell", ["e", *chars("ps")], ExecDialog, "#command", "ps"),
        ("top", ["c", *chars("/x")], CheckpointDialog, "#path", "/x"),
    ],
)
async def test_keys_after_a_dialog_key_reach_its_field(
    container: str, keys: list[str], dialog: type, field: str, expected: str
) -> None:
    app = ShimdeckApp(ReplayBackend(DEMO_SESSION, instant=True, as_recorded=True))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await select(pilot, container)
        burst(app, keys)
        await wait_for(pilot, lambda: on_screen(app, dialog), what=dialog.__name__)
        box = app.screen.query_one(field, Input)
        await wait_for(pilot, lambda: box.value == expected, what=f"{field} = {expected!r}")


async def test_keys_after_l_reach_the_labels_editor() -> None:
    app = ShimdeckApp(ReplayBackend(DEMO_SESSION, instant=True, as_recorded=True))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await select(pilot, "counter")
        burst(app, ["l", *chars("x=1\r")])
        await wait_for(pilot, lambda: on_screen(app, LabelsDialog))
        area = app.screen.query_one(TextArea)
        await wait_for(pilot, lambda: area.text.startswith("x=1\n"), what="x=1 typed")


async def test_a_dialog_can_be_answered_in_the_same_burst() -> None:
    app = ShimdeckApp(ReplayBackend(DEMO_SESSION, instant=True, as_recorded=True))
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await settle(pilot)
        await select(pilot, "crash")
        burst(app, ["d", "n", "k", "down", "enter"])  # delete? no; kill with SIGKILL
        await wait_for(pilot, lambda: app._notifications, what="the kill's outcome")
        await app.workers.wait_for_complete()
        (note,) = app._notifications
        assert "SIGKILL" in str(note.title)
        assert isinstance(app.screen, MainScreen)
        assert not any(isinstance(s, ConfirmDialog) for s in app.screen_stack)


async def test_filter_enter_then_attach_in_one_burst() -> None:
    app = ShimdeckApp(ReplayBackend(DEMO_SESSION, instant=True, as_recorded=True))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        burst(app, [*chars("/shell\r"), "a", *chars("ls")])
        await wait_for(
            pilot,
            lambda: on_screen(app, ConsoleScreen) and app.screen.query(TerminalView),
            what="the console pane composed",
        )
        view = app.screen.query_one(TerminalView)
        await wait_for(pilot, lambda: view.has_focus, what="the pane focused")
        main = app.screen_stack[0]
        assert main.query_one("#filter", Input).value == "shell"
        table = main.query_one(ContainersTable)
        assert table.row_keys() == ["shell"]


async def test_a_key_after_a_move_acts_on_the_row_moved_to() -> None:
    app = ShimdeckApp(ReplayBackend(DEMO_SESSION, instant=True, as_recorded=True))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await select(pilot, "counter")
        table = app.screen.query_one(ContainersTable)
        below = table.row_keys()[table.cursor_row + 1]
        burst(app, ["down", "d"])
        await wait_for(pilot, lambda: on_screen(app, ConfirmDialog), what="the dialog")
        assert app.screen.subject == below


async def test_editing_keys_keep_their_place_among_typed_ones() -> None:
    """Textual runs an Input's bound keys (backspace, arrows) after they bubble up, so in a
    burst they overtake nothing only because each key settles before the next goes
    (Textual issue 6605)."""
    app = ShimdeckApp(ReplayBackend(DEMO_SESSION, instant=True, as_recorded=True))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await wait_for(pilot, lambda: on_screen(app, CreateDialog), what="the dialog")
        box = app.screen.query_one("#name", Input)
        await wait_for(pilot, lambda: box.has_focus, what="the name field focused")
        burst(app, ["b", "a", "backspace", "c", "left", "x"])
        await wait_for(pilot, lambda: box.value == "bxc", what="'bxc' typed")


async def test_a_filter_that_hides_every_row_says_so_not_press_n() -> None:
    app = ShimdeckApp(ReplayBackend(DEMO_SESSION, instant=True, as_recorded=True))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(ContainersTable)
        burst(app, [*chars("/zzz\r")])
        await wait_for(pilot, lambda: not table.row_keys(), what="every row filtered out")
        await wait_for(pilot, lambda: "matches 'zzz'" in table.empty_text, what="the hint")
        assert "escape clears the filter" in table.empty_text
        burst(app, ["escape"])
        await wait_for(pilot, lambda: table.row_keys() != [], what="the rows back")
