"""Where containerd's integration tests (integration/client/container_test.go) expect a shim to
behave in a way the engine once did not: each case as containerd drives it, on runc and crun."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from runtime import Engine, errors

from .helpers import TIMEOUT, read_until, stop


@pytest.fixture
async def running(engine: Engine, make_bundle) -> str:
    await engine.containers.create("par", make_bundle(["sleep", "1000"]))
    await engine.tasks.create("par")
    await engine.tasks.start("par")
    return "par"


async def test_kill_all_of_an_exec_signals_the_exec(engine: Engine, running: str) -> None:
    # containerd's force delete of an exec sends Kill(SIGKILL, all=true): `all` is for the init.
    await engine.tasks.exec(running, "ex", ["sleep", "1000"])
    await engine.tasks.start(running, "ex")
    await engine.tasks.kill(running, signal.SIGKILL, all=True, exec_id="ex")
    assert (await engine.tasks.wait(running, "ex")).exit_status == 128 + signal.SIGKILL
    assert (await engine.tasks.state(running)).status == "running"
    await engine.tasks.delete(running, "ex")
    await stop(engine, running)


async def test_deleting_an_exec_never_started_returns_status_0(
    engine: Engine, running: str
) -> None:
    await engine.tasks.exec(running, "idle", ["true"])
    done = await engine.tasks.delete(running, "idle")
    assert (done.pid, done.exit_status) == (0, 0)
    with pytest.raises(errors.NotFound):
        await engine.tasks.state(running, "idle")
    await stop(engine, running)


def host_pid_bundle(make_bundle: Callable[..., Path], args: list[str]) -> Path:
    """A bundle whose processes share the host's pid namespace (no pid entry in the spec)."""
    bundle = make_bundle(args)
    spec = json.loads((bundle / "config.json").read_text())
    namespaces = spec["linux"]["namespaces"]
    spec["linux"]["namespaces"] = [ns for ns in namespaces if ns["type"] != "pid"]
    (bundle / "config.json").write_text(json.dumps(spec))
    return bundle


async def gone(pids: list[int]) -> None:
    async def poll() -> None:
        while any(psutil.pid_exists(p) for p in pids):
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), TIMEOUT)


async def test_init_exit_in_the_host_pid_namespace_kills_the_rest(
    engine: Engine, make_bundle
) -> None:
    script = "sleep 1000 & sleep 1000 & echo ready; wait"
    await engine.containers.create("hostpid", host_pid_bundle(make_bundle, ["sh", "-c", script]))
    await engine.tasks.create("hostpid")
    out = engine.tasks.io("hostpid").stream()
    await engine.tasks.start("hostpid")
    await read_until(out, b"ready")
    await engine.tasks.exec("hostpid", "ex", ["sleep", "1000"])
    await engine.tasks.start("hostpid", "ex")
    before = [pid for pid, _ in await engine.tasks.pids("hostpid")]
    assert len(before) == 4, before  # sh, two sleeps, the exec
    await engine.tasks.kill("hostpid", signal.SIGKILL)
    assert (await engine.tasks.wait("hostpid")).exit_status == 128 + signal.SIGKILL
    # The exec was killed with the rest, and its exit told before the init's.
    assert (await engine.tasks.wait("hostpid", "ex")).exit_status == 128 + signal.SIGKILL
    assert await engine.tasks.pids("hostpid") == []
    await gone(before)
    await engine.tasks.delete("hostpid", "ex")
    await engine.tasks.delete("hostpid")


async def test_wait_fails_when_the_engine_closes_keeping_tasks(
    tmp: Path, runtime_name: str, make_bundle
) -> None:
    root = tmp / "root"
    try:
        async with Engine(root=root, runtime=runtime_name, keep_tasks=True) as e:
            await e.containers.create("kept", make_bundle(["sleep", "1000"]))
            await e.tasks.run("kept")
            waiter = asyncio.ensure_future(e.tasks.wait("kept"))
            await asyncio.sleep(0)  # one loop turn: the waiter runs up to its wait
            assert not waiter.done()
        with pytest.raises(errors.Unavailable, match="closed while waiting for task 'kept'"):
            await asyncio.wait_for(waiter, TIMEOUT)
    finally:
        async with Engine(root=root, runtime=runtime_name, adopt=True) as e:
            if e.tasks.get("kept") is not None:
                await stop(e, "kept")
