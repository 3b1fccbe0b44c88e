"""The session file, and :class:`RecordingBackend`, which writes one around any backend.

The file: JSON lines of engine events, the state they led to, stats samples,
console output and failed actions. ``--record`` writes one; ``shimdeck replay`` plays it.

Each record has ``t`` (seconds since the recording started) and ``kind``:

- ``header``: ``start`` (ISO time), ``runtime``, ``version``; optionally ``backend``, what
  the live header showed (``kind``, ``runtime``, ``version``, ``address``, ``namespace``:
  :class:`BackendInfo`; the namespace the recording began in), and ``capabilities``, what
  it could do (the screenshots offer the same keys). Older sessions lack both.
- ``state``: ``id`` and the ``container``, ``task`` and ``execs`` of that container
  after an event (``null`` once deleted). Written before the event it follows from.
- ``event``: one :class:`runtime.Event`.
- ``stats``: ``id`` and one :class:`runtime.Stats`.
- ``output``: ``id``, ``exec`` and ``data`` (base64) of a process's output.
- ``error``: ``action``, ``id`` and the ``message`` of an engine error the UI showed.
- ``pty``: ``id``, ``exec``, ``columns`` and ``lines``: a process's terminal was set to
  that size (the replay shows its console at it).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from runtime import Event, Stats, TaskInfo, errors, events

from .base import (
    Backend,
    BackendInfo,
    Capability,
    ConnectionChanged,
    Console,
    Container,
    EventSeen,
    Removed,
    Resynced,
    Source,
    StateChanged,
    StatsSampled,
    Update,
)

#: Task states whose output a recording starts copying when it starts (later tasks: when
#: they are created).
LIVE_OUTPUT = ("created", "running", "paused")

VERSION = 1


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


_RECORDED_KINDS = ("engine", "containerd")


def encode_info(info: BackendInfo) -> dict[str, Any]:
    return {
        "kind": info.kind,
        "runtime": info.runtime,
        "version": info.version,
        "address": info.address,
        "namespace": info.namespace,
    }


def decode_capabilities(names: Any) -> frozenset[Capability] | None:
    """A header's ``capabilities`` (None where the session has none)."""
    if names is None:
        return None
    known = {c.value for c in Capability}
    if not isinstance(names, list) or not all(n in known for n in names):
        raise ValueError(f"capabilities {names!r} are not a list of {sorted(known)}")
    return frozenset(Capability(n) for n in names)


def decode_info(d: Any) -> BackendInfo | None:
    """A header's ``backend`` (None where the session has none)."""
    if d is None:
        return None
    if not isinstance(d, dict) or d.get("kind") not in _RECORDED_KINDS:
        raise ValueError(f"backend {d!r} is not an engine's or a containerd's")
    return BackendInfo(
        kind=d["kind"],
        runtime=str(d.get("runtime") or ""),
        version=str(d.get("version") or ""),
        address=str(d.get("address") or ""),
        namespace=str(d.get("namespace") or ""),
    )


def encode_container(c: Container | None) -> dict[str, Any] | None:
    if c is None:
        return None
    d: dict[str, Any] = {
        "id": c.id,
        "bundle": str(c.bundle) if c.bundle is not None else None,
        "runtime": c.runtime,
        "labels": dict(c.labels),
        "created_at": _time(c.created_at),
        "updated_at": _time(c.updated_at),
    }
    if c.image:
        d["image"] = c.image  # absent in sessions from before images
    return d


def decode_container(d: dict[str, Any] | None) -> Container | None:
    if d is None:
        return None
    bundle = d.get("bundle")
    return Container(
        id=d["id"],
        bundle=Path(bundle) if bundle else None,
        runtime=d.get("runtime", ""),
        labels={str(k): str(v) for k, v in (d.get("labels") or {}).items()},
        created_at=_parse_time(d.get("created_at")),
        updated_at=_parse_time(d.get("updated_at")),
        image=str(d.get("image") or ""),
    )


def encode_task(t: TaskInfo | None) -> dict[str, Any] | None:
    if t is None:
        return None
    return {
        "id": t.id,
        "exec_id": t.exec_id,
        "pid": t.pid,
        "status": t.status,
        "bundle": str(t.bundle),
        "terminal": t.terminal,
        "exit_status": t.exit_status,
        "exited_at": _time(t.exited_at),
        "started_at": _time(t.started_at),
        "args": list(t.args),
    }


def decode_task(d: dict[str, Any] | None) -> TaskInfo | None:
    if d is None:
        return None
    return TaskInfo(
        id=d["id"],
        exec_id=d.get("exec_id", ""),
        pid=int(d.get("pid") or 0),
        status=d.get("status", "unknown"),
        bundle=Path(d.get("bundle", "")),
        terminal=bool(d.get("terminal")),
        exit_status=d.get("exit_status"),
        exited_at=_parse_time(d.get("exited_at")),
        started_at=_parse_time(d.get("started_at")),
        args=tuple(d.get("args") or ()),
    )


def encode_event(e: Event) -> dict[str, Any]:
    d = asdict(e)
    d["timestamp"] = _time(e.timestamp)
    d["exited_at"] = _time(e.exited_at)
    return d


def decode_event(d: dict[str, Any]) -> Event:
    stamp = _parse_time(d.get("timestamp"))
    assert stamp is not None, "an event record needs a timestamp"
    return Event(
        topic=d["topic"],
        container_id=d.get("container_id", ""),
        timestamp=stamp,
        exec_id=d.get("exec_id", ""),
        pid=int(d.get("pid") or 0),
        exit_status=d.get("exit_status"),
        exited_at=_parse_time(d.get("exited_at")),
        dropped=int(d.get("dropped") or 0),
        detail={str(k): str(v) for k, v in (d.get("detail") or {}).items()},
    )


def encode_stats(s: Stats) -> dict[str, Any]:
    d = asdict(s)
    d["timestamp"] = _time(s.timestamp)
    return d


def decode_stats(d: dict[str, Any]) -> Stats:
    stamp = _parse_time(d.get("timestamp"))
    assert stamp is not None, "a stats record needs a timestamp"
    return Stats(
        cpu_seconds=float(d["cpu_seconds"]),
        memory_bytes=int(d["memory_bytes"]),
        pids=int(d.get("pids") or 0),
        memory_limit=d.get("memory_limit"),
        timestamp=stamp,
    )


class Recorder:
    """Appends records to a session file; every write is flushed (a crash keeps the file)."""

    def __init__(
        self,
        path: str | Path,
        *,
        runtime: str,
        start: datetime,
        info: BackendInfo | None = None,
        capabilities: Iterable[Capability] | None = None,
    ) -> None:
        """``info``: what the header shows live, so that a replay shows it too; likewise
        ``capabilities``, what the footer offered."""
        self.path = Path(path)
        self._file: TextIO | None = open(self.path, "w", encoding="utf-8")  # noqa: SIM115
        self._t0 = time.monotonic()
        header: dict[str, Any] = {
            "kind": "header",
            "start": start.isoformat(),
            "runtime": runtime,
            "version": VERSION,
        }
        if info is not None:
            header["backend"] = encode_info(info)
        if capabilities is not None:
            header["capabilities"] = sorted(capabilities)
        self._write(header)

    def _write(self, record: dict[str, Any]) -> None:
        if self._file is None:
            return
        record = {"t": round(time.monotonic() - self._t0, 3), **record}
        self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._file.flush()

    def state(
        self, id: str, container: Container | None, task: TaskInfo | None, execs: list[TaskInfo]
    ) -> None:
        self._write(
            {
                "kind": "state",
                "id": id,
                "container": encode_container(container),
                "task": encode_task(task),
                "execs": [encode_task(e) for e in execs],
            }
        )

    def event(self, event: Event) -> None:
        self._write({"kind": "event", "event": encode_event(event)})

    def stats(self, id: str, stats: Stats) -> None:
        self._write({"kind": "stats", "id": id, "stats": encode_stats(stats)})

    def output(self, id: str, exec_id: str, data: bytes) -> None:
        self._write(
            {
                "kind": "output",
                "id": id,
                "exec": exec_id,
                "data": base64.b64encode(data).decode("ascii"),
            }
        )

    def pty(self, id: str, exec_id: str, columns: int, lines: int) -> None:
        self._write({"kind": "pty", "id": id, "exec": exec_id, "columns": columns, "lines": lines})

    def error(self, action: str, id: str, message: str) -> None:
        self._write({"kind": "error", "action": action, "id": id, "message": message})

    def backend(self, info: BackendInfo) -> None:
        """What the header says from now on (a namespace switch), after the states of the
        resync that came with it."""
        self._write({"kind": "backend", "backend": encode_info(info)})

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class SessionFormatError(ValueError):
    """The file is not a session recording (the message says where and why)."""


def read_records(path: str | Path) -> Iterator[dict[str, Any]]:
    """The records of a session file; SessionFormatError names the first bad line."""
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as e:
                raise SessionFormatError(f"{path}:{n}: not JSON ({e})") from None
            if not isinstance(record, dict) or "kind" not in record:
                raise SessionFormatError(f"{path}:{n}: not a session record")
            if n == 1 and record["kind"] != "header":
                raise SessionFormatError(f"{path}: not a shimdeck session (no header line)")
            yield record


def output_bytes(record: dict[str, Any]) -> bytes:
    return base64.b64decode(record["data"])


#: Output recorded per process at most: enough to replay a console, not a whole flood.
RECORD_OUTPUT_LIMIT = 512 * 1024


class RecordingBackend(Backend):
    """Any backend, with what passes through it written to a session file: the updates the
    UI takes, the output of every process that starts, pty sizes and failed actions."""

    def __init__(self, inner: Backend, recorder: Recorder) -> None:
        super().__init__()
        self.inner = inner
        self.recorder = recorder
        self.info = inner.info
        self.capabilities = inner.capabilities
        #: What the session file says the header is (its header line, then ``backend``
        #: records).
        self._recorded_info = inner.info
        self._known: set[str] = set()
        self._listed = False
        self._copies: set[asyncio.Task[None]] = set()
        self._remove_pty_listener = inner.add_pty_listener(self._pty)
        self._remove_input_listener = inner.add_input_listener(self.input_sent)

    # -- what passes through ----------------------------------------------------------------

    def updates(self) -> AsyncIterator[Update]:
        return self._record(self.inner.updates())

    async def _record(self, updates: AsyncIterator[Update]) -> AsyncIterator[Update]:
        async for update in updates:
            self._write(update)
            yield update

    def _write(self, update: Update) -> None:
        rec = self.recorder
        match update:
            case StateChanged(state):
                rec.state(state.id, state.container, state.task, list(state.execs))
                self._known.add(state.id)
            case Removed(id):
                rec.state(id, None, None, [])
                self._known.discard(id)
            case Resynced(states):
                ids = {s.id for s in states}
                for id in sorted(self._known - ids):
                    rec.state(id, None, None, [])
                first, self._listed = not self._listed, True
                for state in states:
                    rec.state(state.id, state.container, state.task, list(state.execs))
                    task = state.task
                    if first and task is not None and task.status in LIVE_OUTPUT:
                        self._copy_output(state.id, "")
                self._known = ids
                if self.inner.info != self._recorded_info:
                    # A namespace switch: a replay shows the new header with these rows.
                    self._recorded_info = self.inner.info
                    rec.backend(self.inner.info)
            case EventSeen(event):
                rec.event(event)
                if event.topic == events.TASK_CREATE:
                    self._copy_output(event.container_id, "")
                elif event.topic == events.TASK_EXEC_STARTED:
                    self._copy_output(event.container_id, event.exec_id)
            case StatsSampled(id, stats):
                rec.stats(id, stats)
            case ConnectionChanged():
                pass  # the session format has no record of it: a replay never disconnects

    def _pty(self, id: str, exec_id: str, columns: int, lines: int) -> None:
        self.recorder.pty(id, exec_id, columns, lines)
        self.pty_resized(id, exec_id, columns, lines)

    def _copy_output(self, id: str, exec_id: str) -> None:
        try:
            console = self.inner.console(id, exec_id)
        except errors.Error:
            return
        # Taken together, with no await between: nothing is missed or recorded twice.
        backlog, stream = console.backlog(), console.stream()
        task = asyncio.ensure_future(self._copy(id, exec_id, console, backlog, stream))
        self._copies.add(task)
        task.add_done_callback(self._copies.discard)

    async def _copy(
        self, id: str, exec_id: str, console: Console, backlog: bytes, stream: AsyncIterator[bytes]
    ) -> None:
        budget = RECORD_OUTPUT_LIMIT
        try:
            if backlog:
                self.recorder.output(id, exec_id, backlog[-budget:])
                budget -= len(backlog)
            async for chunk in stream:
                if budget <= 0:
                    break
                self.recorder.output(id, exec_id, chunk[:budget])
                budget -= len(chunk)
        except errors.Error:
            pass  # the output went away: what was copied stays
        finally:
            console.close()

    async def close(self) -> None:
        await self.inner.close()
        for task in list(self._copies):
            task.cancel()
        await asyncio.gather(*self._copies, return_exceptions=True)
        for remove in (self._remove_pty_listener, self._remove_input_listener):
            with contextlib.suppress(ValueError):
                remove()
        self.recorder.close()

    # -- the rest is the inner backend's, failures recorded --------------------------------

    def now(self) -> datetime:
        return self.inner.now()

    def set_stats_targets(self, ids: Iterable[str]) -> None:
        self.inner.set_stats_targets(ids)

    def watch_execs(self, id: str | None) -> None:
        self.inner.watch_execs(id)

    async def namespaces(self) -> list[tuple[str, int]]:
        return await self.inner.namespaces()

    async def switch_namespace(self, namespace: str) -> None:
        await self.inner.switch_namespace(namespace)
        self.info = self.inner.info  # the header names the new namespace

    def confirm_text(self, id: str, action: str) -> str | None:
        return self.inner.confirm_text(id, action)

    def empty_note(self) -> str | None:
        return self.inner.empty_note()

    async def images(self) -> list[str]:
        return await self.inner.images()

    def console(self, id: str, exec_id: str = "") -> Console:
        return self.inner.console(id, exec_id)

    async def _recorded(self, action: str, id: str, call: Awaitable[None]) -> None:
        try:
            await call
        except errors.Error as e:
            self.recorder.error(action, id, str(e))
            raise

    async def create(
        self, id: str, source: Source | Sequence[str], *, terminal: bool, labels: Mapping[str, str]
    ) -> None:
        await self._recorded(
            "create", id, self.inner.create(id, source, terminal=terminal, labels=labels)
        )

    async def start(self, id: str, exec_id: str = "") -> None:
        await self._recorded("start", id, self.inner.start(id, exec_id))

    async def pause(self, id: str) -> None:
        await self._recorded("pause", id, self.inner.pause(id))

    async def resume(self, id: str) -> None:
        await self._recorded("resume", id, self.inner.resume(id))

    async def kill(self, id: str, signal: int, *, all: bool = False, exec_id: str = "") -> None:
        await self._recorded("kill", id, self.inner.kill(id, signal, all=all, exec_id=exec_id))

    async def delete(self, id: str, exec_id: str = "") -> None:
        await self._recorded("delete", id, self.inner.delete(id, exec_id))

    async def exec(self, id: str, exec_id: str, args: Sequence[str], *, terminal: bool) -> None:
        await self._recorded("exec", id, self.inner.exec(id, exec_id, args, terminal=terminal))

    async def checkpoint(self, id: str, path: str, *, exit: bool = False) -> None:
        await self._recorded("checkpoint", id, self.inner.checkpoint(id, path, exit=exit))

    async def restore(self, id: str, path: str, *, new_id: str = "") -> None:
        await self._recorded("restore", new_id or id, self.inner.restore(id, path, new_id=new_id))

    async def set_labels(self, id: str, labels: Mapping[str, str]) -> None:
        await self._recorded("labels", id, self.inner.set_labels(id, labels))
