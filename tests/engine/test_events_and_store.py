"""Event fan-out, persistence of metadata, re-adoption, privacy of the root."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import subprocess
import sys

import pytest

from runtime import Engine, errors, events
from runtime.events import EventBus
from runtime.types import Event

from .helpers import drain, next_event


def _ev(i: int) -> Event:
    from datetime import UTC, datetime

    return Event("/tasks/start", f"c{i}", datetime.now(UTC))


async def test_a_subscriber_that_never_reads_blocks_nobody() -> None:
    bus = EventBus()
    stuck = bus.subscribe(maxsize=10)
    live = bus.subscribe(maxsize=10_000)
    for i in range(5000):
        bus.publish(_ev(i))
    assert len(drain(live)) == 5000
    first = stuck.get_nowait()
    assert first is not None and first.topic == events.LAGGED and first.dropped == 4990
    rest = drain(stuck)
    assert [e.container_id for e in rest] == [f"c{i}" for i in range(4990, 5000)]


async def test_subscription_is_registered_before_first_read() -> None:
    bus = EventBus()
    sub = bus.subscribe()
    bus.publish(_ev(1))
    assert (await asyncio.wait_for(sub.get(), 1)).container_id == "c1"
    sub.close()
    bus.publish(_ev(2))
    with pytest.raises(StopAsyncIteration):
        await sub.get()


async def test_container_metadata_survives_a_restart(tmp, runtime_name, make_bundle) -> None:
    b = make_bundle(["true"])
    async with Engine(root=tmp / "root", runtime=runtime_name) as e:
        sub = e.subscribe()
        await e.containers.create("keep", b, labels={"app": "web", "[red]": "x"})
        await e.containers.update("keep", labels={"app": "db"})
        assert [ev.topic for ev in drain(sub)] == [events.CONTAINER_CREATE, events.CONTAINER_UPDATE]
    async with Engine(root=tmp / "root", runtime=runtime_name) as e:
        c = e.containers.get("keep")
        assert (c.bundle, c.labels, c.runtime) == (b, {"app": "db"}, runtime_name)
        await e.containers.delete("keep")
        with pytest.raises(errors.NotFound):
            e.containers.get("keep")


async def test_root_and_files_are_private(engine: Engine, make_bundle) -> None:
    await engine.containers.create("priv", make_bundle(["sh", "-c", "echo secret"]))
    await engine.tasks.create("priv")
    await engine.tasks.start("priv")
    await engine.tasks.wait("priv")
    for path in [
        engine.root,
        engine.root / "tasks",
        engine.root / "tasks" / "priv",
        engine.root / "c",
    ]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    for path in [engine.root / "meta.db", engine.tasks.io("priv").log_path]:
        assert path is not None and stat.S_IMODE(path.stat().st_mode) == 0o600, path
    await engine.tasks.delete("priv")


async def test_one_engine_per_root(engine: Engine) -> None:
    with pytest.raises(errors.Unavailable, match="another engine"):
        async with Engine(root=engine.root, runtime=engine.runtime_name):
            pass


async def test_bad_root_and_runtime_are_clear(tmp) -> None:
    (tmp / "file").write_text("")
    with pytest.raises(errors.InvalidArgument, match="not a directory"):
        async with Engine(root=tmp / "file"):
            pass
    with pytest.raises(errors.Unavailable, match="not found on PATH"):
        Engine(root=tmp / "r", runtime="no-such-runtime")
    with pytest.raises(errors.InvalidArgument, match="too long"):
        Engine(root=tmp / ("x" * 100))
    for bad in ("/proc/no-such-dir", str(tmp / "file" / "below")):
        with pytest.raises(errors.InvalidArgument, match="cannot be used"):
            async with Engine(root=bad):
                pass


async def test_a_left_over_container_is_named_not_clobbered(tmp, runtime_name, make_bundle) -> None:
    async with Engine(root=tmp / "root", runtime=runtime_name, keep_tasks=True) as e:
        await e.containers.create("left", make_bundle(["sleep", "100"]))
        await e.tasks.create("left")
    async with Engine(root=tmp / "root", runtime=runtime_name) as e:
        with pytest.raises(errors.AlreadyExists, match="adopt=True"):
            await e.tasks.create("left")
    async with Engine(root=tmp / "root", runtime=runtime_name, adopt=True) as e:
        assert (await e.tasks.state("left")).status == "created"


async def test_kept_tasks_are_re_adopted(tmp, runtime_name, make_bundle) -> None:
    async with Engine(root=tmp / "root", runtime=runtime_name, keep_tasks=True) as e:
        await e.containers.create("kept", make_bundle(["sleep", "100"]), labels={"a": "b"})
        info = await e.tasks.create("kept")
        await e.tasks.start("kept")
    os.kill(info.pid, 0)  # still running with no engine
    async with Engine(root=tmp / "root", runtime=runtime_name, adopt=True) as e:
        state = await e.tasks.state("kept")
        assert (state.status, state.pid) == ("running", info.pid)
        assert e.containers.get("kept").labels == {"a": "b"}
        sub = e.subscribe(topics=[events.TASK_EXIT])
        await e.tasks.kill("kept", signal.SIGKILL)
        ev = await next_event(sub, lambda ev: ev.container_id == "kept")
        # Still our child (same process), so the real status is known.
        assert ev.exit_status == 137
        await e.tasks.delete("kept")


ADOPT_CHILD = """
import asyncio, sys
from runtime import Engine
async def main():
    async with Engine(root=sys.argv[1], runtime=sys.argv[2], keep_tasks=True) as e:
        await e.containers.create("orphan", sys.argv[3])
        info = await e.tasks.create("orphan")
        await e.tasks.start("orphan")
        print(info.pid, flush=True)
        await asyncio.sleep(3600)
asyncio.run(main())
"""


async def test_an_engine_killed_with_sigkill_is_re_adopted(tmp, runtime_name, make_bundle) -> None:
    root = tmp / "root"
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            ADOPT_CHILD,
            str(root),
            runtime_name,
            str(make_bundle(["sleep", "100"])),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        pid = int(await asyncio.wait_for(asyncio.to_thread(child.stdout.readline), 20))
    finally:
        child.kill()
        child.wait()
    async with Engine(root=root, runtime=runtime_name, adopt=True) as e:
        state = await e.tasks.state("orphan")
        assert (state.status, state.pid) == ("running", pid)
        await e.tasks.kill("orphan", signal.SIGKILL)
        # The dead engine's orphans were re-parented to this process (a subreaper above it),
        # so the sweep reaps them and the real status is known. The 255 of a process that
        # is nobody's to reap is covered in test_reaper.
        assert (await e.tasks.wait("orphan")).exit_status == 137
        await e.tasks.delete("orphan")


async def test_console_sockets_are_private_and_removed(tmp) -> None:
    from runtime.console import ConsoleSocket

    sock = ConsoleSocket(tmp / "1.sock")
    try:
        assert stat.S_IMODE((tmp / "1.sock").stat().st_mode) == 0o600
    finally:
        sock.close()
    assert not (tmp / "1.sock").exists()
    with pytest.raises(errors.InvalidArgument, match="too long"):
        ConsoleSocket(tmp / ("s" * 120))
