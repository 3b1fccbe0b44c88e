"""Fixtures for the containerd backend: one private containerd per session (the
``containerd`` fixture, in tests/conftest.py: the UI tests share it), real shims.

Nothing is installed here: without containerd (scripts/setup-host installs it) these tests
are skipped. Each test gets a client in the session's own namespace and must leave no task,
container or snapshot behind; the session ends with no daemon, shim, mount or FIFO left.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tui.backend.containerd.client import Client

from .daemon import SNAPSHOTTER, Daemon

_ids = itertools.count()


@pytest.fixture
async def client(containerd: Daemon) -> AsyncIterator[Client]:
    c = await Client.connect(str(containerd.socket), containerd.namespace)
    try:
        yield c
    finally:
        left = await _cleanup(c, containerd)
        await c.close()
    assert not left, f"the test left behind: {left}"


async def _cleanup(c: Client, d: Daemon) -> list[str]:
    """Remove what the test left (so later tests run clean) and say what it was."""
    left = []
    for task in await c.tasks():
        left.append(f"task {task.container_id}")
        await c.kill(task.container_id, 9, all=True)
        await c.wait(task.container_id)
        await c.delete_task(task.container_id)
    for container in await c.containers():
        left.append(f"container {container.id}")
        await c.delete_container(container.id)
    assert d.image is not None
    for key in await c.snapshots(snapshotter=SNAPSHOTTER):
        if key != d.image.chain_id:
            left.append(f"snapshot {key}")
            await c.remove_snapshot(key, snapshotter=SNAPSHOTTER)
    return left


@pytest.fixture
def new_id() -> str:
    return f"t{next(_ids)}"


@pytest.fixture
def io_dir(containerd: Daemon, new_id: str) -> Path:
    d = containerd.io_dir / new_id
    d.mkdir(parents=True)
    return d
