"""The replay backend and the UI over it: no root, no runtime, same screens every run."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path

import pytest
from textual import events
from textual.widgets import Input

from runtime import errors
from tui.app import ShimdeckApp
from tui.backend.recording import SessionFormatError
from tui.backend.replay import ReplayBackend
from tui.scenarios import settle
from tui.screens.console import ConsoleScreen
from tui.screens.main import NEEDS, MainScreen
from tui.sessions import DEMO_SESSION
from tui.widgets.eventlog import EventsTable
from tui.widgets.tables import ContainersTable
from tui.widgets.terminal import TerminalView

from .conftest import on_screen, type_text, wait_for


async def test_instant_replay_shows_the_final_state() -> None:
    app = ShimdeckApp(ReplayBackend(DEMO_SESSION, instant=True))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        rows = app.model.rows
        assert sorted(rows) == ["counter", "crash", "flood", "shell", "top"]
        assert rows["crash"].status == "stopped" and rows["crash"].task.exit_status == 3
        assert rows["counter"].status == "paused"
        assert rows["flood"].task is None
        assert rows["top"].cpu and rows["top"].memory
        table = app.screen.query_one(ContainersTable)
        assert table.row_count == 5
        events = app.screen.query_one(EventsTable)
        assert events.row_count == len(app.model.events) > 10


async def test_filters_narrow_containers_and_events() -> None:
    app = ShimdeckApp(ReplayBackend(DEMO_SESSION, instant=True))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(ContainersTable)
        await pilot.press("slash")
        await type_text(pilot, "worker")
        await pilot.press("enter")
        assert sorted(table.row_keys()) == ["counter", "crash"]
        await pilot.press("escape")
        assert table.row_count == 5
        events = app.screen.query_one(EventsTable)
        events.focus()
        await pilot.press("slash")
        await type_text(pilot, "exit")
        await pilot.press("enter")
        assert 0 < events.row_count < len(app.model.events)
        assert table.row_count == 5


async def test_sorting_by_column() -> None:
    app = ShimdeckApp(ReplayBackend(DEMO_SESSION, instant=True))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(ContainersTable)
        order = lambda: table.row_keys()  # noqa: E731
        assert order() == ["counter", "crash", "flood", "shell", "top"]
        await pilot.press("O")
        assert order() == ["top", "shell", "flood", "crash", "counter"]
        await pilot.press("o")  # status
        assert table.sort_column == "status"
        assert order()[0] == "flood"  # "no task" sorts first


async def test_actions_in_a_replay_are_refused_or_fail_as_recorded() -> None:
    backend = ReplayBackend(DEMO_SESSION, instant=True)
    with pytest.raises(errors.Unavailable, match="not possible in a replay"):
        await backend.start("flood")
    with pytest.raises(errors.RuntimeFailure, match="checkpoint of task 'top' failed"):
        await backend.checkpoint("top", "/tmp/x")
    with pytest.raises(errors.RuntimeFailure, match="cannot pause task 'crash'"):
        await backend.pause("crash")


async def test_a_replay_disables_what_it_cannot_do() -> None:
    """Only attach, and the actions that failed while recorded (to show their error)."""
    app = ShimdeckApp(ReplayBackend(DEMO_SESSION, instant=True))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        from tui.commands import ActionsProvider

        disabled = {a for a in NEEDS if screen.check_action(a, ()) is None}
        assert disabled == {
            "create",
            "start",
            "kill",
            "delete",
            "exec",
            "restore",
            "labels",
            "namespaces",
        }
        await pilot.press("n", "k", "d")  # nothing opens, nothing is refused one by one
        await pilot.pause()
        assert app.screen is screen and [n.message for n in app._notifications] == []
        titles = " ".join(t for t, _, _ in ActionsProvider(screen)._commands())
        assert "(k)" not in titles and "(a)" in titles and "(p)" in titles


async def test_an_engine_error_becomes_a_notification() -> None:
    app = ShimdeckApp(ReplayBackend(DEMO_SESSION, instant=True))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        table = app.screen.query_one(ContainersTable)
        table.move_cursor(row=table.get_row_index("crash"))
        await pilot.press("p")
        await app.workers.wait_for_complete()
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        assert messages == ["cannot pause task 'crash' in stopped state"]
        assert isinstance(app.screen, MainScreen)


async def test_console_replays_a_terminal_and_leaves_with_ctrl_bracket() -> None:
    app = ShimdeckApp(ReplayBackend(DEMO_SESSION, instant=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(ContainersTable)
        table.move_cursor(row=table.get_row_index("shell"))
        await pilot.press("a")
        await wait_for(pilot, lambda: on_screen(app, ConsoleScreen))
        view = app.screen.query_one(TerminalView)
        await view.wait_idle()
        assert (view.screen_buffer.columns, view.screen_buffer.lines) == (80, 23)
        assert any("bold italic underline" in line for line in view.display_lines())
        await pilot.press("q", "ctrl+p")  # belong to the process, not to the app
        assert isinstance(app.screen, ConsoleScreen)
        await pilot.press("ctrl+right_square_bracket")
        assert isinstance(app.screen, MainScreen)


async def test_paced_replay_follows_the_recorded_clock() -> None:
    backend = ReplayBackend(DEMO_SESSION, speed=20.0)
    seen: list[tuple[str, datetime]] = []

    async def follow() -> None:
        async for update in backend.updates():
            seen.append((type(update).__name__, backend.now()))

    loop = asyncio.get_running_loop()
    began = loop.time()
    await asyncio.wait_for(follow(), 30)  # the updates end with the recording
    elapsed = loop.time() - began
    length = float(json.loads(DEMO_SESSION.read_text().splitlines()[-1])["t"])
    assert elapsed >= length / 20 * 0.9  # paced, not instant
    times = [t for _, t in seen]
    assert times == sorted(times) and times[0] < times[-1]
    assert seen[0][0] == "Resynced" and seen[-1][0] == "EventSeen"
    await backend.close()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty"),
        ("not json\n", "not JSON"),
        ('{"kind": "event"}\n', "no header"),
        (
            '{"kind":"header","start":"2024-01-01T00:00:00+00:00"}\n{"kind":"what"}\n',
            "unknown kind",
        ),
        (
            '{"kind":"header","start":"2024-01-01T00:00:00+00:00"}\n{"kind":"event","event":{}}\n',
            "malformed",
        ),
        (
            '{"kind":"header","start":"2024-01-01T00:00:00+00:00","backend":{"kind":"x"}}\n',
            "header.*not an engine's or a containerd's",
        ),
    ],
)
def test_bad_session_files_are_named(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(content)
    with pytest.raises(SessionFormatError, match=message):
        ReplayBackend(path)


def test_the_shipped_session_is_well_formed() -> None:
    kinds = {json.loads(line)["kind"] for line in DEMO_SESSION.read_text().splitlines()}
    assert kinds == {"header", "state", "event", "stats", "output", "error", "pty"}


async def test_every_action_is_in_the_command_palette() -> None:
    app = ShimdeckApp(ReplayBackend(DEMO_SESSION, instant=True, as_recorded=True))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await type_text(pilot, "kill")
        await wait_for(pilot, lambda: _palette_has_hits(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "KillDialog")
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)
        from tui.commands import ActionsProvider

        titles = [title for title, _, _ in ActionsProvider(app.screen)._commands()]
        for key in (
            "(n)",
            "(s)",
            "(p)",
            "(k)",
            "(d)",
            "(e)",
            "(a)",
            "(c)",
            "(l)",
            "(/)",
            "(?)",
            "(q)",
        ):
            assert any(t.endswith(key) for t in titles), key


def _palette_has_hits(app: ShimdeckApp) -> bool:
    from textual.command import CommandList

    lists = app.screen.query(CommandList)
    return bool(lists) and lists.first().option_count > 0


async def test_keys_typed_right_after_the_slash_reach_the_filter() -> None:
    """A fast typist (or tmux send-keys) queues keys before the slash's action has run."""
    app = ShimdeckApp(ReplayBackend(DEMO_SESSION, instant=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app._driver is not None
        for key, char in [("slash", "/"), *((c, c) for c in "shell"), ("enter", "\r")]:
            event = events.Key(key, char)
            event.set_sender(app)
            app._driver.send_message(event)
        table = app.screen.query_one(ContainersTable)
        await wait_for(pilot, lambda: table.row_keys() == ["shell"])
        await pilot.press("slash")
        await pilot.press("slash")  # typed into the box, not a new filter
        assert app.screen.query_one("#filter", Input).value == "shell/"


async def test_a_replayed_console_is_framed_at_its_recorded_size() -> None:
    app = ShimdeckApp(ReplayBackend(DEMO_SESSION, instant=True))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(ContainersTable)
        table.move_cursor(row=table.get_row_index("top"))
        await pilot.press("a")
        await wait_for(pilot, lambda: on_screen(app, ConsoleScreen))
        view = app.screen.query_one(TerminalView)
        await view.wait_idle()
        await pilot.pause()
        # The recording set top's pty to 80x23: shown at that size, centred, titled.
        assert (view.screen_buffer.columns, view.screen_buffer.lines) == (80, 23)
        box = app.screen.query_one("#terminal-box")
        assert str(box.border_title) == "recorded at 80x23"
        region = box.region
        assert abs(region.x - (160 - region.right)) <= 1  # centred across
        assert region.y > 1 and region.bottom < 48
