"""Exec latency: ``/bin/true`` run in a running task, through the engine and bare."""

import argparse
import sys
import time
from dataclasses import dataclass

from runtime import Engine

from . import _common as c

NAME = "exec_latency"
TITLE = "Exec latency"
TARGET_RATIO = 1.3


@dataclass
class Runtime(c.PerRuntime):
    execs_deleted: int
    exec_files_left: list[str]
    engine: c.Side
    bare_exec: c.Side
    bare_detach: c.Side

    def rows(self, rt: str) -> list[c.Row]:
        eng, bare, det = self.engine["total"], self.bare_exec["total"], self.bare_detach["total"]
        left, execs = len(self.exec_files_left), self.execs_deleted
        cpu = f"{rt}: CPU per exec, engine process / its children, median"
        bare_cpu = f"{c.cpu(self.bare_detach)} (worker, `exec --detach` + wait)"
        files = f"{rt}: files left in the task dir after {execs} deleted execs"
        return [
            c.vs(
                f"{rt}: exec /bin/true, median (n={eng.n})",
                eng.median,
                bare.median,
                f"`{rt} exec`",
                TARGET_RATIO,
            ),
            c.vs(f"{rt}: exec /bin/true, p90", eng.p90, bare.p90),
            c.Row(cpu, c.cpu(self.engine), bare_cpu),
            c.Row(files, str(left), target="0 (deleted execs keep nothing)", met=left == 0),
            c.vs(f"{rt}: exec vs `exec --detach` + wait, median", eng.median, det.median),
        ]


class Result(c.ByRuntime[Runtime]):
    def headline(self) -> list[list[str]]:
        med = {
            rt: (r.engine["total"].median, r.bare_exec["total"].median)
            for rt, r in self.runtimes.items()
        }
        return [
            [f"exec `/bin/true`, {rt}", c.ms(e), f"`{rt} exec`: {c.ms(b)}", f"{e / b:.2f}"]
            for rt, (e, b) in med.items()
        ]


async def measure_runtime(
    args: argparse.Namespace, ws: c.Workspace, worker: c.BareWorker, runtime: str
) -> Runtime:
    bundle, bare_root = (
        ws.bundle(f"sleep-{runtime}", ["/bin/sleep", "100000"]),
        ws.root(runtime, "bare"),
    )
    bare_id, init_pid, exec_pid = (
        f"{ws.prefix}{runtime[0]}bare",
        ws.dir / f"bare-{runtime}-init.pid",
        ws.dir / f"bare-{runtime}-exec.pid",
    )
    rounds, warmup = args.rounds or (15 if args.quick else 80), 3 if args.quick else 8

    def rt(*a: str) -> list[str]:
        return c.runtime_argv(runtime, bare_root, *a)

    async with (
        c.bare_container(worker, rt, bundle, bare_id, init_pid),
        Engine(root=ws.root(runtime, "engine"), runtime=runtime) as engine,
    ):
        cid = f"{ws.prefix}{runtime[0]}eng"
        await c.start_task(engine, cid, bundle)

        async def engine_side(i: int) -> c.Sample:
            eid = f"x{i}"
            cpu, t0 = c.cpu_times(), time.perf_counter()
            await engine.tasks.exec(cid, eid, ["/bin/true"])
            await engine.tasks.start(cid, eid)
            ex = await engine.tasks.wait(cid, eid)
            await engine.tasks.delete(cid, eid)
            sample = {"total": time.perf_counter() - t0} | c.cpu_since(cpu)
            if ex.exit_status != 0:
                raise c.BenchError(f"engine exec of /bin/true exited {ex.exit_status}")
            return sample

        async def bare_exec(i: int) -> c.Sample:
            return c.sample(await worker.steps({"argv": rt("exec", bare_id, "/bin/true")}))

        async def bare_detach(i: int) -> c.Sample:
            argv = rt("exec", "--detach", "--pid-file", str(exec_pid), bare_id, "/bin/true")
            return c.sample(await worker.steps({"argv": argv}, {"wait_pid_file": str(exec_pid)}))

        sides: c.Sides = {"engine": engine_side, "bare_exec": bare_exec, "bare_detach": bare_detach}
        samples = await c.interleave(sides, rounds=rounds, warmup=warmup)
        # Every exec was deleted: what did the engine keep of them in the task's directory?
        task_dir = engine.root / "tasks" / cid
        leftover = sorted(p.name for p in task_dir.iterdir() if p.name.startswith("exec-"))
        await c.remove_task(engine, cid)
    return Runtime(warmup + rounds, leftover, *(c.summarize(samples[k]) for k in samples))


if __name__ == "__main__":
    sys.exit(c.run(NAME, c.by_runtime(Result, measure_runtime)))
