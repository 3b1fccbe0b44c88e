"""The console pane's views in a headless app: search, scroll, memory, merged logs."""

import argparse
import asyncio
import itertools
import random
import re
import sys
import time
import tracemalloc
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from runtime import Engine
from tui.app import ShimdeckApp
from tui.backend.base import CommandSource
from tui.backend.live import LiveBackend
from tui.backend.merged import MergedConsole
from tui.screens.console import ConsoleScreen
from tui.widgets.terminal import TerminalView

from . import _common as c
from .ui import PaneHarness

NAME = "console_ui"
TITLE = "Console views: search, scroll, memory, merged logs"
SIZE, LINES, MERGED, MERGED_RATE = (140, 44), 10_000, 20, 100
#: Search and scroll (median, s), a full console's memory, merged logs' key to repaint (p95).
SEARCH_TARGET, SCROLL_TARGET, MEMORY_TARGET, KEY_TARGET = 0.050, 0.016, 10 * 2**20, 0.100
#: Idle time before a timed action (seconds, uniform): more than a frame period.
PAUSE = (0.03, 0.06)


def log_lines(n: int) -> bytes:
    return b"".join(
        b"\x1b[32mINFO\x1b[0m request %06d served in \x1b[1m%d ms\x1b[0m from cache node %d\r\n"
        % (i, i % 97, i % 7)
        for i in range(n)
    )


async def after_refresh(app: Any) -> None:
    done = asyncio.Event()
    app.screen.refresh()
    app.call_after_refresh(done.set)
    await asyncio.wait_for(done.wait(), 10)


async def search_and_scroll(rounds: int) -> tuple[int, dict[str, c.Stats]]:
    """Each action timed from a pause after the last frame (as a key comes) and, round by
    round, right after a frame (``_after_frame``: Textual's refresh timer on top)."""
    app = PaneHarness()
    rng = random.Random(9)
    times: dict[str, list[float]] = defaultdict(list)
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(TerminalView)
        await pilot.pause()
        view.feeder.hold_skips = True  # all of it into the scrollback
        view.feed(log_lines(LINES + 200))
        view.drain()
        await pilot.pause()
        history = len(view.emulator.screen.history)

        async def timed(name: str, action: Callable[[], object], pause: bool) -> None:
            if pause:
                await asyncio.sleep(rng.uniform(*PAUSE))
            t0 = time.perf_counter()
            action()
            await after_refresh(app)
            times[name if pause else f"{name}_after_frame"].append(time.perf_counter() - t0)

        for i in range(rounds):
            for pause in (i % 2 == 0, i % 2 == 1):
                state = view.search_state
                pattern = f"request 00{1 + i % 9}{i % 7}"
                await timed("search", partial(view.search, pattern), pause)
                if not state.matches:
                    raise RuntimeError("the search found nothing")
                view.clear_search()
                view.go_live()
                # A page never shown before: its lines are rendered, none kept from earlier.
                top = view.emulator.first_line + 9000 - (2 * i + pause) * 2 * SIZE[1]
                view.scroll_to_line(top)
                await after_refresh(app)
                await timed("scroll", partial(view.action_scroll_page, -1), pause)
                # The anchor: the same full frame with nothing scrolled.
                await timed("frame", lambda: None, pause)
    return history, {name: c.stats(v) for name, v in times.items()}


@dataclass
class Memory:
    bytes: int
    history: int


def memory() -> dict[str, Memory]:
    out, data = {}, log_lines(LINES + 200)
    for name, terminal in (("tty", True), ("log", False)):
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        view = TerminalView(terminal=terminal)
        view.emulator.screen.resize(SIZE[1], SIZE[0])
        view.feeder.hold_skips = True
        for i in range(0, len(data), 65536):
            view.feed(data[i : i + 65536])
        view.feeder.parse(None)
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        out[name] = Memory(after - before, len(view.emulator.screen.history))
    return out


MERGED_SCRIPT = (
    'i=0; while :; do for j in 0 1 2 3 4 5 6 7 8 9; do i=$((i+1)); echo "n $i"; done; '
    "sleep 0.1; done"
)


@dataclass
class Merged:
    containers: int
    lines: int
    lines_per_s: float
    gaps: int
    out_of_order: int
    keys: c.Stats


async def merged(ws: c.Workspace, runtime: str, seconds: float) -> Merged:
    rootfs = ws.rootfs()
    root = ws.root(runtime, "engine-merged")
    ids = [f"{ws.prefix}m{i:02d}" for i in range(MERGED)]
    seen: list[tuple[float, bytes]] = []
    keys: list[float] = []
    async with Engine(root=root, runtime=runtime) as engine:
        backend = LiveBackend(engine, bundles=ws.dir / "ui-bundles", rootfs=rootfs)
        try:
            for id in ids:
                source = CommandSource(("sh", "-c", MERGED_SCRIPT))
                await backend.create(id, source, terminal=False, labels={})
                await backend.start(id)
            app = ShimdeckApp(backend)
            async with app.run_test(size=SIZE) as pilot:
                await pilot.pause()

                class Tapped(MergedConsole):
                    """What the view is handed, kept for the checks below."""

                    async def _tap(self) -> AsyncIterator[list[tuple[float, bytes]]]:
                        async for batch in super().stream_stamped():
                            seen.extend(batch)
                            yield batch

                    def stream_stamped(self) -> AsyncIterator[list[tuple[float, bytes]]]:
                        return self._tap()

                console = Tapped([(id, backend.console(id)) for id in ids])
                app.push_screen(ConsoleScreen(console, ids[0], title="bench"))
                await pilot.pause(0.5)
                view = app.screen.query_one(TerminalView)
                deadline, back = time.monotonic() + seconds, False
                while time.monotonic() < deadline:
                    # Pilot's press waits for the app to be idle, which a stream never is:
                    # the key goes in as a terminal's would, and its effect is awaited.
                    back, t0 = not back, time.perf_counter()
                    app.simulate_key("shift+pageup" if back else "shift+end")
                    while view.live == back:
                        await asyncio.sleep(0.001)
                    await after_refresh(app)
                    keys.append(time.perf_counter() - t0)
                    await asyncio.sleep(0.05)
                await pilot.press("shift+end", "ctrl+right_square_bracket")
                await pilot.pause()
        finally:
            await backend.close()
            for id in ids:
                await backend.remove(id)
    per: dict[str, list[int]] = defaultdict(list)
    stamps = [stamp for stamp, _ in seen]
    for _, data in seen:
        # "<ESC>[..m<id><ESC>[0m n <i>": the id is between the SGR codes.
        if m := re.match(rb"\x1b\[\d+m(\S+)\s*\x1b\[0m n (\d+)", data):
            per[m[1].decode()].append(int(m[2]))
    # Each container's numbers must run on by one from its first line (the backlog may
    # start mid-count).
    lost = sum(sum(1 for a, b in itertools.pairwise(v) if b != a + 1) for v in per.values())
    disordered = sum(1 for a, b in itertools.pairwise(stamps) if b < a)
    return Merged(len(per), len(seen), len(seen) / seconds, lost, disordered, c.stats(keys))


@dataclass
class Result(c.BenchResult):
    history_lines: int
    times: dict[str, c.Stats]
    memory: dict[str, Memory]
    merged: Merged

    def rows(self) -> list[c.Row]:
        t, m = self.times, self.merged
        s, sc, frame = t["search"], t["scroll"], t["frame"]
        search = f"search over {self.history_lines:,} lines of scrollback to the frame with the"
        rows = [
            c.at_most(
                f"{search} first highlight: median / p95 (n={s.n})",
                s.median,
                SEARCH_TARGET,
                c.ms,
                s.med_p95(),
            ),
            c.at_most(
                f"scroll back a page ({SIZE[1] - 1} lines) to the frame: median / p95 (n={sc.n})",
                *(sc.median, SCROLL_TARGET, c.ms, sc.med_p95()),
                anchor=frame.median,
                label="the same frame, nothing scrolled",
            ),
        ]
        nothing = f"{c.ms(t['frame_after_frame'].median)} (the same frame, nothing done)"
        for key, what in (("search", "search"), ("scroll", "scroll back a page")):
            rows.append(
                c.Row(
                    f"{what}, started right after a frame: median / p95",
                    t[key + "_after_frame"].med_p95(),
                    nothing,
                )
            )
        for kind, v in self.memory.items():
            what = f"memory of one {kind} console with full scrollback ({v.history:,} lines)"
            rows.append(c.at_most(what, v.bytes, MEMORY_TARGET, c.mib))
        return [
            *rows,
            c.check(
                f"merged logs of {m.containers} containers x {MERGED_RATE} lines/s: lines handed"
                f" to the view ({m.lines_per_s:.0f}/s), gaps, out of order",
                f"{m.lines:,}, {m.gaps}, {m.out_of_order}",
                m.gaps == 0 and m.out_of_order == 0 and m.containers == MERGED,
                "0 gaps, 0 out of order",
            ),
            c.p95_at_most("merged logs: key to repaint (scroll back / live):", m.keys, KEY_TARGET),
        ]


async def measure(args: argparse.Namespace, ws: c.Workspace) -> Result:
    runtime = "crun" if "crun" in args.runtimes else args.runtimes[0]
    history, times = await search_and_scroll(args.rounds or (15 if args.quick else 50))
    mem = memory()
    return Result(history, times, mem, await merged(ws, runtime, 5.0 if args.quick else 15.0))


if __name__ == "__main__":
    sys.exit(c.run(NAME, measure))
