"""``engine.containers``: container metadata (id, bundle, labels, runtime), kept in SQLite."""

from __future__ import annotations

import builtins
import sqlite3
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from . import errors, events, ids
from .events import EventBus
from .store import Store
from .types import Checkpoint, Container, Event

MAX_LABELS_BYTES = 4096


def validate_labels(labels: object) -> dict[str, str]:
    if labels is None:
        return {}
    if not isinstance(labels, Mapping):
        raise errors.InvalidArgument("labels must be a mapping of strings to strings")
    out: dict[str, str] = {}
    size = 0
    for k, v in labels.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise errors.InvalidArgument(f"label {k!r}: keys and values must be strings")
        if not k or "\0" in k or "\0" in v:
            raise errors.InvalidArgument(
                f"label {k!r}: keys must be non-empty, and no NUL anywhere"
            )
        size += len(k.encode()) + len(v.encode())
        out[k] = v
    if size > MAX_LABELS_BYTES:
        raise errors.InvalidArgument(f"labels take {size} bytes; the limit is {MAX_LABELS_BYTES}")
    return out


class Containers:
    def __init__(
        self, store: Store, bus: EventBus, runtime: str, has_task: Callable[[str], bool]
    ) -> None:
        self._store = store
        self._bus = bus
        self._runtime = runtime
        self._has_task = has_task
        self._cache: dict[str, Container] = {c.id: c for c in store.containers()}

    async def create(
        self, id: str, bundle: str | Path, labels: Mapping[str, str] | None = None
    ) -> Container:
        ids.validate(id, "container id")
        path = Path(bundle)
        if not path.is_absolute():
            path = path.resolve()
        if not (path / "config.json").is_file():
            raise errors.InvalidArgument(f"bundle {path} has no config.json")
        now = datetime.now(UTC)
        c = Container(id, path, self._runtime, validate_labels(labels), now, now)
        if id in self._cache:
            raise errors.AlreadyExists(f"container {id!r} already exists")
        try:
            self._store.add_container(c)
        except sqlite3.IntegrityError:
            raise errors.AlreadyExists(f"container {id!r} already exists") from None
        self._cache[id] = c
        self._bus.publish(Event(events.CONTAINER_CREATE, id, now, detail=dict(c.labels)))
        return c

    def get(self, id: str) -> Container:
        ids.validate(id, "container id")
        try:
            return self._cache[id]
        except KeyError:
            raise errors.NotFound(f"container {id!r} not found") from None

    def list(self) -> list[Container]:
        return list(self._cache.values())

    def checkpoints(self, id: str) -> builtins.list[Checkpoint]:
        """The checkpoints written of the container's tasks, newest first (those still there)."""
        self.get(id)
        return [c for c in self._store.checkpoints(id) if (c.path / "inventory.img").exists()]

    async def update(self, id: str, labels: Mapping[str, str] | None = None) -> Container:
        old = self.get(id)
        new_labels = validate_labels(labels)
        now = datetime.now(UTC)
        self._store.update_labels(id, new_labels)
        c = Container(old.id, old.bundle, old.runtime, new_labels, old.created_at, now)
        self._cache[id] = c
        self._bus.publish(Event(events.CONTAINER_UPDATE, id, now, detail=dict(new_labels)))
        return c

    async def delete(self, id: str) -> None:
        self.get(id)
        if self._has_task(id):
            raise errors.FailedPrecondition(f"container {id!r} has a task: delete the task first")
        self._store.delete_container(id)
        self._store.delete_checkpoints(id)  # the records; the images are the user's
        del self._cache[id]
        self._bus.publish(Event(events.CONTAINER_DELETE, id, datetime.now(UTC)))
