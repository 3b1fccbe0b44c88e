"""Plain records the engine hands out. They are snapshots: mutating one changes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True)
class Container:
    id: str
    bundle: Path
    runtime: str
    labels: dict[str, str] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class TaskInfo:
    """State of a task's init process (exec_id "") or of one of its execs."""

    id: str
    pid: int
    status: str
    bundle: Path
    exec_id: str = ""
    terminal: bool = False
    exit_status: int | None = None
    exited_at: datetime | None = None
    started_at: datetime | None = None
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint the engine wrote of a container's task (a directory of CRIU images)."""

    container_id: str
    path: Path
    created_at: datetime
    #: Bytes of the images when written.
    size_bytes: int
    #: The task stopped after it (``exit=True``).
    exited: bool = False


@dataclass(frozen=True)
class ExitInfo:
    pid: int
    exit_status: int
    exited_at: datetime


@dataclass(frozen=True)
class Stats:
    """Resource use of a task's cgroup at ``timestamp``."""

    cpu_seconds: float
    memory_bytes: int
    pids: int
    memory_limit: int | None
    timestamp: datetime


@dataclass(frozen=True)
class Event:
    """One lifecycle event; ``topic`` follows containerd's (``/tasks/exit``...)."""

    topic: str
    container_id: str
    timestamp: datetime
    exec_id: str = ""
    pid: int = 0
    exit_status: int | None = None
    exited_at: datetime | None = None
    #: For ``/events/lagged`` only: how many events this subscriber missed just before it.
    dropped: int = 0
    #: Free-form details (labels of a container event, checkpoint path...).
    detail: dict[str, str] = field(default_factory=dict)
