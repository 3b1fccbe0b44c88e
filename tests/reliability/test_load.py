"""Load: many short tasks through one engine, with execs exiting at random times.

Every exit event arrives exactly once with the right status, every exec's exit before its
init's; afterwards no zombie, no leaked fd, nothing in the runtime's state, memory back near
where it started. ``--soak`` runs ten times as many.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from runtime import Engine, errors, events
from runtime.types import Event
from tests.conftest import runtime_list

ALIVE_AT_ONCE = 200
#: A container's pid 1 gets only the signals it handles, and SIGKILL: inits are killed with
#: SIGKILL; execs, ordinary processes inside, with any of these.
EXEC_SIGNALS = (signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


@dataclass
class ExecPlan:
    code: int
    delay: float
    #: Sent after ``delay`` instead of letting the exec exit with ``code``.
    signal: int | None

    @property
    def expected(self) -> int:
        return 128 + self.signal if self.signal else self.code


@dataclass
class Plan:
    id: str
    killed: bool
    code: int
    execs: list[ExecPlan]
    bundle: Path | None = None

    @property
    def expected(self) -> int:
        return 128 + signal.SIGKILL if self.killed else self.code


def make_plans(n: int, rng: random.Random) -> list[Plan]:
    plans = []
    for i in range(n):
        execs = [
            ExecPlan(
                code=rng.randrange(0, 100),
                delay=rng.random() * 0.3,
                signal=rng.choice(EXEC_SIGNALS) if rng.random() < 0.4 else None,
            )
            for _ in range(rng.randrange(4))
        ]
        killed = rng.random() < 0.4
        plans.append(Plan(f"load-{i}", killed, rng.randrange(0, 120), execs))
    return plans


async def _signal_later(engine: Engine, id: str, exec_id: str, ex: ExecPlan) -> None:
    await asyncio.sleep(ex.delay)  # the random moment the plan asks for, not a synchronisation
    with contextlib.suppress(errors.NotFound):  # it may have died with its task first
        await engine.tasks.kill(id, ex.signal or signal.SIGKILL, exec_id=exec_id)


async def run_one(engine: Engine, plan: Plan) -> tuple[int, dict[str, int]]:
    await engine.containers.create(plan.id, plan.bundle)  # type: ignore[arg-type]
    await engine.tasks.create(plan.id)
    await engine.tasks.start(plan.id)
    started = []
    signalled: list[tuple[str, ExecPlan]] = []
    for j, ex in enumerate(plan.execs):
        args = (
            ["sleep", "100"] if ex.signal else ["sh", "-c", f"sleep {ex.delay:.3f}; exit {ex.code}"]
        )
        try:
            await engine.tasks.exec(plan.id, f"x{j}", args)
            await engine.tasks.start(plan.id, f"x{j}")
        except errors.FailedPrecondition:
            break  # the task ended on its own meanwhile
        started.append(f"x{j}")
        if ex.signal:
            signalled.append((f"x{j}", ex))
    # Made here, not in the loop: a failed start above leaves no coroutine never awaited.
    await asyncio.gather(*(_signal_later(engine, plan.id, x, ex) for x, ex in signalled))
    if plan.killed:
        await engine.tasks.kill(plan.id, signal.SIGKILL)
    status = (await engine.tasks.wait(plan.id)).exit_status
    execs = {x: (await engine.tasks.wait(plan.id, x)).exit_status for x in started}
    await engine.tasks.delete(plan.id)
    await engine.containers.delete(plan.id)
    return status, execs


async def test_load(engine: Engine, make_bundle, request: pytest.FixtureRequest) -> None:
    total = 1000 * (10 if request.config.getoption("--soak") else 1)
    rng = random.Random(20261130)
    plans = make_plans(total, rng)
    for plan in plans:
        script = "sleep 100" if plan.killed else f"sleep {rng.random() * 0.2:.3f}; exit {plan.code}"
        plan.bundle = make_bundle(["sh", "-c", script])
    exits: dict[tuple[str, str], list[int | None]] = defaultdict(list)
    order: dict[str, list[str]] = defaultdict(list)

    def listen(ev: Event) -> None:
        if ev.topic == events.TASK_EXIT:
            exits[(ev.container_id, ev.exec_id)].append(ev.exit_status)
            order[ev.container_id].append(ev.exec_id)

    remove = engine.bus.add_listener(listen)
    me = psutil.Process()
    await run_one(engine, plans[0])  # warm up what is made lazily
    fds_before = len(os.listdir("/proc/self/fd"))
    rss_before = me.memory_info().rss
    gate = asyncio.Semaphore(ALIVE_AT_ONCE)

    async def gated(plan: Plan) -> tuple[int, dict[str, int]]:
        async with gate:
            return await run_one(engine, plan)

    results = await asyncio.gather(*(gated(p) for p in plans[1:]))
    remove()

    for plan, (status, exec_statuses) in zip(plans[1:], results, strict=True):
        assert status == plan.expected, plan
        assert exits[(plan.id, "")] == [plan.expected], plan.id
        for x, st in exec_statuses.items():
            expected = plan.execs[int(x[1:])].expected
            assert st in (expected, 137), (plan.id, x, st)  # as planned, or killed with the task
            assert exits[(plan.id, x)] == [st], (plan.id, x)
        assert order[plan.id][-1] == "", f"{plan.id}: the init's exit was not last: {order}"
    assert all(len(v) == 1 for v in exits.values())
    assert len(os.listdir("/proc/self/fd")) == fds_before
    assert runtime_list(engine.runtime_name, engine.root / engine.runtime_name) == []
    grown = me.memory_info().rss - rss_before
    assert grown < 32 * 2**20, f"engine RSS grew by {grown / 2**20:.1f} MiB over {total} tasks"
