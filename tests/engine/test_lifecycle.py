"""The init process: create, start, wait, delete, kill, pause, resume, on runc and crun."""

from __future__ import annotations

import asyncio
import signal

import pytest

from runtime import Engine, errors, events

from .helpers import drain, next_event


async def test_lifecycle_and_event_order(engine: Engine, make_bundle) -> None:
    sub = engine.subscribe()
    await engine.containers.create("life", make_bundle(["sh", "-c", "echo hi; exit 7"]))
    info = await engine.tasks.create("life")
    assert info.status == "created" and info.pid > 0
    pid = await engine.tasks.start("life")
    assert pid == info.pid
    ex = await engine.tasks.wait("life")
    assert ex.exit_status == 7
    assert (await engine.tasks.state("life")).status == "stopped"
    deleted = await engine.tasks.delete("life")
    assert (deleted.pid, deleted.exit_status) == (pid, 7)
    assert engine.tasks.io  # the io of a deleted task is gone:
    with pytest.raises(errors.NotFound):
        await engine.tasks.state("life")
    topics = [(e.topic, e.exit_status) for e in drain(sub) if e.container_id == "life"]
    assert topics == [
        (events.CONTAINER_CREATE, None),
        (events.TASK_CREATE, None),
        (events.TASK_START, None),
        (events.TASK_EXIT, 7),
        (events.TASK_DELETE, 7),
    ]


async def test_output_of_a_short_task_is_kept(engine: Engine, make_bundle) -> None:
    await engine.containers.create("out", make_bundle(["sh", "-c", "echo to-out; echo to-err >&2"]))
    await engine.tasks.create("out")
    io = engine.tasks.io("out")
    await engine.tasks.start("out")
    assert (await engine.tasks.wait("out")).exit_status == 0
    assert await io.drain(5)
    assert b"to-out\n" in io.backlog() and b"to-err\n" in io.backlog()
    assert io.log_path is not None and b"to-err" in io.log_path.read_bytes()
    await engine.tasks.delete("out")


async def test_signalled_exit_is_128_plus_signal(engine: Engine, make_bundle) -> None:
    # A container's pid 1 only gets the signals it handles (and SIGKILL): the init is killed,
    # execs (ordinary processes inside) die of whatever signal they get.
    await engine.containers.create("sig", make_bundle(["sleep", "100"]))
    await engine.tasks.create("sig")
    await engine.tasks.start("sig")
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGKILL):
        await engine.tasks.exec("sig", sig.name, ["sleep", "100"])
        await engine.tasks.start("sig", sig.name)
        await engine.tasks.kill("sig", sig, exec_id=sig.name)
        assert (await engine.tasks.wait("sig", sig.name)).exit_status == 128 + sig
    await engine.tasks.kill("sig", signal.SIGKILL)
    assert (await engine.tasks.wait("sig")).exit_status == 137
    await engine.tasks.delete("sig")


async def test_pause_resume(engine: Engine, make_bundle) -> None:
    sub = engine.subscribe(topics=[events.TASK_PAUSED, events.TASK_RESUMED])
    await engine.containers.create("pz", make_bundle(["sleep", "100"]))
    await engine.tasks.create("pz")
    await engine.tasks.start("pz")
    await engine.tasks.pause("pz")
    assert (await engine.tasks.state("pz")).status == "paused"
    with pytest.raises(errors.FailedPrecondition, match="paused"):
        await engine.tasks.exec("pz", "x", ["true"])
    await engine.tasks.resume("pz")
    assert (await engine.tasks.state("pz")).status == "running"
    assert [e.topic for e in drain(sub)] == [events.TASK_PAUSED, events.TASK_RESUMED]
    await engine.tasks.kill("pz", signal.SIGKILL)
    await engine.tasks.wait("pz")
    await engine.tasks.delete("pz")


async def test_sigkill_of_a_paused_task_kills_it(engine: Engine, make_bundle) -> None:
    await engine.containers.create("pk", make_bundle(["sleep", "100"]))
    await engine.tasks.create("pk")
    await engine.tasks.start("pk")
    await engine.tasks.pause("pk")
    await engine.tasks.kill("pk", signal.SIGKILL)
    assert (await engine.tasks.wait("pk")).exit_status == 137
    await engine.tasks.delete("pk")


async def test_delete_of_a_created_task(engine: Engine, make_bundle) -> None:
    sub = engine.subscribe()
    await engine.containers.create("cr", make_bundle(["true"]))
    info = await engine.tasks.create("cr")
    ex = await engine.tasks.delete("cr")
    assert ex.pid == info.pid and ex.exit_status == 137
    assert [e.topic for e in drain(sub)][-3:] == [
        events.TASK_CREATE,
        events.TASK_EXIT,
        events.TASK_DELETE,
    ]
    await engine.containers.delete("cr")
    assert engine.containers.list() == []


async def test_pids_lists_init_and_execs(engine: Engine, make_bundle) -> None:
    await engine.containers.create("ps", make_bundle(["sleep", "100"]))
    info = await engine.tasks.create("ps")
    await engine.tasks.start("ps")
    await engine.tasks.exec("ps", "nap", ["sleep", "100"])
    exec_pid = await engine.tasks.start("ps", "nap")
    pids = dict(await engine.tasks.pids("ps"))
    assert pids == {info.pid: "", exec_pid: "nap"}
    await engine.tasks.kill("ps", signal.SIGKILL)
    await engine.tasks.wait("ps")
    assert await engine.tasks.pids("ps") == []
    await engine.tasks.delete("ps")


async def test_many_tasks_at_once_are_reaped_with_their_status(engine: Engine, make_bundle) -> None:
    n = 40
    bundles = {i: make_bundle(["sh", "-c", f"exit {i}"]) for i in range(n)}
    sub = engine.subscribe(topics=[events.TASK_EXIT])

    async def one(i: int) -> int:
        await engine.containers.create(f"m{i}", bundles[i])
        await engine.tasks.create(f"m{i}")
        await engine.tasks.start(f"m{i}")
        status = (await engine.tasks.wait(f"m{i}")).exit_status
        await engine.tasks.delete(f"m{i}")
        return status

    assert await asyncio.gather(*(one(i) for i in range(n))) == list(range(n))
    exits = {e.container_id: e.exit_status for e in drain(sub)}
    assert exits == {f"m{i}": i for i in range(n)}


async def test_close_kills_and_deletes_tasks(tmp, runtime_name, make_bundle) -> None:
    from tests.conftest import assert_nothing_left

    async with Engine(root=tmp / "root", runtime=runtime_name) as e:
        await e.containers.create("a", make_bundle(["sleep", "100"]))
        await e.containers.create("b", make_bundle(["sleep", "100"]))
        await e.tasks.create("a")
        await e.tasks.start("a")
        await e.tasks.create("b")
        await e.tasks.start("b")
        await e.tasks.pause("b")
    assert_nothing_left(runtime_name, tmp / "root" / runtime_name)
    async with Engine(root=tmp / "root", runtime=runtime_name) as e:
        assert {c.id for c in e.containers.list()} == {"a", "b"}
        assert e.tasks.list() == []


async def test_wait_on_a_running_task_returns_on_exit(engine: Engine, make_bundle) -> None:
    await engine.containers.create("w", make_bundle(["sleep", "100"]))
    await engine.tasks.create("w")
    await engine.tasks.start("w")
    sub = engine.subscribe(topics=[events.TASK_EXIT])
    waiter = asyncio.ensure_future(engine.tasks.wait("w"))
    await engine.tasks.kill("w", signal.SIGKILL)
    ev = await next_event(sub, lambda e: e.container_id == "w")
    assert (await waiter).exit_status == ev.exit_status == 137
    await engine.tasks.delete("w")


async def test_two_engines_with_the_same_container_id_do_not_meet(
    tmp, runtime_name, make_bundle
) -> None:
    from runtime.cgroups import cgroup_dirs

    b = make_bundle(["sleep", "100"])
    async with (
        Engine(root=tmp / "one", runtime=runtime_name) as one,
        Engine(root=tmp / "two", runtime=runtime_name) as two,
    ):
        for e in (one, two):
            await e.containers.create("same", b)
            await e.tasks.create("same")
            await e.tasks.start("same")
        pid_one, pid_two = (e.tasks.get("same").pid for e in (one, two))  # type: ignore[union-attr]
        assert cgroup_dirs(pid_one)["pids"] != cgroup_dirs(pid_two)["pids"]
        await one.tasks.kill("same", signal.SIGKILL, all=True)
        assert (await one.tasks.wait("same")).exit_status == 137
        assert (await two.tasks.state("same")).status == "running"
        assert (await two.tasks.stats("same")).pids == 1
        parents = {d.parent for d in cgroup_dirs(pid_two).values()}
    # The engine's cgroup parent went with it, in every hierarchy (runc and crun put a
    # relative cgroupsPath in different places).
    assert [p for p in parents if p.exists()] == []


@pytest.mark.parametrize("terminal", [False, True], ids=["pipes", "tty"])
async def test_run_creates_and_starts_in_one(engine: Engine, make_bundle, terminal: bool) -> None:
    sub = engine.subscribe()
    await engine.containers.create(
        "fast", make_bundle(["sh", "-c", "echo ran; exit 4"], terminal=terminal)
    )
    info = await engine.tasks.run("fast")
    assert info.status in ("running", "stopped") and info.pid > 0
    assert (await engine.tasks.wait("fast")).exit_status == 4
    io = engine.tasks.io("fast")
    assert await io.drain(5)
    assert b"ran" in io.backlog()
    await engine.tasks.delete("fast")
    assert [(e.topic, e.pid) for e in drain(sub) if e.container_id == "fast"][1:] == [
        (events.TASK_CREATE, info.pid),
        (events.TASK_START, info.pid),
        (events.TASK_EXIT, info.pid),
        (events.TASK_DELETE, info.pid),
    ]


async def test_delete_removes_the_task_directory(engine: Engine, make_bundle) -> None:
    # Two ways out: a plain task's known files, and one holding more (an exec's files, a
    # file of the caller's), which the removal by name leaves to a full one.
    await engine.containers.create("plain", make_bundle(["/bin/true"]))
    await engine.tasks.run("plain")
    await engine.containers.create("more", make_bundle(["sleep", "100"]))
    await engine.tasks.run("more")
    await engine.tasks.exec("more", "x", ["true"])
    await engine.tasks.start("more", "x")
    (engine.root / "tasks" / "more" / "bundle" / "extra").write_text("x")
    await engine.tasks.wait("more", "x")
    await engine.tasks.kill("more", signal.SIGKILL)
    for cid in ("plain", "more"):
        await engine.tasks.wait(cid)
        await engine.tasks.delete(cid)
        assert not (engine.root / "tasks" / cid).exists()
        await engine.containers.delete(cid)
