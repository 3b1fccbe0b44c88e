"""The console pane's own keys: scroll mode, search, save, copy; in tty and pipe panes.

The pane is fed from an in-memory console here (so each test controls the output to the
byte); tests/tui/test_live.py and test_e2e.py attach the same screen to real containers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from rich.color import Color
from textual import events
from textual.app import App
from textual.geometry import Offset
from textual.selection import Selection
from textual.widgets import Input, Static

from tui.backend.base import Console
from tui.dialogs.save import SaveDialog
from tui.model import Model
from tui.screens.console import ConsoleScreen
from tui.widgets.searchbar import SearchBar
from tui.widgets.terminal import TerminalView

from .conftest import on_screen, type_text, wait_for


class MemoryConsole(Console):
    def __init__(self, backlog: bytes, *, terminal: bool, log: Path | None = None) -> None:
        self.terminal = terminal
        self._backlog = backlog
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.written: list[bytes] = []
        self._log = log

    def backlog(self) -> bytes:
        return self._backlog

    async def _iterate(self) -> AsyncIterator[bytes]:
        while (chunk := await self.queue.get()) is not None:
            yield chunk

    def stream(self) -> AsyncIterator[bytes]:
        return self._iterate()

    def write(self, data: bytes) -> None:
        self.written.append(data)

    async def resize(self, width: int, height: int) -> None:
        pass

    def close(self) -> None:
        self.queue.put_nowait(None)

    def log_files(self) -> list[Path]:
        return [self._log] if self._log else []


class Harness(App[None]):
    def __init__(self, console: MemoryConsole) -> None:
        super().__init__()
        self.console_ = console
        self.model = Model()  # what the console bar reads the task's status from

    def on_mount(self) -> None:
        self.push_screen(ConsoleScreen(self.console_, "box"))


def numbered(start: int, stop: int) -> bytes:
    return b"".join(b"line %d\r\n" % i for i in range(start, stop))


async def open_pane(app: Harness, pilot: object) -> TerminalView:
    await wait_for(pilot, lambda: on_screen(app, ConsoleScreen))  # type: ignore[arg-type]
    view = app.screen.query_one(TerminalView)
    await wait_for(
        pilot,
        lambda: (
            view._sized and view.stats.fed == len(app.console_.backlog()) and not view.pending_bytes
        ),
    )  # type: ignore[arg-type]
    await view.wait_idle()
    await pilot.pause()  # type: ignore[attr-defined]
    return view


@pytest.mark.parametrize("terminal", [True, False], ids=["tty", "pipe"])
async def test_shifted_keys_scroll_back_and_new_output_keeps_the_view(terminal: bool) -> None:
    console = MemoryConsole(numbered(0, 200), terminal=terminal)
    app = Harness(console)
    async with app.run_test(size=(40, 12)) as pilot:
        view = await open_pane(app, pilot)
        assert view.live and "line 199" in "".join(view.view_lines())
        await pilot.press("shift+pageup")
        assert not view.live
        shown = view.view_lines()
        assert "line 199" not in "".join(shown)
        console.queue.put_nowait(numbered(200, 230))
        await wait_for(pilot, lambda: view.new_lines == 30, what="30 new lines counted")
        await pilot.pause()
        assert view.view_lines()[:-1] == shown[:-1]
        assert "30 new lines" in "".join(s.text for s in view.render_line(view.size.height - 1))
        await pilot.press("shift+home")
        assert view.view_lines()[0] == "line 0"
        await pilot.press("shift+pagedown")
        assert view.view_lines()[0] == f"line {view.size.height - 1}"
        await pilot.press("shift+end")
        assert view.live and "line 229" in "".join(view.view_lines())
        assert console.written == []  # none of these keys reached the process


async def test_typing_into_a_tty_returns_to_live() -> None:
    console = MemoryConsole(numbered(0, 100), terminal=True)
    app = Harness(console)
    async with app.run_test(size=(40, 12)) as pilot:
        view = await open_pane(app, pilot)
        await pilot.press("shift+pageup")
        assert not view.live
        await pilot.press("x")
        assert view.live and console.written == [b"x"]


async def test_a_paste_and_the_keys_after_it_reach_the_process_in_order() -> None:
    # Keys go to the process from the app's turn (not the pane's queue): a paste must too.
    console = MemoryConsole(b"", terminal=True)
    app = Harness(console)
    async with app.run_test(size=(40, 12)) as pilot:
        await open_pane(app, pilot)
        app.post_message(events.Key("a", "a"))
        app.post_message(events.Paste("bc"))
        app.post_message(events.Key("d", "d"))
        await wait_for(pilot, lambda: len(console.written) == 3, what="three writes")
        assert console.written == [b"a", b"bc", b"d"]


async def test_plain_keys_scroll_a_pane_without_a_tty_and_go_to_a_tty() -> None:
    for terminal in (False, True):
        console = MemoryConsole(numbered(0, 100), terminal=terminal)
        app = Harness(console)
        async with app.run_test(size=(40, 12)) as pilot:
            view = await open_pane(app, pilot)
            await pilot.press("pageup")
            assert view.live is terminal
            if terminal:
                assert console.written == [b"\x1b[5~"]
                continue
            await pilot.press("g")
            assert view.view_lines()[0] == "line 0"
            await pilot.press("down", "down")
            assert view.view_lines()[0] == "line 2"
            await pilot.press("up")
            assert view.view_lines()[0] == "line 1"
            await pilot.press("G")
            assert view.live
            await pilot.press("home")
            assert view.view_lines()[0] == "line 0"
            await pilot.press("end")
            assert view.live


async def test_the_wheel_scrolls() -> None:
    console = MemoryConsole(numbered(0, 100), terminal=True)
    app = Harness(console)
    async with app.run_test(size=(40, 12)) as pilot:
        view = await open_pane(app, pilot)
        top = view.view_top
        view.post_message(events.MouseScrollUp(view, 1, 1, 0, -1, 0, False, False, False))
        await pilot.pause()
        assert view.view_top == top - TerminalView.WHEEL_LINES
        view.post_message(events.MouseScrollDown(view, 1, 1, 0, 1, 0, False, False, False))
        await pilot.pause()
        assert view.live


async def test_search_highlights_counts_jumps_and_escape_returns_to_live() -> None:
    console = MemoryConsole(numbered(0, 300), terminal=True)
    app = Harness(console)
    async with app.run_test(size=(50, 12)) as pilot:
        view = await open_pane(app, pilot)
        await pilot.press("ctrl+f")
        bar = app.screen.query_one(SearchBar)
        assert bar.is_open and app.screen.focused is bar.input
        await type_text(pilot, "line 1")
        state = view.search_state
        # line 1, line 10-19, line 100-199: 111 lines
        assert len(state.matches) == 111
        count = app.screen.query_one("#search-count", Static)
        assert "111/111" in str(count.render())
        await pilot.press("enter")
        assert state.current == 109
        n = state.current_match[0]  # type: ignore[index]
        assert view.view_top <= n < view.view_top + view.size.height
        assert not view.live  # line 198 is in the scrollback
        row = n - view.view_top
        styles = [s.style for s in view.render_line(row) if "line 1" in s.text]
        assert styles, "the match is drawn as a segment of its own"
        await pilot.press("shift+enter")
        assert state.current == 110
        await pilot.press("up")
        assert state.current == 109
        # Case and regex toggles.
        await pilot.press("ctrl+u")
        await type_text(pilot, "LINE 2.0")
        assert len(state.matches) == 0
        await pilot.press("ctrl+r")
        assert {view.emulator.text(m[0]) for m in state.matches} >= {"line 200", "line 290"}
        await pilot.press("ctrl+t")
        assert state.matches == [] and "no matches" in str(count.render())
        await pilot.press("ctrl+u")
        await type_text(pilot, "(")
        assert "bad regex" in str(count.render())
        await pilot.press("escape")
        assert not bar.is_open and view.live and state.matches == []
        assert app.screen.focused is view


async def test_new_output_is_searched_as_it_arrives() -> None:
    console = MemoryConsole(numbered(0, 50), terminal=True)
    app = Harness(console)
    async with app.run_test(size=(40, 12)) as pilot:
        view = await open_pane(app, pilot)
        await pilot.press("ctrl+f")
        await type_text(pilot, "line 9")
        assert len(view.search_state.matches) == 1
        console.queue.put_nowait(numbered(50, 100))
        await wait_for(pilot, lambda: len(view.search_state.matches) == 1 + 10)
        texts = [view.emulator.text(n) for n, _, _ in view.search_state.matches]
        assert texts == ["line 9", *(f"line {i}" for i in range(90, 100))]


async def test_n_and_shift_n_jump_in_a_pane_without_a_tty() -> None:
    console = MemoryConsole(numbered(0, 300), terminal=False)
    app = Harness(console)
    async with app.run_test(size=(50, 12)) as pilot:
        view = await open_pane(app, pilot)
        await pilot.press("ctrl+f")
        await type_text(pilot, "line 2")
        await pilot.press("tab")  # back to the pane, the bar stays open
        app.screen.set_focus(view)
        await pilot.pause()
        last = len(view.search_state.matches) - 1
        await pilot.press("n")
        assert view.search_state.current == last - 1
        await pilot.press("N")
        assert view.search_state.current == last


async def test_the_current_match_is_copied() -> None:
    console = MemoryConsole(b"alpha beta gamma\r\n", terminal=True)
    app = Harness(console)
    async with app.run_test(size=(40, 12)) as pilot:
        await open_pane(app, pilot)
        await pilot.press("ctrl+f")
        await pilot.press("ctrl+r")
        app.screen.query_one(SearchBar).input.value = "b\\w+"
        await pilot.pause()
        await pilot.press("ctrl+y")
        assert app.clipboard == "beta"


async def test_a_mouse_selection_is_copied() -> None:
    console = MemoryConsole(b"alpha beta gamma\r\n", terminal=True)
    app = Harness(console)
    async with app.run_test(size=(40, 12)) as pilot:
        view = await open_pane(app, pilot)
        await pilot.mouse_down(view, offset=(6, 0))
        await pilot.hover(view, offset=(9, 0))
        await pilot.pause()
        top = view.view_top
        assert app.screen.selections == {view: Selection(Offset(6, top), Offset(10, top))}
        selected = app.screen.get_component_rich_style("screen--selection")
        assert any(s.style and s.style.bgcolor == selected.bgcolor for s in view.render_line(0))
        await pilot.mouse_up(view, offset=(9, 0))
        await pilot.pause()
        assert app.clipboard == "beta"


async def test_ctrl_s_saves_scrollback_and_screen(tmp_path: Path) -> None:
    console = MemoryConsole(numbered(0, 500), terminal=True)
    app = Harness(console)
    async with app.run_test(size=(40, 12)) as pilot:
        await open_pane(app, pilot)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: on_screen(app, SaveDialog))
        box = app.screen.query_one("#path", Input)
        target = tmp_path / "out.txt"
        box.value = str(target)
        await pilot.press("enter")
        await wait_for(pilot, lambda: on_screen(app, ConsoleScreen), what="dialog closed")
        assert target.read_text() == numbered(0, 500).decode().replace("\r", "")


async def test_an_unwritable_path_is_an_error_in_the_dialog(tmp_path: Path) -> None:
    log = tmp_path / "log"
    log.write_bytes(b"from the log file\n")
    console = MemoryConsole(b"on screen\n", terminal=False, log=log)
    app = Harness(console)
    async with app.run_test(size=(60, 14)) as pilot:
        await open_pane(app, pilot)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: on_screen(app, SaveDialog))
        dialog = app.screen
        box = dialog.query_one("#path", Input)
        box.value = str(tmp_path / "missing" / "out.txt")
        await pilot.press("enter")
        error = dialog.query_one("#error", Static)
        await wait_for(pilot, lambda: "cannot write" in str(error.render()), what="the error")
        assert app.screen is dialog
        assert list(tmp_path.iterdir()) == [log]  # nothing half-written left behind
        existing = tmp_path / "kept.txt"
        existing.write_text("old")
        box.value = str(existing)
        await pilot.press("enter")
        await wait_for(pilot, lambda: on_screen(app, ConsoleScreen))
        assert existing.read_bytes() == b"from the log file\n"  # the log, not the screen


async def test_a_log_obeys_colours_shows_other_sequences_and_r_shows_it_raw() -> None:
    console = MemoryConsole(b"\x1b[31mred\x1b[0m \x1b[2Jkept\n", terminal=False)
    app = Harness(console)
    async with app.run_test(size=(50, 8)) as pilot:
        view = await open_pane(app, pilot)
        assert view.display_lines()[0].rstrip() == "red ^[[2Jkept"
        red = next(s for s in view.render_line(0) if s.text == "red")
        assert red.style and red.style.color
        assert red.style.color.triplet == Color.parse("red").get_truecolor(app.ansi_theme)
        await pilot.press("r")
        await view.wait_idle()
        await pilot.pause()
        assert view.display_lines()[0].rstrip() == "^[[31mred^[[0m ^[[2Jkept"
        bar = app.screen.query_one("#console-bar", Static)
        assert "raw" in str(bar.render())
        await pilot.press("r")
        await view.wait_idle()
        assert view.display_lines()[0].startswith("red ")


async def test_t_stamps_each_line_with_its_read_time() -> None:
    console = MemoryConsole(b"", terminal=False)
    app = Harness(console)
    async with app.run_test(size=(50, 8)) as pilot:
        view = await open_pane(app, pilot)
        # 1e9 is 01:46:40 UTC (the UI tests run in UTC).
        view.feed(b"one\ntw", 1e9 + 0.25)
        view.feed(b"o\nthree\n", 1e9 + 1.5)
        await view.wait_idle()
        await pilot.press("t")
        await view.wait_idle()
        await pilot.pause()
        assert [line.rstrip() for line in view.display_lines()[:3]] == [
            "01:46:40.250 one",
            "01:46:40.250 two",
            "01:46:41.500 three",
        ]
        stamp = next(s for s in view.render_line(0) if s.text.startswith("01:46"))
        grey = Color.parse("bright_black").get_truecolor(app.ansi_theme)
        assert stamp.style and stamp.style.color and stamp.style.color.triplet == grey
        await pilot.press("t")
        await view.wait_idle()
        assert view.display_lines()[0].rstrip() == "one"


def shown_rows(view: TerminalView, rows: int) -> list[str]:
    return [view.render_line(y).text.rstrip() for y in range(rows)]


async def test_w_unwraps_long_lines_and_left_right_scroll_them() -> None:
    long = b"".join(b"%d" % (i % 10) for i in range(70))
    console = MemoryConsole(long + b"\nnext\n", terminal=False)
    app = Harness(console)
    async with app.run_test(size=(50, 8)) as pilot:
        view = await open_pane(app, pilot)
        assert shown_rows(view, 2) == [long[:50].decode(), long[50:].decode()]
        await pilot.press("right")  # a wrapped log has nothing to the right
        assert view.first_column == 0
        await pilot.press("w")
        await view.wait_idle()
        await pilot.pause()
        assert shown_rows(view, 2) == [long[:50].decode(), "next"]
        await pilot.press("right", "right")
        await pilot.pause()
        assert view.first_column == 2 * view.COLUMN_STEP
        assert shown_rows(view, 2) == [long[16:66].decode(), ""]
        # The mouse selection's offsets are columns of the whole line.
        assert view.render_line(0)._segments[0].style.meta == {"offset": (16, 0)}
        await pilot.press("left")
        await pilot.pause()
        assert shown_rows(view, 1) == [long[8:58].decode()]
        await pilot.press("w")  # wrapped again: from the left edge
        await view.wait_idle()
        await pilot.pause()
        assert view.first_column == 0 and shown_rows(view, 1) == [long[:50].decode()]
        assert console.written == []


async def test_shift_wheel_scrolls_an_unwrapped_log_sideways() -> None:
    console = MemoryConsole(b"a" * 30 + b"b" * 100 + b"\n", terminal=False)
    app = Harness(console)
    async with app.run_test(size=(50, 8)) as pilot:
        view = await open_pane(app, pilot)
        await pilot.press("w")
        await view.wait_idle()
        top = view.view_top
        view.post_message(
            events.MouseScrollDown(view, 1, 1, 0, 1, 0, shift=True, meta=False, ctrl=False)
        )
        await wait_for(pilot, lambda: view.first_column == view.COLUMN_STEP, what="scrolled right")
        assert view.view_top == top  # sideways, not down
        view.post_message(
            events.MouseScrollRight(view, 1, 1, 1, 0, 0, shift=False, meta=False, ctrl=False)
        )
        await wait_for(pilot, lambda: view.first_column == 2 * view.COLUMN_STEP)
        await pilot.pause()
        assert shown_rows(view, 1) == ["a" * 14 + "b" * 36]


async def test_f_holds_the_view_and_f_again_follows() -> None:
    console = MemoryConsole(numbered(0, 20), terminal=False)
    app = Harness(console)
    async with app.run_test(size=(40, 8)) as pilot:
        view = await open_pane(app, pilot)
        await pilot.press("f")
        held = view.view_lines()[:-1]
        console.queue.put_nowait(numbered(20, 40))
        await wait_for(pilot, lambda: view.new_lines == 20)
        assert view.view_lines()[:-1] == held
        await pilot.press("f")
        assert view.live and "line 39" in "".join(view.view_lines())
