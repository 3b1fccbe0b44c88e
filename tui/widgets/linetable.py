"""A table on Textual's Line API: keyed rows, each rendered once to a cached strip.

Textual's DataTable re-renders every visible cell whenever any cell changes (its caches
are keyed on a global update count), re-measures a whole column when a cell narrows,
and removing a row costs O(rows); adding or removing rows also lays out the whole
screen. With hundreds of tasks and events a second that held the event loop for most of
each second. Here a changed row's strip is rendered again, nothing else; painting draws
only the rows in view; columns only widen until the rows are replaced.

It offers the part of DataTable's interface the UI uses: a row cursor with
``RowHighlighted`` and ``RowSelected`` (enter, or a click on the highlighted row),
``HeaderSelected`` on a header click, ``move_cursor``, ``get_row_index``, ``get_row``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.selection import Selection
from textual.strip import Strip

from .strips import add_style, restyle

Cells = tuple[Text, ...]


class LineTable(ScrollView, can_focus=True):
    """Rows of ``Text`` cells under a one-line header; subclasses set ``COLUMNS``."""

    COLUMNS: ClassVar[Sequence[tuple[str, str]]] = ()
    #: Shown (dim) under the header while there are no rows.
    EMPTY: ClassVar[str] = ""

    DEFAULT_CSS = """
    LineTable {
        background: $surface;
        color: $foreground;
        scrollbar-size-horizontal: 0;
        &:focus {
            background-tint: $foreground 5%;
            & > .linetable--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
        }
        & > .linetable--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        & > .linetable--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"linetable--header", "linetable--cursor"}
    BINDINGS: ClassVar[list[Any]] = [
        Binding("up", "cursor(-1)", show=False),
        Binding("down", "cursor(1)", show=False),
        Binding("pageup", "page(-1)", show=False),
        Binding("pagedown", "page(1)", show=False),
        Binding("home", "cursor_to(0)", show=False),
        Binding("end", "cursor_to(-1)", show=False),
        Binding("enter", "select_cursor", show=False),
    ]

    @dataclass
    class RowHighlighted(Message):
        table: LineTable
        key: str

        @property
        def control(self) -> LineTable:
            return self.table

    @dataclass
    class RowSelected(Message):
        table: LineTable
        key: str

        @property
        def control(self) -> LineTable:
            return self.table

    @dataclass
    class HeaderSelected(Message):
        table: LineTable
        column: str

        @property
        def control(self) -> LineTable:
            return self.table

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._keys: list[str] = []
        self._cells: dict[str, Cells] = {}
        self._strips: dict[str, Strip] = {}
        #: The columns shown now: ``COLUMNS`` unless a subclass changes them.
        self.columns: Sequence[tuple[str, str]] = self.COLUMNS
        self._widths = [len(label) for _, label in self.columns]
        self.cursor_row = 0
        self._highlighted: str | None = None
        #: Shown (dim) under the header while there are no rows.
        self.empty_text = self.EMPTY

    # -- reading ------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self._keys)

    def row_keys(self) -> list[str]:
        """Row keys, top to bottom."""
        return list(self._keys)

    def get_row(self, key: str) -> Cells:
        return self._cells[key]

    def get_row_index(self, key: str) -> int:
        return self._keys.index(key)

    @property
    def selected_key(self) -> str | None:
        if not self._keys:
            return None
        return self._keys[min(self.cursor_row, len(self._keys) - 1)]

    def visible_keys(self, margin: int = 2) -> list[str]:
        """The keys of the rows in view (and ``margin`` rows either side)."""
        top = max(0, int(self.scroll_y) - margin)
        return self._keys[top : top + self.size.height + 2 * margin]

    def column_label(self, key: str, label: str) -> str:
        return label

    # -- writing ----------------------------------------------------------------------------

    def set_rows(self, rows: Iterable[tuple[str, Cells]]) -> None:
        """Replace every row; the cursor stays on its key if that is still there. A row
        given the very cells it had keeps its rendered strip, if the columns kept their
        widths (a filter typed over thousands of rows renders only the rows newly in view)."""
        selected = self.selected_key
        rows = list(rows)
        old_cells, old_widths = self._cells, self._widths
        self._keys = [key for key, _ in rows]
        self._cells = dict(rows)
        labels = [len(self.column_label(k, label)) for k, label in self.columns]
        # Column by column, in C: a Python loop over every cell of thousands of rows is
        # most of a filter keystroke's time.
        measured = zip(labels, *(self.measure(key, cells) for key, cells in rows), strict=True)
        self._widths = [max(column) for column in measured]
        if self._widths == old_widths:
            self._strips = {
                key: strip
                for key, strip in self._strips.items()
                if old_cells.get(key) is self._cells.get(key, ())
            }
        else:
            self._strips.clear()
        if selected is not None and selected in self._cells:
            self.cursor_row = self._keys.index(selected)
        self.cursor_row = max(0, min(self.cursor_row, len(self._keys) - 1))
        self._resized()
        self._scroll_to_cursor()
        self._notify_highlight()
        self.refresh()

    def clear(self) -> None:
        self.set_rows(())

    def update_row(self, key: str, cells: Cells) -> None:
        """Change the cells of an existing row (only that row is rendered again)."""
        if self._cells.get(key) == cells:
            return
        self._cells[key] = cells
        self._strips.pop(key, None)
        if self._widen(key, cells):
            self._resized()
            self.refresh()
        else:
            self._refresh_key(key)

    def append_rows(self, rows: Iterable[tuple[str, Cells]], keep: int) -> None:
        """Add rows at the bottom, then drop the first ones past ``keep`` (a log's), laid
        out and refreshed once (per row, that was most of hundreds of events a second)."""
        for key, cells in rows:
            self._keys.append(key)
            self._cells[key] = cells
            self._widen(key, cells)
        drop = len(self._keys) - keep
        if drop > 0:
            for key in self._keys[:drop]:
                del self._cells[key]
                self._strips.pop(key, None)
            del self._keys[:drop]
            self.cursor_row = max(0, self.cursor_row - drop)
        self._resized()
        self.refresh()

    def measure(self, key: str, cells: Cells) -> Sequence[int]:
        """The cells' widths (a table that keeps its rows' cells may keep these with them)."""
        return [cell.cell_len for cell in cells]

    def _widen(self, key: str, cells: Cells) -> bool:
        wider = False
        for i, width in enumerate(self.measure(key, cells)):
            if width > self._widths[i]:
                self._widths[i] = width
                wider = True
        if wider:
            self._strips.clear()
        return wider

    def _resized(self) -> None:
        size = Size(sum(w + 2 for w in self._widths), len(self._keys) + 1)
        if size != self.virtual_size:
            # Not by assignment: ``virtual_size`` is a layout reactive, and every row that
            # came or went laid out the whole screen (half a filter keystroke's time). Only
            # a scrollbar showing or going changes the layout, and that reactive lays out
            # itself; this is what Textual (8.2.8) does with a size it needs no layout for.
            self.set_reactive(LineTable.virtual_size, size)
            self._scroll_update(size)

    def _refresh_key(self, key: str) -> None:
        # Looked for among the rows in view only: of thousands, most changes are elsewhere.
        top = int(self.scroll_y)
        try:
            index = self._keys.index(key, top, top + self.size.height)
        except ValueError:
            return
        self._refresh_index(index)

    def _refresh_index(self, index: int) -> None:
        y = index - int(self.scroll_y) + 1
        if 1 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def refresh_header(self) -> None:
        self._widths = [
            max(w, len(self.column_label(k, label)))
            for w, (k, label) in zip(self._widths, self.columns, strict=True)
        ]
        self._strips.clear()
        self._resized()
        self.refresh()

    # -- cursor -------------------------------------------------------------------------------

    def move_cursor(self, *, row: int, animate: bool = False) -> None:
        if not self._keys:
            return
        old = self.cursor_row
        self.cursor_row = max(0, min(row, len(self._keys) - 1))
        self._scroll_to_cursor()
        if old != self.cursor_row:
            self._refresh_index(old)
            self._refresh_index(self.cursor_row)
        self._notify_highlight()

    def _scroll_to_cursor(self) -> None:
        top = int(self.scroll_y)
        rows_in_view = max(1, self.size.height - 1)
        # Forced: the rows that overflow the pane come before the layout that gives it a
        # scrollbar, and without one Textual refuses to scroll (the view stayed on the top).
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True, force=True)
        elif self.cursor_row >= top + rows_in_view:
            y = self.cursor_row - rows_in_view + 1
            self.scroll_to(y=y, animate=False, immediate=True, force=True)

    def _notify_highlight(self) -> None:
        key = self.selected_key
        if key is not None and key != self._highlighted:
            self._highlighted = key
            self.post_message(self.RowHighlighted(self, key))
        elif key is None:
            self._highlighted = None

    def notify_style_update(self) -> None:
        """Styles changed (a new theme, a CSS reload): rows are rendered again from their
        cells, so that none keeps what it was drawn with, as Textual's Log does."""
        super().notify_style_update()
        self._strips.clear()

    def on_resize(self) -> None:
        self._scroll_to_cursor()

    def action_cursor(self, delta: int) -> None:
        self.move_cursor(row=self.cursor_row + delta)

    def action_page(self, direction: int) -> None:
        self.move_cursor(row=self.cursor_row + direction * max(1, self.size.height - 2))

    def action_cursor_to(self, row: int) -> None:
        self.move_cursor(row=row if row >= 0 else len(self._keys) - 1)

    def action_select_cursor(self) -> None:
        key = self.selected_key
        if key is not None:
            self.post_message(self.RowSelected(self, key))

    def on_click(self, event: events.Click) -> None:
        if event.y == 0:
            x = event.x + int(self.scroll_x)
            for (key, _), width in zip(self.columns, self._widths, strict=True):
                if x < width + 2:
                    self.post_message(self.HeaderSelected(self, key))
                    return
                x -= width + 2
            return
        index = int(self.scroll_y) + event.y - 1
        if 0 <= index < len(self._keys):
            if index == self.cursor_row:
                self.action_select_cursor()
            else:
                self.move_cursor(row=index)

    # -- selection ----------------------------------------------------------------------------

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """The rows' text under a mouse selection (offsets are row indexes, header aside)."""
        text = "\n".join(self._row_strip(key).text.rstrip() for key in self._keys)
        return selection.extract(text), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self.refresh()

    # -- painting -----------------------------------------------------------------------------

    def _row_strip(self, key: str) -> Strip:
        strip = self._strips.get(key)
        if strip is None:
            line = Text(no_wrap=True, end="")
            for cell, width in zip(self._cells[key], self._widths, strict=True):
                line.append(" ")
                if cell.cell_len > width:
                    cell = cell.copy()
                    cell.truncate(width, overflow="ellipsis")
                line.append_text(cell)
                line.append(" " * (width - cell.cell_len + 1))
            strip = Strip(list(line.render(self.app.console)))
            self._strips[key] = strip
        return strip

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        scroll_x = int(self.scroll_x)
        if y == 0:
            style = self.get_component_rich_style("linetable--header")
            text = "".join(
                f" {self.column_label(key, label):<{w}} "
                for (key, label), w in zip(self.columns, self._widths, strict=True)
            )
            return Strip([Segment(text, style)]).crop_extend(scroll_x, scroll_x + width, style)
        index = int(self.scroll_y) + y - 1
        if index >= len(self._keys):
            if y == 1 and not self._keys and self.empty_text:
                hint = Segment(f" {self.empty_text}", base + Style(dim=True))
                return Strip([hint]).crop_extend(0, width, base)
            return Strip.blank(width, base)
        strip = self._row_strip(self._keys[index])
        selection = self.text_selection
        if selection is not None:
            span = selection.get_span(index)
            if span is not None:
                start, end = span
                end = strip.cell_length if end == -1 else end
                style = self.screen.get_component_rich_style("screen--selection")
                strip = restyle(strip, start, max(end, start + 1), partial(add_style, style))
        # Offsets (for the mouse selection) after the crop, as Textual's Log does.
        if index == self.cursor_row:
            cursor = self.get_component_rich_style("linetable--cursor")
            strip = Strip(list(Segment.apply_style(strip, post_style=cursor)))
            strip = strip.crop_extend(scroll_x, scroll_x + width, base + cursor)
            return strip.apply_offsets(scroll_x, index)
        strip = strip.crop_extend(scroll_x, scroll_x + width, base).apply_style(base)
        return strip.apply_offsets(scroll_x, index)
