"""``python -m tui.sessions.record_containerd``: it records the scene the containerd
screenshots show, on a containerd of its own, and leaves nothing behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tui.app import header_line
from tui.backend.base import Status
from tui.backend.replay import ReplayBackend
from tui.sessions import record_containerd

from .daemon import unavailable


@pytest.fixture
def can_run() -> None:
    why = unavailable()
    if why:
        pytest.skip(why)


async def test_the_recording_replays_the_scene_and_nothing_is_left(
    can_run: None, tmp: Path
) -> None:
    namespace = f"shimdeck-rec-{os.getpid()}"
    out = tmp / "containerd.jsonl"
    left = await record_containerd.record(out, namespace)
    assert left == []
    replay = ReplayBackend(out, instant=True)
    replay.updates()  # an instant replay applies every record at once
    assert sorted(c.id for c in replay.containers()) == sorted(record_containerd.SCENE)
    statuses = {id: Status.of(replay.task(id)) for id in record_containerd.SCENE}
    assert statuses == {
        "web": Status.RUNNING,
        "shell": Status.RUNNING,
        "worker": Status.PAUSED,
        "migrate": Status.STOPPED,
        "cache": Status.NONE,
    }
    migrate = replay.task("migrate")
    assert migrate is not None and migrate.exit_status == 3
    assert [e.exec_id for e in replay.execs("shell")] == ["exec-1"]
    assert b"PID" in replay.console("shell").backlog()  # the shell's ps, from its FIFO
    assert b"GET /static/app.js 200" in replay.console("web").backlog()  # its log file
    assert header_line(replay.info).startswith("containerd ")
    assert f" [{namespace}] · " in header_line(replay.info)
    await replay.close()
