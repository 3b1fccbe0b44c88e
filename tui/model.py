"""What the screens show, kept up to date from backend events and stats samples."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from rich.text import Text

from runtime import Checkpoint, Event, Stats, TaskInfo

from .backend.base import (
    ConnectionChanged,
    Container,
    ContainerState,
    EventSeen,
    Removed,
    Resynced,
    StateChanged,
    StatsSampled,
    Status,
    Update,
)
from .text import safe_text

#: Samples kept per task for the sparklines (one a second).
HISTORY = 120
#: Events kept for the events pane.
EVENTS_KEPT = 1000


@dataclass
class Row:
    container: Container
    task: TaskInfo | None = None
    execs: list[TaskInfo] = field(default_factory=list)
    #: Newest first.
    checkpoints: list[Checkpoint] = field(default_factory=list)
    cpu: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY))
    memory: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY))
    last: Stats | None = None
    #: Asked of every row at every listing (the title's count): kept with the task it was
    #: worked out from.
    _status: tuple[TaskInfo | None, Status] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    #: For the filter, asked of every row at each keystroke: the id and the labels, lower
    #: case, a line each, kept with the container they came from.
    _hay: tuple[Container, str] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def id(self) -> str:
        return self.container.id

    @property
    def status(self) -> Status:
        kept = self._status
        if kept is None or kept[0] is not self.task:
            kept = self._status = (self.task, Status.of(self.task))
        return kept[1]

    def uptime(self, now: datetime) -> float | None:
        task = self.task
        if task is None or task.started_at is None:
            return None
        end = task.exited_at if task.exited_at is not None else now
        return max(0.0, (end - task.started_at).total_seconds())

    @property
    def cpu_percent(self) -> float | None:
        return self.cpu[-1] if self.cpu and self.running else None

    @property
    def memory_bytes(self) -> int | None:
        return self.last.memory_bytes if self.last is not None and self.running else None

    @property
    def running(self) -> bool:
        return self.status.live

    def matches(self, text: str) -> bool:
        """The filter: a case-insensitive substring of the id or of any ``key=value``."""
        needle = text.lower()
        if "\n" in needle:  # could match across two of the haystack's parts
            words = [self.id, *(f"{k}={v}" for k, v in self.container.labels.items())]
            return any(needle in word.lower() for word in words)
        hay = self._hay
        if hay is None or hay[0] is not self.container:
            labels = (f"{k}={v}".lower() for k, v in self.container.labels.items())
            hay = self._hay = (self.container, "\n".join([self.id.lower(), *labels]))
        return needle in hay[1]

    def add_stats(self, stats: Stats) -> None:
        last = self.last
        if last is not None:
            span = (stats.timestamp - last.timestamp).total_seconds()
            if span > 0:
                self.cpu.append(max(0.0, (stats.cpu_seconds - last.cpu_seconds) / span * 100))
        self.memory.append(float(stats.memory_bytes))
        self.last = stats


class Model:
    """Rows by container id plus the recent events; every change but a stats sample bumps
    ``version``, and the ids of rows that changed collect in ``changed`` (``stats_changed``
    for samples) until a screen takes them."""

    def __init__(self) -> None:
        self.rows: dict[str, Row] = {}
        self.events: deque[tuple[int, Event]] = deque(maxlen=EVENTS_KEPT)
        self.event_seq = 0
        self.version = 0
        #: Bumped when rows come or go (not when one changes).
        self.membership = 0
        self.changed: set[str] = set()
        self.stats_changed: set[str] = set()
        #: False while the backend is cut off from what it watches (the header says so).
        self.connected = True
        self.connection_detail = ""

    def take_changed(self, *, stats: bool = False) -> set[str]:
        """The ids of rows changed since the last call (removed ones included); with
        ``stats``, also of rows with new stats samples."""
        changed, self.changed = self.changed, set()
        if stats:
            changed |= self.stats_changed
            self.stats_changed = set()
        return changed

    def apply(self, update: Update) -> None:
        """Take one update from the backend (the model's only input)."""
        match update:
            case StateChanged(state):
                self._set(state)
            case Removed(id):
                self._remove(id)
            case EventSeen(event):
                self.event_seq += 1
                self.events.append((self.event_seq, event))
                self.version += 1
            case StatsSampled(id, stats):
                self.add_stats(id, stats)
            case Resynced(states):
                ids = {s.id for s in states}
                for id in [id for id in self.rows if id not in ids]:
                    self._remove(id)
                for state in states:
                    self._set(state)
            case ConnectionChanged(connected, detail):
                self.connected, self.connection_detail = connected, detail
                self.version += 1

    def _remove(self, id: str) -> None:
        if self.rows.pop(id, None) is not None:
            self.membership += 1
        self.changed.add(id)
        self.version += 1

    def _set(self, state: ContainerState) -> None:
        id = state.id
        row = self.rows.get(id)
        if row is None:
            row = self.rows[id] = Row(state.container)
            self.membership += 1
        row.container = state.container
        new_task = state.task
        if row.task is not None and (new_task is None or new_task.pid != row.task.pid):
            # A new task (or none): its history is not the old one's.
            row.cpu.clear()
            row.memory.clear()
            row.last = None
        row.task = new_task
        row.execs = list(state.execs)
        row.checkpoints = list(state.checkpoints)
        self.changed.add(id)
        self.version += 1

    def add_stats(self, id: str, stats: Stats) -> None:
        row = self.rows.get(id)
        if row is not None:
            # Not a version bump: samples trickle in all second long, and the screens
            # show them on their once-a-second clock repaint, all at once.
            row.add_stats(stats)
            self.stats_changed.add(id)


# -- formatting -------------------------------------------------------------------------------


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def format_bytes(n: float | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "K", "M", "G", "T"):
        if abs(n) < 1024 or unit == "T":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024
    return f"{n:.1f}T"


def checkpoint_line(c: Checkpoint) -> Text:
    """One checkpoint as the restore dialog and the details pane show it: time, size, path."""
    line = Text(c.created_at.astimezone().strftime("%H:%M:%S"), style="bold")
    line.append(f" {format_bytes(c.size_bytes):>7}  ")
    line.append_text(safe_text(str(c.path)))
    return line


def format_percent(p: float | None) -> str:
    return "-" if p is None else f"{p:.1f}%"


def format_labels(labels: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))


def parse_labels(text: str, *, separators: str = ",\n") -> dict[str, str]:
    """``"a=1, b=2"`` (or one per line) to a dict; ValueError names the bad item."""
    items = [text]
    for sep in separators:
        items = [part for item in items for part in item.split(sep)]
    labels: dict[str, str] = {}
    for raw in items:
        item = raw.strip()
        if not item:
            continue
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or not key:
            raise ValueError(f"label {item!r} must look like key=value")
        labels[key] = value.strip()
    return labels
