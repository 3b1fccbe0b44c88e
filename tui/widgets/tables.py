"""The containers, execs and events tables.

Every cell is a ``rich.text.Text`` built from plain strings: ids, labels and commands come
from users and containers and may contain ``[red]``-like markup, which must show as typed.
Tables are synced from the model: cells that changed are updated in place, and the rows are
rebuilt only when rows come, go or move (the cursor stays on the same row key).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, Protocol

from rich.text import Text

from runtime import Event, TaskInfo

from ..backend.base import Status
from ..model import (
    Row,
    format_bytes,
    format_duration,
    format_labels,
    format_percent,
)
from ..text import safe_text
from .linetable import Cells, LineTable

STATUS_STYLES: dict[str, str] = {
    Status.RUNNING: "bold green",
    Status.CREATED: "cyan",
    Status.PAUSED: "yellow",
    Status.PAUSING: "yellow",
    Status.STOPPED: "red",
    Status.NONE: "dim",
}


def status_text(status: str, exit_status: int | None = None) -> Text:
    """A status (a Status, or an exec's status string) in its colour."""
    style = STATUS_STYLES.get(status, "")  # a StrEnum: its members hash as their strings
    if status == Status.STOPPED and exit_status == 0:
        style = "dim"
    return Text(str(status), style=style)


def exit_text(exit_status: int | None) -> Text:
    if exit_status is None:
        return Text("-", style="dim")
    return Text(str(exit_status), style="" if exit_status == 0 else "bold red")


def plain(value: object, style: str = "") -> Text:
    """A cell from any value: plain text, never markup, control characters visible."""
    return safe_text(value, style, no_wrap=True, overflow="ellipsis")


class SyncedTable(LineTable):
    """A table filled from (key, cells) rows, updating only what changed."""

    def sync_rows(self, rows: Iterable[tuple[str, Cells]]) -> None:
        rows = list(rows)
        if [key for key, _ in rows] != self._keys:
            self.set_rows(rows)
            return
        self.update_rows(rows)

    def update_rows(self, rows: Iterable[tuple[str, Cells]]) -> None:
        """Update the rows that changed among rows already shown."""
        for key, cells in rows:
            self.update_row(key, cells)

    def reset_columns(self) -> None:
        """The header changed (a sort indicator moved)."""
        self.refresh_header()


def _sort_number(value: float | None) -> float:
    return -1.0 if value is None else float(value)


SortKey = Callable[[Row, datetime], Any]


class ColumnHook(Protocol):
    """Extra columns after the id (the pod and container name on a Kubernetes node)."""

    columns: Sequence[tuple[str, str]]
    sort_keys: Mapping[str, SortKey]

    def shown(self, rows: Sequence[Row]) -> bool:
        """Whether the columns are shown at all for these rows."""
        ...

    def cells(self, row: Row) -> tuple[Text, ...]: ...


class ContainersTable(SyncedTable):
    EMPTY = "no containers: press n to create one"
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
    SORT_KEYS: ClassVar[dict[str, SortKey]] = {
        "id": lambda r, now: r.id,
        "status": lambda r, now: (r.status, r.id),
        "pid": lambda r, now: _sort_number(r.task.pid if r.task else None),
        "exit": lambda r, now: _sort_number(r.task.exit_status if r.task else None),
        "uptime": lambda r, now: _sort_number(r.uptime(now)),
        "cpu": lambda r, now: _sort_number(r.cpu_percent),
        "mem": lambda r, now: _sort_number(r.memory_bytes),
        "labels": lambda r, now: format_labels(r.container.labels),
        "image": lambda r, now: r.container.image,
    }
    #: Shown after the id (and the hook's columns) where containers come from images.
    IMAGE_COLUMN = ("image", "IMAGE")
    #: Sort columns whose keys the clock (or a stats sample, shown with it) moves.
    CLOCKED: ClassVar[frozenset[str]] = frozenset({"uptime", "cpu", "mem"})

    def __init__(self, column_hook: ColumnHook | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sort_column = "id"
        self.sort_reverse = False
        self._hook = column_hook
        #: Whether the hook's columns are shown now (only while some row has them: a table
        #: without such rows looks exactly as one without a hook).
        self._hooked = False
        #: The backend runs images (Capability.IMAGES): the IMAGE column even while empty.
        self.show_images = False
        #: Whether the IMAGE column is shown now (show_images, or some row has an image:
        #: the engine's busybox rows have none, and its table looks as it always did).
        self._imaged = False
        #: Each row's cells as last built, with the clock they were built at and their
        #: widths, until the row changes: building every row's cells again was most of a
        #: filter keystroke's time over thousands of rows (rows filtered out stay here).
        self._built: dict[str, tuple[datetime, Cells, list[int]]] = {}

    def _wants_images(self, rows: Sequence[Row]) -> bool:
        return self.show_images or any(r.container.image for r in rows)

    def _layout(self, hooked: bool, imaged: bool) -> None:
        self._hooked, self._imaged = hooked, imaged
        base = self.COLUMNS
        extra = [
            *(self._hook.columns if hooked and self._hook else ()),
            *([self.IMAGE_COLUMN] if imaged else []),
        ]
        self.columns = [base[0], *extra, *base[1:]] if extra else base
        if self.sort_column not in dict(self.columns):
            self.sort_column, self.sort_reverse = "id", False
        self._widths = [len(self.column_label(k, label)) for k, label in self.columns]

    def sort_key(self) -> SortKey:
        if self._hooked and self._hook is not None and self.sort_column in self._hook.sort_keys:
            return self._hook.sort_keys[self.sort_column]
        return self.SORT_KEYS[self.sort_column]

    def sort_state(self) -> tuple[str, bool]:
        return self.sort_column, self.sort_reverse

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
        keys = [key for key, _ in self.columns]
        self.set_sort(keys[(keys.index(self.sort_column) + 1) % len(keys)], False)

    def sync(self, rows: Iterable[Row], now: datetime, changed: set[str] | None = None) -> None:
        """Show ``rows`` sorted; unless the order changed, build cells only for the rows in
        ``changed`` (None: every row)."""
        rows = list(rows)
        hooked = self._hook is not None and self._hook.shown(rows)
        imaged = self._wants_images(rows)
        if (hooked, imaged) != (self._hooked, self._imaged):
            self._layout(hooked, imaged)
            changed = None
        if changed is None:
            self._built.clear()
        else:
            for key in changed:
                self._built.pop(key, None)
        key_fn = self.sort_key()
        ordered = sorted(rows, key=lambda r: (key_fn(r, now), r.id), reverse=self.sort_reverse)
        order = [row.id for row in ordered]
        by_id = {row.id: row for row in ordered}
        if changed is None or order != self._keys:
            self.set_rows((row.id, self._cells_of(row, now)) for row in ordered)
            # The rows in view at this repaint's clock, as though every row had been built
            # anew (the others are, once in view, at the next clock repaint).
            for key in self.visible_keys(margin=0):
                if self._built[key][0] != now:
                    del self._built[key]
                    self.update_row(key, self._cells_of(by_id[key], now))
            return
        self.update_rows((key, self._cells_of(by_id[key], now)) for key in changed & by_id.keys())

    def update(self, rows: Iterable[Row], now: datetime) -> None:
        """Rows that changed in place (listed or not, their order as it was): cells anew,
        for the rows a filter hides too, so that the next keystroke finds them built."""
        for row in rows:
            self._built.pop(row.id, None)
            cells = self._cells_of(row, now)
            if row.id in self._cells:
                self.update_row(row.id, cells)

    def _cells_of(self, row: Row, now: datetime) -> Cells:
        built = self._built.get(row.id)
        if built is None:
            cells = self.row_cells(row, now)
            built = self._built[row.id] = (now, cells, list(super().measure(row.id, cells)))
        return built[1]

    def measure(self, key: str, cells: Cells) -> Sequence[int]:
        built = self._built.get(key)
        return built[2] if built is not None and built[1] is cells else super().measure(key, cells)

    def row_cells(self, row: Row, now: datetime) -> tuple[Text, ...]:
        """A row's cells, with the hook's and the image after the id while shown."""
        cells = self.cells(row, now)
        extra: tuple[Text, ...] = ()
        if self._hooked and self._hook is not None:
            extra = self._hook.cells(row)
        if self._imaged:
            extra = (*extra, plain(short_image(row.container.image) or "-"))
        if not extra:
            return cells
        return (cells[0], *extra, *cells[1:])

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
    EMPTY = "no execs: e runs one"
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


EVENT_COLUMNS: Sequence[tuple[str, str]] = (
    ("time", "TIME"),
    ("topic", "TOPIC"),
    ("id", "CONTAINER"),
    ("exec", "EXEC"),
    ("pid", "PID"),
    ("exit", "EXIT"),
    ("detail", "DETAIL"),
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


#: The longest image name a row shows (the details pane has it whole).
IMAGE_WIDTH = 28


def short_image(name: str, width: int = IMAGE_WIDTH) -> str:
    """An image name as docker shows it (``docker.io/library/nginx:1`` is ``nginx:1``), cut
    in the middle past ``width``: the registry's start and the tag both stay readable."""
    for prefix in ("docker.io/library/", "docker.io/"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    if len(name) <= width:
        return name
    head = (width - 1) // 2
    return name[:head] + "…" + name[len(name) - (width - 1 - head) :]
