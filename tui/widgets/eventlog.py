"""The events pane: engine events as they come, newest last, on a :class:`LineTable`.

Events arrive at hundreds a second under load: each is rendered once, when it arrives;
the oldest fall off the top; painting draws only the rows in view.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from runtime import Event

from .linetable import LineTable
from .tables import EVENT_COLUMNS, event_cells, event_matches

#: Rows kept in the pane (the model keeps as many events).
KEPT = 1000


class EventsTable(LineTable):
    """Follows new events unless the user moved the cursor up from the last row."""

    COLUMNS: ClassVar[Sequence[tuple[str, str]]] = EVENT_COLUMNS

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.filter_text = ""
        self._last_seq = 0

    def row_text(self, index: int) -> str:
        """The plain text of row ``index`` (tests)."""
        return " ".join(cell.plain for cell in self.get_row(self._keys[index]))

    def sync_events(self, events: Iterable[tuple[int, Event]], *, rebuild: bool = False) -> None:
        """Append events newer than the last shown (or all again after a filter change)."""
        if rebuild:
            self._last_seq = 0
            self.set_rows(())
        follow = self.cursor_row >= self.row_count - 1 or not self.has_focus
        added = False
        for seq, event in events:
            if seq <= self._last_seq:
                continue
            self._last_seq = seq
            if self.filter_text and not event_matches(event, self.filter_text):
                continue
            self.append_row(str(seq), event_cells(event))
            added = True
        while self.row_count > KEPT:
            self.pop_first()
        if added:
            if follow:
                self.move_cursor(row=self.row_count - 1)
            self.refresh()
