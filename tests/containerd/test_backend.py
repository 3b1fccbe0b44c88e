"""ContainerdBackend, the seam over a real containerd, driven by its event stream."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import pytest

from runtime import errors
from tui.backend.base import (
    CommandSource,
    EventSeen,
    ImageSource,
    Resynced,
    StateChanged,
    StatsSampled,
)
from tui.backend.containerd.backend import ContainerdBackend
from tui.backend.containerd.client import Client

from .daemon import SNAPSHOTTER, Daemon
from .helpers import Target


async def read_until(console: Any, stream: Any, needle: bytes) -> bytes:
    seen = console.backlog()
    async with asyncio.timeout(10):
        while needle not in seen:
            seen += await anext(stream)
    return seen


async def test_backend_lifecycle(client: Client, containerd: Daemon, new_id: str, io_dir: Path):
    backend = await ContainerdBackend.open(client, io_dir=io_dir)
    target = Target(backend)
    try:
        async with asyncio.timeout(15):
            assert backend.image == containerd.image.name and backend.containers() == []
            first = await target.wait(lambda u: True)
            assert first == Resynced([])
            source = ImageSource(containerd.image.name, ("sh", "-c", "echo hello; sleep 60"))
            await backend.create(new_id, source, terminal=False, labels={"k": "v"})
            assert backend.container(new_id).labels == {"k": "v"}
            assert backend.container(new_id).image == containerd.image.name
            await backend.start(new_id)
            start = await target.event(
                lambda e: e.topic == "/tasks/start" and e.container_id == new_id
            )
            # The state the event led to comes first, so the UI never pulls.
            at = next(i for i, u in enumerate(target.updates) if u == EventSeen(start))
            before = target.updates[at - 1]
            assert isinstance(before, StateChanged) and before.state.id == new_id
            assert before.state.task is not None and before.state.task.status == "running"
            task = backend.task(new_id)
            assert task.status == "running" and task.args == ("sh", "-c", "echo hello; sleep 60")
            log = backend.console(new_id)
            assert not log.terminal
            stream = log.stream()
            assert b"hello" in await read_until(log, stream, b"hello")
            log.close()

            with pytest.raises(errors.FailedPrecondition):
                await backend.delete(new_id)

            await backend.pause(new_id)
            assert backend.task(new_id).status == "paused"
            await backend.resume(new_id)

            await backend.exec(new_id, "sh", ["sh"], terminal=True)
            await target.event(lambda e: e.topic == "/tasks/exec-started" and e.exec_id == "sh")
            assert [e.exec_id for e in backend.execs(new_id)] == ["sh"]
            tty = backend.console(new_id, "sh")
            assert tty.terminal
            stream = tty.stream()
            tty.write(b"stty size; echo x''y\r")
            assert b"24 80" in await read_until(tty, stream, b"xy")
            await tty.resize(120, 40)
            tty.write(b"stty size; echo z''w\r")
            assert b"40 120" in await read_until(tty, stream, b"zw")
            tty.write(b"exit\r")
            await target.event(lambda e: e.topic == "/tasks/exit" and e.exec_id == "sh")
            assert backend.execs(new_id)[0].status == "stopped"
            await backend.delete(new_id, "sh")
            assert backend.execs(new_id) == []

            await backend.set_labels(new_id, {"k2": "v2"})
            assert backend.container(new_id).labels == {"k2": "v2"}

            # Every refresh is safe to repeat: a resync changes nothing.
            before = (backend.containers(), backend.task(new_id))
            await backend.refresh(new_id)
            await backend.resync()
            assert (backend.containers(), backend.task(new_id)) == before

            await backend.kill(new_id, signal.SIGKILL, all=True)
            exit = await target.event(
                lambda e: e.topic == "/tasks/exit" and e.container_id == new_id and not e.exec_id
            )
            assert exit.exit_status == 128 + signal.SIGKILL
            assert backend.task(new_id).status == "stopped"
            await backend.delete(new_id)
            await target.event(lambda e: e.topic == "/containers/delete")
            assert backend.container(new_id) is None and backend.task(new_id) is None
    finally:
        await target.stop()
        await backend.close()
    assert not list((io_dir / client.namespace).glob("*/*"))


async def test_tty_container_and_stats(client: Client, containerd: Daemon, new_id, io_dir):
    backend = await ContainerdBackend.open(client, io_dir=io_dir)
    backend._stats_interval = 0.05
    target = Target(backend)
    try:
        await backend.create(new_id, CommandSource(("sh",)), terminal=True, labels={})
        await backend.start(new_id)
        console = backend.console(new_id)
        assert console.terminal
        stream = console.stream()
        console.write(b"echo a''b\r")
        await read_until(console, stream, b"ab")
        backend.set_stats_targets([new_id])
        async with asyncio.timeout(10):
            await target.wait(lambda u: isinstance(u, StatsSampled) and u.id == new_id)
        console.write(b"exit\r")
        await target.event(lambda e: e.topic == "/tasks/exit" and e.container_id == new_id)
        await backend.delete(new_id)
    finally:
        await target.stop()
        await backend.close()


async def test_namespace_switch_resyncs_in_place(
    client: Client, containerd: Daemon, new_id: str, io_dir: Path
):
    """switch_namespace: a Resynced of the other namespace, then of this one again; events
    of the namespace left behind no longer arrive."""
    other = f"{containerd.namespace}-{new_id}"
    await client.create_namespace(other)
    backend = await ContainerdBackend.open(client, io_dir=io_dir)
    target = Target(backend)
    try:
        await backend.create(new_id, CommandSource(("sleep", "60")), terminal=False, labels={})
        await target.wait(lambda u: isinstance(u, StateChanged) and u.state.id == new_id)
        counts = dict(await backend.namespaces())
        assert counts[containerd.namespace] == 1 and counts[other] == 0
        await backend.switch_namespace(other)
        await target.wait(lambda u: u == Resynced([]))
        assert backend.info.namespace == other and backend.containers() == []
        # Gone from the namespace left behind, while watching the other: no event comes.
        await client.delete_container(new_id)
        await client.remove_snapshot(new_id, snapshotter=SNAPSHOTTER)
        await backend.switch_namespace(containerd.namespace)
        resyncs = lambda: [u for u in target.updates if isinstance(u, Resynced)]  # noqa: E731
        await target.wait(lambda u: len(resyncs()) >= 3)
        assert resyncs()[-1] == Resynced([])  # no stale row
        assert backend.info.namespace == containerd.namespace
        with pytest.raises(errors.NotFound):
            await backend.switch_namespace("no-such-namespace")
    finally:
        await target.stop()
        await backend.close()
        await client.delete_namespace(other)
