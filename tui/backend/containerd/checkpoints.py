"""The checkpoints shimdeck wrote of containerd's containers, found again.

containerd keeps no record of a checkpoint written to a directory (``Tasks.Checkpoint``
with runc's ``image_path``: the shim has CRIU write there, and the reply lists nothing),
so shimdeck keeps its own, one file a container beside its FIFOs and logs:
``<container's io dir>/checkpoints.json``. It goes with the container, as the engine's
records do; the checkpoint directories stay where the user put them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from runtime import Checkpoint

FILE = "checkpoints.json"


def load(container_dir: Path, container_id: str) -> list[Checkpoint]:
    """The container's checkpoints, newest first ([] where none was written, or the file
    cannot be read: a registry that went bad must not stop the listing)."""
    try:
        records = json.loads((container_dir / FILE).read_text(encoding="utf-8"))
        found = [
            Checkpoint(
                container_id=container_id,
                path=Path(r["path"]),
                created_at=datetime.fromisoformat(r["created_at"]),
                size_bytes=int(r["size_bytes"]),
                exited=bool(r.get("exited", False)),
            )
            for r in records
        ]
    except (OSError, ValueError, TypeError, KeyError):
        return []
    return sorted(found, key=lambda c: c.created_at, reverse=True)


def add(container_dir: Path, checkpoint: Checkpoint) -> list[Checkpoint]:
    """Record ``checkpoint`` (one at the same path is replaced: CRIU wrote over it);
    returns the container's checkpoints, newest first."""
    kept = [c for c in load(container_dir, checkpoint.container_id) if c.path != checkpoint.path]
    records = [
        {
            "path": str(c.path),
            "created_at": c.created_at.isoformat(),
            "size_bytes": c.size_bytes,
            "exited": c.exited,
        }
        for c in [checkpoint, *kept]
    ]
    container_dir.mkdir(parents=True, exist_ok=True)
    partial = container_dir / f".{FILE}.partial"
    partial.write_text(json.dumps(records, indent=1), encoding="utf-8")
    os.replace(partial, container_dir / FILE)  # whole before and after
    return [checkpoint, *kept]


def load_all(io_dir: Path, ids: Iterable[str]) -> dict[str, list[Checkpoint]]:
    """The checkpoints of each of ``ids`` that has any (one look at ``io_dir``, whose
    entries are the few containers with FIFOs, logs or checkpoints)."""
    wanted = set(ids)
    try:
        present = [d.name for d in io_dir.iterdir() if d.name in wanted and (d / FILE).exists()]
    except OSError:
        return {}
    return {id: found for id in present if (found := load(io_dir / id, id))}
