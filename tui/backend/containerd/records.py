"""Plain records of what containerd reports, free of protobuf types.

Times are aware UTC datetimes, or None where containerd sent Go's zero time (or nothing).
Task status uses the engine's words ("created", "running", ...).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

#: Go's ``time.Time{}`` as a protobuf Timestamp: containerd's "not set".
GO_ZERO_SECONDS = -62135596800

#: containerd.v1.types.Status, as the engine names task states.
TASK_STATUS = {0: "unknown", 1: "created", 2: "running", 3: "stopped", 4: "paused", 5: "pausing"}

#: A cgroup v1 memory limit at or above this is "no limit" (the kernel's page-rounded max).
_UNLIMITED = 1 << 62


def timestamp(value: Any) -> datetime | None:
    """A protobuf Timestamp as a datetime; None for Go's zero time or an unset field."""
    if value.seconds == GO_ZERO_SECONDS or (value.seconds == 0 and value.nanos == 0):
        return None
    return datetime.fromtimestamp(value.seconds + value.nanos / 1e9, UTC)


def limit(value: int) -> int | None:
    return None if value == 0 or value >= _UNLIMITED else value


@dataclass(frozen=True)
class Version:
    version: str
    revision: str


@dataclass(frozen=True)
class Namespace:
    name: str
    labels: dict[str, str]
    containers: int


@dataclass(frozen=True)
class Mount:
    type: str
    source: str
    target: str = ""
    options: tuple[str, ...] = ()


#: The parts of a container's runtime spec a record reads.
SPEC_KEPT = ("process", "annotations")


@dataclass(frozen=True)
class ContainerRecord:
    id: str
    image: str
    runtime: str
    snapshotter: str
    snapshot_key: str
    labels: dict[str, str]
    #: The OCI runtime spec as containerd sends it (JSON), parsed only when read: a listing
    #: of 1,000 containers parsed whole took 75 ms and 18 MiB at its peak, for the few
    #: rows whose command, tty or annotations anything ever reads.
    spec_json: bytes = b""
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @cached_property
    def spec(self) -> dict[str, Any]:
        """What the UI reads of the spec: its ``process`` (the command, and the base of an
        exec) and ``annotations`` (the CRI's); {} when absent. The rest (mounts,
        namespaces, seccomp) is most of a spec's size, and nothing here reads it."""
        full = json.loads(self.spec_json) if self.spec_json else {}
        return {key: full[key] for key in SPEC_KEPT if key in full}

    @property
    def args(self) -> tuple[str, ...]:
        """The spec's process args: the command the UI shows."""
        return tuple(self.spec.get("process", {}).get("args", ()))

    @property
    def terminal(self) -> bool:
        return bool(self.spec.get("process", {}).get("terminal", False))

    @classmethod
    def from_proto(cls, c: Any) -> ContainerRecord:
        return cls(
            id=c.id,
            image=c.image,
            runtime=c.runtime.name,
            snapshotter=c.snapshotter,
            snapshot_key=c.snapshot_key,
            labels=dict(c.labels),
            spec_json=c.spec.value,
            created_at=timestamp(c.created_at),
            updated_at=timestamp(c.updated_at),
        )


@dataclass(frozen=True)
class ImageRecord:
    name: str
    labels: dict[str, str]
    target_media_type: str
    target_digest: str
    target_size: int
    created_at: datetime | None = None


@dataclass(frozen=True)
class ImageSummary:
    """An image as the create dialog lists it; ``size`` None when its content is missing."""

    name: str
    size: int | None
    created_at: datetime | None


@dataclass(frozen=True)
class ProcessRecord:
    """A task's init (``exec_id`` "") or an exec, as ``Tasks.Get``/``List`` report it."""

    container_id: str
    exec_id: str
    pid: int
    status: str
    stdin: str = ""
    stdout: str = ""
    stderr: str = ""
    terminal: bool = False
    exit_status: int | None = None
    exited_at: datetime | None = None

    @classmethod
    def from_proto(cls, p: Any, container_id: str = "") -> ProcessRecord:
        """``container_id``: the task asked about (``Tasks.Get`` leaves the field empty and
        puts the container id in ``id`` for the init, the exec id for an exec)."""
        status = TASK_STATUS.get(p.status, "unknown")
        exited = status == "stopped"
        container_id = container_id or p.container_id or p.id
        return cls(
            container_id=container_id,
            exec_id="" if p.id in ("", container_id) else p.id,
            pid=p.pid,
            status=status,
            stdin=p.stdin,
            stdout=p.stdout,
            stderr=p.stderr,
            terminal=p.terminal,
            exit_status=p.exit_status if exited else None,
            exited_at=timestamp(p.exited_at) if exited else None,
        )


@dataclass(frozen=True)
class ProcessInfo:
    """One pid of a task (``ListPids``); ``exec_id`` from runc's ProcessDetails, "" for others."""

    pid: int
    exec_id: str = ""


@dataclass(frozen=True)
class ExitStatus:
    exit_status: int
    exited_at: datetime | None
