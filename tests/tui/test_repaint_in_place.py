"""The main screen shows a changed row in place only while nothing else has to move: a
row the filter now lets through (or not), a new status (the title counts it, a sort by
status moves it), rows that come or go all list the rows again."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from runtime import TaskInfo
from tui.app import ShimdeckApp
from tui.backend.base import (
    Backend,
    BackendInfo,
    Console,
    Container,
    ContainerState,
    Removed,
    Resynced,
    StateChanged,
    Update,
    UpdateFeed,
)
from tui.model import Row
from tui.widgets.tables import ContainersTable

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def state(id: str, status: str | None = "running", **labels: str) -> ContainerState:
    task = TaskInfo(id, 100, status, Path("/b"), started_at=T0) if status else None
    return ContainerState(Container(id, "crun", labels, T0, T0, bundle=Path("/b")), task)


class Driven(Backend):
    """Updates the test puts, at a frozen clock."""

    info = BackendInfo(kind="engine", runtime="crun", address="/test")

    def __init__(self, states: Iterable[ContainerState]) -> None:
        super().__init__()
        self.feed = UpdateFeed()
        self.feed.put(Resynced(list(states)))

    def updates(self) -> AsyncIterator[Update]:
        return aiter(self.feed)

    async def close(self) -> None:
        self.feed.end()

    def now(self) -> datetime:
        return T0 + timedelta(minutes=5)

    async def _refused(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    create = start = pause = resume = kill = delete = exec = _refused  # type: ignore[assignment]
    checkpoint = restore = set_labels = _refused  # type: ignore[assignment]

    def console(self, id: str, exec_id: str = "") -> Console:
        raise NotImplementedError


async def put(pilot: Pilot[None], backend: Driven, *updates: Update) -> None:
    for update in updates:
        backend.feed.put(update)
    await pilot.pause(0.3)  # past REPAINT


def title(app: ShimdeckApp) -> str:
    return str(app.screen.query_one(ContainersTable).border_title)


async def test_changed_rows_move_and_count_as_they_must() -> None:
    backend = Driven(state(f"c{i:02d}", app="web" if i % 2 else "db") for i in range(60))
    app = ShimdeckApp(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        table = app.screen.query_one(ContainersTable)
        assert title(app) == "containers · 60 · 60 running"
        # In place: a label of a row far out of view.
        await put(pilot, backend, StateChanged(state("c58", app="cache")))
        assert "app=cache" in table.get_row("c58")[-1].plain
        # A status: the title counts it.
        await put(pilot, backend, StateChanged(state("c03", "stopped", app="web")))
        assert title(app) == "containers · 60 · 59 running"
        # Filtered: a changed label lets a row in, another out.
        await pilot.press("slash", *"web", "enter")
        assert len(table.row_keys()) == 30
        await put(pilot, backend, StateChanged(state("c00", app="web")))
        await put(pilot, backend, StateChanged(state("c01", app="db")))
        keys = table.row_keys()
        assert "c00" in keys and "c01" not in keys and len(keys) == 30
        # Sorted by status: a row whose status changed moves.
        await pilot.press("escape", "o")
        assert table.sort_column == "status"
        await put(pilot, backend, StateChanged(state("c40", None, app="db")))
        assert table.row_keys()[0] == "c40"  # "no task" sorts first
        # Rows that come and go.
        await put(pilot, backend, Removed("c40"), StateChanged(state("new", "created")))
        assert "c40" not in table.row_keys() and "new" in table.row_keys()
        assert title(app) == "containers · 60 · 58 running"


def test_the_filter_follows_a_container_replaced_and_a_needle_with_a_newline() -> None:
    row = Row(state("Shell", app="web").container)
    assert row.matches("SHELL") and row.matches("app=w") and not row.matches("db")
    row.container = state("Shell", app="db").container
    assert row.matches("app=db") and not row.matches("web")
    # The kept haystack puts a line between the id and each label: a needle with a
    # newline is looked for in each alone, as before it was kept.
    assert not row.matches("shell\napp")
    row.container = state("x", note="a\nb").container
    assert row.matches("a\nb") and row.matches("note=a")
