"""tty FIFOs outlive shimdeck: a later instance reopens and drains them; quit names them."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from tui.backend.containerd import fifos
from tui.backend.containerd.backend import ContainerdBackend, namespace_io_dir
from tui.backend.containerd.client import Client

from .daemon import Daemon

#: More than the FIFO (64 KiB) and the pty (4 KiB) hold: only a drained process gets here.
PAST_THE_PIPE = 1 << 20


def written(pid: int) -> int:
    """Bytes the process has written so far (its tty's, here)."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError(f"no wchar in /proc/{pid}/io")


async def writes_past(pid: int, count: int) -> None:
    """Wait until the process wrote ``count`` more bytes (it blocks if nobody drains)."""
    start = written(pid)
    async with asyncio.timeout(20):
        while written(pid) - start < count:
            await asyncio.sleep(0.05)


async def read_bytes(stream: object, count: int) -> int:
    got = 0
    async with asyncio.timeout(20):
        async for chunk in stream:  # type: ignore[attr-defined]
            got += len(chunk)
            if got >= count:
                return got
    return got


async def test_second_instance_drains_tty_task_of_the_first(
    client: Client, containerd: Daemon, new_id: str, io_dir: Path
) -> None:
    first = await ContainerdBackend.open(client, io_dir=io_dir)
    second = None
    try:
        await first.create(new_id, ["yes", "flood"], terminal=True, labels={})
        await first.start(new_id)
        await first.close()  # stops draining; the task keeps running, as on quit
        left = await fifos.live_tty_processes(client, first.io_dir)
        assert [p.name for p in left] == [new_id]
        assert new_id in fifos.quit_note(left)

        second = await ContainerdBackend.open(client, io_dir=io_dir)
        # Drained from the start, before any console is asked for.
        pid = (await client.task(new_id)).pid
        await writes_past(pid, PAST_THE_PIPE)
        console = second.console(new_id)
        assert console.terminal
        assert await read_bytes(console.stream(), PAST_THE_PIPE) >= PAST_THE_PIPE
        console.close()
    finally:
        await client.kill(new_id, signal.SIGKILL, all=True)
        await client.wait(new_id)
        backend = second or first
        await backend.delete(new_id)
        if second is not None:
            await second.close()
    assert await fifos.live_tty_processes(client, first.io_dir) == []
    assert fifos.quit_note([]) == ""


async def test_switching_back_to_a_namespace_drains_its_tty_task_again(
    client: Client, containerd: Daemon, new_id: str, io_dir: Path
) -> None:
    """switch_namespace re-drains the namespace it switches to, as open() does: away, the
    task's FIFOs are let go; back, they are drained before any console asks."""
    other = f"{containerd.namespace}-{new_id}"
    await client.create_namespace(other)
    backend = await ContainerdBackend.open(client, io_dir=io_dir)
    try:
        await backend.create(new_id, ["yes", "flood"], terminal=True, labels={})
        await backend.start(new_id)
        await backend.switch_namespace(other)
        await backend.switch_namespace(containerd.namespace)
        pid = (await client.task(new_id)).pid
        await writes_past(pid, PAST_THE_PIPE)
        console = backend.console(new_id)
        assert console.terminal
        assert await read_bytes(console.stream(), PAST_THE_PIPE) >= PAST_THE_PIPE
        console.close()
    finally:
        await client.kill(new_id, signal.SIGKILL, all=True)
        await client.wait(new_id)
        await backend.delete(new_id)
        await backend.close()
        await client.delete_namespace(other)


async def test_quit_names_the_tty_tasks_of_every_namespace_it_watched(
    client: Client, containerd: Daemon, new_id: str, io_dir: Path
) -> None:
    """A namespace switched away from is no longer drained: its tty tasks are named at quit
    too, with their namespace."""
    other = f"{containerd.namespace}-{new_id}"
    await client.create_namespace(other)
    backend = await ContainerdBackend.open(client, io_dir=io_dir)
    try:
        await backend.create(new_id, ["sleep", "300"], terminal=True, labels={})
        await backend.start(new_id)
        assert [p.name for p in await backend.undrained()] == [new_id]
        await backend.switch_namespace(other)
        names = [p.name for p in await backend.undrained()]
        assert names == [f"{new_id} [{containerd.namespace}]"]
        assert f"{new_id} [{containerd.namespace}]" in fifos.quit_note(await backend.undrained())
        await backend.switch_namespace(containerd.namespace)
    finally:
        await client.kill(new_id, signal.SIGKILL, all=True)
        await client.wait(new_id)
        await backend.delete(new_id)
        await backend.close()
        await client.delete_namespace(other)


def test_fifo_dirs_are_per_containerd_and_namespace(tmp_path: Path) -> None:
    """A host's containerd and a test's may both run "web" in "default": their FIFOs (and
    what a later start re-drains, or quit names) must not be the same files."""
    host = namespace_io_dir(tmp_path, "/run/containerd/containerd.sock", "default")
    other = namespace_io_dir(tmp_path, "/tmp/x/containerd.sock", "default")
    assert host != other
    assert host.parent.parent == other.parent.parent == tmp_path
    assert host.name == other.name == "default"
    # Distinct paths stay distinct once flattened into one directory name.
    assert namespace_io_dir(tmp_path, "/a_b/c", "ns") != namespace_io_dir(tmp_path, "/a/b_c", "ns")
