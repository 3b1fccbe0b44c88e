"""Exit latency: from SIGKILL sent to the ``/tasks/exit`` event received by a subscriber."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from dataclasses import dataclass
from typing import Any

from runtime import Engine, events

from ._common import (
    BareWorker,
    BenchError,
    BenchResult,
    Row,
    Stats,
    Workspace,
    fmt_ratio,
    ms,
    per_runtime,
    ratio,
    run,
    runtime_argv,
    runtime_rows,
    start_task,
    stats,
)

NAME = "exit_latency"
TITLE = "Exit-event latency"
TASKS = 100
VIA_KILL_COMMAND = 20
TARGET_P50 = 0.002
TARGET_P99 = 0.010


async def one_round(
    ws: Workspace, worker: BareWorker, runtime: str, r: int, engine: Engine
) -> dict[str, list[float]]:
    bundle = ws.dir / "bundles" / f"sleep-{runtime}"
    bare_root = ws.dir / f"bare-{runtime}"
    tag = f"{ws.prefix}{runtime[0]}{r}"
    bare_ids = [f"{tag}b{i}" for i in range(TASKS)]
    pid_files = [ws.dir / f"{b}.pid" for b in bare_ids]
    for cid, pid_file in zip(bare_ids, pid_files, strict=True):
        await worker.steps(
            {
                "argv": runtime_argv(
                    runtime,
                    bare_root,
                    "run",
                    "--detach",
                    "--bundle",
                    str(bundle),
                    "--pid-file",
                    str(pid_file),
                    cid,
                )
            }
        )
    ids = [f"{tag}e{i}" for i in range(TASKS + VIA_KILL_COMMAND)]

    for batch in range(0, len(ids), 10):
        await asyncio.gather(*(start_task(engine, c, bundle) for c in ids[batch : batch + 10]))
    out: dict[str, list[float]] = {"engine": [], "reaped": [], "published": [], "bare": []}
    out["via_kill_command"] = []
    sub = engine.subscribe(topics=[events.TASK_EXIT])
    try:
        for i, cid in enumerate(ids[:TASKS]):
            if i % 2:
                out["bare"].append(await _bare_kill(worker, str(pid_files[i])))
            pid = (await engine.tasks.state(cid)).pid
            wall = time.time()
            t0 = time.perf_counter()
            os.kill(pid, signal.SIGKILL)
            event = await sub.get()
            t1 = time.perf_counter()
            _check(event, cid)
            assert event.exited_at is not None
            reaped = event.exited_at.timestamp() - wall
            out["engine"].append(t1 - t0)
            out["reaped"].append(reaped)
            out["published"].append(t1 - t0 - reaped)
            if not i % 2:
                out["bare"].append(await _bare_kill(worker, str(pid_files[i])))
        for cid in ids[TASKS:]:
            t0 = time.perf_counter()
            await engine.tasks.kill(cid, signal.SIGKILL)
            event = await sub.get()
            out["via_kill_command"].append(time.perf_counter() - t0)
            _check(event, cid)
    finally:
        sub.close()
    await asyncio.gather(*(engine.tasks.delete(c) for c in ids))
    await asyncio.gather(*(engine.containers.delete(c) for c in ids))
    for cid in bare_ids:
        await worker.steps({"argv": runtime_argv(runtime, bare_root, "delete", cid)})
    return out


def _check(event: Any, cid: str) -> None:
    if event.topic != events.TASK_EXIT or event.container_id != cid:
        raise BenchError(f"expected the exit of {cid}, got {event}")
    if event.exit_status != 128 + signal.SIGKILL:
        raise BenchError(f"{cid} exited {event.exit_status}, not {128 + signal.SIGKILL}")


async def _bare_kill(worker: BareWorker, pid_file: str) -> float:
    reply = await worker.call("kill", pid_file=pid_file)
    if reply["status"] != 128 + signal.SIGKILL:
        raise BenchError(f"bare container exited {reply['status']}")
    return float(reply["total"])


@dataclass
class Runtime:
    engine: Stats
    reaped: Stats
    published: Stats
    bare: Stats
    via_kill_command: Stats

    def rows(self, rt: str) -> list[Row]:
        eng, bare = self.engine, self.bare
        return [
            Row(
                NAME,
                f"{rt}: os.kill -> /tasks/exit, p50 (n={eng.n})",
                ms(eng.median),
                f"{ms(bare.median)} (pidfd wait, no engine)",
                fmt_ratio(ratio(eng.median, bare.median)),
                f"<= {ms(TARGET_P50)}",
                eng.median <= TARGET_P50,
            ),
            Row(
                NAME,
                f"{rt}: os.kill -> /tasks/exit, p99",
                ms(eng.p99),
                ms(bare.p99),
                fmt_ratio(ratio(eng.p99, bare.p99)),
                f"<= {ms(TARGET_P99)}",
                eng.p99 <= TARGET_P99,
            ),
            Row(
                NAME,
                f"{rt}: of which kill -> reaped (kernel, loop wakeup), p50 / p99",
                f"{ms(self.reaped.median)} / {ms(self.reaped.p99)}",
            ),
            Row(
                NAME,
                f"{rt}: of which reaped -> event received (engine, subscriber), p50 / p99",
                f"{ms(self.published.median)} / {ms(self.published.p99)}",
            ),
            Row(
                NAME,
                f"{rt}: engine.tasks.kill -> /tasks/exit, p50",
                ms(self.via_kill_command.median),
                target="(context: includes a runtime kill command)",
            ),
        ]


@dataclass
class Result(BenchResult):
    runtimes: dict[str, Runtime]

    def rows(self) -> list[Row]:
        return runtime_rows(self.runtimes)

    def headline(self) -> list[list[str]]:
        return [
            [
                f"SIGKILL to `/tasks/exit`, {rt}, p50 / p99",
                f"{ms(r.engine.median)} / {ms(r.engine.p99)}",
                f"pidfd wait alone: {ms(r.bare.median)} / {ms(r.bare.p99)}",
                "",
            ]
            for rt, r in self.runtimes.items()
        ]


async def measure(args: argparse.Namespace, ws: Workspace) -> Result:
    return Result(await per_runtime(args, ws, measure_runtime))


async def measure_runtime(
    args: argparse.Namespace, ws: Workspace, worker: BareWorker, runtime: str
) -> Runtime:
    ws.bundle(f"sleep-{runtime}", ["/bin/sleep", "100000"], ws.rootfs())
    ws.root(runtime, "bare")
    rounds = args.rounds or (1 if args.quick else 3)
    merged: dict[str, list[float]] = {}
    async with Engine(root=ws.root(runtime, "engine"), runtime=runtime) as engine:
        for r in range(rounds):
            for key, values in (await one_round(ws, worker, runtime, r, engine)).items():
                merged.setdefault(key, []).extend(values)
    await worker.call("reap")
    return Runtime(**{k: stats(v) for k, v in merged.items()})


if __name__ == "__main__":
    sys.exit(run(NAME, measure))
