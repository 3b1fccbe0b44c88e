"""Tasks on a real containerd: lifecycle, events, execs, tty IO and resize, errors."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import pytest

from runtime import errors
from tui.backend.containerd import cio
from tui.backend.containerd.client import Client
from tui.backend.containerd.spec import exec_process

from .daemon import Daemon
from .helpers import make_container, remove_container


async def read_until(io: cio.FifoIO, stream: object, needle: bytes, timeout: float = 10.0) -> bytes:
    seen = io.backlog()
    async with asyncio.timeout(timeout):
        async for chunk in stream:  # type: ignore[attr-defined]
            seen += chunk
            if needle in seen:
                return seen
    raise AssertionError(f"output ended before {needle!r}: {seen!r}")


async def test_full_lifecycle_events(client: Client, containerd: Daemon, new_id: str, io_dir):
    sub = client.subscribe()
    await sub.synced()
    try:
        record, mounts = await make_container(client, containerd, new_id, ["sleep", "60"])
        assert record.args == ("sleep", "60")
        log = cio.log_io(io_dir, new_id)
        pid = await client.create_task(new_id, rootfs=mounts, stdout=log.stdout, stderr=log.stderr)
        assert (await client.task(new_id)).status == "created"
        assert await client.start(new_id) == pid
        await client.pause(new_id)
        assert (await client.task(new_id)).status == "paused"
        await client.resume(new_id)
        await client.exec(new_id, "e1", exec_process(record.spec, ["sleep", "30"]))
        exec_pid = await client.start(new_id, "e1")
        infos = await client.pids(new_id)
        assert {(i.pid, i.exec_id) for i in infos} >= {(pid, ""), (exec_pid, "e1")}
        await client.kill(new_id, signal.SIGKILL, exec_id="e1")
        assert (await client.wait(new_id, "e1")).exit_status == 128 + signal.SIGKILL
        await client.delete_exec(new_id, "e1")
        # sleep as pid 1 of its namespace ignores SIGTERM: only SIGKILL ends it.
        await client.kill(new_id, signal.SIGKILL)
        status = await client.wait(new_id)
        assert status.exit_status == 128 + signal.SIGKILL and status.exited_at is not None
        await remove_container(client, new_id)

        want = [
            ("/containers/create", ""),
            ("/tasks/create", ""),
            ("/tasks/start", ""),
            ("/tasks/paused", ""),
            ("/tasks/resumed", ""),
            ("/tasks/exec-added", "e1"),
            ("/tasks/exec-started", "e1"),
            ("/tasks/exit", "e1"),
            ("/tasks/exit", ""),
            ("/tasks/delete", ""),
            ("/containers/delete", ""),
        ]
        seen = []
        async with asyncio.timeout(10):
            async for envelope in sub:
                event = envelope.event
                if event.container_id == new_id:
                    seen.append(event)
                if event.topic == "/containers/delete" and event.container_id == new_id:
                    break
        assert [(e.topic, e.exec_id) for e in seen if e.topic != "/snapshot/remove"] == want
        exits = [e for e in seen if e.topic == "/tasks/exit"]
        assert exits[0].pid == exec_pid and exits[0].exit_status == 128 + signal.SIGKILL
        assert exits[1].pid == pid and exits[1].exited_at is not None
        start = next(e for e in seen if e.topic == "/tasks/start")
        assert start.pid == pid
    finally:
        sub.close()


async def test_tty_exec_follows_resize(client: Client, containerd: Daemon, new_id: str, io_dir):
    record, mounts = await make_container(client, containerd, new_id, ["sleep", "60"])
    log = cio.log_io(io_dir, new_id)
    await client.create_task(new_id, rootfs=mounts, stdout=log.stdout, stderr=log.stderr)
    await client.start(new_id)
    io = cio.FifoIO.create(io_dir, "sh")
    try:
        process = exec_process(record.spec, ["sh"], terminal=True, size=(100, 30))
        await client.exec(new_id, "sh", process, stdin=io.stdin, stdout=io.stdout)
        stream = io.stream()
        await client.start(new_id, "sh")
        io.connected()  # an exec's FIFOs are opened by the shim at Start
        io.write(b"stty size; echo do''ne\r")
        assert b"30 100" in await read_until(io, stream, b"done")
        await client.resize_pty(new_id, 132, 43, exec_id="sh")
        io.write(b"stty size; echo ag''ain\r")
        assert b"43 132" in await read_until(io, stream, b"again")
        io.write(b"exit 3\r")
        assert (await client.wait(new_id, "sh")).exit_status == 3
        await asyncio.wait_for(io.ended.wait(), 10)
        await client.delete_exec(new_id, "sh")
    finally:
        io.remove()
        await client.kill(new_id, signal.SIGKILL)
        await client.wait(new_id)
        await remove_container(client, new_id)
    assert b"sh" not in b"".join(p.name.encode() for p in io_dir.iterdir() if p.is_fifo())


async def test_tty_task_stdin_eof_needs_close_io(
    client: Client, containerd: Daemon, new_id: str, io_dir
):
    _, mounts = await make_container(client, containerd, new_id, ["cat"], terminal=True)
    io = cio.FifoIO.create(io_dir, new_id)
    try:
        await client.create_task(
            new_id, rootfs=mounts, stdin=io.stdin, stdout=io.stdout, terminal=True
        )
        io.connected()
        stream = io.stream()
        await client.start(new_id)
        io.write(b"hello\r")
        await read_until(io, stream, b"hello")
        io.write(b"\x04")  # ^D at the start of a line: cat sees EOF through the pty
        assert (await client.wait(new_id)).exit_status == 0
        await asyncio.wait_for(io.ended.wait(), 10)
    finally:
        io.remove()
        await remove_container(client, new_id)


async def test_log_file_holds_output_without_a_reader(
    client: Client, containerd: Daemon, new_id: str, io_dir
):
    _, mounts = await make_container(
        client, containerd, new_id, ["sh", "-c", "echo out; echo err >&2"]
    )
    log = cio.log_io(io_dir, new_id)
    await client.create_task(new_id, rootfs=mounts, stdout=log.stdout, stderr=log.stderr)
    await client.start(new_id)
    assert (await client.wait(new_id)).exit_status == 0
    # The shim copies the process's pipes into the file on its own time: wait for it.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(10):
            while sorted(log.path.read_text().split()) != ["err", "out"]:
                await asyncio.sleep(0.02)
    held = log.path.read_bytes() if log.path.exists() else None
    await remove_container(client, new_id)
    assert sorted((held or b"").split()) == [b"err", b"out"], f"the log file holds {held!r}"


async def test_errors_map_onto_engine_errors(
    client: Client, containerd: Daemon, new_id: str, io_dir
):
    _, mounts = await make_container(client, containerd, new_id, ["sleep", "60"])
    try:
        with pytest.raises(errors.AlreadyExists, match=new_id):
            await make_container(client, containerd, new_id, ["true"])
        with pytest.raises(errors.NotFound):
            await client.container("no-such-container")
        with pytest.raises(errors.NotFound):
            await client.task(new_id)
        log = cio.log_io(io_dir, new_id)
        await client.create_task(new_id, rootfs=mounts, stdout=log.stdout, stderr=log.stderr)
        await client.start(new_id)
        with pytest.raises(errors.FailedPrecondition):
            await client.delete_task(new_id)
        with pytest.raises(errors.InvalidArgument):
            await client.create_container(
                "bad/id", image="x", spec={}, snapshot_key="", snapshotter=""
            )
    finally:
        await client.kill(new_id, signal.SIGKILL)
        await client.wait(new_id)
        await remove_container(client, new_id)
