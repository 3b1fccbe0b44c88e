"""The events pane: engine events as they come, newest last, on a :class:`LineTable`.

Events arrive at hundreds a second under load: each is rendered once, when it arrives;
the oldest fall off the top; painting draws only the rows in view.
"""

from __future__ import annotations

from collections.abc import Reversible, Sequence
from itertools import takewhile
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

    def sync_events(self, events: Reversible[tuple[int, Event]], *, rebuild: bool = False) -> None:
        """Append events newer than the last shown (or all again after a filter change)."""
        if rebuild:
            self._last_seq = 0
            self.set_rows(())
        follow = self.cursor_row >= self.row_count - 1 or not self.has_focus
        # The new ones from the newest back (asked at each repaint, of a thousand events).
        new = list(takewhile(lambda item: item[0] > self._last_seq, reversed(events)))
        if not new:
            return
        self._last_seq = new[0][0]
        needle = self.filter_text
        rows = [
            (str(seq), event_cells(event))
            for seq, event in reversed(new)
            if not needle or event_matches(event, needle)
        ]
        if rows:
            self.append_rows(rows, keep=KEPT)
            if follow:
                self.move_cursor(row=self.row_count - 1)
