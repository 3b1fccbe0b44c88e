"""A terminal emulator pane on Textual's Line API, fed by pyte.

Bytes arrive through :meth:`TerminalView.feed` and are only queued there. A timer parses
the queue in time-bounded slices and then repaints only the rows pyte marked dirty, so a
flooding process costs a bounded share of the event loop and the UI keeps answering keys.
When the queue grows to many screens, it is cut to its tail at a safe point (a full clear
or a line start) and the screen is reset first: what is left on screen is what a real
terminal would show once the flood had scrolled past.

The widget knows nothing of containers: it posts :class:`TerminalView.Input` for bytes to
send to the process and :class:`TerminalView.Resized` when its size changes. A benchmark can
feed it bytes directly and await :meth:`TerminalView.wait_idle`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from itertools import groupby
from typing import Any, ClassVar

import pyte
from pyte import modes as pyte_modes
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from ..text import LogFilter, is_safe
from .keys import encode_key

#: pyte's name for a private mode is the mode number shifted left by 5.
DECCKM = 1 << 5
BRACKETED_PASTE = 2004 << 5
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


#: The alternate screen modes (private, unshifted): 1049 also saves and restores the cursor.
ALT_SCREEN_MODES = (47, 1047, 1049)


class PaneScreen(pyte.Screen):
    """A pyte screen that keeps its size (DECCOLM would switch it to 132 columns), answers
    the program's status queries (cursor position, device attributes), and has xterm's
    alternate screen (pyte has none): ``vi``, ``less`` and ``top`` draw on it, and leaving
    them brings back the screen as it was, cursor included."""

    def __init__(self, columns: int, lines: int) -> None:
        self._saved_main: tuple[dict[int, dict[int, Any]], tuple[int, int, Any] | None] | None
        self._saved_main = None
        super().__init__(columns, lines)
        self.replies: list[str] = []

    @property
    def in_alternate(self) -> bool:
        return self._saved_main is not None

    def reset(self) -> None:
        super().reset()
        self._saved_main = None

    def resize(self, lines: int | None = None, columns: int | None = None) -> None:
        old = self.columns
        super().resize(lines, columns)
        # Tab stops past the right edge would send the cursor off screen (pyte keeps
        # them); new columns get the default stops, every 8, as in xterm.
        self.tabstops = {t for t in self.tabstops if t < self.columns}
        self.tabstops.update(range(max(8, -(-old // 8) * 8), self.columns, 8))

    def _split_modes(self, modes: tuple[int, ...], private: bool) -> tuple[list[int], list[int]]:
        """(modes for pyte, alternate screen modes); DECCOLM is dropped."""
        shift = 5 if private else 0
        kept = [m for m in modes if (m << shift) != pyte_modes.DECCOLM]
        if not private:
            return kept, []
        return [m for m in kept if m not in ALT_SCREEN_MODES], [
            m for m in kept if m in ALT_SCREEN_MODES
        ]

    def set_mode(self, *modes: int, **kwargs: Any) -> None:
        kept, alt = self._split_modes(modes, bool(kwargs.get("private")))
        if kept:
            super().set_mode(*kept, **kwargs)
        for mode in alt:
            self._enter_alternate(save_cursor=mode == 1049)

    def reset_mode(self, *modes: int, **kwargs: Any) -> None:
        kept, alt = self._split_modes(modes, bool(kwargs.get("private")))
        if kept:
            super().reset_mode(*kept, **kwargs)
        for _ in alt:
            self._leave_alternate()

    def _enter_alternate(self, *, save_cursor: bool) -> None:
        if self._saved_main is not None:
            return
        cells = {y: dict(line) for y, line in self.buffer.items() if line}
        c = self.cursor
        self._saved_main = (cells, (c.x, c.y, c.attrs) if save_cursor else None)
        self.buffer.clear()
        self.dirty.update(range(self.lines))

    def _leave_alternate(self) -> None:
        if self._saved_main is None:
            return
        cells, cursor = self._saved_main
        self._saved_main = None
        self.buffer.clear()
        for y, line in cells.items():
            if y < self.lines:
                self.buffer[y].update((x, ch) for x, ch in line.items() if x < self.columns)
        if cursor is not None:
            x, y, attrs = cursor
            self.cursor.x = min(x, self.columns - 1)
            self.cursor.y = min(y, self.lines - 1)
            self.cursor.attrs = attrs
        self.dirty.update(range(self.lines))

    def write_process_input(self, data: str) -> None:
        self.replies.append(data)


@dataclass
class FeedStats:
    """Counters a benchmark or test can read (bytes, and repaints of changed rows)."""

    fed: int = 0
    parsed: int = 0
    skipped: int = 0
    skips: int = 0
    repaints: int = 0
    #: ``time.perf_counter()`` of the last repaint request: key-to-repaint latency ends here.
    last_repaint: float = 0.0


class TerminalView(Widget, can_focus=True):
    """A pane showing a pyte screen; keys and paste go out as xterm bytes."""

    #: Keys are handled here at once (sent to the process) and move no focus: the app's
    #: key queue need not wait for one to settle before handing over the next.
    KEYS_SETTLE_AT_ONCE: ClassVar[bool] = True

    DEFAULT_CSS = """
    TerminalView {
        background: $background;
        color: $foreground;
        height: 1fr;
        width: 1fr;
    }
    """

    #: Timer period of parse + repaint.
    TICK: ClassVar[float] = 1 / 60
    #: Time of each tick spent parsing, at most (the rest is the app's: keys, repaints).
    PARSE_BUDGET: ClassVar[float] = 0.006
    #: The parse budget of the tick that skipped ahead (the tail is about a screen).
    SKIP_BUDGET: ClassVar[float] = 0.015
    #: Shortest time between two repaints while output is queued.
    MIN_FRAME: ClassVar[float] = 1 / 30
    #: Bytes handed to pyte at a time (the budget is checked between slices).
    SLICE: ClassVar[int] = 4096
    #: The most output kept queued, in seconds of wall time to parse it (at the rate
    #: measured so far, in the share of each tick spent parsing): a flood beyond it is cut
    #: to its tail, so the pane lags the process by about this much.
    MAX_LAG: ClassVar[float] = 0.05
    #: Floor of the backlog that triggers skipping ahead.
    MIN_SKIP_BYTES: ClassVar[int] = 16 * 1024
    #: The tail kept: the last screens' worth of lines, within these bounds.
    MIN_TAIL_BYTES: ClassVar[int] = 4 * 1024
    MAX_TAIL_BYTES: ClassVar[int] = 64 * 1024

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

    def __init__(
        self,
        *,
        terminal: bool = True,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        #: False for a pipe-fed process: its output is a log, shown as plain text (see
        #: :class:`tui.text.LogFilter`), and a bare LF also returns the carriage.
        self.terminal = terminal
        self._log_filter = None if terminal else LogFilter()
        self.screen_buffer = PaneScreen(80, 24)
        self._stream = pyte.ByteStream(self.screen_buffer)
        self._apply_input_mode()
        self._pending = bytearray()
        #: The queue was cut: reset the screen before parsing what is left.
        self._reset_due = False
        self._rows: dict[int, Strip] = {}
        self._cursor: tuple[int, int] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self.stats = FeedStats()
        #: Bytes parsed per second (an estimate until measured).
        self._parse_rate = 500_000.0
        self._painted = 0.0
        self._sized = False
        self.read_only = not terminal
        #: Called with the bytes of each key or paste instead of posting ``Input``.
        self.sink: Callable[[bytes], None] | None = None

    # -- feeding ---------------------------------------------------------------------------

    def _apply_input_mode(self) -> None:
        if not self.terminal:
            self.screen_buffer.set_mode(pyte_modes.LNM)

    def feed(self, data: bytes) -> None:
        """Queue output of the process; it is parsed and painted on the next ticks."""
        if not data:
            return
        self.stats.fed += len(data)
        if self._log_filter is not None:
            data = self._log_filter(data)
        self._pending += data
        self._idle.clear()
        # Keep memory bounded between ticks too, without touching the screen: a frame may
        # be drawn before the next tick, and must show the last parsed screen, not a reset.
        if len(self._pending) > 4 * self.skip_threshold:
            self._cut_pending()

    @property
    def pending_bytes(self) -> int:
        return len(self._pending)

    @property
    def skip_threshold(self) -> int:
        share = self.PARSE_BUDGET / self.TICK
        return max(self.MIN_SKIP_BYTES, int(self._parse_rate * share * self.MAX_LAG))

    @property
    def tail_bytes(self) -> int:
        """The most kept when skipping ahead (the cut is at the start of a line)."""
        s = self.screen_buffer
        return min(self.MAX_TAIL_BYTES, max(self.MIN_TAIL_BYTES, 4 * s.lines * s.columns))

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until everything fed so far is parsed and its rows are marked for repaint."""
        await asyncio.wait_for(self._idle.wait(), timeout)

    def drain(self) -> None:
        """Parse everything queued now, however long it takes (tests, benchmarks)."""
        self._parse(budget=None)
        self._repaint_dirty()

    def _skip_ahead(self) -> None:
        self._cut_pending()
        if self._reset_due:
            self._reset_due = False
            self.screen_buffer.reset()
            self._apply_input_mode()
            # A fresh parser: the old one may sit in the middle of a sequence or a UTF-8 char.
            self._stream = pyte.ByteStream(self.screen_buffer)

    def _cut_pending(self) -> None:
        """Drop the queue up to a safe point near its tail; the screen is reset when the
        rest is parsed (:meth:`_skip_ahead`)."""
        buf = self._pending
        start = max(0, len(buf) - self.tail_bytes)
        # A full clear makes everything before it irrelevant to what is on screen.
        clear = max(buf.rfind(b"\x1b[2J", start), buf.rfind(b"\x1bc", start))
        if clear >= start:
            cut = clear
        else:
            # Else the start of the last screen of lines (each fills a row or more, so
            # scrolled text is whole), or of the first whole line in the tail (text drawn
            # with cursor moves).
            pos, lines = len(buf), 0
            while lines < self.screen_buffer.lines + 1:
                pos = buf.rfind(b"\n", start, pos)
                if pos < 0:
                    break
                lines += 1
            if pos >= 0:
                cut = pos + 1
            else:
                newline = buf.find(b"\n", start)
                cut = newline + 1 if newline >= 0 else start
        if cut <= 0:
            return
        self.stats.skipped += cut
        self.stats.skips += 1
        del buf[:cut]
        self._reset_due = True

    def _parse(self, budget: float | None) -> None:
        if not self._pending:
            return
        if self._reset_due or len(self._pending) > self.skip_threshold:
            self._skip_ahead()
            if budget is not None:
                # What is left is about a screen: draw it whole now rather than over ticks.
                budget = max(budget, self.SKIP_BUDGET)
        began = time.perf_counter()
        deadline = None if budget is None else began + budget
        view = memoryview(self._pending)
        done = 0
        try:
            while done < len(view):
                chunk = bytes(view[done : done + self.SLICE])
                self._stream.feed(chunk)
                done += len(chunk)
                if deadline is not None and time.perf_counter() >= deadline:
                    break
        finally:
            view.release()
            del self._pending[:done]
            self.stats.parsed += done
        elapsed = time.perf_counter() - began
        if done >= self.SLICE and elapsed > 0:
            # What this pane parses per second, here, now: the backlog kept follows it.
            self._parse_rate += (done / elapsed - self._parse_rate) * 0.25
        replies = self.screen_buffer.replies
        if replies and self.terminal:
            data = "".join(replies).encode()
            replies.clear()
            self.post_message(self.Input(self, data))
        replies.clear()

    # -- painting --------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.set_interval(self.TICK, self._tick)

    def _tick(self) -> None:
        if not self._sized:
            return  # parse at the pane's size, not at pyte's default 80x24
        self._parse(self.PARSE_BUDGET)
        # While output keeps coming, paint at most every other tick: a frame of a full
        # pane costs as much as the parsing, and the parsing is what catches up.
        now = time.perf_counter()
        if not self._pending or now - self._painted >= self.MIN_FRAME:
            self._painted = now
            self._repaint_dirty()

    def _repaint_dirty(self) -> None:
        screen = self.screen_buffer
        dirty = set(screen.dirty)
        screen.dirty.clear()
        cursor = None if screen.cursor.hidden else (screen.cursor.x, screen.cursor.y)
        if cursor != self._cursor:
            dirty.update(c[1] for c in (cursor, self._cursor) if c is not None)
            self._cursor = cursor
        if dirty:
            self.stats.repaints += 1
            self.stats.last_repaint = time.perf_counter()
            width = self.size.width
            for y in dirty:
                self._rows.pop(y, None)
            if len(dirty) > screen.lines // 2:
                self.refresh()
            else:
                for y in dirty:
                    self.refresh(Region(0, y, width, 1))
        if not self._pending:
            self._idle.set()

    def render_line(self, y: int) -> Strip:
        strip = self._rows.get(y)
        if strip is None:
            strip = self._render_row(y)
            self._rows[y] = strip
        return strip

    def _colours(self) -> tuple[Color, Color]:
        fg = self.styles.color.rich_color
        bg = self.styles.background.rich_color
        return fg, bg

    def _render_row(self, y: int) -> Strip:
        screen = self.screen_buffer
        width = self.size.width
        base = self.rich_style
        if y >= screen.lines:
            return Strip.blank(width, base)
        fg, bg = self._colours()
        line = screen.buffer[y]
        cursor_x = -1
        if not screen.cursor.hidden and screen.cursor.y == y:
            cursor_x = screen.cursor.x
        cells = []
        # A program's characters that the user's terminal would act on (C1 controls,
        # bidi overrides, zero-width characters pyte joined to a cell) are replaced.
        unsafe = not is_safe("".join(line[x].data for x in range(screen.columns)))
        for x in range(screen.columns):
            char = line[x]
            if not char.data:
                continue  # the right half of a wide character
            if unsafe and not is_safe(char.data):
                char = char._replace(data="\ufffd")
            reverse = char.reverse != (x == cursor_x)
            style = char_style(
                char.fg,
                char.bg,
                char.bold,
                char.italics,
                char.underscore,
                char.strikethrough,
                reverse,
                fg,
                bg,
            )
            cells.append((char.data, style))
        segments = [
            Segment("".join(text for text, _ in run), style)
            for style, run in ((s, list(r)) for s, r in groupby(cells, key=lambda c: c[1]))
        ]
        return Strip(segments).crop_extend(0, width, base)

    # -- size --------------------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        self.resize_screen(event.size)

    def resize_screen(self, size: Size) -> None:
        width, height = max(size.width, 1), max(size.height, 1)
        self._sized = True
        screen = self.screen_buffer
        if (screen.columns, screen.lines) != (width, height):
            screen.resize(lines=height, columns=width)
            self._rows.clear()
            self.refresh()
        self.post_message(self.Resized(self, width, height))

    # -- input -------------------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        if data and not self.read_only:
            if self.sink is not None:
                self.sink(data)  # at once: a message would wait a turn of a busy loop
            else:
                self.post_message(self.Input(self, data))

    async def on_key(self, event: events.Key) -> None:
        if event.key == LEAVE_KEY:
            return  # never forwarded: the screen holding the pane binds it to leave
        # Every other key belongs to the process, not to the app's bindings.
        event.stop()
        event.prevent_default()
        app_cursor = DECCKM in self.screen_buffer.mode
        self.send(encode_key(event.key, event.character, app_cursor=app_cursor))

    def on_paste(self, event: events.Paste) -> None:
        event.stop()
        data = event.text.replace("\r\n", "\r").replace("\n", "\r").encode()
        if BRACKETED_PASTE in self.screen_buffer.mode:
            data = b"\x1b[200~" + data + b"\x1b[201~"
        self.send(data)

    # -- inspection ------------------------------------------------------------------------

    def display_lines(self) -> list[str]:
        """The screen's text, one string per row (tests)."""
        return list(self.screen_buffer.display)
