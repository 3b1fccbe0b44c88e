"""A terminal pane on Textual's Line API, over an :class:`~.emulator.Emulator`.

Bytes arrive through :meth:`TerminalView.feed` and are queued by a :class:`~.feeder.Feeder`;
a timer parses the queue in time-bounded slices and then repaints only the rows pyte
marked dirty, so a flooding process costs a bounded share of the event loop.

The pane keeps scrollback: the wheel, ``shift+pageup/pagedown`` and ``shift+home/end``
scroll it (in a pane without a tty the plain keys do too). While scrolled back, new output
does not move the view; a marker on the bottom row counts the lines that arrived;
``shift+end`` or typing returns to live. A search highlights its matches (see
:meth:`TerminalView.search`), and the mouse selects text (Textual's selection; line
numbers are the emulator's, so a selection stays on its text while output arrives).

The widget knows nothing of containers: it posts :class:`TerminalView.Input` for bytes to
send to the process and :class:`TerminalView.Resized` when its size changes. A benchmark can
feed it bytes directly and await :meth:`TerminalView.wait_idle`.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.filter import ANSIToTruecolor, LineFilter
from textual.geometry import Offset, Region, Size
from textual.message import Message
from textual.selection import Selection
from textual.strip import Strip
from textual.widget import Widget

from ..text import LogFilter
from .emulator import (
    BRACKETED_PASTE,
    DECCKM,
    DEFAULT_ATTRS,
    DEFAULT_SCROLLBACK,
    Attrs,
    Emulator,
    Line,
    PaneScreen,
)
from .feeder import Feeder, FeedStats
from .keys import encode_key
from .search import Search
from .strips import add_style, padded_strip, restyle

__all__ = ["LEAVE_KEY", "FeedStats", "PaneScreen", "TerminalView", "char_style", "pyte_color"]

#: The one key that is never sent to the process (Textual's name for ctrl+]).
LEAVE_KEY = "ctrl+right_square_bracket"

_PYTE_NAMES = {
    "black": "black",
    "red": "red",
    "green": "green",
    "brown": "yellow",
    "blue": "blue",
    "magenta": "magenta",
    "cyan": "cyan",
    "white": "white",
}


@lru_cache(maxsize=1024)
def pyte_color(name: str) -> Color | None:
    """A pyte colour name ("red", "brightbrown", "ff8700") as a Rich colour; None = default."""
    if name == "default" or not name:
        return None
    if name == "bfightmagenta":  # pyte 0.8's spelling of SGR 105
        name = "brightmagenta"
    if name.startswith("bright") and name[6:] in _PYTE_NAMES:
        return Color.parse("bright_" + _PYTE_NAMES[name[6:]])
    if name in _PYTE_NAMES:
        return Color.parse(_PYTE_NAMES[name])
    if len(name) == 6:
        try:
            return Color.parse("#" + name)
        except Exception:
            return None
    return None


@lru_cache(maxsize=4096)
def char_style(
    fg: str,
    bg: str,
    bold: bool,
    italics: bool,
    underscore: bool,
    strikethrough: bool,
    reverse: bool,
    default_fg: Color,
    default_bg: Color,
) -> Style:
    """The Rich style of a pyte cell. Reverse is resolved here, against the pane's colours,
    so it looks the same in a terminal and in an SVG export."""
    fore = pyte_color(fg) or default_fg
    back = pyte_color(bg) or default_bg
    if reverse:
        fore, back = back, fore
    return Style(
        color=fore,
        bgcolor=back,
        bold=bold or None,
        italic=italics or None,
        underline=underscore or None,
        strike=strikethrough or None,
    )


class TerminalView(Widget, can_focus=True):
    """A pane showing a terminal screen and its scrollback; keys and paste go out as xterm
    bytes."""

    #: Keys are handled here at once (sent to the process) and move no focus: the app's
    #: key queue need not wait for one to settle before handing over the next.
    KEYS_SETTLE_AT_ONCE: ClassVar[bool] = True

    DEFAULT_CSS = """
    TerminalView {
        background: $background;
        color: $foreground;
        height: 1fr;
        width: 1fr;
        & > .terminal--match {
            background: $warning 40%;
        }
        & > .terminal--match-current {
            background: $warning;
            color: $background;
            text-style: bold;
        }
        & > .terminal--marker {
            background: $accent;
            color: $text;
            text-style: bold;
        }
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "terminal--match",
        "terminal--match-current",
        "terminal--marker",
    }

    #: Keys of the pane itself. The shifted ones work in a tty pane too (where every plain
    #: key belongs to the process); the plain ones only in a pane without a tty.
    BINDINGS: ClassVar[list[Any]] = [
        Binding(
            "shift+pageup",
            "scroll_page(-1)",
            "Page up",
            show=False,
            priority=True,
            id="terminal.page_up",
        ),
        Binding(
            "shift+pagedown",
            "scroll_page(1)",
            "Page down",
            show=False,
            priority=True,
            id="terminal.page_down",
        ),
        Binding(
            "shift+home", "scroll_home", "Oldest", show=False, priority=True, id="terminal.oldest"
        ),
        Binding("shift+end", "live", "Live", show=False, priority=True, id="terminal.live"),
        Binding(
            "pageup", "plain_scroll_page(-1)", show=False, priority=True, id="terminal.log_page_up"
        ),
        Binding(
            "pagedown",
            "plain_scroll_page(1)",
            show=False,
            priority=True,
            id="terminal.log_page_down",
        ),
        Binding(
            "up", "plain_scroll_lines(-1)", show=False, priority=True, id="terminal.log_line_up"
        ),
        Binding(
            "down", "plain_scroll_lines(1)", show=False, priority=True, id="terminal.log_line_down"
        ),
        Binding("home,g", "plain_scroll_home", show=False, priority=True, id="terminal.log_oldest"),
        Binding("end,G", "plain_live", show=False, priority=True, id="terminal.log_live"),
        Binding(
            "left", "plain_scroll_columns(-1)", show=False, priority=True, id="terminal.log_left"
        ),
        Binding(
            "right", "plain_scroll_columns(1)", show=False, priority=True, id="terminal.log_right"
        ),
    ]

    #: Timer period of parse + repaint.
    TICK: ClassVar[float] = 1 / 60
    #: Time of each tick spent parsing, at most (the rest is the app's: keys, repaints).
    PARSE_BUDGET: ClassVar[float] = 0.006
    #: Shortest time between two repaints while output keeps coming.
    MIN_FRAME: ClassVar[float] = 1 / 30
    #: The same while a flood is being skipped (a skip in the last FLOOD_SPELL seconds):
    #: nobody reads those frames, and each one of a full pane costs the event loop 7 to
    #: 15 ms, which a key on its way to the process waits behind.
    FLOOD_FRAME: ClassVar[float] = 1 / 15
    FLOOD_SPELL: ClassVar[float] = 0.25
    #: For this long after a key was sent, output is painted as soon as it is all parsed,
    #: flood or not: what the user waits for then is the answer (an echo), not a frame.
    ANSWER_SPELL: ClassVar[float] = 0.25
    #: Lines of scrollback, unless the constructor or the app (``app.scrollback``) says.
    SCROLLBACK: ClassVar[int] = DEFAULT_SCROLLBACK
    #: Lines the mouse wheel scrolls.
    WHEEL_LINES: ClassVar[int] = 3
    #: Output of a log view kept to show it again (raw, with times, unwrapped).
    LOG_KEPT_BYTES: ClassVar[int] = 1024 * 1024
    #: Parse budget of a tick while a log view is rebuilt (nothing is skipped then).
    REBUILD_BUDGET: ClassVar[float] = 0.03
    #: Rendered history lines kept while scrolled back (each costs ~4.6 KiB with the
    #: caches Textual hangs on it: 128 is ~0.6 MiB, enough for the wheel's steps).
    HISTORY_STRIPS: ClassVar[int] = 128
    #: Columns of an unwrapped log's emulator: its lines are kept this long (and scrolled
    #: sideways), longer ones are cut here.
    UNWRAPPED_COLUMNS: ClassVar[int] = 1024
    #: Columns a left/right key or a shift+wheel step scrolls an unwrapped log.
    COLUMN_STEP: ClassVar[int] = 8

    @dataclass
    class Input(Message):
        """Bytes the user typed or pasted, for the process."""

        view: TerminalView
        data: bytes

    @dataclass
    class Resized(Message):
        """The pane (and so the pty) should now be ``width`` x ``height``."""

        view: TerminalView
        width: int
        height: int

    @dataclass
    class Scrolled(Message):
        """The view moved (to live or back): the screen's bar may show it."""

        view: TerminalView

    def __init__(
        self,
        *,
        terminal: bool = True,
        scrollback: int | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        #: False for a pipe-fed process: its output is a log, shown as text (see
        #: :class:`tui.text.LogFilter`), and a bare LF also returns the carriage.
        self.terminal = terminal
        self._scrollback = scrollback
        self.emulator = Emulator(
            80, 24, scrollback=self.SCROLLBACK if scrollback is None else scrollback
        )
        self.feeder = Feeder(self.emulator)
        #: Log views (no tty): colours obeyed or shown raw, a time per line, wrapping.
        self.log_raw = False
        self.log_stamps = False
        self.log_wrap = True
        #: What a log view was fed, with read times, to show it again another way.
        self._log_kept: deque[tuple[float, bytes]] = deque()
        self._log_kept_bytes = 0
        self._log_filter = LogFilter()
        #: What the UI puts at the start of each line of this log (merged logs' coloured
        #: container ids): never shown raw.
        self.line_prefixes: tuple[str, ...] = ()
        if not terminal:
            self.emulator.set_log_mode()
        self._rows: dict[int, Strip] = {}
        self._cursor: tuple[int, int] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._painted = 0.0
        #: Output was fed since the last tick (it is still coming).
        self._fed = False
        #: When the last key or paste was sent to the process.
        self._sent_at = -1.0
        #: When the last tick skipped output (a flood), and the skips counted then.
        self._skipped_at = -1.0
        self._skips_seen = 0
        self._sized = False
        self.read_only = not terminal
        #: Called with the bytes of each key or paste instead of posting ``Input``.
        self.sink: Callable[[bytes], None] | None = None
        #: The line number at the top of a scrolled-back view; None: live.
        self._top: int | None = None
        #: Lines pushed to history when the view left live (the marker counts from it).
        self._left_live_at = 0
        self._seen_pushed = 0
        self.search_state = Search()
        self._searched_to = 0
        #: The lines of a scrolled-back view, fetched once per position.
        self._window: dict[int, Line] = {}
        self._window_key: tuple[int, int] = (-1, -1)
        #: Rendered history lines by number, for (width, fg, bg); see _plain_strip.
        self._history_strips: dict[int, Strip] = {}
        self._history_key: tuple[int, int, Color, Color] | None = None
        #: The app's ANSI-to-truecolor filter the cached rows were styled with.
        self._ansi: ANSIToTruecolor | None = None
        #: The first column shown (an unwrapped log scrolled sideways).
        self.first_column = 0

    @property
    def screen_buffer(self) -> PaneScreen:
        return self.emulator.screen

    @property
    def stats(self) -> FeedStats:
        return self.feeder.stats

    def on_mount(self) -> None:
        if self._scrollback is None:
            # The app's configured scrollback (the config file sets it), else the default.
            lines = getattr(self.app, "scrollback", None)
            if isinstance(lines, int) and lines >= 0:
                self.emulator.set_scrollback(lines)
        self.set_interval(self.TICK, self._tick)

    # -- feeding ---------------------------------------------------------------------------

    def feed(self, data: bytes, stamp: float | None = None) -> None:
        """Queue output of the process (read at ``stamp``, ``time.time()``, if known); it
        is parsed and painted on the next ticks."""
        if not data:
            return
        size = len(data)
        if not self.terminal:
            stamp = time.time() if stamp is None else stamp
            self._keep(stamp, data)
            data = self._log_filter(data, stamp)
        self.feeder.feed(data, size=size)
        self._fed = True
        self._idle.clear()

    def _keep(self, stamp: float, data: bytes) -> None:
        kept = self._log_kept
        kept.append((stamp, data))
        self._log_kept_bytes += len(data)
        while self._log_kept_bytes > self.LOG_KEPT_BYTES and len(kept) > 1:
            self._log_kept_bytes -= len(kept.popleft()[1])

    def set_log_view(
        self, *, raw: bool | None = None, stamps: bool | None = None, wrap: bool | None = None
    ) -> None:
        """Show a log (no tty) another way: its output kept so far is parsed again."""
        if self.terminal:
            return
        self.log_raw = self.log_raw if raw is None else raw
        self.log_stamps = self.log_stamps if stamps is None else stamps
        self.log_wrap = self.log_wrap if wrap is None else wrap
        old = self.emulator.screen
        columns = self._emulator_columns(self.size.width if self._sized else old.columns)
        emulator = Emulator(columns, old.lines, scrollback=old.history.maxlen or 0)
        emulator.set_log_mode(wrap=self.log_wrap)
        stats = self.feeder.stats
        self.emulator = emulator
        self.feeder = Feeder(emulator)
        self.feeder.stats = stats
        self.feeder.hold_skips = True  # all of what was kept, the scrollback with it
        self._log_filter = LogFilter(
            sgr=not self.log_raw, stamps=self.log_stamps, prefixes=self.line_prefixes
        )
        for stamp, data in self._log_kept:
            self.feeder.feed(self._log_filter(data, stamp), size=0)
        self._idle.clear()
        self._top = None
        self._seen_pushed = 0
        self._searched_to = 0
        self._cursor = None
        self.first_column = 0
        self._rows.clear()
        self._history_strips.clear()  # a new emulator: its lines are numbered anew
        self.refresh()
        self.post_message(self.Scrolled(self))

    def toggle_follow(self) -> None:
        """Follow new output, or hold the view where it is (a log view's ``f``)."""
        if self._top is None:
            self._left_live_at = self.emulator.screen.pushed
            self._top = self.emulator.top_line
            self.refresh()
            self.post_message(self.Scrolled(self))
        else:
            self.go_live()

    @property
    def pending_bytes(self) -> int:
        return self.feeder.pending_bytes

    @property
    def skip_threshold(self) -> int:
        return self.feeder.skip_threshold

    @property
    def tail_bytes(self) -> int:
        return self.feeder.tail_bytes

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until everything fed so far is parsed and its rows are marked for repaint."""
        await asyncio.wait_for(self._idle.wait(), timeout)

    def drain(self) -> None:
        """Parse everything queued now, however long it takes (tests, benchmarks)."""
        self._parse(None)
        self._repaint_dirty()

    def _parse(self, budget: float | None) -> None:
        replies = self.feeder.parse(budget)
        if replies and self.terminal:
            self.post_message(self.Input(self, replies.encode()))

    # -- painting --------------------------------------------------------------------------

    def _tick(self) -> None:
        if not self._sized:
            return  # parse at the pane's size, not at pyte's default 80x24
        self._parse(self.REBUILD_BUDGET if self.feeder.hold_skips else self.PARSE_BUDGET)
        now = time.perf_counter()
        fed, self._fed = self._fed, False
        if self.feeder.stats.skips != self._skips_seen:
            self._skips_seen = self.feeder.stats.skips
            self._skipped_at = now
        # Paint at once when all is parsed and the output went quiet (nothing new since the
        # last tick) or a key was just sent (its echo is awaited); while output keeps
        # coming, at most every MIN_FRAME (FLOOD_FRAME in a flood): a frame of a full pane
        # costs as much as the parsing, and the parsing is what catches up.
        parsed = not self.feeder.pending_bytes
        answer = now - self._sent_at < self.ANSWER_SPELL
        flooding = now - self._skipped_at < self.FLOOD_SPELL
        gap = self.FLOOD_FRAME if flooding else self.MIN_FRAME
        if (parsed and (answer or not fed)) or now - self._painted >= gap:
            self._painted = now
            self._repaint_dirty()

    def _repaint_dirty(self) -> None:
        screen = self.emulator.screen
        dirty = set(screen.dirty)
        screen.dirty.clear()
        pushed = screen.pushed != self._seen_pushed
        self._seen_pushed = screen.pushed
        if self.search_state.pattern and (dirty or pushed):
            self._search_new_lines()
        cursor = None if screen.cursor.hidden else (screen.cursor.x, screen.cursor.y)
        if cursor != self._cursor:
            dirty.update(c[1] for c in (cursor, self._cursor) if c is not None)
            self._cursor = cursor
        if dirty or pushed:
            self.stats.repaints += 1
            self.stats.last_repaint = time.perf_counter()
            for y in dirty:
                self._rows.pop(y, None)
            if self._top is not None:
                self.refresh()  # the marker counts the new lines
            elif len(dirty) > screen.lines // 2:
                self.refresh()
            else:
                width = self.size.width
                for y in dirty:
                    self.refresh(Region(0, y, width, 1))
        if not self.feeder.pending_bytes:
            self.feeder.hold_skips = False
            self._idle.set()

    def notify_style_update(self) -> None:
        """A theme or style change: rows rendered with the old colours go."""
        super().notify_style_update()
        self._rows.clear()
        self._history_strips.clear()

    @property
    def view_top(self) -> int:
        """The line number shown on the top row."""
        emulator = self.emulator
        if self._top is None:
            return emulator.top_line
        return max(self._top, emulator.first_line)

    @property
    def live(self) -> bool:
        return self._top is None

    @property
    def new_lines(self) -> int:
        """Lines that arrived since the view was scrolled back."""
        return 0 if self._top is None else self.emulator.screen.pushed - self._left_live_at

    def render_line(self, y: int) -> Strip:
        ansi = self._ansi_filter()
        if ansi is not self._ansi:  # another theme, or ANSI colours switched on or off
            self._ansi = ansi
            self._rows.clear()
            self._history_strips.clear()
        if self._top is None and self.text_selection is None:
            strip = self._rows.get(y)
            if strip is None:
                strip = self._render_number(self.emulator.top_line + y)
                self._rows[y] = strip
            return strip
        if self._top is not None and y == self.size.height - 1:
            return self._marker_strip()
        top = self.view_top
        key = (top, self.emulator.screen.pushed)
        if key != self._window_key:
            self._window_key = key
            self._window = self.emulator.lines(top, top + self.size.height)
        return self._render_number(top + y, self._window.get(top + y))

    def get_line_filters(self) -> Sequence[LineFilter]:
        # The app's ANSI-to-truecolor filter is applied as cells are styled (_styler), once
        # per style: applied to the rendered lines, it made a new segment and a new strip
        # per segment of every line of every frame, missing its style cache each time (the
        # offsets make every segment's style unique): a quarter of a flood's frame.
        return [f for f in super().get_line_filters() if not isinstance(f, ANSIToTruecolor)]

    def _ansi_filter(self) -> ANSIToTruecolor | None:
        """The app's ANSI-to-truecolor filter if it is on (None: native ANSI colours)."""
        for f in self.app.get_line_filters():
            if isinstance(f, ANSIToTruecolor):
                return f
        return None

    def _styler(self, fg: Color, bg: Color) -> Callable[[Attrs], Style]:
        """The Rich style of a cell's attributes, its ANSI colours made truecolor as the
        app's filter would (its background only matters to dim text, which pyte has not)."""
        ansi = self._ansi
        if ansi is None:
            return lambda attrs: char_style(*attrs, fg, bg)
        return lambda attrs: ansi.truecolor_style(char_style(*attrs, fg, bg), bg)

    def _colours(self) -> tuple[Color, Color]:
        fg = self.styles.color.rich_color
        bg = self.styles.background.rich_color
        return fg, bg

    def _render_number(self, n: int, line: Line | None = None) -> Strip:
        emulator = self.emulator
        width = self.size.width
        fg, bg = self._colours()
        if line is None or n >= emulator.top_line:  # the screen's rows change in place
            line = emulator.line(n)
        styled = self._styler(fg, bg)
        # Blanks in the colours of a default cell, as pyte's own blank cells are.
        blank = styled(DEFAULT_ATTRS)
        screen = emulator.screen
        y = n - emulator.top_line
        cursor = 0 <= y < screen.lines and not screen.cursor.hidden and screen.cursor.y == y
        spans = self.search_state.by_line.get(n)
        selection = self.text_selection
        if not (cursor or spans or selection is not None):
            return self._plain_strip(n, line, width, fg, bg, styled, blank)
        left = self.first_column
        strip = self._line_strip(line, styled).extend_cell_length(left + width, blank)
        if cursor:
            strip = restyle(strip, screen.cursor.x, screen.cursor.x + 1, _reverse)
        if spans:
            strip = self._highlight(strip, n, line, spans)
        if selection is not None:
            span = selection.get_span(n)
            if span is not None:
                start, end = span
                text = "".join(t for t, _ in line)
                end = len(text) if end == -1 else end
                style = self.screen.get_component_rich_style("screen--selection")
                a, b = cell_len(text[:start]), cell_len(text[:end])
                strip = restyle(strip, a, max(b, a + 1), lambda s: s + style)
        return strip.crop(left, left + width).apply_offsets(left, n)

    def _plain_strip(
        self,
        n: int,
        line: Line,
        width: int,
        fg: Color,
        bg: Color,
        styled: Callable[[Attrs], Style],
        blank: Style,
    ) -> Strip:
        """A line with nothing on it (no cursor, match or selection): built in one pass,
        and kept if it is a history line (those never change), so that scrolling by the
        wheel renders only the lines that came into view."""
        history = n < self.emulator.top_line
        left = self.first_column
        if history:
            key = (width, left, fg, bg)
            if key != self._history_key:
                self._history_key = key
                self._history_strips.clear()
            strip = self._history_strips.get(n)
            if strip is not None:
                return strip
        segments = [Segment(text, styled(attrs)) for text, attrs in line]
        strip = (None if left else padded_strip(segments, width, n, blank)) or Strip(
            segments
        ).extend_cell_length(left + width, blank).crop(left, left + width).apply_offsets(left, n)
        if history:
            strips = self._history_strips
            if len(strips) >= self.HISTORY_STRIPS:
                del strips[next(iter(strips))]  # the oldest kept
            strips[n] = strip
        return strip

    @staticmethod
    def _line_strip(line: Line, styled: Callable[[Attrs], Style]) -> Strip:
        return Strip([Segment(text, styled(attrs)) for text, attrs in line])

    def _highlight(self, strip: Strip, n: int, line: Line, spans: list[tuple[int, int]]) -> Strip:
        text = "".join(t for t, _ in line)
        match = self.get_component_rich_style("terminal--match", partial=True)
        current = self.get_component_rich_style("terminal--match-current", partial=True)
        now = self.search_state.current_match
        for start, end in spans:
            style = current if now == (n, start, end) else match
            a, b = cell_len(text[:start]), cell_len(text[:end])
            strip = restyle(strip, a, b, partial(add_style, style))
        return strip

    def _marker_strip(self) -> Strip:
        width = self.size.width
        style = self.get_component_rich_style("terminal--marker")
        count = self.new_lines
        arrived = f"{count:,} new line{'s' if count != 1 else ''}" if count else "no new lines"
        text = f" ▼ scrolled back · {arrived} · shift+end: live "
        return Strip([Segment(text, style)]).crop_extend(0, width, style)

    # -- scrolling ---------------------------------------------------------------------------

    def scroll_to_line(self, top: int) -> None:
        """Show line ``top`` on the top row (the newest lines: live)."""
        emulator = self.emulator
        top = max(emulator.first_line, top)
        if top >= emulator.top_line:
            self.go_live()
            return
        if self._top is None:
            self._left_live_at = emulator.screen.pushed
        if top != self._top:
            self._top = top
            self.refresh()
            self.post_message(self.Scrolled(self))

    def scroll_lines(self, delta: int) -> None:
        self.scroll_to_line(self.view_top + delta)

    def go_live(self) -> None:
        if self._top is not None:
            self._top = None
            self._rows.clear()
            self._history_strips.clear()  # live shows the screen's rows only
            self.refresh()
            self.post_message(self.Scrolled(self))

    def show_line(self, n: int) -> None:
        """Scroll so that line ``n`` is in view (a third from the top when it was not)."""
        top, height = self.view_top, max(1, self.size.height - (0 if self.live else 1))
        if top <= n < top + height and n < self.emulator.top_line:
            return
        if self.live and n >= self.emulator.top_line:
            return
        self.scroll_to_line(n - height // 3)

    def action_scroll_page(self, direction: int) -> None:
        self.scroll_lines(direction * max(1, self.size.height - 1))

    def action_scroll_home(self) -> None:
        self.scroll_to_line(self.emulator.first_line)

    def action_live(self) -> None:
        self.go_live()

    def action_plain_scroll_page(self, direction: int) -> None:
        self.action_scroll_page(direction)

    def action_plain_scroll_lines(self, delta: int) -> None:
        self.scroll_lines(delta)

    def action_plain_scroll_home(self) -> None:
        self.action_scroll_home()

    def action_plain_live(self) -> None:
        self.go_live()

    def action_plain_scroll_columns(self, direction: int) -> None:
        self.scroll_columns(direction * self.COLUMN_STEP)

    @property
    def sideways(self) -> bool:
        """The view scrolls sideways: a log shown unwrapped."""
        return not self.terminal and not self.log_wrap

    def scroll_columns(self, delta: int) -> None:
        """Show the unwrapped lines from ``delta`` columns further right (left if < 0)."""
        if not self.sideways:
            return
        widest = self.emulator.screen.columns - self.size.width
        left = max(0, min(widest, self.first_column + delta))
        if left != self.first_column:
            self.first_column = left
            self._rows.clear()
            self.refresh()
            self.post_message(self.Scrolled(self))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Plain keys belong to the process in a tty pane; left and right move a wrapped
        # log nowhere, so they are left to the screen.
        if action == "plain_scroll_columns" and not self.sideways:
            return False
        return not (action.startswith("plain_") and self.terminal)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        if event.shift and self.sideways:
            self.scroll_columns(-self.COLUMN_STEP)
        else:
            self.scroll_lines(-self.WHEEL_LINES)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        if event.shift and self.sideways:
            self.scroll_columns(self.COLUMN_STEP)
        else:
            self.scroll_lines(self.WHEEL_LINES)

    def on_mouse_scroll_left(self, event: events.MouseScrollLeft) -> None:
        event.stop()
        self.scroll_columns(-self.COLUMN_STEP)

    def on_mouse_scroll_right(self, event: events.MouseScrollRight) -> None:
        event.stop()
        self.scroll_columns(self.COLUMN_STEP)

    # -- search ------------------------------------------------------------------------------

    def search(self, pattern: str, *, regex: bool = False, case: bool = False) -> Search:
        """Highlight every match of ``pattern`` in scrollback and screen; show the newest."""
        state = self.search_state
        state.pattern, state.regex, state.case = pattern, regex, case
        emulator = self.emulator
        state.run(emulator.texts(emulator.first_line, emulator.end_line))
        self._searched_to = emulator.top_line
        self._rows.clear()
        self.refresh()
        if state.current_match is not None:
            self.show_line(state.current_match[0])
        return state

    def search_step(self, delta: int) -> Search:
        """Move to the next (1) or previous (-1) match, and show it."""
        match = self.search_state.step(delta)
        if match is not None:
            self.show_line(match[0])
        self._rows.clear()
        self.refresh()
        return self.search_state

    def clear_search(self) -> None:
        self.search_state.clear()
        self._rows.clear()
        self.refresh()

    def _search_new_lines(self) -> None:
        """Search the lines that arrived (and the screen's rows, which may have changed)."""
        state, emulator = self.search_state, self.emulator
        since = min(self._searched_to, emulator.top_line)
        current = state.current_match
        kept = [m for m in state.matches if emulator.first_line <= m[0] < since]
        state.run(emulator.texts(since, emulator.end_line))
        state.matches = kept + state.matches
        state.by_line = {}
        for n, start, end in state.matches:
            state.by_line.setdefault(n, []).append((start, end))
        state.current = (
            state.matches.index(current)
            if current in state.matches
            else min(len(state.matches) - 1, max(0, len(kept) - 1))
        )
        self._searched_to = emulator.top_line
        self._rows.clear()

    # -- selection ---------------------------------------------------------------------------

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        emulator = self.emulator
        first = emulator.first_line

        def shift(offset: Offset | None) -> Offset | None:
            return None if offset is None else Offset(offset.x, max(0, offset.y - first))

        text = "\n".join(text for _, text in emulator.texts(first, emulator.end_line))
        return Selection(shift(selection.start), shift(selection.end)).extract(text), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self._rows.clear()
        self.refresh()

    # -- size --------------------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        self.resize_screen(event.size)

    def resize_screen(self, size: Size) -> None:
        width, height = max(size.width, 1), max(size.height, 1)
        self._sized = True
        screen = self.emulator.screen
        columns = self._emulator_columns(width)
        if (screen.columns, screen.lines) != (columns, height):
            screen.resize(lines=height, columns=columns)
            self.first_column = max(0, min(self.first_column, columns - width))
            self._rows.clear()
            self.refresh()
        self.post_message(self.Resized(self, width, height))

    def _emulator_columns(self, width: int) -> int:
        return max(width, self.UNWRAPPED_COLUMNS) if self.sideways else width

    # -- input -------------------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        if data and not self.read_only:
            self._sent_at = time.perf_counter()
            self.go_live()  # typing into a tty returns to live, as in xterm
            if self.sink is not None:
                self.sink(data)  # at once: a message would wait a turn of a busy loop
            else:
                self.post_message(self.Input(self, data))

    def _forward_event(self, event: events.Event) -> None:
        # The app hands the focus its keys here (Textual 8.2.8's Widget._forward_event,
        # once the priority bindings passed them). A key for the process is sent now, in
        # the app's turn of the loop: posted to this widget's queue, it waited one turn
        # more, and in a flood a turn carries a frame or a parse slice. A paste goes the
        # same way, or a key typed after it would overtake it.
        if isinstance(event, events.Key) and self._for_process(event):
            event._set_forwarded()
            self._send_key(event)
            return
        if isinstance(event, events.Paste):
            event._set_forwarded()
            self.on_paste(event)
            return
        super()._forward_event(event)

    def _for_process(self, event: events.Key) -> bool:
        # ctrl+] is never the process's: the screen holding the pane binds it to leave. A
        # pane without a tty has no process to send to: the screen's keys may want them.
        return self.terminal and event.key != LEAVE_KEY

    def _send_key(self, event: events.Key) -> None:
        # Every key but those belongs to the process, not to the app's bindings.
        event.stop()
        event.prevent_default()
        app_cursor = DECCKM in self.emulator.screen.mode
        self.send(encode_key(event.key, event.character, app_cursor=app_cursor))

    async def on_key(self, event: events.Key) -> None:
        # A key posted to the pane itself (not through the app's forwarding).
        if self._for_process(event):
            self._send_key(event)

    def on_paste(self, event: events.Paste) -> None:
        event.stop()
        data = event.text.replace("\r\n", "\r").replace("\n", "\r").encode()
        if BRACKETED_PASTE in self.emulator.screen.mode:
            data = b"\x1b[200~" + data + b"\x1b[201~"
        self.send(data)

    # -- inspection ------------------------------------------------------------------------

    def display_lines(self) -> list[str]:
        """The screen's text, one string per row (tests)."""
        return list(self.emulator.screen.display)

    def view_lines(self) -> list[str]:
        """The text of the rows in view, scrolled back or live (tests)."""
        top = self.view_top
        return [self.emulator.text(top + y) for y in range(self.size.height)]


def _reverse(style: Style) -> Style:
    return Style.combine([style, Style(color=style.bgcolor, bgcolor=style.color)])
