"""Stats from the cgroup, limits through ``runtime update``, OOM kills as events."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from runtime import Engine, errors, events
from runtime.cgroups import OomWatch, _mounts, cgroup_dirs

from .helpers import drain, stop


@pytest.fixture
async def busy(engine: Engine, make_bundle) -> str:
    script = "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; echo warm; sleep 1000"
    await engine.containers.create("busy", make_bundle(["sh", "-c", script]))
    await engine.tasks.create("busy")
    await engine.tasks.start("busy")
    return "busy"


async def test_stats_come_from_the_cgroup(engine: Engine, busy: str) -> None:
    first = await engine.tasks.stats(busy)
    assert first.memory_bytes > 0
    io = engine.tasks.io(busy)
    stream = io.stream()
    while b"warm" not in io.backlog():
        await stream.__anext__()
    await engine.tasks.exec(busy, "extra", ["sleep", "1000"])
    await engine.tasks.start(busy, "extra")
    later = await engine.tasks.stats(busy)
    assert later.cpu_seconds > 0.05 and later.cpu_seconds >= first.cpu_seconds

    # The shell (now exec'd into its last command, sleep) and the exec: the cgroup agrees,
    # once the runtime's own helper process for the exec has left it.
    async def settled() -> None:
        while (await engine.tasks.stats(busy)).pids != 2:
            await asyncio.sleep(0.05)

    await asyncio.wait_for(settled(), 10)
    assert len(await engine.tasks.pids(busy)) == 2
    await engine.tasks.kill(busy, signal.SIGKILL)
    await engine.tasks.wait(busy)
    with pytest.raises(errors.FailedPrecondition, match="exited"):
        await engine.tasks.stats(busy)
    await engine.tasks.delete(busy)


async def test_update_sets_limits(engine: Engine, busy: str) -> None:
    await engine.tasks.update(busy, {"memory": {"limit": 64 * 1024 * 1024}, "pids": {"limit": 50}})
    assert (await engine.tasks.stats(busy)).memory_limit == 64 * 1024 * 1024
    with pytest.raises(errors.InvalidArgument):
        await engine.tasks.update(busy, "lots")  # type: ignore[arg-type]
    await stop(engine, busy)


async def test_an_oom_kill_is_an_event(engine: Engine, make_bundle) -> None:
    # dd allocates its whole block: 64 MiB against a 16 MiB limit.
    await engine.containers.create(
        "oom", make_bundle(["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"])
    )
    info = await engine.tasks.create("oom")
    if "memory" not in cgroup_dirs(info.pid):
        pytest.skip("OOM events are watched on cgroup v1 memory controllers only")
    await engine.tasks.update(
        "oom", {"memory": {"limit": 16 * 1024 * 1024, "swap": 16 * 1024 * 1024}}
    )
    sub = engine.subscribe(topics=[events.TASK_OOM, events.TASK_EXIT])
    await engine.tasks.start("oom")
    assert (await engine.tasks.wait("oom")).exit_status == 137
    assert [e.topic for e in drain(sub)] == [events.TASK_OOM, events.TASK_EXIT]
    await engine.tasks.delete("oom")


async def test_removing_a_cgroup_is_no_oom(engine: Engine, make_bundle) -> None:
    # cgroup v1 signals the OOM eventfd when the cgroup goes away too.
    sub = engine.subscribe(topics=[events.TASK_OOM])
    for i in range(5):
        await engine.containers.create(f"calm{i}", make_bundle(["true"]))
        await engine.tasks.run(f"calm{i}")
        await engine.tasks.wait(f"calm{i}")
        await engine.tasks.delete(f"calm{i}")
    await asyncio.sleep(0)  # let any queued eventfd callback run
    assert drain(sub) == []


async def test_an_oom_kill_after_run_is_an_event(engine: Engine, make_bundle) -> None:
    if "memory" not in cgroup_dirs(os.getpid()):
        pytest.skip("OOM events are watched on cgroup v1 memory controllers only")
    bundle = make_bundle(["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"])
    spec = json.loads((bundle / "config.json").read_text())
    spec["linux"].setdefault("resources", {})["memory"] = {"limit": 16 << 20, "swap": 16 << 20}
    (bundle / "config.json").write_text(json.dumps(spec))
    sub = engine.subscribe(topics=[events.TASK_OOM, events.TASK_EXIT])
    await engine.containers.create("oom", bundle)
    await engine.tasks.run("oom")
    assert (await engine.tasks.wait("oom")).exit_status == 137
    assert [e.topic for e in drain(sub)] == [events.TASK_OOM, events.TASK_EXIT]
    await engine.tasks.delete("oom")


async def test_an_init_oom_killed_before_its_watch_opens_is_told() -> None:
    # An init killed at once can be a zombie when `run` returns, and a zombie reads as the
    # root's on cgroup v1: the watch must find the task's own cgroup, and the kill in it.
    mount = _mounts().get("memory")
    if mount is None:
        pytest.skip("OOM events are watched on cgroup v1 memory controllers only")
    name = f"shimdeck-test-oom-{os.getpid()}"
    cgroup = Path(mount[0], name)
    cgroup.mkdir()
    dd = ["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"]
    proc = subprocess.Popen(["sh", "-c", 'read go; exec "$@"', "sh", *dd], stdin=subprocess.PIPE)
    try:
        for limit in ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes"):
            with contextlib.suppress(FileNotFoundError):
                (cgroup / limit).write_text(str(16 << 20))
        (cgroup / "cgroup.procs").write_text(str(proc.pid))
        assert proc.stdin is not None
        proc.stdin.close()  # go
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped
        assert cgroup_dirs(proc.pid, only="memory")["memory"] == Path(mount[0])
        told: list[bool] = []
        watch = OomWatch.open(proc.pid, name, lambda: told.append(True))
        assert watch is not None
        watch.poll()
        watch.close()
        assert told == [True]
    finally:
        proc.kill()
        proc.wait()
        cgroup.rmdir()
