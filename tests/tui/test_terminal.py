"""The terminal widget: colours, cursor, dirty-row repaint, floods, paste, replies."""

from __future__ import annotations

import pyte
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.strip import Strip

from tui.widgets.strips import padded_strip
from tui.widgets.terminal import TerminalView, char_style, pyte_color


class Harness(App[None]):
    def __init__(self, terminal: bool = True) -> None:
        super().__init__()
        self.terminal_mode = terminal
        self.sent: list[bytes] = []

    def compose(self) -> ComposeResult:
        yield TerminalView(terminal=self.terminal_mode)

    def on_terminal_view_input(self, message: TerminalView.Input) -> None:
        self.sent.append(message.data)


def cell_styles(view: TerminalView, y: int) -> list[tuple[str, object]]:
    return [(seg.text, seg.style) for seg in view.render_line(y) if seg.text.strip()]


async def shown(view: TerminalView, pilot: Pilot[None], data: bytes) -> None:
    """Feed the pane and wait until what it parsed is on screen."""
    view.feed(data)
    await view.wait_idle()
    await pilot.pause()


async def test_colours_and_attributes_are_kept() -> None:
    app = Harness()
    async with app.run_test(size=(40, 6)) as pilot:
        view = app.query_one(TerminalView)
        await shown(
            view,
            pilot,
            b"\x1b[31mred\x1b[0m \x1b[1;3;4mbiu\x1b[0m \x1b[38;5;208mx256\x1b[0m "
            b"\x1b[38;2;1;2;3;48;2;250;0;0mtrue\x1b[0m \x1b[7mrev\x1b[0m\x1b[?25l",
        )
        by_text = dict(cell_styles(view, 0))
        # ANSI colours come out as the app's theme has them (Textual's filter did it later).
        red = Color.parse("red").get_truecolor(app.ansi_theme)
        assert by_text["red"].color.triplet == red
        biu = by_text["biu"]
        assert biu.bold and biu.italic and biu.underline
        assert by_text["x256"].color.triplet.hex == "#ff8700"
        assert by_text["true"].color.triplet.hex == "#010203"
        assert by_text["true"].bgcolor.triplet.hex == "#fa0000"
        fg, bg = view.styles.color.rich_color, view.styles.background.rich_color
        assert (by_text["rev"].color, by_text["rev"].bgcolor) == (bg, fg)


async def test_ansi_colours_stay_ansi_where_the_app_uses_native_ansi_colours() -> None:
    app = Harness()
    async with app.run_test(size=(40, 6)) as pilot:
        view = app.query_one(TerminalView)
        await shown(view, pilot, b"\x1b[31mred\x1b[0m")
        assert dict(cell_styles(view, 0))["red"].color.triplet is not None
        app.ansi_color = True
        assert dict(cell_styles(view, 0))["red"].color.name == "red"


def test_pyte_colour_names() -> None:
    assert pyte_color("default") is None
    assert pyte_color("brown") == Color.parse("yellow")
    assert pyte_color("brightbrown") == Color.parse("bright_yellow")
    assert pyte_color("bfightmagenta") == Color.parse("bright_magenta")  # pyte's typo
    assert pyte_color("00ff87") == Color.parse("#00ff87")
    white, black = Color.parse("white"), Color.parse("black")
    style = char_style("red", "default", False, False, False, False, True, white, black)
    assert style.color == black and style.bgcolor == Color.parse("red")


async def test_cursor_drawn_only_when_visible() -> None:
    app = Harness()
    async with app.run_test(size=(20, 4)) as pilot:
        view = app.query_one(TerminalView)
        await shown(view, pilot, b"ab")
        fg, bg = view.styles.color.rich_color, view.styles.background.rich_color
        cursor = [s for s in view.render_line(0) if s.style and s.style.bgcolor == fg]
        assert cursor and cursor[0].text.startswith(" ")
        await shown(view, pilot, b"\x1b[?25l")
        assert all(s.style.bgcolor == bg for s in view.render_line(0) if s.style)


async def test_only_dirty_rows_are_rendered_again() -> None:
    app = Harness()
    async with app.run_test(size=(30, 8)) as pilot:
        view = app.query_one(TerminalView)
        await shown(view, pilot, b"".join(b"row %d\r\n" % i for i in range(6)) + b"\x1b[?25l")
        before = {y: view.render_line(y) for y in range(8)}
        await shown(view, pilot, b"\x1b[3;1Hchanged")
        after = {y: view.render_line(y) for y in range(8)}
        assert [y for y in range(8) if after[y] is not before[y]] == [2]
        assert view.display_lines()[2].startswith("changed")


async def test_a_flood_skips_ahead_and_ends_on_the_right_screen() -> None:
    app = Harness()
    data = b"".join(b"\x1b[32mline\x1b[0m %07d of the flood\r\n" % i for i in range(60_000))
    async with app.run_test(size=(60, 12)) as pilot:
        view = app.query_one(TerminalView)
        for i in range(0, len(data), 65536):
            view.feed(data[i : i + 65536])
        await view.wait_idle(timeout=30)
        await pilot.pause()
        assert view.stats.skips >= 1
        assert view.stats.skipped > len(data) // 2
        reference = pyte.Screen(60, 12)
        pyte.ByteStream(reference).feed(data)
        assert view.display_lines() == reference.display
        assert view.screen_buffer.cursor.y == reference.cursor.y


async def test_output_without_a_tty_starts_each_line_at_column_zero() -> None:
    app = Harness(terminal=False)
    async with app.run_test(size=(30, 5)) as pilot:
        view = app.query_one(TerminalView)
        await shown(view, pilot, b"one\ntwo\n")
        assert view.display_lines()[:2] == ["one".ljust(30), "two".ljust(30)]
        await pilot.press("x")
        assert app.sent == []  # captured output only: nothing goes back


async def test_paste_is_bracketed_when_the_program_asks() -> None:
    app = Harness()
    async with app.run_test(size=(30, 5)) as pilot:
        view = app.query_one(TerminalView)
        view.focus()
        view.post_message(events.Paste("a\nb"))
        await pilot.pause()
        view.feed(b"\x1b[?2004h")
        await view.wait_idle()
        view.post_message(events.Paste("c"))
        await pilot.pause()
        assert app.sent == [b"a\rb", b"\x1b[200~c\x1b[201~"]


async def test_keys_go_to_the_process_and_status_queries_are_answered() -> None:
    app = Harness()
    async with app.run_test(size=(30, 5)) as pilot:
        view = app.query_one(TerminalView)
        view.focus()
        await pilot.press("l", "s", "enter", "ctrl+c", "up", "q")
        await shown(view, pilot, b"\x1b[2;3H\x1b[6n\x1b[?3h")
        assert app.sent == [b"l", b"s", b"\r", b"\x03", b"\x1b[A", b"q", b"\x1b[2;3R"]
        assert view.screen_buffer.columns == 30  # DECCOLM does not change the pane's size


_SEQUENCES = st.sampled_from(
    [
        b"plain ",
        "héllo wörld ✓ ".encode(),
        "你好".encode(),
        b"\r\n",
        b"\x1b[31m",
        b"\x1b[0m",
        b"\x1b[1;4m",
        b"\x1b[38;5;200m",
        b"\x1b[48;2;1;2;3m",
        b"\x1b[2J",
        b"\x1b[H",
        b"\x1b[5C",
        b"\x1b[K",
        b"\t",
        b"\x1b[?25l",
        b"\x1b[?25h",
        b"\x1b[3;1H",
    ]
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(parts=st.lists(_SEQUENCES, min_size=1, max_size=40), cuts=st.lists(st.integers(0, 400)))
def test_any_chunking_gives_the_screen_of_one_feed(parts: list[bytes], cuts: list[int]) -> None:
    data = b"".join(parts)
    points = sorted({c % (len(data) + 1) for c in cuts})
    chunks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    view = TerminalView()
    view.screen_buffer.resize(lines=6, columns=24)
    for chunk in chunks:
        view.feed(chunk)
        view._parse(budget=None)
    reference = pyte.Screen(24, 6)
    pyte.ByteStream(reference).feed(data)
    assert [dict(view.screen_buffer.buffer[y]) for y in range(6)] == [
        dict(reference.buffer[y]) for y in range(6)
    ]
    try:
        shown = reference.display
    except IndexError:
        # pyte cannot render a wide character's right half left alone (its left half
        # overwritten): the same cells, compared above, are all there is to compare.
        return
    assert view.display_lines() == shown


async def test_the_alternate_screen_restores_the_main_one() -> None:
    app = Harness()
    async with app.run_test(size=(30, 6)) as pilot:
        view = app.query_one(TerminalView)
        screen = view.screen_buffer
        view.feed(b"$ ls\r\nfile-a  file-b\r\n$ vi x")
        await view.wait_idle()
        before = view.display_lines()
        for enter, leave in [(b"\x1b[?1049h", b"\x1b[?1049l"), (b"\x1b[?47h", b"\x1b[?47l")]:
            await shown(
                view,
                pilot,
                b"\x1b[3;7H" + enter + b"\x1b[H\x1b[2J~\r\n~\r\n\x1b[31m-- INSERT --\x1b[0m",
            )
            assert screen.in_alternate
            assert view.display_lines()[2].startswith("-- INSERT --")
            assert "file-a" not in "".join(view.display_lines())
            await shown(view, pilot, leave)
            assert not screen.in_alternate
            assert view.display_lines() == before
            if enter == b"\x1b[?1049h":  # 1049 also puts the cursor back
                assert (screen.cursor.x, screen.cursor.y) == (6, 2)
        # What the pane paints is the main screen again, not vi's.
        assert "file-a" in "".join(seg.text for seg in view.render_line(1))


async def test_a_flood_arriving_between_frames_never_blanks_the_pane() -> None:
    """Issue 9, bug 1: attached to a flooding ``yes``, the pane stayed blank. Output that
    arrived between a parse and the frame that paints it reset the screen, so every frame
    drew the empty screen of a skip-ahead."""
    app = Harness()
    line = b"flood: the quick brown fox jumps over the lazy dog\r\n"
    async with app.run_test(size=(60, 12)) as pilot:
        view = app.query_one(TerminalView)
        await shown(view, pilot, line * 5000)
        assert "flood" in view.display_lines()[0]
        # The next read of the flood comes before the frame is drawn.
        view.feed(line * 5000)
        assert all("flood" in row for row in view.display_lines()[:-1])
        assert any("flood" in seg.text for seg in view.render_line(0))


async def test_a_theme_change_restyles_every_row() -> None:
    app = Harness()
    async with app.run_test(size=(30, 6)) as pilot:
        view = app.query_one(TerminalView)
        await shown(view, pilot, b"plain text\r\n")
        before = view.render_line(0)
        app.theme = "textual-light" if app.theme != "textual-light" else "nord"
        await pilot.pause()
        after = view.render_line(0)
        assert after is not before
        bg = view.styles.background.rich_color
        assert all(s.style.bgcolor == bg for s in after if s.style)
        assert any(s.style.bgcolor != bg for s in before if s.style)


@given(
    st.lists(
        st.tuples(st.sampled_from(["ab", " x ", "日本", "", "é", "longer text"]), st.booleans()),
        max_size=6,
    ),
    st.integers(min_value=1, max_value=30),
)
def test_a_padded_strip_is_the_strip_built_step_by_step(
    parts: list[tuple[str, bool]], width: int
) -> None:
    red, pad = Style(color="red"), Style(bgcolor="blue")
    segments = [Segment(text, red if bold else Style()) for text, bold in parts]
    fast = padded_strip(segments, width, 7, pad)
    slow = Strip(segments).extend_cell_length(width, pad).apply_offsets(0, 7)
    if slow.cell_length > width:
        assert fast is None
        return
    assert fast is not None
    # Textual drops empty segments' styles the same way: compare what reaches the screen.
    assert [(s.text, s.style) for s in fast if s.text] == [
        (s.text, s.style) for s in slow if s.text
    ]
    assert fast.cell_length == width


async def test_scrolled_back_rows_are_kept_and_restyled_by_a_theme_change() -> None:
    app = Harness()
    async with app.run_test(size=(30, 6)) as pilot:
        view = app.query_one(TerminalView)
        view.feed(b"".join(b"line %d\r\n" % i for i in range(40)))
        await view.wait_idle()
        view.scroll_to_line(view.emulator.first_line + 10)
        await pilot.pause()
        first = view.render_line(0)
        assert first.text.rstrip() == "line 10"
        assert view.render_line(0) is first  # a history line is rendered once
        assert first._segments[0].style.meta == {"offset": (0, view.emulator.first_line + 10)}
        app.theme = "textual-light" if app.theme != "textual-light" else "nord"
        await pilot.pause()
        after = view.render_line(0)
        bg = view.styles.background.rich_color
        assert after.text == first.text
        assert all(s.style.bgcolor == bg for s in after if s.style)
        assert any(s.style.bgcolor != bg for s in first if s.style)
