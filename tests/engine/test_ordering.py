"""The ordering rules of ``runtime/tasks.py``, driven without a runtime binary.

As containerd's service_test.go does, exits are injected: a fake runtime (commands that
succeed at once, or wait until the test lets them finish) and a fake reaper (exits resolved
when the test says) are handed to ``Tasks`` through its constructor. The same rules are tested
against runc and crun in test_exec.py, test_lifecycle.py and test_containerd_parity.py.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from runtime import create_bundle, errors, events, states
from runtime.containers import Containers
from runtime.events import EventBus, Subscription
from runtime.opts import CreateOpts, ExecOpts
from runtime.reaper import Exit
from runtime.store import Store
from runtime.tasks import Tasks

from .helpers import TIMEOUT

#: Above any pid_max: no real process can be signalled by mistake.
FAKE_PIDS = itertools.count(1 << 23)


class FakeReaper:
    """Exit futures the test resolves with :meth:`exit`; an exit before ``watch`` is kept."""

    def __init__(self) -> None:
        self.watched: dict[int, asyncio.Future[Exit]] = {}
        self.early: dict[int, Exit] = {}

    def watch(self, pid: int) -> asyncio.Future[Exit]:
        if pid not in self.watched:
            fut = self.watched[pid] = asyncio.get_running_loop().create_future()
            if pid in self.early:  # as the real reaper: on the next loop turn
                asyncio.get_running_loop().call_soon(fut.set_result, self.early.pop(pid))
        return self.watched[pid]

    def exit(self, pid: int, status: int) -> None:
        ex = Exit(pid, status, datetime.now(UTC))
        if pid in self.watched:
            self.watched[pid].set_result(ex)
        else:
            self.early[pid] = ex

    def forget(self, pid: int) -> None:
        fut = self.watched.pop(pid, None)
        if fut is not None and not fut.done():
            fut.cancel()


@dataclass
class FakeRuntime:
    """Records each command; ``gates[command]`` (an Event) holds that command until set."""

    reaper: FakeReaper
    calls: list[tuple[str, ...]] = field(default_factory=list)
    gates: dict[str, asyncio.Event] = field(default_factory=dict)
    fail: dict[str, errors.RuntimeFailure] = field(default_factory=dict)
    pids: dict[str, int] = field(default_factory=dict)
    #: What a kill --all ends: every process but the init.
    others: list[int] = field(default_factory=list)
    #: A status for each process launched to exit with before its pid file is read.
    exit_at_once: int | None = None
    name: str = "fake"

    async def _step(self, command: str, *args: str) -> None:
        self.calls.append((command, *args))
        if command in self.gates:
            await self.gates[command].wait()
        if command in self.fail:
            raise self.fail.pop(command)

    async def create(self, id: str, opts: CreateOpts) -> None:
        await self._step("create", id)
        self._launched(id, opts.pid_file)

    async def exec(self, id: str, opts: ExecOpts) -> None:
        await self._step("exec", id)
        self._launched(opts.process_file.name, opts.pid_file)

    def _launched(self, key: str, pid_file: Path) -> None:
        pid = self.pids[key] = next(FAKE_PIDS)
        pid_file.write_text(str(pid))
        if self.exit_at_once is not None:
            self.reaper.exit(pid, self.exit_at_once)

    async def start(self, id: str) -> None:
        await self._step("start", id)

    async def kill(self, id: str, sig: int, *, all: bool = False) -> None:
        await self._step("kill", id, str(sig), *(["--all"] if all else []))
        if all and sig == signal.SIGKILL:
            for pid in self.others:
                self.reaper.exit(pid, 128 + signal.SIGKILL)

    async def delete(self, id: str, *, force: bool = False) -> None:
        await self._step("delete", id)

    async def ps(self, id: str) -> list[int]:
        return []


@dataclass
class Rig:
    tasks: Tasks
    runtime: FakeRuntime
    reaper: FakeReaper
    sub: Subscription
    containers: Containers
    tmp: Path

    async def task(self, id: str, *, host_pids: bool = False) -> int:
        bundle = create_bundle(self.tmp / f"b-{id}", ["sh"], rootfs=self.tmp)
        if host_pids:
            spec = json.loads((bundle / "config.json").read_text())
            spec["linux"]["namespaces"] = [
                ns for ns in spec["linux"]["namespaces"] if ns["type"] != "pid"
            ]
            (bundle / "config.json").write_text(json.dumps(spec))
        await self.containers.create(id, bundle)
        return (await self.tasks.create(id)).pid

    def exec_pid(self, exec_id: str) -> int:
        return self.runtime.pids[f"exec-{exec_id}.json"]

    def topics(self) -> list[tuple[str, str]]:
        out = []
        while (ev := self.sub.get_nowait()) is not None:
            if ev.topic.startswith("/tasks/"):
                out.append((ev.topic, ev.exec_id))
        return out


@pytest.fixture
async def rig(tmp: Path) -> AsyncIterator[Rig]:
    reaper = FakeReaper()
    runtime = FakeRuntime(reaper)
    bus = EventBus()
    store = Store(tmp / "meta.db")
    containers = Containers(store, bus, "fake", lambda id: False)
    (tmp / "root").mkdir()
    tasks = Tasks(
        root=tmp / "root",
        runtime=runtime,  # type: ignore[arg-type]
        reaper=reaper,  # type: ignore[arg-type]
        bus=bus,
        store=store,
        containers=containers,
    )
    yield Rig(tasks, runtime, reaper, bus.subscribe(), containers, tmp)
    await tasks.shutdown(keep=True)
    store.close()


async def until(pred: Callable[[], bool]) -> None:
    async def poll() -> None:
        while not pred():
            await asyncio.sleep(0)

    await asyncio.wait_for(poll(), TIMEOUT)


async def settle() -> None:
    """Let every callback an exit scheduled run: a future's callbacks run one loop turn later,
    and what they start one more. Nothing here waits on time."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_an_exit_during_start_is_published_after_the_start(rig: Rig) -> None:
    pid = await rig.task("t")
    rig.runtime.gates["start"] = asyncio.Event()
    starting = asyncio.ensure_future(rig.tasks.start("t"))
    await until(lambda: ("start", "t") in rig.runtime.calls)
    rig.reaper.exit(pid, 3)
    await settle()
    assert (events.TASK_EXIT, "") not in rig.topics()
    rig.runtime.gates["start"].set()
    await starting
    assert (await rig.tasks.wait("t")).exit_status == 3
    assert rig.topics() == [(events.TASK_START, ""), (events.TASK_EXIT, "")]


async def test_an_exit_before_the_pid_is_known_is_kept(rig: Rig) -> None:
    # The process exits before the engine reads its pid file: the reaper keeps the exit.
    rig.runtime.exit_at_once = 7
    await rig.task("early")
    assert (await rig.tasks.wait("early")).exit_status == 7
    assert rig.topics()[:2] == [(events.TASK_CREATE, ""), (events.TASK_EXIT, "")]


async def test_an_exec_exit_during_its_start_follows_exec_started(rig: Rig) -> None:
    await rig.task("t")
    await rig.tasks.start("t")
    await rig.tasks.exec("t", "e", ["true"])
    rig.topics()
    rig.runtime.exit_at_once = 0
    await rig.tasks.start("t", "e")
    assert (await rig.tasks.wait("t", "e")).exit_status == 0
    assert rig.topics() == [(events.TASK_EXEC_STARTED, "e"), (events.TASK_EXIT, "e")]


async def test_the_init_exit_waits_for_every_running_exec(rig: Rig) -> None:
    pid = await rig.task("t")
    await rig.tasks.start("t")
    for e in ("a", "b"):
        await rig.tasks.exec("t", e, ["sleep", "1"])
        await rig.tasks.start("t", e)
    rig.topics()
    rig.reaper.exit(pid, 137)
    rig.reaper.exit(rig.exec_pid("a"), 137)
    await rig.tasks.wait("t", "a")
    await settle()
    assert rig.topics() == [(events.TASK_EXIT, "a")]  # b still runs: the init's exit waits
    assert rig.tasks.get("t").status == "running"  # type: ignore[union-attr]
    await rig.tasks.exec("t", "late", ["true"])
    with pytest.raises(errors.FailedPrecondition, match="the task has exited"):
        await rig.tasks.start("t", "late")  # none may join the execs the init's exit waits for
    rig.reaper.exit(rig.exec_pid("b"), 137)
    assert (await rig.tasks.wait("t")).exit_status == 137
    assert rig.topics()[-2:] == [(events.TASK_EXIT, "b"), (events.TASK_EXIT, "")]


async def test_an_exec_start_that_fails_stops_holding_the_init_exit(rig: Rig) -> None:
    pid = await rig.task("t")
    await rig.tasks.start("t")
    await rig.tasks.exec("t", "e", ["true"])
    rig.runtime.gates["exec"] = asyncio.Event()
    rig.runtime.fail["exec"] = errors.RuntimeFailure("fake exec failed: container not running")
    starting = asyncio.ensure_future(rig.tasks.start("t", "e"))
    await until(lambda: ("exec", "t") in rig.runtime.calls)
    rig.reaper.exit(pid, 0)
    waiting = asyncio.ensure_future(rig.tasks.wait("t"))
    await settle()
    assert not waiting.done()  # the exec may yet start: the init's exit waits for it
    rig.runtime.gates["exec"].set()
    with pytest.raises(errors.FailedPrecondition, match="the task has exited"):
        await starting
    assert (await waiting).exit_status == 0
    assert (await rig.tasks.state("t", "e")).status == "created"


async def test_a_task_in_the_host_pid_namespace_is_killed_whole_before_its_exit(
    rig: Rig,
) -> None:
    pid = await rig.task("h", host_pids=True)
    await rig.tasks.start("h")
    await rig.tasks.exec("h", "e", ["sleep", "1"])
    await rig.tasks.start("h", "e")
    rig.runtime.others = [rig.exec_pid("e")]
    rig.topics()
    rig.reaper.exit(pid, 137)
    assert (await rig.tasks.wait("h")).exit_status == 137
    assert ("kill", "h", str(int(signal.SIGKILL)), "--all") in rig.runtime.calls
    assert rig.topics() == [(events.TASK_EXIT, "e"), (events.TASK_EXIT, "")]


async def test_a_task_with_its_own_pid_namespace_is_not_killed_again(rig: Rig) -> None:
    pid = await rig.task("t")
    await rig.tasks.start("t")
    rig.reaper.exit(pid, 0)
    await rig.tasks.wait("t")
    assert not [c for c in rig.runtime.calls if c[0] == "kill"]


async def test_wait_raises_unavailable_when_the_engine_closes(rig: Rig) -> None:
    await rig.task("t")
    await rig.tasks.start("t")
    waiter = asyncio.ensure_future(rig.tasks.wait("t"))
    await asyncio.sleep(0)  # one loop turn: the waiter runs up to its wait
    await rig.tasks.shutdown(keep=True)
    with pytest.raises(errors.Unavailable, match="closed while waiting for task 't'"):
        await waiter


def test_a_state_refuses_a_move_it_does_not_allow() -> None:
    assert states.Running.transition(states.Pausing, "task 'x'") is states.Pausing
    with pytest.raises(errors.FailedPrecondition, match="invalid state transition"):
        states.Stopped.transition(states.Running, "task 'x'")
    with pytest.raises(errors.FailedPrecondition, match="from created to deleted"):
        states.Created.transition(states.Deleted, "task 'x'")
    with pytest.raises(errors.FailedPrecondition, match="from running to paused"):
        states.ExecRunning.transition(states.Paused, "exec 'e'")


def test_every_state_reaches_deleted() -> None:
    """No state is a dead end but deleted itself: each has a way to the end."""
    every = [states.Created, states.Running, states.Pausing, states.Paused, states.Stopped]
    every += [states.ExecCreated, states.ExecRunning]

    def reaches(s: type[states.State], seen: frozenset[type[states.State]]) -> bool:
        return s is states.Deleted or any(reaches(t, seen | {s}) for t in s.moves if t not in seen)

    assert all(reaches(s, frozenset()) for s in every)
