"""Exit latency: from SIGKILL sent to the ``/tasks/exit`` event received by a subscriber."""

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
TASKS, VIA_KILL_COMMAND, TARGET_P50, TARGET_P99 = 100, 20, 0.002, 0.010
KILLED = 128 + signal.SIGKILL


def p50_p99(s: c.Stats) -> str:
    return f"{c.ms(s.median)} / {c.ms(s.p99)}"


@dataclass
class Runtime(c.PerRuntime):
    engine: c.Stats
    reaped: c.Stats
    published: c.Stats
    bare: c.Stats
    via_kill_command: c.Stats

    def rows(self, rt: str) -> list[c.Row]:
        eng, bare, exit = self.engine, self.bare, f"{rt}: os.kill -> /tasks/exit"
        return [
            c.at_most(
                f"{exit}, p50 (n={eng.n})",
                *(eng.median, TARGET_P50),
                anchor=bare.median,
                label="pidfd wait, no engine",
            ),
            c.at_most(f"{exit}, p99", eng.p99, TARGET_P99, anchor=bare.p99),
            c.Row(f"{rt}: of which kill -> reaped, p50 / p99", p50_p99(self.reaped)),
            c.Row(f"{rt}: of which reaped -> event received, p50 / p99", p50_p99(self.published)),
            c.Row(
                f"{rt}: engine.tasks.kill -> /tasks/exit, p50",
                c.ms(self.via_kill_command.median),
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


def exited(event: Any, cid: str) -> Any:
    """``event``, if it is ``cid``'s exit by SIGKILL."""
    if (event.topic, event.container_id, event.exit_status) != (events.TASK_EXIT, cid, KILLED):
        raise c.BenchError(f"expected the exit of {cid} by SIGKILL, got {event}")
    return event


async def one_round(
    ws: c.Workspace, worker: c.BareWorker, runtime: str, tag: str, engine: Engine
) -> dict[str, list[float]]:
    """Kill 100 engine tasks one by one, each beside a bare container's kill in the worker
    (before or after it, in turn), then 20 more through ``engine.tasks.kill``."""
    bundle, bare_root = ws.dir / "bundles" / f"sleep-{runtime}", ws.dir / f"bare-{runtime}"
    bare_ids = [f"{tag}b{i}" for i in range(TASKS)]
    for cid in bare_ids:
        run = ("run", "--detach", "--bundle", str(bundle), "--pid-file", f"{ws.dir}/{cid}.pid")
        await worker.steps({"argv": c.runtime_argv(runtime, bare_root, *run, cid)})
    ids = [f"{tag}e{i}" for i in range(TASKS + VIA_KILL_COMMAND)]
    await c.ten_at_once(partial(c.start_task, engine, bundle=bundle), ids)
    out: dict[str, list[float]] = {k: [] for k in Runtime.__dataclass_fields__}

    async def bare_kill(cid: str) -> None:
        reply = await worker.call("kill", pid_file=f"{ws.dir}/{cid}.pid")
        if reply["status"] != KILLED:
            raise c.BenchError(f"bare container exited {reply['status']}")
        out["bare"].append(reply["total"])

    sub = engine.subscribe(topics=[events.TASK_EXIT])
    try:
        for i, cid in enumerate(ids[:TASKS]):
            if i % 2:
                await bare_kill(bare_ids[i])
            pid = (await engine.tasks.state(cid)).pid
            wall, t0 = time.time(), time.perf_counter()
            os.kill(pid, signal.SIGKILL)
            event = exited(await sub.get(), cid)
            took, reaped = time.perf_counter() - t0, event.exited_at.timestamp() - wall
            out["engine"].append(took)
            out["reaped"].append(reaped)
            out["published"].append(took - reaped)
            if not i % 2:
                await bare_kill(bare_ids[i])
        for cid in ids[TASKS:]:
            t0 = time.perf_counter()
            await engine.tasks.kill(cid, signal.SIGKILL)
            exited(await sub.get(), cid)
            out["via_kill_command"].append(time.perf_counter() - t0)
    finally:
        sub.close()
    await asyncio.gather(*(engine.tasks.delete(cid) for cid in ids))
    await asyncio.gather(*(engine.containers.delete(cid) for cid in ids))
    for cid in bare_ids:
        await worker.steps({"argv": c.runtime_argv(runtime, bare_root, "delete", cid)})
    return out


async def measure_runtime(
    args: argparse.Namespace, ws: c.Workspace, worker: c.BareWorker, runtime: str
) -> Runtime:
    ws.bundle(f"sleep-{runtime}", ["/bin/sleep", "100000"])
    ws.root(runtime, "bare")
    merged: dict[str, list[float]] = {}
    async with Engine(root=ws.root(runtime, "engine"), runtime=runtime) as engine:
        for r in range(args.rounds or (1 if args.quick else 3)):
            tag = f"{ws.prefix}{runtime[0]}{r}"
            for key, values in (await one_round(ws, worker, runtime, tag, engine)).items():
                merged.setdefault(key, []).extend(values)
    await worker.call("reap")
    return Runtime(**{k: c.stats(v) for k, v in merged.items()})


if __name__ == "__main__":
    sys.exit(c.run(NAME, c.by_runtime(Result, measure_runtime)))
