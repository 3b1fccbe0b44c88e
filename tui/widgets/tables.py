"""The containers, execs and events tables.

Every cell is a ``rich.text.Text`` built from plain strings: ids, labels and commands come
from users and containers and may contain ``[red]``-like markup, which must show as typed.
Tables are synced from the model: cells that changed are updated in place, and the rows are
rebuilt only when rows come, go or move (the cursor stays on the same row key).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, ClassVar

from rich.text import Text
from textual.widgets import DataTable

from runtime import Event, TaskInfo

from ..model import (
    Row,
    format_bytes,
    format_duration,
    format_labels,
    format_percent,
)

STATUS_STYLES = {
    "running": "bold green",
    "created": "cyan",
    "paused": "yellow",
    "pausing": "yellow",
    "stopped": "red",
    "no task": "dim",
}


def status_text(status: str, exit_status: int | None = None) -> Text:
    style = STATUS_STYLES.get(status, "")
    if status == "stopped" and exit_status == 0:
        style = "dim"
    return Text(status, style=style)


def exit_text(exit_status: int | None) -> Text:
    if exit_status is None:
        return Text("-", style="dim")
    return Text(str(exit_status), style="" if exit_status == 0 else "bold red")


def plain(value: object, style: str = "") -> Text:
    return Text(str(value), style=style, no_wrap=True, overflow="ellipsis")


class SyncedTable(DataTable[Any]):
    """A DataTable filled from (key, cells) rows, updating only what changed."""

    COLUMNS: ClassVar[Sequence[tuple[str, str]]] = ()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self._cells: dict[str, tuple[Any, ...]] = {}
        self._order: list[str] = []

    def on_mount(self) -> None:
        self._add_columns()

    def column_label(self, key: str, label: str) -> str:
        return label

    def _add_columns(self) -> None:
        for key, label in self.COLUMNS:
            self.add_column(self.column_label(key, label), key=key)

    def reset_columns(self) -> None:
        """Rebuild the header (a sort indicator moved); the rows come back on the next sync."""
        self.clear(columns=True)
        self._cells.clear()
        self._order = []
        self._add_columns()

    @property
    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:
            return None
        return str(key.value) if key.value is not None else None

    def sync_rows(self, rows: Iterable[tuple[str, tuple[Any, ...]]]) -> None:
        rows = list(rows)
        order = [key for key, _ in rows]
        if order != self._order:
            selected = self.selected_key
            self.clear()
            for key, cells in rows:
                self.add_row(*cells, key=key)
            self._cells = dict(rows)
            self._order = order
            if selected in self._cells:
                self.move_cursor(row=order.index(selected), animate=False)
            return
        columns = [key for key, _ in self.COLUMNS]
        for key, cells in rows:
            old = self._cells.get(key)
            if old == cells:
                continue
            for i, (column, cell) in enumerate(zip(columns, cells, strict=True)):
                if old is None or old[i] != cell:
                    self.update_cell(key, column, cell, update_width=True)
            self._cells[key] = cells


def _sort_number(value: float | None) -> float:
    return -1.0 if value is None else float(value)


class ContainersTable(SyncedTable):
    COLUMNS: ClassVar[Sequence[tuple[str, str]]] = (
        ("id", "ID"),
        ("status", "STATUS"),
        ("pid", "PID"),
        ("exit", "EXIT"),
        ("uptime", "UPTIME"),
        ("cpu", "CPU"),
        ("mem", "MEM"),
        ("labels", "LABELS"),
    )
    SORT_KEYS: ClassVar[dict[str, Callable[[Row, datetime], Any]]] = {
        "id": lambda r, now: r.id,
        "status": lambda r, now: (r.status, r.id),
        "pid": lambda r, now: _sort_number(r.task.pid if r.task else None),
        "exit": lambda r, now: _sort_number(r.task.exit_status if r.task else None),
        "uptime": lambda r, now: _sort_number(r.uptime(now)),
        "cpu": lambda r, now: _sort_number(r.cpu_percent),
        "mem": lambda r, now: _sort_number(r.memory_bytes),
        "labels": lambda r, now: format_labels(r.container.labels),
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sort_column = "id"
        self.sort_reverse = False

    def column_label(self, key: str, label: str) -> str:
        if key == self.sort_column:
            return f"{label} {'▼' if self.sort_reverse else '▲'}"
        return label

    def set_sort(self, column: str, reverse: bool | None = None) -> None:
        if reverse is None:
            reverse = not self.sort_reverse if column == self.sort_column else False
        self.sort_column, self.sort_reverse = column, reverse
        self.reset_columns()

    def cycle_sort(self) -> None:
        keys = [key for key, _ in self.COLUMNS]
        self.set_sort(keys[(keys.index(self.sort_column) + 1) % len(keys)], False)

    def sync(self, rows: Iterable[Row], now: datetime) -> None:
        key_fn = self.SORT_KEYS[self.sort_column]
        ordered = sorted(rows, key=lambda r: (key_fn(r, now), r.id), reverse=self.sort_reverse)
        self.sync_rows((row.id, self.cells(row, now)) for row in ordered)

    @staticmethod
    def cells(row: Row, now: datetime) -> tuple[Text, ...]:
        task = row.task
        exit_status = task.exit_status if task else None
        return (
            plain(row.id, "bold"),
            status_text(row.status, exit_status),
            plain(task.pid if task and task.pid else "-"),
            exit_text(exit_status),
            plain(format_duration(row.uptime(now))),
            plain(format_percent(row.cpu_percent)),
            plain(format_bytes(row.memory_bytes)),
            plain(format_labels(row.container.labels), "italic"),
        )


class ExecsTable(SyncedTable):
    COLUMNS: ClassVar[Sequence[tuple[str, str]]] = (
        ("exec", "EXEC"),
        ("pid", "PID"),
        ("status", "STATUS"),
        ("tty", "TTY"),
        ("exit", "EXIT"),
        ("command", "COMMAND"),
    )

    def sync(self, execs: Iterable[TaskInfo]) -> None:
        self.sync_rows(
            (
                e.exec_id,
                (
                    plain(e.exec_id, "bold"),
                    plain(e.pid or "-"),
                    status_text(e.status, e.exit_status),
                    plain("tty" if e.terminal else "-"),
                    exit_text(e.exit_status),
                    plain(" ".join(e.args)),
                ),
            )
            for e in execs
        )


def event_cells(event: Event) -> tuple[Text, ...]:
    local = event.timestamp.astimezone()
    topic_style = {
        "/tasks/exit": "red",
        "/tasks/oom": "bold red",
        "/tasks/start": "green",
        "/tasks/exec-started": "green",
        "/events/lagged": "bold yellow",
    }.get(event.topic, "")
    detail = event.detail
    if event.topic == "/events/lagged":
        detail = {"dropped": str(event.dropped)}
    return (
        plain(local.strftime("%H:%M:%S"), "dim"),
        plain(event.topic, topic_style),
        plain(event.container_id, "bold"),
        plain(event.exec_id or "-"),
        plain(event.pid or "-"),
        exit_text(event.exit_status) if event.exit_status is not None else plain("-", "dim"),
        plain(format_labels(detail)),
    )


def event_matches(event: Event, text: str) -> bool:
    needle = text.lower()
    hay = " ".join(
        [
            event.topic,
            event.container_id,
            event.exec_id,
            str(event.pid),
            format_labels(event.detail),
        ]
    ).lower()
    return needle in hay


class EventsTable(SyncedTable):
    COLUMNS: ClassVar[Sequence[tuple[str, str]]] = (
        ("time", "TIME"),
        ("topic", "TOPIC"),
        ("id", "CONTAINER"),
        ("exec", "EXEC"),
        ("pid", "PID"),
        ("exit", "EXIT"),
        ("detail", "DETAIL"),
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.filter_text = ""
        self._last_seq = 0

    def sync_events(self, events: Iterable[tuple[int, Event]], *, rebuild: bool = False) -> None:
        """Append events newer than the last shown (or rebuild after a filter change)."""
        if rebuild:
            self.clear()
            self._last_seq = 0
        follow = self.row_count == 0 or self.cursor_row >= self.row_count - 1
        added = False
        for seq, event in events:
            if seq <= self._last_seq:
                continue
            self._last_seq = seq
            if self.filter_text and not event_matches(event, self.filter_text):
                continue
            self.add_row(*event_cells(event), key=str(seq))
            added = True
        # Trim what fell out of the model's window.
        while self.row_count > 1000:
            first = self.coordinate_to_cell_key((0, 0)).row_key  # type: ignore[arg-type]
            self.remove_row(first)
        if added and (follow or not self.has_focus):
            self.move_cursor(row=self.row_count - 1, animate=False)
