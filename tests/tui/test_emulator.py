"""The emulator and the feeder, without an app: scrollback, alternate screen, skip-ahead."""

from __future__ import annotations

import pyte
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.widgets.emulator import DEFAULT_ATTRS, Emulator, PaneScreen, freeze_line
from tui.widgets.feeder import Feeder


def lines(n: int) -> bytes:
    return b"".join(b"line %d\r\n" % i for i in range(n))


def test_lines_scrolled_off_the_top_are_kept_in_order() -> None:
    emu = Emulator(20, 5)
    emu.feed(lines(30))
    assert emu.first_line == 0
    assert emu.top_line == 26  # 30 lines and the cursor's empty row fill 31 rows
    assert [emu.text(n) for n in range(emu.first_line, emu.end_line)][:3] == [
        "line 0",
        "line 1",
        "line 2",
    ]
    assert emu.text(emu.top_line) == "line 26"


def test_scrollback_is_bounded_and_numbers_stay_put() -> None:
    emu = Emulator(20, 5, scrollback=10)
    emu.feed(lines(100))
    assert len(emu.screen.history) == 10
    assert emu.first_line == emu.top_line - 10
    assert emu.text(emu.first_line) == f"line {emu.first_line}"


def test_the_alternate_screen_adds_nothing_to_scrollback() -> None:
    emu = Emulator(20, 5)
    emu.feed(lines(3))
    before = emu.screen.pushed
    emu.feed(b"\x1b[?1049h" + lines(50) + b"\x1b[?1049l")
    assert emu.screen.pushed == before
    assert emu.text(emu.top_line) == "line 0"


def test_colours_are_kept_in_history_and_trailing_blanks_dropped() -> None:
    emu = Emulator(20, 3)
    emu.feed(b"\x1b[31mred\x1b[0m plain   \r\n" + lines(5))
    red = emu.line(emu.first_line)
    assert red[0] == ("red", ("red", *DEFAULT_ATTRS[1:]))
    assert red[1] == (" plain", DEFAULT_ATTRS)


def test_unsafe_characters_are_replaced_when_frozen() -> None:
    line = {0: _char("a"), 1: _char("\u202e"), 2: _char("b")}
    assert freeze_line(line, 10) == (("a\ufffdb", DEFAULT_ATTRS),)


def _char(data: str) -> object:
    import pyte

    return pyte.screens.Char(data)


def test_the_feeder_parses_within_its_budget_on_its_clock() -> None:
    now = [0.0]

    def clock() -> float:
        now[0] += 0.001  # every reading of the clock is a millisecond later
        return now[0]

    emu = Emulator(40, 10)
    feeder = Feeder(emu, clock=clock)
    feeder.feed(lines(1400))  # under the skip threshold
    total = feeder.pending_bytes
    feeder.parse(0.0025)  # the clock passes 2.5 ms after the third slice
    assert feeder.stats.parsed == 3 * Feeder.SLICE
    assert feeder.pending_bytes == total - feeder.stats.parsed


def test_a_cut_queue_resets_the_screen_only_when_parsed() -> None:
    emu = Emulator(40, 10)
    feeder = Feeder(emu, clock=lambda: 0.0)
    feeder.feed(b"first screen\r\n")
    feeder.parse(None)
    feeder.feed(lines(200_000))
    assert feeder.stats.skips >= 1
    assert emu.text(emu.top_line) == "first screen"  # untouched until parsed
    feeder.parse(None)
    assert emu.text(emu.end_line - 2) == "line 199999"
    # The old screen and a note of the skip went to the history.
    history = [emu.text(n) for n in range(emu.first_line, emu.top_line)]
    assert "first screen" in history
    assert any("bytes of output skipped" in line for line in history)


def test_a_shorter_screen_drops_blank_rows_first_then_top_rows_to_history() -> None:
    emu = Emulator(20, 10)
    emu.feed(b"prompt$ ")
    emu.screen.resize(lines=6)
    assert emu.text(emu.top_line) == "prompt$" and emu.screen.pushed == 0
    emu.feed(b"\r\n" + lines(8))
    emu.screen.resize(lines=3)
    assert emu.text(emu.top_line) == "line 6"
    assert [emu.text(n) for n in range(emu.first_line, emu.top_line)][:2] == ["prompt$", "line 0"]


class _PyteDrawScreen(PaneScreen):
    """The pane's screen with pyte's own ``draw``: what the fast one must match."""

    draw = pyte.Screen.draw


_DRAWN = st.lists(
    st.sampled_from(
        [
            "x",
            "hello world ",
            "a" * 37,
            "\x1b[1;31m",
            "\x1b[0m",
            "\x1b[42m",
            "\r\n",
            "\r",
            "\n",
            "\x1b[?7l",  # no autowrap
            "\x1b[?7h",
            "\x1b[4h",  # insert mode
            "\x1b[4l",
            "\x1b[5G",
            "\x1b[H",
            "\x1b(0lqk\x1b(B",  # DEC line drawing: not ASCII once translated
            "日本",
            "e\u0301",
            "\x1b[20h",  # LNM
            "\x1b[20l",
        ]
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(parts=_DRAWN, columns=st.sampled_from([1, 2, 7, 20]))
def test_drawing_matches_pytes_own_draw(parts: list[str], columns: int) -> None:
    fast, slow = PaneScreen(columns, 4, 50), _PyteDrawScreen(columns, 4, 50)
    data = "".join(parts).encode()
    for screen in (fast, slow):
        screen.dirty.clear()
        pyte.ByteStream(screen).feed(data)
    assert {y: dict(row) for y, row in fast.buffer.items()} == {
        y: dict(row) for y, row in slow.buffer.items()
    }
    assert (fast.cursor.x, fast.cursor.y) == (slow.cursor.x, slow.cursor.y)
    assert fast.dirty == slow.dirty
    assert list(fast.history) == list(slow.history)
