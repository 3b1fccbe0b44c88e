"""Exit latency: from SIGKILL sent to the ``/tasks/exit`` event received by a subscriber."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

from runtime import Engine, events

from . import _common as c

NAME = "exit_latency"
TITLE = "Exit-event latency"
TASKS = 100
VIA_KILL_COMMAND = 20
TARGET_P50 = 0.002
TARGET_P99 = 0.010


async def one_round(
    ws: c.Workspace, worker: c.BareWorker, runtime: str, r: int, engine: Engine
) -> dict[str, list[float]]:
    bundle = ws.dir / "bundles" / f"sleep-{runtime}"
    bare_root = ws.dir / f"bare-{runtime}"
    tag = f"{ws.prefix}{runtime[0]}{r}"
    bare_ids = [f"{tag}b{i}" for i in range(TASKS)]
    pid_files = [ws.dir / f"{b}.pid" for b in bare_ids]
    for cid, pid_file in zip(bare_ids, pid_files, strict=True):
        detached = ("run", "--detach", "--bundle", str(bundle), "--pid-file", str(pid_file))
        await worker.steps({"argv": c.runtime_argv(runtime, bare_root, *detached, cid)})
    ids = [f"{tag}e{i}" for i in range(TASKS + VIA_KILL_COMMAND)]
    await c.ten_at_once(partial(c.start_task, engine, bundle=bundle), ids)
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
    await asyncio.gather(*(engine.tasks.delete(cid) for cid in ids))
    await asyncio.gather(*(engine.containers.delete(cid) for cid in ids))
    for cid in bare_ids:
        await worker.steps({"argv": c.runtime_argv(runtime, bare_root, "delete", cid)})
    return out


def _check(event: Any, cid: str) -> None:
    if event.topic != events.TASK_EXIT or event.container_id != cid:
        raise c.BenchError(f"expected the exit of {cid}, got {event}")
    if event.exit_status != 128 + signal.SIGKILL:
        raise c.BenchError(f"{cid} exited {event.exit_status}, not {128 + signal.SIGKILL}")


async def _bare_kill(worker: c.BareWorker, pid_file: str) -> float:
    reply = await worker.call("kill", pid_file=pid_file)
    if reply["status"] != 128 + signal.SIGKILL:
        raise c.BenchError(f"bare container exited {reply['status']}")
    return float(reply["total"])


@dataclass
class Runtime:
    engine: c.Stats
    reaped: c.Stats
    published: c.Stats
    bare: c.Stats
    via_kill_command: c.Stats

    def rows(self, rt: str) -> list[c.Row]:
        eng, bare, ms = self.engine, self.bare, c.ms
        return [
            c.at_most(
                NAME,
                f"{rt}: os.kill -> /tasks/exit, p50 (n={eng.n})",
                *(eng.median, TARGET_P50),
                bare=f"{ms(bare.median)} (pidfd wait, no engine)",
                ratio=c.fmt_ratio(c.ratio(eng.median, bare.median)),
            ),
            c.at_most(
                NAME,
                f"{rt}: os.kill -> /tasks/exit, p99",
                *(eng.p99, TARGET_P99),
                bare=ms(bare.p99),
                ratio=c.fmt_ratio(c.ratio(eng.p99, bare.p99)),
            ),
            c.Row(
                NAME,
                f"{rt}: of which kill -> reaped (kernel, loop wakeup), p50 / p99",
                p50_p99(self.reaped),
            ),
            c.Row(
                NAME,
                f"{rt}: of which reaped -> event received (engine, subscriber), p50 / p99",
                p50_p99(self.published),
            ),
            c.Row(
                NAME,
                f"{rt}: engine.tasks.kill -> /tasks/exit, p50",
                ms(self.via_kill_command.median),
                target="(context: includes a runtime kill command)",
            ),
        ]


class Result(c.ByRuntime[Runtime]):
    def headline(self) -> list[list[str]]:
        return [
            [
                f"SIGKILL to `/tasks/exit`, {rt}, p50 / p99",
                p50_p99(r.engine),
                f"pidfd wait alone: {p50_p99(r.bare)}",
            ]
            for rt, r in self.runtimes.items()
        ]


def p50_p99(s: c.Stats) -> str:
    return f"{c.ms(s.median)} / {c.ms(s.p99)}"


async def measure_runtime(
    args: argparse.Namespace, ws: c.Workspace, worker: c.BareWorker, runtime: str
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
    return Runtime(**{k: c.stats(v) for k, v in merged.items()})


if __name__ == "__main__":
    sys.exit(c.run(NAME, c.by_runtime(Result, measure_runtime)))
