"""A terminal emulator with no UI: pyte's screen, xterm's alternate screen, scrollback.

Lines that scroll off the top of the main screen go to a bounded history, each frozen
into a compact tuple of ``(text, attrs)`` runs (a pyte line is a dict of cell tuples, about
a hundred times bigger). Lines are numbered from the first ever pushed to history, so a
view or a search result keeps pointing at the same line while more arrive:
``first_line <= n < end_line``, where the last ``lines`` numbers are the screen's rows.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from itertools import islice
from typing import Any

import pyte
from pyte import modes as pyte_modes

from ..text import is_safe, replace_unsafe

#: Lines of scrollback a console keeps unless told otherwise.
DEFAULT_SCROLLBACK = 10_000

#: (fg, bg, bold, italics, underscore, strikethrough, reverse) of a cell.
Attrs = tuple[str, str, bool, bool, bool, bool, bool]
Run = tuple[str, Attrs]
Line = tuple[Run, ...]

DEFAULT_ATTRS: Attrs = ("default", "default", False, False, False, False, False)

#: pyte's name for a private mode is the mode number shifted left by 5.
DECCKM = 1 << 5
BRACKETED_PASTE = 2004 << 5
#: The alternate screen modes (private, unshifted): 1049 also saves and restores the cursor.
ALT_SCREEN_MODES = (47, 1047, 1049)

_interned: dict[Attrs, Attrs] = {DEFAULT_ATTRS: DEFAULT_ATTRS}

#: Distinct cursor attributes whose cells are kept for reuse, at most (then they start over).
_CELL_STYLES = 256


class _Cells(dict[str, Any]):
    """The cells of one set of attributes by character: pyte makes a new cell tuple for
    every character drawn, the most of its parse time under a flood; these are shared."""

    __slots__ = ("attrs",)

    def __init__(self, attrs: Any) -> None:
        super().__init__()
        self.attrs = attrs

    def __missing__(self, char: str) -> Any:
        cell = self[char] = self.attrs._replace(data=char)
        return cell


def freeze_line(line: Mapping[int, Any], columns: int) -> Line:
    """A pyte line as runs of equal attributes, trailing default blanks dropped. Characters
    the user's terminal would act on (C1 controls, bidi overrides) become U+FFFD."""
    if not line:
        return ()
    runs: list[Run] = []
    text: list[str] = []
    current = DEFAULT_ATTRS
    next_x = 0
    for x in sorted(line):
        if x >= columns:
            break
        if x > next_x:  # cells never written: default blanks
            if current is not DEFAULT_ATTRS and text:
                runs.append(("".join(text), current))
                text = []
            current = DEFAULT_ATTRS
            text.append(" " * (x - next_x))
        char = line[x]
        next_x = x + 1
        data = char.data
        if not data:
            continue  # the right half of a wide character
        attrs = char[1:8]
        if attrs != current:
            attrs = _interned.setdefault(attrs, attrs)
            if text:
                runs.append(("".join(text), current))
                text = []
            current = attrs
        text.append(data)
    if text:
        runs.append(("".join(text), current))
    if not is_safe("".join(t for t, _ in runs)):
        runs = [(replace_unsafe(t, "\ufffd"), a) for t, a in runs]
    # Trailing blanks of the default colours are not part of the line.
    while runs and runs[-1][1] is DEFAULT_ATTRS:
        stripped = runs[-1][0].rstrip(" ")
        if stripped:
            runs[-1] = (stripped, DEFAULT_ATTRS)
            break
        runs.pop()
    return tuple(runs)


def line_text(line: Line) -> str:
    return "".join(text for text, _ in line)


class PaneScreen(pyte.Screen):
    """A pyte screen that keeps its size (DECCOLM would switch it to 132 columns), answers
    the program's status queries (cursor position, device attributes), has xterm's
    alternate screen (pyte has none: ``vi``, ``less`` and ``top`` draw on it, and leaving
    them brings back the screen as it was, cursor included) and keeps the lines that scroll
    off the main screen (never the alternate one's, as in xterm)."""

    def __init__(self, columns: int, lines: int, scrollback: int = DEFAULT_SCROLLBACK) -> None:
        self._saved_main: tuple[dict[int, dict[int, Any]], tuple[int, int, Any] | None] | None
        self._saved_main = None
        self.history: deque[Line] = deque(maxlen=max(0, scrollback))
        self.history_text: deque[str] = deque(maxlen=max(0, scrollback))
        #: Lines ever pushed to history (the number of the screen's top row).
        self.pushed = 0
        self._cells: dict[Any, _Cells] = {}
        super().__init__(columns, lines)
        self.replies: list[str] = []

    @property
    def in_alternate(self) -> bool:
        return self._saved_main is not None

    def push_history(self, line: Line) -> None:
        self.history.append(line)
        # Their text too, once: searching 10,000 lines must not join their runs each time.
        self.history_text.append(line_text(line))
        self.pushed += 1

    def draw(self, data: str) -> None:
        """pyte's ``draw``, a row's run at a time for printable ASCII (what floods are
        made of); anything else (wide, combining, insert mode) is pyte's own."""
        data = data.translate(self.g1_charset if self.charset else self.g0_charset)
        fast = data.isascii() and data.isprintable() and self.cursor.x <= self.columns
        if not fast or pyte_modes.IRM in self.mode:
            super().draw(data)
            return
        cursor, columns = self.cursor, self.columns
        attrs = cursor.attrs
        cells = self._cells.get(attrs)
        if cells is None:
            if len(self._cells) >= _CELL_STYLES:
                self._cells.clear()
            cells = self._cells[attrs] = _Cells(attrs)
        wrap = pyte_modes.DECAWM in self.mode
        start, end = 0, len(data)
        while start < end:
            if cursor.x == columns:  # as pyte: wrap, or overwrite the last column
                if wrap:
                    self.dirty.add(cursor.y)
                    self.carriage_return()
                    self.linefeed()
                else:
                    cursor.x -= 1
            x = cursor.x
            n = min(end - start, columns - x)
            run = map(cells.__getitem__, data[start : start + n])
            self.buffer[cursor.y].update(zip(range(x, x + n), run, strict=True))
            cursor.x = x + n
            start += n
        self.dirty.add(cursor.y)

    def index(self) -> None:
        top, bottom = self.margins or pyte.screens.Margins(0, self.lines - 1)
        if self.cursor.y == bottom and top == 0 and not self.in_alternate:
            self.push_history(freeze_line(self.buffer[0], self.columns))
        super().index()

    def reset(self) -> None:
        super().reset()
        self._saved_main = None

    def resize(self, lines: int | None = None, columns: int | None = None) -> None:
        old = self.columns
        lines = lines or self.lines
        if lines < self.lines:
            self._shrink(lines)
        super().resize(lines, columns)
        self.set_margins()
        # Tab stops past the right edge would send the cursor off screen (pyte keeps
        # them); new columns get the default stops, every 8, as in xterm.
        self.tabstops = {t for t in self.tabstops if t < self.columns}
        self.tabstops.update(range(max(8, -(-old // 8) * 8), self.columns, 8))

    def _shrink(self, lines: int) -> None:
        """Fewer rows, as xterm does it: blank rows at the bottom go first; rows at the top
        go (to the history) only as far as needed to keep the cursor on screen. (pyte
        drops the top rows, text included, and keeps the blank ones.)"""
        drop = max(0, self.cursor.y - lines + 1)
        buffer = self.buffer
        if not self.in_alternate:
            for y in range(drop):
                self.push_history(freeze_line(buffer[y], self.columns))
        for y in range(self.lines):
            if y + drop < self.lines and y + drop in buffer:
                buffer[y] = buffer[y + drop]
            else:
                buffer.pop(y, None)
        for y in range(lines, self.lines):
            buffer.pop(y, None)
        self.cursor.y -= drop
        self.dirty.update(range(lines))
        self.lines = lines

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


class Emulator:
    """A screen and its parser; output goes in as bytes, lines come out by number."""

    def __init__(
        self, columns: int = 80, lines: int = 24, *, scrollback: int = DEFAULT_SCROLLBACK
    ) -> None:
        self.screen = PaneScreen(columns, lines, scrollback)
        self.log_mode = False
        self.wrap = True
        self._stream = pyte.ByteStream(self.screen)

    def set_log_mode(self, *, wrap: bool = True) -> None:
        """Output of a process without a tty: a bare LF also returns the carriage; without
        ``wrap``, a long line is cut at the right edge instead of going on below."""
        self.log_mode = True
        self.wrap = wrap
        self._apply_log_modes()

    def _apply_log_modes(self) -> None:
        if self.log_mode:
            self.screen.set_mode(pyte_modes.LNM)
            if not self.wrap:
                self.screen.reset_mode(pyte_modes.DECAWM)

    def set_scrollback(self, lines: int) -> None:
        """Keep at most ``lines`` of history (the newest, if there are more already)."""
        screen = self.screen
        dropped = max(0, len(screen.history) - lines)
        screen.history = deque(list(screen.history)[dropped:], maxlen=max(0, lines))
        screen.history_text = deque(list(screen.history_text)[dropped:], maxlen=max(0, lines))

    def feed(self, data: bytes) -> None:
        self._stream.feed(data)

    def take_replies(self) -> str:
        replies = "".join(self.screen.replies)
        self.screen.replies.clear()
        return replies

    def skip(self, note: str) -> None:
        """Forget the screen before output that is skipped: its lines go to the history
        (they would have scrolled there), then a line that says what was skipped."""
        screen = self.screen
        if not screen.in_alternate:
            rows = [freeze_line(screen.buffer[y], screen.columns) for y in range(screen.lines)]
            while rows and not rows[-1]:
                rows.pop()
            for row in rows:
                screen.push_history(row)
            screen.push_history(((note, ("default", "default", False, True, False, False, True)),))
        screen.reset()
        self._apply_log_modes()
        # A fresh parser: the old one may sit in the middle of a sequence or a UTF-8 char.
        self._stream = pyte.ByteStream(screen)

    # -- lines by number -------------------------------------------------------------------

    @property
    def first_line(self) -> int:
        return self.screen.pushed - len(self.screen.history)

    @property
    def top_line(self) -> int:
        """The number of the screen's top row."""
        return self.screen.pushed

    @property
    def end_line(self) -> int:
        return self.screen.pushed + self.screen.lines

    def line(self, n: int) -> Line:
        screen = self.screen
        y = n - screen.pushed
        if y >= 0:
            return freeze_line(screen.buffer[y], screen.columns) if y < screen.lines else ()
        index = n - self.first_line
        return screen.history[index] if index >= 0 else ()

    def text(self, n: int) -> str:
        index = n - self.first_line
        if 0 <= index < len(self.screen.history_text):
            return self.screen.history_text[index]
        return line_text(self.line(n))

    def lines(self, first: int, end: int) -> dict[int, Line]:
        """Lines ``first <= n < end`` by number (one pass over the history, not an index
        per line: a deque is slow to index in the middle)."""
        start = max(first, self.first_line)
        out: dict[int, Line] = {}
        top = self.top_line
        if start < top:
            skip = start - self.first_line
            for i, line in enumerate(islice(self.screen.history, skip, skip + end - start)):
                out[start + i] = line
        for n in range(max(start, top), min(end, self.end_line)):
            out[n] = self.line(n)
        return out

    def texts(self, first: int, end: int) -> Iterator[tuple[int, str]]:
        """``(n, text)`` of lines ``first <= n < end``, in order (a deque is slow to index)."""
        start = max(first, self.first_line)
        history = self.screen.history_text
        top = self.top_line
        if start < top:
            skip = start - self.first_line
            for i, text in enumerate(islice(history, skip, None)):
                n = start + i
                if n >= end:
                    return
                yield n, text
        for n in range(max(start, top), min(end, self.end_line)):
            yield n, self.text(n)

    def all_text(self) -> str:
        """History and screen as plain text, trailing blank rows dropped."""
        lines = [text for _, text in self.texts(self.first_line, self.end_line)]
        while lines and not lines[-1]:
            lines.pop()
        return "\n".join(lines) + "\n" if lines else ""
