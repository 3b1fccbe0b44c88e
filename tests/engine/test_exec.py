"""Exec processes: string ids, events, exit ordering, kill rules, no fd leaks."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from runtime import Engine, errors, events

from .helpers import drain, next_event, read_until, stop


@pytest.fixture
async def running(engine: Engine, make_bundle) -> str:
    await engine.containers.create("box", make_bundle(["sleep", "1000"]))
    await engine.tasks.create("box")
    await engine.tasks.start("box")
    return "box"


async def test_exec_runs_with_output_and_status(engine: Engine, running: str) -> None:
    sub = engine.subscribe()
    info = await engine.tasks.exec(running, "hello", ["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (info.status, info.pid, info.exec_id) == ("created", 0, "hello")
    io = engine.tasks.io(running, "hello")
    stream = io.stream()
    pid = await engine.tasks.start(running, "hello")
    assert (await engine.tasks.wait(running, "hello")).exit_status == 3
    assert b"out\n" in await read_until(stream, b"err\n") or b"out\n" in io.backlog()
    st = await engine.tasks.state(running, "hello")
    assert (st.status, st.pid, st.exit_status) == ("stopped", pid, 3)
    ex = await engine.tasks.delete(running, "hello")
    assert (ex.pid, ex.exit_status) == (pid, 3)
    with pytest.raises(errors.NotFound):
        await engine.tasks.state(running, "hello")
    got = [(e.topic, e.exec_id) for e in drain(sub)]
    assert got == [
        (events.TASK_EXEC_ADDED, "hello"),
        (events.TASK_EXEC_STARTED, "hello"),
        (events.TASK_EXIT, "hello"),
    ]
    await stop(engine, running)


async def test_exec_env_and_cwd(engine: Engine, running: str) -> None:
    await engine.tasks.exec(
        running, "env", ["sh", "-c", "echo $FOO; pwd"], env={"FOO": "bar"}, cwd="/tmp"
    )
    await engine.tasks.start(running, "env")
    await engine.tasks.wait(running, "env")
    io = engine.tasks.io(running, "env")
    await io.drain(5)
    assert io.backlog() == b"bar\n/tmp\n"
    await stop(engine, running)


async def test_exec_rules(engine: Engine, running: str) -> None:
    await engine.tasks.exec(running, "a", ["sleep", "1000"])
    with pytest.raises(errors.AlreadyExists):
        await engine.tasks.exec(running, "a", ["true"])
    with pytest.raises(errors.InvalidArgument):
        await engine.tasks.exec(running, "../a", ["true"])
    with pytest.raises(errors.InvalidArgument):
        await engine.tasks.exec(running, "b", [])
    with pytest.raises(errors.FailedPrecondition, match="exec 'a' of task 'box' in created"):
        await engine.tasks.kill(running, signal.SIGTERM, exec_id="a")
    with pytest.raises(errors.NotFound):
        await engine.tasks.start(running, "nope")
    await engine.tasks.start(running, "a")
    await engine.tasks.kill(running, signal.SIGTERM, exec_id="a")
    assert (await engine.tasks.wait(running, "a")).exit_status == 143
    with pytest.raises(errors.NotFound, match="already exited"):
        await engine.tasks.kill(running, signal.SIGTERM, exec_id="a")
    await engine.tasks.exec(running, "late", ["true"])
    await engine.tasks.kill(running, signal.SIGKILL)
    await engine.tasks.wait(running)
    with pytest.raises(errors.FailedPrecondition, match="stopped"):
        await engine.tasks.start(running, "late")
    with pytest.raises(errors.FailedPrecondition, match="stopped"):
        await engine.tasks.exec(running, "later", ["true"])
    await engine.tasks.delete(running)


async def test_exec_exits_are_published_before_the_init_exit(engine: Engine, running: str) -> None:
    for i in range(3):
        await engine.tasks.exec(running, f"x{i}", ["sleep", "1000"])
        await engine.tasks.start(running, f"x{i}")
    sub = engine.subscribe(topics=[events.TASK_EXIT])
    await engine.tasks.kill(running, signal.SIGKILL)  # init dies first; the kernel kills the rest
    init_exit = await next_event(sub, lambda e: e.exec_id == "")
    assert init_exit.exit_status == 137
    for i in range(3):
        st = await engine.tasks.state(running, f"x{i}")
        assert st.status == "stopped" and st.exit_status == 137
    # Nothing after the init's exit: every exec's came before it.
    assert drain(sub) == []
    await engine.tasks.delete(running)


async def test_many_execs_leak_no_fd(engine: Engine, running: str) -> None:
    async def one(i: int) -> int:
        await engine.tasks.exec(running, f"e{i}", ["true"], terminal=i % 2 == 0)
        await engine.tasks.start(running, f"e{i}")
        status = (await engine.tasks.wait(running, f"e{i}")).exit_status
        await engine.tasks.delete(running, f"e{i}")
        return status

    await one(-1 + 1000)  # warm up lazily opened fds (loop selectors, sqlite)
    before = len(os.listdir("/proc/self/fd"))
    for batch in range(20):
        assert await asyncio.gather(*(one(batch * 10 + i) for i in range(10))) == [0] * 10
    assert len(os.listdir("/proc/self/fd")) == before
    assert engine.tasks.execs(running) == []
    # Nor a file: a long-lived task with periodic execs must not fill the engine's root.
    assert [f for f in os.listdir(engine.root / "tasks" / running) if f.startswith("exec-")] == []
    await stop(engine, running)
