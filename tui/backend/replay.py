"""The backend over a recorded session: the same UI with no root, no runc, no engine.

``instant=True`` applies every record at connect time on a virtual clock that stops at the
last record, so screens are the same on every run (tests, screenshots). Otherwise records
are played at their recorded pace (times ``speed``) and the clock follows.

Actions are refused with ``Unavailable``, except that an action which failed while the
session was recorded fails again with the recorded message (so a replay shows the real
error, criu's reason included).
"""

from __future__ import annotations

import asyncio
import binascii
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from runtime import TaskInfo, errors, events

from .base import (
    ACTIONS,
    DEFAULT_PTY,
    Backend,
    BackendInfo,
    Capability,
    Console,
    Container,
    ContainerState,
    EventSeen,
    Removed,
    Resynced,
    Source,
    StateChanged,
    StatsSampled,
    Update,
    UpdateFeed,
)
from .recording import (
    SessionFormatError,
    decode_capabilities,
    decode_container,
    decode_event,
    decode_info,
    decode_stats,
    decode_task,
    output_bytes,
    read_records,
)


def _decode_recorded_info(d: Any) -> BackendInfo:
    info = decode_info(d)
    if info is None:
        raise ValueError("a backend record names no backend")
    return info


def _size(record: dict[str, Any]) -> tuple[int, int]:
    columns, lines = int(record["columns"]), int(record["lines"])
    if not (0 < columns <= 1000 and 0 < lines <= 1000):
        raise ValueError(f"pty size {columns}x{lines}")
    return columns, lines


class ReplayConsole(Console):
    end_note = "end of recording"

    def __init__(self, backend: ReplayBackend, key: tuple[str, str], terminal: bool) -> None:
        self._backend = backend
        self._key = key
        self.terminal = terminal
        if terminal:
            self.size = backend._pty.get(key, DEFAULT_PTY)
        self._queue: asyncio.Queue[bytes | None] | None = None

    def backlog(self) -> bytes:
        return bytes(self._backend._output.get(self._key, b""))

    def stamped_backlog(self) -> list[tuple[float, bytes]]:
        """The output with the times it was recorded at (so a replay shows the same times)."""
        return list(self._backend._stamped.get(self._key, ()))

    def stream(self) -> AsyncIterator[bytes]:
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._queue = queue
        if self._backend.ended:
            queue.put_nowait(None)
        else:
            self._backend._listeners[self._key].append(queue)
        return self._iterate(queue)

    async def _iterate(self, queue: asyncio.Queue[bytes | None]) -> AsyncIterator[bytes]:
        while (chunk := await queue.get()) is not None:
            yield chunk

    def write(self, data: bytes) -> None:
        """Typing into a replay goes nowhere."""

    async def resize(self, width: int, height: int) -> None:
        """A recording has the size it was recorded at."""

    def close(self) -> None:
        if self._queue is not None:
            with contextlib.suppress(ValueError):
                self._backend._listeners[self._key].remove(self._queue)
            self._queue.put_nowait(None)


#: The capability an action recorded in an ``error`` record needs.
_NEEDS = {"resume": Capability.PAUSE}
_ACTIONS = {c.value for c in ACTIONS} | set(_NEEDS)


class ReplayBackend(Backend):
    def __init__(
        self,
        path: str | Path,
        *,
        instant: bool = False,
        speed: float = 1.0,
        as_recorded: bool = False,
    ) -> None:
        """``as_recorded``: offer the actions the recorded engine offered (each still
        refused), so that screenshots show the UI as it looked live."""
        super().__init__()
        self.path = Path(path)
        self.description = self.path.name
        try:
            self._records = list(read_records(self.path))
        except OSError as e:
            raise SessionFormatError(f"cannot read {path}: {e.strerror}") from None
        if not self._records:
            raise SessionFormatError(f"{path} is empty")
        header = self._records[0]
        start = datetime.fromisoformat(header["start"])
        self._start = start if start.tzinfo else start.replace(tzinfo=UTC)
        self.recorded_runtime = str(header.get("runtime", ""))
        try:
            recorded_on = decode_info(header.get("backend"))
            offered = decode_capabilities(header.get("capabilities"))
        except ValueError as e:
            raise SessionFormatError(f"{self.path}: record 1 (header) is malformed: {e}") from None
        self.info = BackendInfo(
            kind="replay", runtime="replay", address=self.path.name, recorded=recorded_on
        )
        self.instant = instant
        self.speed = speed if speed > 0 else 1.0
        self._clock = self._start
        self._containers: dict[str, Container] = {}
        self._task_info: dict[str, TaskInfo] = {}
        self._exec_info: dict[str, list[TaskInfo]] = {}
        self._output: dict[tuple[str, str], bytearray] = defaultdict(bytearray)
        self._stamped: dict[tuple[str, str], list[tuple[float, bytes]]] = defaultdict(list)
        self._pty: dict[tuple[str, str], tuple[int, int]] = {}
        self._listeners: dict[tuple[str, str], list[asyncio.Queue[bytes | None]]] = defaultdict(
            list
        )
        self._errors = {
            (r["action"], r["id"]): str(r["message"]) for r in self._records if r["kind"] == "error"
        }
        self._validate()
        # A recording can only be watched; an action that failed while it was recorded
        # fails again with the recorded message (so the replay shows the real error).
        recorded = {_NEEDS.get(a) or Capability(a) for a, _ in self._errors if a in _ACTIONS}
        if as_recorded:
            self.capabilities = ACTIONS if offered is None else offered
        else:
            self.capabilities = frozenset({Capability.ATTACH, *recorded})
        self._feed: UpdateFeed | None = None
        self._player: asyncio.Task[None] | None = None
        self.ended = False

    def _validate(self) -> None:
        """Decode every record once, so a bad file fails here with its line, not mid-replay."""
        decoders: dict[str, Any] = {
            "header": lambda r: datetime.fromisoformat(r["start"]),
            "state": lambda r: (
                r["id"],
                decode_container(r.get("container")),
                decode_task(r.get("task")),
                [decode_task(e) for e in r.get("execs") or []],
            ),
            "event": lambda r: decode_event(r["event"]),
            "stats": lambda r: (r["id"], decode_stats(r["stats"])),
            "output": lambda r: (r["id"], output_bytes(r)),
            "error": lambda r: (r["action"], r["id"], r["message"]),
            "pty": lambda r: (r["id"], _size(r)),
            "backend": lambda r: _decode_recorded_info(r["backend"]),
        }
        for n, record in enumerate(self._records, 1):
            kind = record.get("kind")
            if kind not in decoders:
                raise SessionFormatError(f"{self.path}: record {n} has unknown kind {kind!r}")
            try:
                decoders[kind](record)
                float(record.get("t", 0))
            except (KeyError, TypeError, ValueError, AssertionError, binascii.Error) as e:
                raise SessionFormatError(
                    f"{self.path}: record {n} ({kind}) is malformed: {e!r}"
                ) from None

    # -- playing ------------------------------------------------------------------------------

    def updates(self) -> AsyncIterator[Update]:
        """The recording's updates; they end with it (a replay starts with no rows: a
        container shows from its first event on, as it did while recorded)."""
        if self._feed is not None:
            raise RuntimeError("a backend's updates have one consumer")
        feed = self._feed = UpdateFeed()
        feed.put(Resynced([]))
        if self.instant:
            # Every state first, so each event shows its container as the session ended:
            # the same screen on every run.
            for record in self._records:
                if record["kind"] == "state":
                    self._apply_state(record)
            for record in self._records:
                self._apply(record, states=False)
            self._end()
        else:
            self._player = asyncio.ensure_future(self._play())
        return aiter(feed)

    async def _play(self) -> None:
        loop = asyncio.get_running_loop()
        began = loop.time()
        for record in self._records:
            delay = float(record.get("t", 0)) / self.speed - (loop.time() - began)
            if delay > 0:
                await asyncio.sleep(delay)
            self._apply(record)
        self._end()

    def _end(self) -> None:
        self.ended = True
        for queues in self._listeners.values():
            for queue in queues:
                queue.put_nowait(None)
        self._listeners.clear()
        if self._feed is not None:
            self._feed.end()

    def _put(self, update: Update) -> None:
        if self._feed is not None:
            self._feed.put(update)

    def _resynced(self) -> Resynced:
        """Every container as the recording holds it now."""
        return Resynced([s for id in self._containers if (s := self._state(id))])

    def _state(self, id: str) -> ContainerState | None:
        container = self._containers.get(id)
        if container is None:
            return None
        return ContainerState(container, self._task_info.get(id), self.execs(id))

    def _apply(self, record: dict[str, Any], *, states: bool = True) -> None:
        self._clock = self._start + timedelta(seconds=float(record.get("t", 0)))
        kind = record["kind"]
        if kind == "state":
            if states:
                self._apply_state(record)
        elif kind == "event":
            event = decode_event(record["event"])
            if event.topic == events.LAGGED:
                self._put(self._resynced())
            elif event.container_id:
                state = self._state(event.container_id)
                self._put(StateChanged(state) if state else Removed(event.container_id))
            self._put(EventSeen(event))
        elif kind == "backend":
            # A namespace switch: its rows (the states recorded just before) replace all.
            self.info = replace(self.info, recorded=_decode_recorded_info(record["backend"]))
            self._put(self._resynced())
        elif kind == "stats":
            self._put(StatsSampled(record["id"], decode_stats(record["stats"])))
        elif kind == "pty":
            self._pty[(record["id"], record.get("exec", ""))] = _size(record)
        elif kind == "output":
            key = (record["id"], record.get("exec", ""))
            data = output_bytes(record)
            self._output[key] += data
            self._stamped[key].append((self._clock.timestamp(), data))
            for queue in self._listeners.get(key, ()):
                queue.put_nowait(data)

    def _apply_state(self, record: dict[str, Any]) -> None:
        id = record["id"]
        container = decode_container(record.get("container"))
        task = decode_task(record.get("task"))
        if container is None:
            self._containers.pop(id, None)
        else:
            self._containers[id] = container
        if task is None:
            self._task_info.pop(id, None)
        else:
            self._task_info[id] = task
        self._exec_info[id] = [e for e in map(decode_task, record.get("execs") or []) if e]

    async def close(self) -> None:
        if self._player is not None:
            self._player.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._player
            self._player = None
        if self._feed is not None and not self.ended:
            self._feed.end()

    def now(self) -> datetime:
        return self._clock

    # -- state ------------------------------------------------------------------------------

    def containers(self) -> list[Container]:
        return list(self._containers.values())

    def container(self, id: str) -> Container | None:
        return self._containers.get(id)

    def task(self, id: str) -> TaskInfo | None:
        return self._task_info.get(id)

    def execs(self, id: str) -> list[TaskInfo]:
        return list(self._exec_info.get(id, ()))

    # -- actions ------------------------------------------------------------------------------

    def _refuse(self, action: str, id: str) -> errors.Error:
        recorded = self._errors.get((action, id))
        if recorded is not None:
            return errors.RuntimeFailure(recorded)
        return errors.Unavailable(f"{self.description}: {action} is not possible in a replay")

    async def create(
        self, id: str, source: Source | Sequence[str], *, terminal: bool, labels: Mapping[str, str]
    ) -> None:
        raise self._refuse("create", id)

    async def start(self, id: str, exec_id: str = "") -> None:
        raise self._refuse("start", id)

    async def pause(self, id: str) -> None:
        raise self._refuse("pause", id)

    async def resume(self, id: str) -> None:
        raise self._refuse("resume", id)

    async def kill(self, id: str, signal: int, *, all: bool = False, exec_id: str = "") -> None:
        raise self._refuse("kill", id)

    async def delete(self, id: str, exec_id: str = "") -> None:
        raise self._refuse("delete", id)

    async def exec(self, id: str, exec_id: str, args: Sequence[str], *, terminal: bool) -> None:
        raise self._refuse("exec", id)

    async def checkpoint(self, id: str, path: str, *, exit: bool = False) -> None:
        raise self._refuse("checkpoint", id)

    async def restore(self, id: str, path: str, *, new_id: str = "") -> None:
        raise self._refuse("restore", id)

    async def set_labels(self, id: str, labels: Mapping[str, str]) -> None:
        raise self._refuse("labels", id)

    def console(self, id: str, exec_id: str = "") -> Console:
        info = (
            self.task(id)
            if not exec_id
            else next((e for e in self.execs(id) if e.exec_id == exec_id), None)
        )
        if info is None and (id, exec_id) not in self._output:
            what = f"exec {exec_id!r} of task {id!r}" if exec_id else f"task {id!r}"
            raise errors.NotFound(f"{what} not found")
        return ReplayConsole(self, (id, exec_id), bool(info and info.terminal))
