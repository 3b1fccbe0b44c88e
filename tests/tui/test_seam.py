"""The backend seam: nothing in tui.backend needs Textual, and the model takes updates only."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from runtime import Event, Stats, TaskInfo
from tui.backend.base import (
    ConnectionChanged,
    Container,
    ContainerState,
    EventSeen,
    Removed,
    Resynced,
    StateChanged,
    StatsSampled,
    Status,
)
from tui.model import Model

ROOT = Path(__file__).parents[2]

BACKEND_MODULES = [
    "tui.backend",
    "tui.backend.base",
    "tui.backend.live",
    "tui.backend.replay",
    "tui.backend.recording",
    "tui.backend.merged",
    "tui.backend.containerd.backend",
]

PROBE = """
import sys

class NoTextual:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "textual":
            raise ImportError(f"{name} is blocked: the backend must not need Textual")
        return None

sys.meta_path.insert(0, NoTextual())
import importlib
for name in sys.argv[1:]:
    importlib.import_module(name)
print(sorted(m for m in sys.modules if m.split(".")[0] == "textual"))
"""


def test_every_backend_module_loads_with_textual_blocked() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *BACKEND_MODULES], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


NOW = datetime(2026, 1, 1, tzinfo=UTC)


def state(id: str, status: str | None = None, pid: int = 10) -> ContainerState:
    task = None if status is None else TaskInfo(id, pid, status, Path("/b"))
    return ContainerState(Container(id, "runc", {"k": "v"}, image="busybox"), task)


def test_the_model_is_kept_from_updates_alone() -> None:
    model = Model()
    model.apply(Resynced([state("a", "running"), state("b")]))
    assert list(model.rows) == ["a", "b"]
    assert model.rows["a"].status is Status.RUNNING and model.rows["b"].status is Status.NONE
    model.take_changed()

    stats = Stats(cpu_seconds=1.0, memory_bytes=2048, pids=1, memory_limit=None, timestamp=NOW)
    model.apply(StatsSampled("a", stats))
    assert model.rows["a"].memory_bytes == 2048
    # A new task (another pid) starts its own history.
    model.apply(StateChanged(state("a", "running", pid=11)))
    assert model.rows["a"].memory_bytes is None

    version = model.version
    model.apply(EventSeen(Event("/tasks/exit", "a", NOW, exit_status=1)))
    assert model.version > version and model.events[-1][1].topic == "/tasks/exit"

    model.apply(Removed("b"))
    assert "b" not in model.rows and "b" in model.take_changed()
    # A listing is the whole truth: rows not in it go.
    model.apply(Resynced([state("c", "paused")]))
    assert list(model.rows) == ["c"] and model.rows["c"].running

    model.apply(ConnectionChanged(False, "disconnected, retrying"))
    assert not model.connected and model.connection_detail == "disconnected, retrying"


def test_status_of_a_task() -> None:
    assert Status.of(None) == "no task"
    assert Status.of(TaskInfo("x", 1, "pausing", Path())) is Status.PAUSING
    assert Status.of(TaskInfo("x", 1, "weird", Path())) is Status.UNKNOWN
