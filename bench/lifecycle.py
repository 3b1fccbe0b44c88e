"""Task lifecycle, the engine's two paths against the bare runtime's same commands
(docs/benchmarks.md, Method).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from runtime import Engine, events

from ._common import (
    BareWorker,
    BenchError,
    BenchResult,
    CpuMeter,
    Row,
    Sample,
    Side,
    Stats,
    Workspace,
    fmt_ratio,
    interleave,
    ms,
    per_runtime,
    ratio,
    run,
    runtime_argv,
    runtime_rows,
    start_task,
    summarize_samples,
    table,
)

NAME = "lifecycle"
TITLE = "Engine against the bare runtime, path by path"
TARGET_RATIO = {"runc": 1.2, "crun": 1.5}
#: What the engine may add to a lifecycle on top of the runtime commands it issues.
TARGET_OWN_MS = 1.0
MANY = 100


def _exit_code(i: int) -> int:
    """100 different exit codes in 0..255 (37 is prime to 256), signal-looking ones included."""
    return (i * 37) % 256


async def interleaved(
    args: argparse.Namespace, ws: Workspace, worker: BareWorker, runtime: str, rootfs: Path
) -> tuple[dict[str, list[Sample]], list[int]]:
    bundle = ws.bundle(f"true-{runtime}", ["/bin/true"], rootfs)
    bare_root = ws.root(runtime, "bare")
    pid_file = ws.dir / f"bare-{runtime}.pid"
    # As the engine runs its create and run (runtime/oci.py): detached, telling a JSON log.
    logged = ["--log", str(ws.dir / f"bare-{runtime}.log"), "--log-format", "json"]
    rounds = args.rounds or (12 if args.quick else 60)
    warmup = 3 if args.quick else 6

    async with Engine(root=ws.root(runtime, "engine"), runtime=runtime) as engine:

        async def engine_side(i: int) -> Sample:
            cid = f"{ws.prefix}{runtime[0]}e{i}"
            cpu = CpuMeter()
            t0 = time.perf_counter()
            await engine.containers.create(cid, bundle)
            await engine.tasks.create(cid)
            t1 = time.perf_counter()
            await engine.tasks.start(cid)
            t2 = time.perf_counter()
            ex = await engine.tasks.wait(cid)
            t3 = time.perf_counter()
            await engine.tasks.delete(cid)
            await engine.containers.delete(cid)
            t4 = time.perf_counter()
            if ex.exit_status != 0:
                raise BenchError(f"engine: /bin/true exited {ex.exit_status}")
            return {
                "total": t4 - t0,
                "create": t1 - t0,
                "start": t2 - t1,
                "wait": t3 - t2,
                "delete": t4 - t3,
            } | cpu.sample()

        wrong_run: list[int] = []

        async def engine_run(i: int) -> Sample:
            cid = f"{ws.prefix}{runtime[0]}n{i}"
            cpu = CpuMeter()
            t0 = time.perf_counter()
            await engine.containers.create(cid, bundle)
            await engine.tasks.run(cid)
            t1 = time.perf_counter()
            ex = await engine.tasks.wait(cid)
            t2 = time.perf_counter()
            await engine.tasks.delete(cid)
            await engine.containers.delete(cid)
            t3 = time.perf_counter()
            if ex.exit_status != 0:
                # Counted, not raised: crun 1.8's `run --detach` returns before the init is
                # handed to the engine; the reaper waits for the hand-over, and this counts a
                # regression as a failed check in the report.
                wrong_run.append(ex.exit_status)
            return {"total": t3 - t0, "run": t1 - t0, "wait": t2 - t1, "delete": t3 - t2} | (
                cpu.sample()
            )

        async def bare_run(i: int) -> Sample:
            cid = f"{ws.prefix}{runtime[0]}r{i}"
            reply = await worker.steps(
                {"argv": runtime_argv(runtime, bare_root, "run", "--bundle", str(bundle), cid)}
            )
            return {k: reply[k] for k in ("total", "cpu_self", "cpu_children")}

        async def bare_steps(i: int) -> Sample:
            cid = f"{ws.prefix}{runtime[0]}s{i}"
            create = ["create", "--pid-file", str(pid_file), "--bundle", str(bundle), cid]
            reply = await worker.steps(
                {"argv": runtime_argv(runtime, bare_root, *logged, *create)},
                {"argv": runtime_argv(runtime, bare_root, "start", cid)},
                {"wait_pid_file": str(pid_file)},
                {"argv": runtime_argv(runtime, bare_root, "delete", "--force", cid)},
            )
            t = reply["times"]
            return {
                "total": reply["total"],
                "create": t[0],
                "start": t[1],
                "wait": t[2],
                "delete": t[3],
                "cpu_self": reply["cpu_self"],
                "cpu_children": reply["cpu_children"],
            }

        async def bare_detach(i: int) -> Sample:
            cid = f"{ws.prefix}{runtime[0]}d{i}"
            run = ["run", "--detach", "--pid-file", str(pid_file), "--bundle", str(bundle), cid]
            reply = await worker.steps(
                {"argv": runtime_argv(runtime, bare_root, *logged, *run)},
                {"wait_pid_file": str(pid_file)},
                {"argv": runtime_argv(runtime, bare_root, "delete", "--force", cid)},
            )
            t = reply["times"]
            return {"total": reply["total"], "run": t[0], "wait": t[1], "delete": t[2]} | {
                k: reply[k] for k in ("cpu_self", "cpu_children")
            }

        samples = await interleave(
            {
                "engine_steps": engine_side,
                "engine_run": engine_run,
                "bare_run": bare_run,
                "bare_detach": bare_detach,
                "bare_steps": bare_steps,
            },
            rounds=rounds,
            warmup=warmup,
        )
    return samples, wrong_run


async def many_at_once(ws: Workspace, runtime: str, rootfs: Path) -> list[str]:
    """Create and start 100 short tasks at once; what was wrong of their exit statuses."""
    bundles = [
        ws.bundle(f"exit{i}-{runtime}", ["/bin/sh", "-c", f"exit {_exit_code(i)}"], rootfs)
        for i in range(MANY)
    ]
    ids = [f"{ws.prefix}{runtime[0]}m{i}" for i in range(MANY)]
    async with Engine(root=ws.root(runtime, "engine-many"), runtime=runtime) as engine:
        sub = engine.subscribe(topics=[events.TASK_EXIT])
        await asyncio.gather(*(start_task(engine, ids[i], bundles[i]) for i in range(MANY)))
        exits = await asyncio.gather(*(engine.tasks.wait(cid) for cid in ids))
        await asyncio.gather(*(engine.tasks.delete(cid) for cid in ids))
        await asyncio.gather(*(engine.containers.delete(cid) for cid in ids))
        seen: dict[str, list[int]] = {}
        while (event := sub.get_nowait()) is not None:
            seen.setdefault(event.container_id, []).append(event.exit_status or 0)
        sub.close()
    wrong = [
        f"{c} wait {e.exit_status}"
        for i, (c, e) in enumerate(zip(ids, exits, strict=True))
        if e.exit_status != _exit_code(i)
    ]
    return wrong + [
        f"{c} events {seen.get(c)}" for i, c in enumerate(ids) if seen.get(c) != [_exit_code(i)]
    ]


PATHS = {
    "engine_run": ("`tasks.run`", "bare_detach", 2),
    "engine_steps": ("create + start", "bare_steps", 4),
}
ARMS = {
    "engine_run": "engine: container create, `tasks.run`, wait, delete, container delete",
    "engine_steps": "engine: container create, task create, start, wait, delete, container delete",
    "bare_run": "bare `run` (one command)",
    "bare_detach": "bare `run --detach`, wait, `delete --force`",
    "bare_steps": "bare `create`, `start`, wait, `delete --force`",
}


@dataclass
class Runtime:
    sides: dict[str, Side]
    #: Per path, the per-round differences to its baseline's same commands.
    own: dict[str, Side]
    run_lifecycles: int
    run_wrong_status: list[int]
    many_wrong: list[str]

    def total(self, side: str) -> Stats:
        return self.sides[side]["total"]

    def cpu(self, side: str) -> str:
        cpu = self.sides[side]
        return f"{ms(cpu['cpu_self'].median)} / {ms(cpu['cpu_children'].median)}"

    def rows(self, rt: str) -> list[Row]:
        bare = self.total("bare_run")
        target = TARGET_RATIO[rt]
        rows = []
        for path, (label, base, n) in PATHS.items():
            eng, own = self.total(path), self.own[path]
            r = ratio(eng.median, bare.median)
            rows += [
                Row(
                    NAME,
                    f"{rt}: the engine's own time per {label} lifecycle (median of per-round"
                    f" differences to the same {n} runtime commands; its own CPU beside)",
                    f"{ms(own['total'].median)} (CPU {ms(own['cpu_self'].median)})",
                    f"{ms(eng.median)} vs {ms(self.total(base).median)}",
                    target=f"<= {TARGET_OWN_MS:.0f} ms",
                    met=own["total"].median * 1e3 <= TARGET_OWN_MS,
                ),
                Row(
                    NAME,
                    f"{rt}: /bin/true lifecycle by {label}, median (n={eng.n})",
                    ms(eng.median),
                    f"{ms(bare.median)} (`{rt} run`)",
                    fmt_ratio(r),
                    f"<= {target}",
                    r <= target,
                ),
                Row(
                    NAME,
                    f"{rt}: {label} lifecycle, p90",
                    ms(eng.p90),
                    ms(bare.p90),
                    fmt_ratio(ratio(eng.p90, bare.p90)),
                ),
                Row(
                    NAME,
                    f"{rt}: {label} lifecycle vs the same {n} runtime commands, median",
                    ms(eng.median),
                    f"{ms(self.total(base).median)}",
                    fmt_ratio(r2 := ratio(eng.median, self.total(base).median)),
                    f"<= {target}" if n == 2 else "",
                    r2 <= target if n == 2 else None,
                ),
                Row(
                    NAME,
                    f"{rt}: CPU per {label} lifecycle, engine process / its children, median",
                    self.cpu(path),
                    f"{self.cpu(base)} (worker, {n} commands)",
                    fmt_ratio(
                        ratio(
                            self.sides[path]["cpu_self"].median, self.sides[base]["cpu_self"].median
                        )
                    ),
                ),
            ]
        wrong = self.run_wrong_status
        rows += [
            Row(
                NAME,
                f"{rt}: `tasks.run` of /bin/true, exit status 0 by `wait`",
                f"{self.run_lifecycles - len(wrong)} of {self.run_lifecycles}"
                + (f" (others: {sorted(set(wrong))})" if wrong else ""),
                target="all",
                met=not wrong,
                check=True,
            ),
            Row(
                NAME,
                f"{rt}: {MANY} tasks at once, exit statuses (wait and /tasks/exit)",
                "; ".join(self.many_wrong[:5]) or "all right",
                target="every status right",
                met=not self.many_wrong,
                check=True,
            ),
        ]
        return rows

    def section(self, rt: str) -> str:
        body = []
        for key, what in ARMS.items():
            side = self.sides[key]
            phases = [k for k in side if k not in ("total", "cpu_self", "cpu_children")]
            body.append(
                [
                    what,
                    ms(side["total"].median),
                    ms(side["total"].p90),
                    ", ".join(f"{p} {side[p].median * 1e3:.1f}" for p in phases),
                    self.cpu(key),
                ]
            )
        med = {k: self.total(k).median for k in ARMS}
        return (
            f"**{rt}** ({self.total('engine_run').n} interleaved rounds). Through `tasks.run` the"
            f" engine takes {med['engine_run'] / med['bare_run']:.2f} times as long as `{rt} run`;"
            f" the two commands it has the runtime run (`run --detach`, `delete`) take"
            f" {med['bare_detach'] / med['bare_run']:.2f} times as long as `run` by hand, and the"
            f" engine adds {100 * (med['engine_run'] / med['bare_detach'] - 1):.0f}% to those.\n\n"
            + table(
                [
                    "path",
                    "median",
                    "p90",
                    "phases, median (ms)",
                    "CPU: measuring process / its children",
                ],
                body,
            )
        )


@dataclass
class Result(BenchResult):
    runtimes: dict[str, Runtime]

    def rows(self) -> list[Row]:
        return runtime_rows(self.runtimes)

    def section(self, docs: Path) -> str:
        return "\n\n".join(r.section(rt) for rt, r in self.runtimes.items())

    def headline(self) -> list[list[str]]:
        return [
            [
                f"`/bin/true` lifecycle, {rt} (`tasks.run`, wait, delete)",
                ms(r.total("engine_run").median),
                f"`{rt} run`: {ms(r.total('bare_run').median)}; `run -d` + `delete`:"
                f" {ms(r.total('bare_detach').median)}",
                f"{r.total('engine_run').median / r.total('bare_run').median:.2f};"
                f" {r.total('engine_run').median / r.total('bare_detach').median:.2f}",
            ]
            for rt, r in self.runtimes.items()
        ]


async def measure(args: argparse.Namespace, ws: Workspace) -> Result:
    return Result(await per_runtime(args, ws, measure_runtime))


async def measure_runtime(
    args: argparse.Namespace, ws: Workspace, worker: BareWorker, runtime: str
) -> Runtime:
    rootfs = ws.rootfs()
    samples, wrong = await interleaved(args, ws, worker, runtime, rootfs)
    own = {
        path: summarize_samples(
            [
                {k: e[k] - b[k] for k in ("total", "cpu_self")}
                for e, b in zip(samples[path], samples[base], strict=True)
            ]
        )
        for path, (_, base, _) in PATHS.items()
    }
    sides = {k: summarize_samples(v) for k, v in samples.items()}
    warmup_and_rounds = len(samples["engine_run"]) + (3 if args.quick else 6)
    many = await many_at_once(ws, runtime, rootfs)
    return Runtime(sides, own, warmup_and_rounds, wrong, many)


if __name__ == "__main__":
    sys.exit(run(NAME, measure))
