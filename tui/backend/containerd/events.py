"""containerd event envelopes decoded into the engine's :class:`runtime.Event`.

Topics are containerd's and so the engine's (``/tasks/exit``...). Traps handled here: type
URLs are bare message names; ``TaskExit.id`` (and ``TaskDelete.id``) is the container id for
the init process and the exec id otherwise; Go's zero time means "not set".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from runtime import Event

from . import schema
from .records import timestamp


@dataclass(frozen=True)
class Envelope:
    namespace: str
    event: Event


def _exec_id(container_id: str, id: str) -> str:
    return "" if id in ("", container_id) else id


def _labels(payload: Any) -> dict[str, str]:
    return dict(payload.labels) if hasattr(payload, "labels") else {}


def decode(envelope: Any) -> Envelope:
    """One ``containerd.services.events.v1.Envelope`` as an engine event."""
    when = timestamp(envelope.timestamp) or datetime.now(UTC)
    payload = schema.unpack(envelope.event)
    topic = envelope.topic
    if payload is None:
        event = Event(topic, "", when, detail={"type": envelope.event.type_url})
        return Envelope(envelope.namespace, event)
    kind = payload.DESCRIPTOR.name
    container_id = getattr(payload, "container_id", "")
    if kind.startswith("Container"):
        container_id = payload.id
    detail: dict[str, str] = {}
    exec_id = ""
    pid = getattr(payload, "pid", 0)
    exit_status: int | None = None
    exited_at: datetime | None = None
    if kind in ("TaskExit", "TaskDelete"):
        exec_id = _exec_id(container_id, payload.id)
        exit_status = payload.exit_status
        exited_at = timestamp(payload.exited_at)
    elif kind in ("TaskExecAdded", "TaskExecStarted"):
        exec_id = payload.exec_id
    elif kind == "TaskCheckpointed":
        detail["checkpoint"] = payload.checkpoint
    elif kind == "TaskCreate":
        detail["bundle"] = payload.bundle
    elif kind in ("ContainerCreate", "ContainerUpdate"):
        detail = _labels(payload)
    elif not kind.startswith(("Task", "Container")):
        # Images, snapshots, namespaces, content: name what changed.
        for name in ("name", "key", "digest"):
            if hasattr(payload, name):
                detail[name] = getattr(payload, name)
    event = Event(
        topic,
        container_id,
        when,
        exec_id=exec_id,
        pid=pid,
        exit_status=exit_status,
        exited_at=exited_at,
        detail=detail,
    )
    return Envelope(envelope.namespace, event)
