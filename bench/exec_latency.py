"""Exec latency: ``/bin/true`` run in a running task, through the engine and bare."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

from runtime import Engine

from ._common import (
    BareWorker,
    BenchError,
    BenchResult,
    CpuMeter,
    Row,
    Sample,
    Side,
    Workspace,
    bare_container,
    cpu,
    fmt_ratio,
    interleave,
    ms,
    per_runtime,
    remove_task,
    run,
    runtime_argv,
    runtime_rows,
    start_task,
    summarize_samples,
    vs,
)

NAME = "exec_latency"
TITLE = "Exec latency"
TARGET_RATIO = 1.3


@dataclass
class Runtime:
    execs_deleted: int
    exec_files_left: list[str]
    engine: Side
    bare_exec: Side
    bare_detach: Side

    def rows(self, rt: str) -> list[Row]:
        eng, bare, det = self.engine["total"], self.bare_exec["total"], self.bare_detach["total"]
        left = len(self.exec_files_left)
        return [
            vs(
                NAME,
                f"{rt}: exec /bin/true, median (n={eng.n})",
                eng.median,
                bare.median,
                f"`{rt} exec`",
                TARGET_RATIO,
            ),
            vs(NAME, f"{rt}: exec /bin/true, p90", eng.p90, bare.p90),
            Row(
                NAME,
                f"{rt}: CPU per exec, engine process / its children, median",
                cpu(self.engine),
                f"{cpu(self.bare_detach)} (worker, `exec --detach` + wait)",
            ),
            Row(
                NAME,
                f"{rt}: files left in the task dir after {self.execs_deleted} deleted execs",
                str(left),
                target="0 (deleted execs keep nothing)",
                met=left == 0,
            ),
            vs(NAME, f"{rt}: exec vs `exec --detach` + wait, median", eng.median, det.median),
        ]


@dataclass
class Result(BenchResult):
    runtimes: dict[str, Runtime]

    def rows(self) -> list[Row]:
        return runtime_rows(self.runtimes)

    def headline(self) -> list[list[str]]:
        med = {
            rt: (r.engine["total"].median, r.bare_exec["total"].median)
            for rt, r in self.runtimes.items()
        }
        return [
            [f"exec `/bin/true`, {rt}", ms(e), f"`{rt} exec`: {ms(b)}", fmt_ratio(e / b)]
            for rt, (e, b) in med.items()
        ]


async def measure(args: argparse.Namespace, ws: Workspace) -> Result:
    return Result(await per_runtime(args, ws, measure_runtime))


async def measure_runtime(
    args: argparse.Namespace, ws: Workspace, worker: BareWorker, runtime: str
) -> Runtime:
    rootfs = ws.rootfs()
    bundle = ws.bundle(f"sleep-{runtime}", ["/bin/sleep", "100000"], rootfs)
    bare_root = ws.root(runtime, "bare")
    bare_id = f"{ws.prefix}{runtime[0]}bare"
    init_pid = ws.dir / f"bare-{runtime}-init.pid"
    exec_pid = ws.dir / f"bare-{runtime}-exec.pid"
    rounds = args.rounds or (15 if args.quick else 80)
    warmup = 3 if args.quick else 8

    def rt(*a: str) -> list[str]:
        return runtime_argv(runtime, bare_root, *a)

    async with (
        bare_container(worker, rt, bundle, bare_id, init_pid),
        Engine(root=ws.root(runtime, "engine"), runtime=runtime) as engine,
    ):
        cid = f"{ws.prefix}{runtime[0]}eng"
        await start_task(engine, cid, bundle)

        async def engine_side(i: int) -> Sample:
            eid = f"x{i}"
            cpu = CpuMeter()
            t0 = time.perf_counter()
            await engine.tasks.exec(cid, eid, ["/bin/true"])
            await engine.tasks.start(cid, eid)
            t1 = time.perf_counter()
            ex = await engine.tasks.wait(cid, eid)
            t2 = time.perf_counter()
            await engine.tasks.delete(cid, eid)
            t3 = time.perf_counter()
            if ex.exit_status != 0:
                raise BenchError(f"engine exec of /bin/true exited {ex.exit_status}")
            times = {"total": t3 - t0, "start": t1 - t0, "wait": t2 - t1, "delete": t3 - t2}
            return times | cpu.sample()

        async def bare_exec(i: int) -> Sample:
            reply = await worker.steps({"argv": rt("exec", bare_id, "/bin/true")})
            return {k: reply[k] for k in ("total", "cpu_self", "cpu_children")}

        async def bare_detach(i: int) -> Sample:
            reply = await worker.steps(
                {"argv": rt("exec", "--detach", "--pid-file", str(exec_pid), bare_id, "/bin/true")},
                {"wait_pid_file": str(exec_pid)},
            )
            t = reply["times"]
            return {"total": reply["total"], "start": t[0], "wait": t[1]} | {
                k: reply[k] for k in ("cpu_self", "cpu_children")
            }

        samples = await interleave(
            {"engine": engine_side, "bare_exec": bare_exec, "bare_detach": bare_detach},
            rounds=rounds,
            warmup=warmup,
        )
        # Every exec was deleted: what did the engine keep of them in the task's directory?
        task_dir = engine.root / "tasks" / cid
        leftover = sorted(p.name for p in task_dir.iterdir() if p.name.startswith("exec-"))
        await remove_task(engine, cid)
    return Runtime(warmup + rounds, leftover, *(summarize_samples(samples[k]) for k in samples))


if __name__ == "__main__":
    sys.exit(run(NAME, measure))
