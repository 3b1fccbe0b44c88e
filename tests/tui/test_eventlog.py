"""The events pane follows new events."""

from __future__ import annotations

from datetime import UTC, datetime

from textual.app import App, ComposeResult

from runtime import Event
from tui.widgets.eventlog import EventsTable


class Harness(App[None]):
    def compose(self) -> ComposeResult:
        table = EventsTable(id="events")
        table.styles.height = 8
        yield table


async def test_the_events_pane_follows_once_it_overflows() -> None:
    """Issue 9, bug 2: the first event past the fold was scrolled to while the pane had no
    scrollbar yet (Textual then refuses to scroll), and the pane stayed on the first rows."""
    app = Harness()
    async with app.run_test(size=(100, 20)) as pilot:
        table = app.query_one(EventsTable)
        events: list[tuple[int, Event]] = []
        for seq in range(1, 20):
            events.append((seq, Event("/tasks/create", f"c{seq}", datetime.now(UTC))))
            table.sync_events(events)
            last = table.row_count - 1
            rows_in_view = table.size.height - 1
            assert table.scroll_y <= last < table.scroll_y + rows_in_view, seq
            await pilot.pause()
