"""Painted lines are freed by reference counting, not left for the cyclic collector."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from rich.segment import Segment
from rich.style import Style
from textual.app import App, ComposeResult
from textual.strip import Strip

from tui.widgets import stripcycles
from tui.widgets.terminal import TerminalView


@pytest.fixture
def no_automatic_gc() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def strips_in_cycles() -> int:
    """Strips only the cyclic collector could free (collected here, then counted)."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        return sum(isinstance(o, Strip) for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


def test_a_strip_divided_or_cropped_to_itself_is_no_cycle(no_automatic_gc: None) -> None:
    stripcycles.install()
    strip = Strip([Segment("abc", Style(bold=True)), Segment("de")])
    assert strip.divide([5]) == [strip] and strip.crop_extend(0, 5, None) is strip
    del strip
    assert strips_in_cycles() == 0
    # Every other result is what Textual gives, and is still cached.
    strip = Strip([Segment("abc", Style(bold=True)), Segment("de")])
    parts = strip.divide([2, 5])
    assert [p.text for p in parts] == ["ab", "cde"] and strip.divide([2, 5]) is parts
    wider = strip.crop_extend(1, 8, None)
    assert wider.text == "bcde   " and strip.crop_extend(1, 8, None) is wider
    assert strip.divide([5, 9]) == [strip] and strip.crop_extend(-1, 5, None) is strip


class Harness(App[None]):
    def compose(self) -> ComposeResult:
        yield TerminalView()


async def test_frames_of_a_flood_leave_no_strip_to_the_cyclic_collector(
    no_automatic_gc: None,
) -> None:
    stripcycles.install()
    line = b"\x1b[32mflood\x1b[0m the quick brown fox \x1b[1;31mjumps\x1b[0m\r\n"
    app = Harness()
    async with app.run_test(size=(60, 12)) as pilot:
        view = app.query_one(TerminalView)
        await pilot.pause()
        strips_in_cycles()  # what mounting left
        for i in range(20):
            view.feed(line * (i + 1))
            await view.wait_idle()
            await pilot.pause()
        assert view.stats.repaints >= 20
        assert strips_in_cycles() == 0
