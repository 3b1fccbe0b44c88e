"""``L``: the merged logs of several containers, on real containers (runc)."""

from __future__ import annotations

import re

from rich.color import Color

from tui.app import ShimdeckApp
from tui.backend.live import LiveBackend
from tui.backend.merged import MergedConsole
from tui.screens.console import ConsoleScreen
from tui.widgets.terminal import TerminalView

from .conftest import on_screen, type_text, wait_for
from .test_console_keys import Harness, MemoryConsole, open_pane


async def test_L_merges_the_filtered_containers_by_time_in_colours(live: LiveBackend) -> None:
    script = 'i=0; while [ $i -lt 30 ]; do i=$((i+1)); echo "n $i"; sleep 0.1; done; sleep 60'
    for id in ("ma", "mb"):
        args = ("sh", "-c", script)
        await live.create(id, args, terminal=False, labels={"merge": "yes"})
        await live.start(id)
    app = ShimdeckApp(live)
    async with app.run_test(size=(80, 30)) as pilot:
        await wait_for(pilot, lambda: {"ma", "mb"} <= set(app.model.rows), what="rows")
        await pilot.press("slash")
        await type_text(pilot, "merge")
        await pilot.press("enter")
        await pilot.press("L")
        await wait_for(pilot, lambda: on_screen(app, ConsoleScreen), what="logs")
        view = app.screen.query_one(TerminalView)
        assert view.read_only and not view.terminal

        def lines() -> list[str]:
            emu = view.emulator
            return [emu.text(n) for n in range(emu.first_line, emu.end_line) if emu.text(n)]

        before = len(lines())
        await wait_for(pilot, lambda: {"ma n 30", "mb n 30"} <= set(lines()), what="all lines")
        assert before < 60  # some came live
        got = lines()
        for id in ("ma", "mb"):
            # Every line of each container, once, in its order.
            mine = [int(line.split()[-1]) for line in got if line.startswith(id)]
            assert mine == list(range(1, 31)), (id, mine)
        # Interleaved: neither container's lines come all in one block.
        firsts = [line[:2] for line in got]
        assert firsts.index("mb") < max(i for i, f in enumerate(firsts) if f == "ma")
        # Each prefix in a colour of its own.
        row = next(y for y in range(view.size.height) if view.view_lines()[y].startswith("mb"))
        colours = {s.text.strip(): s.style.color for s in view.render_line(row) if s.style}
        row = next(y for y in range(view.size.height) if view.view_lines()[y].startswith("ma"))
        colours |= {s.text.strip(): s.style.color for s in view.render_line(row) if s.style}
        assert colours["ma"] != colours["mb"]
        bar = str(app.screen.query_one("#console-bar").render())
        assert re.search(r"logs\s+(ma, mb|mb, ma)", bar)
        # The same search as in a console.
        await pilot.press("ctrl+f")
        await type_text(pilot, "mb n 2")
        assert len(view.search_state.matches) == 11  # mb n 2, mb n 20-29
        await pilot.press("escape", "ctrl+right_square_bracket")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConsoleScreen))


class Stamped(MemoryConsole):
    def __init__(self, pieces: list[tuple[float, bytes]]) -> None:
        super().__init__(b"".join(d for _, d in pieces), terminal=False)
        self.pieces = pieces

    def stamped_backlog(self) -> list[tuple[float, bytes]]:
        return self.pieces


async def test_backlogs_merge_by_time_and_partial_lines_wait_for_their_end() -> None:
    a = Stamped([(1.0, b"a1\na"), (3.0, b"2\n")])
    b = Stamped([(2.0, b"b1\n"), (4.0, b"b2\n")])
    merged = MergedConsole([("a", a), ("bb", b)])
    lines = merged.stamped_backlog()
    assert [stamp for stamp, _ in lines] == [1.0, 2.0, 3.0, 4.0]
    assert lines[0][1] == b"\x1b[36ma \x1b[0m a1\n"
    assert lines[2][1] == b"\x1b[36ma \x1b[0m a2\n"
    assert lines[1][1].startswith(b"\x1b[33mbb\x1b[0m ")
    stream = merged.stream_stamped()
    a.queue.put_nowait(b"a3\n")
    b.queue.put_nowait(b"open")
    b.queue.put_nowait(None)
    a.queue.put_nowait(None)
    got = [data async for batch in stream for _, data in batch]
    assert got == [b"\x1b[36ma \x1b[0m a3\n", b"\x1b[33mbb\x1b[0m open\n"]


async def test_the_raw_view_of_merged_logs_shows_the_prefixes_plain() -> None:
    a = Stamped([(1.0, b"\x1b[31mred\x1b[0m one\n")])
    b = Stamped([(2.0, b"\x1b[36ma \x1b[0m looks like a prefix\n")])
    merged = MergedConsole([("a", a), ("b", b)])
    app = Harness(merged)
    async with app.run_test(size=(60, 8)) as pilot:
        view = await open_pane(app, pilot)
        await pilot.press("r")
        await view.wait_idle()
        await pilot.pause()
        # The process's bytes raw, the id (which the UI added) in its colour as before.
        assert [line.rstrip() for line in view.display_lines()[:2]] == [
            "a ^[[31mred^[[0m one",
            "b ^[[36ma ^[[0m looks like a prefix",
        ]
        prefix = view.render_line(0)._segments[0]
        assert prefix.text == "a" and prefix.style and prefix.style.color
        assert prefix.style.color.triplet == Color.parse("cyan").get_truecolor(app.ansi_theme)
        await pilot.press("r")
        await view.wait_idle()
        assert view.display_lines()[0].rstrip() == "a red one"
