"""The events pane follows new events."""

from __future__ import annotations

from datetime import UTC, datetime

from textual.app import App, ComposeResult

from runtime import Event
from tui.app import ShimdeckApp
from tui.backend.replay import ReplayBackend
from tui.scenarios import settle
from tui.sessions import DEMO_SESSION
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


async def test_a_mouse_selection_in_the_events_pane_is_its_text() -> None:
    app = Harness()
    async with app.run_test(size=(100, 20)) as pilot:
        table = app.query_one(EventsTable)
        stamp = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
        table.sync_events([(1, Event("/tasks/create", "alpha", stamp))])
        await pilot.pause()
        row = table.render_line(1)
        start = row.text.index("/tasks")
        await pilot.mouse_down(table, offset=(start, 1))
        await pilot.hover(table, offset=(start + len("/tasks/create") - 1, 1))
        await pilot.pause()
        assert app.screen.get_selected_text() == "/tasks/create"


async def test_text_selected_on_the_main_screen_is_copied() -> None:
    app = ShimdeckApp(ReplayBackend(DEMO_SESSION, instant=True))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        details = app.screen.query_one("#details-text")
        await pilot.mouse_down(details, offset=(0, 0))
        await pilot.hover(details, offset=(4, 0))
        await pilot.mouse_up(details, offset=(4, 0))
        await pilot.pause()
        assert app.clipboard and app.clipboard == app.screen.get_selected_text()
        assert len(app.clipboard) == 5
