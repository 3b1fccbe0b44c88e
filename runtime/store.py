"""Container metadata, the record of live tasks and of checkpoints, in SQLite under the
engine's root.

Tasks are recorded so that an engine started later can re-adopt what an earlier one left
running (after a crash, or when asked to keep its tasks).
"""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from .types import Checkpoint, Container

# WITHOUT ROWID: a row lives in its primary key's b-tree, so each commit writes one page,
# not two (the table's and its key's index). A database made before keeps its tables as
# they are: the statements are the same for both.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS containers (
    id TEXT PRIMARY KEY,
    bundle TEXT NOT NULL,
    runtime TEXT NOT NULL,
    labels TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tasks (
    container_id TEXT PRIMARY KEY REFERENCES containers(id),
    pid INTEGER NOT NULL,
    terminal INTEGER NOT NULL,
    created_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (
    container_id TEXT NOT NULL,
    path TEXT NOT NULL,
    created_at TEXT NOT NULL,
    size INTEGER NOT NULL,
    exited INTEGER NOT NULL,
    PRIMARY KEY (container_id, path)
) WITHOUT ROWID;
"""


class Store:
    def __init__(self, path: Path) -> None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        os.chmod(path, 0o600)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        # The engine's flock on its root already makes this the database's only user: an
        # exclusive lock, taken once, spares every commit its fcntl lock and unlock calls and
        # keeps the WAL index in memory instead of a shared -shm file. It is released with
        # the connection (close, or the process's death).
        self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def add_container(self, c: Container) -> None:
        now = _iso(c.created_at or datetime.now(UTC))
        self._db.execute(
            "INSERT INTO containers VALUES (?, ?, ?, ?, ?, ?)",
            (c.id, str(c.bundle), c.runtime, json.dumps(c.labels), now, now),
        )

    def update_labels(self, id: str, labels: dict[str, str]) -> None:
        self._db.execute(
            "UPDATE containers SET labels = ?, updated_at = ? WHERE id = ?",
            (json.dumps(labels), _iso(datetime.now(UTC)), id),
        )

    def delete_container(self, id: str) -> None:
        self._db.execute("DELETE FROM containers WHERE id = ?", (id,))

    def containers(self) -> list[Container]:
        rows = self._db.execute("SELECT * FROM containers ORDER BY created_at, id").fetchall()
        return [
            Container(
                id=r[0],
                bundle=Path(r[1]),
                runtime=r[2],
                labels=json.loads(r[3]),
                created_at=datetime.fromisoformat(r[4]),
                updated_at=datetime.fromisoformat(r[5]),
            )
            for r in rows
        ]

    def add_task(self, container_id: str, pid: int, terminal: bool) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, ?)",
            (container_id, pid, int(terminal), _iso(datetime.now(UTC))),
        )

    def delete_task(self, container_id: str) -> None:
        self._db.execute("DELETE FROM tasks WHERE container_id = ?", (container_id,))

    def tasks(self) -> list[tuple[str, int, bool]]:
        rows = self._db.execute("SELECT container_id, pid, terminal FROM tasks").fetchall()
        return [(r[0], int(r[1]), bool(r[2])) for r in rows]

    def add_checkpoint(self, c: Checkpoint) -> None:
        """Record ``c``; one written again into the same directory replaces its record."""
        self._db.execute(
            "INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?, ?, ?)",
            (c.container_id, str(c.path), _iso(c.created_at), c.size_bytes, int(c.exited)),
        )

    def checkpoints(self, container_id: str) -> list[Checkpoint]:
        rows = self._db.execute(
            "SELECT * FROM checkpoints WHERE container_id = ? ORDER BY created_at DESC",
            (container_id,),
        ).fetchall()
        return [
            Checkpoint(r[0], Path(r[1]), datetime.fromisoformat(r[2]), int(r[3]), bool(r[4]))
            for r in rows
        ]

    def delete_checkpoints(self, container_id: str) -> None:
        self._db.execute("DELETE FROM checkpoints WHERE container_id = ?", (container_id,))


def _iso(t: datetime) -> str:
    return t.isoformat()
