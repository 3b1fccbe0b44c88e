"""The session file: JSON lines of engine events, the state they led to, stats samples,
console output and failed actions. ``--record`` writes one; ``shimdeck replay`` plays it.

Each record has ``t`` (seconds since the recording started) and ``kind``:

- ``header``: ``start`` (ISO time), ``runtime``, ``version``.
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

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from runtime import Container, Event, Stats, TaskInfo

VERSION = 1


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def encode_container(c: Container | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {
        "id": c.id,
        "bundle": str(c.bundle),
        "runtime": c.runtime,
        "labels": dict(c.labels),
        "created_at": _time(c.created_at),
        "updated_at": _time(c.updated_at),
    }


def decode_container(d: dict[str, Any] | None) -> Container | None:
    if d is None:
        return None
    return Container(
        id=d["id"],
        bundle=Path(d["bundle"]),
        runtime=d.get("runtime", ""),
        labels={str(k): str(v) for k, v in (d.get("labels") or {}).items()},
        created_at=_parse_time(d.get("created_at")),
        updated_at=_parse_time(d.get("updated_at")),
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

    def __init__(self, path: str | Path, *, runtime: str, start: datetime) -> None:
        self.path = Path(path)
        self._file: TextIO | None = open(self.path, "w", encoding="utf-8")  # noqa: SIM115
        self._t0 = time.monotonic()
        self._write(
            {"kind": "header", "start": start.isoformat(), "runtime": runtime, "version": VERSION}
        )

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
