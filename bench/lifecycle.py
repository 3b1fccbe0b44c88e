"""A ``/bin/true`` container's lifecycle: the engine's two paths against the bare runtime's
same commands and against containerd; N at once; memory (docs/benchmarks.md, Method)."""

import argparse
import asyncio
import gc
import itertools
import json
import math
import shutil
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import psutil

from runtime import Engine, events
from runtime.bundle import task_bundle
from runtime.cgroups import remove_empty
from runtime.spec import load_spec
from tests.containerd import image
from tests.containerd.daemon import Daemon, unavailable

from . import _common as c

NAME = "lifecycle"
TITLE = "Lifecycle: the engine, bare runtimes and containerd"
TARGET_RATIO = {"runc": 1.2, "crun": 1.5}
#: The engine's own time per lifecycle (on top of the runtime commands it issues), its
#: speed-up over containerd, its RSS per running task.
TARGET_OWN_MS, TARGET_SPEEDUP, TARGET_MIB_PER_TASK = 1.0, 5.0, 1.0
MANY = 100
REPS = {10: 3, 50: 1, 100: 1}
#: The engine's two paths: what they are called, the bare side issuing the same runtime
#: commands, and how many.
PATHS = {"run": ("`tasks.run`", "detach", 2), "steps": ("create + start", "steps", 4)}
ARMS = {
    "engine_run": "engine: container create, `tasks.run`, wait, delete, container delete",
    "engine_steps": "engine: container create, task create, start, wait, delete, container delete",
    "bare_run": "bare `run` (one command)",
    "bare_detach": "bare `run --detach`, wait, `delete --force`",
    "bare_steps": "bare `create`, `start`, wait, `delete --force`",
}


def speedup(metric: str, engine: float, containerd: float) -> c.Row:
    x, ctd, target = c.ratio(containerd, engine), f"{c.ms(containerd)} (containerd)", TARGET_SPEEDUP
    return c.Row(metric, c.ms(engine), ctd, f"{x:.1f}x", f">= {target:.0f}x", x >= target)


def mib(value: float) -> str:
    return f"{value:.3f} MiB"


def label(system: str) -> str:
    """A system of the comparison: ``engine-<rt>``, ``<rt>`` (bare) or ``containerd``."""
    if system.startswith("engine-"):
        return f"engine ({system[7:]})"
    return "containerd 1.6" if system == "containerd" else f"bare {system}"


@dataclass
class Memory:
    rss: int
    pss: int
    uss: int

    @classmethod
    def of(cls, process: psutil.Process) -> "Memory":
        m = process.memory_full_info()
        return cls(m.rss, m.pss, m.uss)

    def __add__(self, other: "Memory") -> "Memory":
        return Memory(self.rss + other.rss, self.pss + other.pss, self.uss + other.uss)

    def cells(self, bold: bool = False) -> list[str]:
        cells = [f"{v / c.MIB:.1f}" for v in (self.rss, self.pss, self.uss)]
        return [f"**{v}**" for v in cells] if bold else cells


@dataclass
class EngineMemory:
    running: int
    before: Memory
    after: Memory

    @property
    def per_task_mib(self) -> float:
        return (self.after.rss - self.before.rss) / self.running / c.MIB


@dataclass
class Runtime:
    sides: dict[str, c.Side]
    #: Per path, the per-round differences to the bare side's same commands, and a 95%
    #: confidence interval of their median total (seconds).
    own: dict[str, c.Side]
    own_interval: dict[str, tuple[float, float]]
    lifecycles: int
    wrong_status: list[int]
    many_wrong: list[str]
    memory: EngineMemory

    def median(self, arm: str) -> float:
        return self.sides[arm]["total"].median

    def rows(self, rt: str) -> list[c.Row]:
        rows, ms, target, many = [], c.ms, TARGET_RATIO[rt], self.many_wrong
        for path, (name, base, cmds) in PATHS.items():
            eng, (lo, hi) = self.sides[f"engine_{path}"]["total"], self.own_interval[path]
            own, cpu = self.own[path]["total"].median, self.own[path]["cpu_self"].median
            figure = f"{ms(own)} ({ms(lo)} to {ms(hi)}; CPU {ms(cpu)})"
            what = f"{rt}: the engine's own time per {name} lifecycle ({cmds} runtime commands)"
            bare = f"{ms(eng.median)} vs {ms(self.median(f'bare_{base}'))}"
            rows.append(c.at_most(what, own, TARGET_OWN_MS / 1e3, ms, figure, bare=bare))
            what = f"{rt}: /bin/true lifecycle by {name}, median (n={eng.n})"
            rows.append(c.vs(what, eng.median, self.median("bare_run"), f"`{rt} run`", target))
        wrong, n, mem = self.wrong_status, self.lifecycles, self.memory
        good = f"{n - len(wrong)} of {n}" + (f" {sorted(set(wrong))}" if wrong else "")
        # Its p90s and CPU are in the path tables of the section; this ratio has a target.
        what = f"{rt}: `tasks.run` lifecycle vs the same 2 runtime commands, median"
        run, detach = self.median("engine_run"), self.median("bare_detach")
        return [
            *rows,
            c.vs(what, run, detach, target=target),
            c.check(
                f"{rt}: `tasks.run` of /bin/true, exit status 0 by `wait`", good, not wrong, "all"
            ),
            c.check(
                f"{rt}: {MANY} tasks at once, exit statuses (wait and /tasks/exit)",
                *("; ".join(many[:5]) or "all right", not many, "every status right"),
            ),
            c.at_most(
                f"{rt}: engine RSS per running task ({mem.running} sleep tasks)",
                *(mem.per_task_mib, TARGET_MIB_PER_TASK, mib),
            ),
        ]

    def section(self, rt: str) -> str:
        body = []
        for arm, what in ARMS.items():
            side, total = self.sides[arm], self.sides[arm]["total"]
            phases = [k for k in side if k not in ("total", "cpu", "cpu_self", "cpu_children")]
            each = ", ".join(f"{p} {side[p].median * 1e3:.1f}" for p in phases)
            body.append([what, c.ms(total.median), c.ms(total.p90), each, c.cpu(side)])
        head = ["path", "median", "p90", "phases, median (ms)", "CPU: process / its children"]
        return f"**{rt}**\n\n" + c.table(head, body)


@dataclass
class Result(c.BenchResult):
    runtimes: dict[str, Runtime]
    containerd: c.Side | None
    #: N at once -> system -> the latencies of its lifecycles from the common start.
    concurrency: dict[int, dict[str, c.Stats]]
    containerd_memory: list[Memory]
    containerd_left: list[str]

    def rows(self) -> list[c.Row]:
        rows = [row for rt, r in self.runtimes.items() for row in r.rows(rt)]
        if self.containerd is None:
            return rows
        by, ctd = self.concurrency[MANY], self.containerd["total"].median
        if "crun" in self.runtimes:
            what = "crun: lifecycle speed-up over containerd (containerd / engine, medians)"
            rows.append(speedup(what, self.runtimes["crun"].median("engine_run"), ctd))
            what = f"crun: {MANY} at once, speed-up over containerd (medians)"
            rows.append(speedup(what, by["engine-crun"].median, by["containerd"].median))
        left = ", ".join(self.containerd_left)
        what = "containerd stopped; no shim, mount, cgroup or file of it left"
        return [*rows, c.check(what, f"LEFT: {left}" if left else "clean", not left, "clean")]

    def systems(self) -> dict[str, c.Side]:
        out = {f"engine-{rt}": r.sides["engine_run"] for rt, r in self.runtimes.items()}
        out |= {rt: r.sides["bare_run"] for rt, r in self.runtimes.items()}
        return out | ({"containerd": self.containerd} if self.containerd else {})

    def shim_mib(self) -> float:
        return c.stats([m.rss for m in self.containerd_memory[1:]]).median / c.MIB

    def section(self, name: str, docs: Path) -> str:
        systems = self.systems()
        base = (systems.get("engine-crun") or next(iter(systems.values())))["total"].median
        ctd = self.containerd["total"].median if self.containerd else math.nan
        head = ["system", "median", "p90", "CPU per lifecycle (mean)", "vs engine (crun)"]
        body = [
            [
                label(s),
                *map(c.ms, (t.median, t.p90, side["cpu"].mean)),
                f"{t.median / base:.2f}",
                f"{ctd / t.median:.1f}",
            ]
            for s, side in systems.items()
            if (t := side["total"])
        ]
        vs_ctd = "containerd" in systems and "engine-crun" in systems
        n_head = ["N at once", *(f"{label(s)} (ms)" for s in systems)]
        n_body = [
            [str(n), *(f"{by[s].median * 1e3:.0f} / {by[s].p90 * 1e3:.0f}" for s in systems)]
            + ([f"{by['containerd'].median / by['engine-crun'].median:.1f}"] if vs_ctd else [])
            for n, by in sorted(self.concurrency.items())
        ]
        self.plot(docs / "benchmarks-concurrency.svg")
        parts = [
            c.table([*head, "containerd is ... times slower"], body),
            "![Median lifecycle latency against N started at once](benchmarks-concurrency.svg)",
            "Median / p90 of N lifecycles started at once, each from the common start to its"
            " end; N = 1 is the interleaved rounds above.",
            c.table(n_head + (["containerd / engine (crun)"] if vs_ctd else []), n_body),
        ]
        if self.containerd_memory:
            daemon, *shims = self.containerd_memory
            n, shim_sum = len(shims), sum(shims, Memory(0, 0, 0))
            engine = "engine process ({}), {} `sleep` tasks".format
            mem = [
                [engine(rt, r.memory.running), *r.memory.after.cells()]
                for rt, r in self.runtimes.items()
            ]
            mem += [
                [f"containerd daemon, {n} `sleep` containers", *daemon.cells()],
                [f"its {n} shims (median RSS {self.shim_mib():.1f} MiB)", *shim_sum.cells()],
                ["**containerd + shims**", *(daemon + shim_sum).cells(bold=True)],
            ]
            parts.append(c.table(["", "RSS (MiB)", "PSS (MiB)", "USS (MiB)"], mem))
        return "\n\n".join(parts + [r.section(rt) for rt, r in self.runtimes.items()])

    def plot(self, path: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")  # no display: a file only
        matplotlib.rcParams["svg.hashsalt"] = NAME  # ids from the figures, not at random
        from matplotlib import pyplot as plt

        fig, ax = plt.subplots(figsize=(7.6, 4.6))
        ns = sorted(self.concurrency)
        for s in self.systems():
            ys = [self.concurrency[n][s].median * 1e3 for n in ns]
            ax.plot(ns, ys, "-" if s.startswith("engine") else "--", marker="o", label=label(s))
        ax.set(xscale="log", yscale="log", title="Lifecycle of /bin/true with N at once")
        ax.set(xlabel="lifecycles started at once (N)", ylabel="median latency (ms)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="upper left", fontsize="small")
        # No date in the file: the same figures give the same file.
        fig.savefig(path, format="svg", metadata={"Date": None})
        plt.close(fig)

    def headline(self) -> list[list[str]]:
        rows = []
        shims = f"containerd-shim: {self.shim_mib():.1f} MiB each" if self.containerd_memory else ""
        for rt, r in self.runtimes.items():
            e, b, d = (r.median(k) for k in ("engine_run", "bare_run", "bare_detach"))
            what = f"`/bin/true` lifecycle, {rt} (`tasks.run`, wait, delete)"
            anchor = f"`{rt} run`: {c.ms(b)}; `run -d` + `delete`: {c.ms(d)}"
            rows.append([what, c.ms(e), anchor, f"{e / b:.2f}; {e / d:.2f}"])
            if self.containerd:
                ctd = self.containerd["total"].median
                what = f"lifecycle beside containerd (`ctr run --rm`), {rt}"
                rows.append([what, c.ms(e), c.ms(ctd), f"{ctd / e:.1f}x faster"])
            mem = f"{mib(r.memory.per_task_mib)} (in one process)"
            rows.append([f"memory per running container, {rt}", mem, shims])
        return rows


class Containerd:
    """The private containerd's side: ``ctr`` through the bare worker, and the CPU of the
    daemon and of the shims its supervisor reaped."""

    def __init__(self, daemon: Daemon, worker: c.BareWorker) -> None:
        assert daemon.process is not None
        self.daemon, self.worker = daemon, worker
        self.supervisor = psutil.Process(daemon.process.pid)
        self.containerd = self.supervisor.children()[0]
        ctr = shutil.which("ctr") or "ctr"  # the worker spawns by path
        self.ctr = [ctr, "--address", str(daemon.socket), "--namespace", daemon.namespace]

    def run_argv(self, cid: str, *argv: str, detach: bool = False) -> list[str]:
        mode = "--detach" if detach else "--rm"
        return [*self.ctr, "run", mode, "--null-io", image.NAME, cid, *argv]

    def shims(self) -> list[psutil.Process]:
        return [p for p in self.supervisor.children() if "shim" in p.name()]

    def cpu(self) -> float:
        d, s = self.containerd.cpu_times(), self.supervisor.cpu_times()
        return float(sum(d[:4]) + s.children_user + s.children_system)

    async def settle(self, limit: float = 0.5) -> None:
        """containerd goes on working after ctr returns (the shim exits, the GC runs): wait
        until it is quiet, so that its tail lands in its own sample, not the next one."""
        t0, last = time.perf_counter(), self.cpu()
        while time.perf_counter() - t0 < limit:
            await asyncio.sleep(0.02)
            if (now := self.cpu()) == last and not self.shims():
                break
            last = now

    async def memory(self, prefix: str) -> list[Memory]:
        """The daemon's memory, then each shim's, with 100 running ``sleep`` containers."""
        ids = [f"{prefix}k{i}" for i in range(MANY)]
        for batch in range(0, MANY, 10):
            sleeps = [
                self.run_argv(i, "sleep", "100000", detach=True) for i in ids[batch : batch + 10]
            ]
            await self.worker.parallel(sleeps)
        await asyncio.sleep(0.5)
        out = [Memory.of(p) for p in (self.containerd, *self.shims())]
        await self.worker.steps({"argv": [*self.ctr, "tasks", "delete", "--force", *ids]})
        await self.worker.steps({"argv": [*self.ctr, "containers", "delete", *ids]})
        await self.settle(limit=3.0)
        return out


class Sides:
    """Every side of the comparison, one lifecycle or N at once; every id unique."""

    def __init__(self, ws: c.Workspace, worker: c.BareWorker) -> None:
        self.ws, self.worker = ws, worker
        self.ctd: Containerd | None = None
        self.engines: dict[str, Engine] = {}
        self.bundle = ws.bundle("true", ["/bin/true"])
        # The own-time pairs' bare side gives the runtime what the engine gives it: the bundle
        # task_bundle writes (a cgroup one level below a parent of its own) and, in bare(),
        # pipes for the container's stdio. Each costs the runtime itself a little.
        self.bare_cgroup = f"{ws.prefix}bare"
        task_dir, cgroup = ws.dir / "bundles" / "true-task", f"{self.bare_cgroup}/lifecycle"
        self.task_bundle = task_bundle(self.bundle, load_spec(self.bundle), task_dir, cgroup)
        self.ids = (f"{ws.prefix}{i}" for i in itertools.count(1))
        self.last = ""  # the system of the last lifecycle: a runtime or containerd
        self.wrong: dict[str, list[int]] = {}

    def side(self, arm: str, rt: str = "") -> Callable[[int], Awaitable[c.Sample]]:
        """One lifecycle of ``arm`` (``engine_run``, ``bare_detach``, ``containerd``...)."""

        async def once() -> c.Sample:
            if arm == "containerd":
                return await self.containerd()
            if arm.startswith("engine_"):
                return await self.engine(rt, steps=arm == "engine_steps")
            return await self.bare(rt, arm[5:])

        async def one(_: int) -> c.Sample:
            # After another system's lifecycle (runc's, crun's, containerd's) the kernel is
            # still tearing its container down: 3 to 9 ms on the arm the alternating order
            # puts next, always the same ones (crun's `tasks.run` after runc's, crun's bare
            # create + start after containerd). One lifecycle unmeasured first.
            if arm != "containerd" and self.last != rt:
                await once()
            self.last = rt or arm
            sample = await once()
            return sample | {"cpu": sample["cpu_self"] + sample["cpu_children"]}

        return one

    async def engine(self, rt: str, steps: bool = False, t0: float | None = None) -> c.Sample:
        engine, cid, cpu = self.engines[rt], next(self.ids), c.cpu_times()
        times = [t0 or time.perf_counter()]
        await engine.containers.create(cid, self.bundle)
        if steps:
            await engine.tasks.create(cid)
            times.append(time.perf_counter())
            await engine.tasks.start(cid)
        else:
            await engine.tasks.run(cid)
        times.append(time.perf_counter())
        status = (await engine.tasks.wait(cid)).exit_status
        times.append(time.perf_counter())
        await engine.tasks.delete(cid)
        await engine.containers.delete(cid)
        times.append(time.perf_counter())
        if status:
            # Counted, not raised: a failed check in the report (crun 1.8's `run --detach`
            # returns before the init is the engine's child: the reaper waits for it).
            self.wrong.setdefault(rt, []).append(status)
        phases = ["create", "start"] if steps else ["run"]
        spans = [b - a for a, b in itertools.pairwise(times)]
        sample = dict(zip([*phases, "wait", "delete"], spans, strict=True))
        return sample | {"total": times[-1] - times[0]} | c.cpu_since(cpu)

    async def bare(self, rt: str, kind: str) -> c.Sample:
        cid, pid, bundle = next(self.ids), str(self.ws.dir / "bare.pid"), str(self.task_bundle)
        root = self.ws.dir / f"bare-{rt}"

        def argv(*a: str, **kw: Any) -> dict[str, Any]:
            return {"argv": c.runtime_argv(rt, root, *a), **kw}

        # As the engine runs its create and run (runtime/oci.py): detached, a JSON log.
        logged = ("--log", str(self.ws.dir / "bare.log"), "--log-format", "json")
        at, wait, delete = (
            ("--pid-file", pid, "--bundle", bundle, cid),
            {"wait_pid_file": pid},
            argv("delete", "--force", cid),
        )
        commands: dict[str, list[dict[str, Any]]] = {
            "run": [argv("run", "--bundle", str(self.bundle), cid)],
            "detach": [argv(*logged, "run", "--detach", *at, pipes=True), wait, delete],
            "steps": [argv(*logged, "create", *at, pipes=True), argv("start", cid), wait, delete],
        }
        phases = {
            "run": [],
            "detach": ["run", "wait", "delete"],
            "steps": ["create", "start", "wait", "delete"],
        }
        return c.sample(await self.worker.steps(*commands[kind]), *phases[kind])

    async def containerd(self) -> c.Sample:
        assert self.ctd is not None
        before = self.ctd.cpu()
        reply = await self.worker.steps({"argv": self.ctd.run_argv(next(self.ids), "/bin/true")})
        await self.ctd.settle()
        spent = reply["cpu_self"] + reply["cpu_children"] + self.ctd.cpu() - before
        return {"total": reply["total"], "cpu_self": spent, "cpu_children": 0.0}

    async def batch(self, system: str, n: int) -> list[float]:
        """``n`` lifecycles started at once; each one's latency from the common start."""
        if system.startswith("engine-"):
            t0 = time.perf_counter()
            done = await asyncio.gather(*(self.engine(system[7:], t0=t0) for _ in range(n)))
            return [s["total"] for s in done]
        if self.ctd is not None and system == "containerd":
            times = await self.worker.parallel(
                [self.ctd.run_argv(next(self.ids), "/bin/true") for _ in range(n)]
            )
            await self.ctd.settle(limit=3.0)
            return times
        root, run = self.ws.dir / f"bare-{system}", ("run", "--bundle", str(self.bundle))
        return await self.worker.parallel(
            [c.runtime_argv(system, root, *run, next(self.ids)) for _ in range(n)]
        )


async def memory_probe(root: Path, runtime: str, bundle: Path, prefix: str) -> EngineMemory:
    """The engine process before and after 100 running ``sleep`` tasks: in a fresh process,
    as freed Python memory stays in a process."""
    async with Engine(root=root, runtime=runtime) as engine:

        async def launch(tag: str, n: int = MANY) -> list[str]:
            ids = [f"{prefix}{tag}{i}" for i in range(n)]
            await c.ten_at_once(partial(c.start_task, engine, bundle=bundle), ids)
            gc.collect()
            return ids

        # Every code path a task takes, once, before the first measurement.
        await asyncio.gather(*(c.remove_task(engine, cid) for cid in await launch("w", 10)))
        gc.collect()
        before = Memory.of(psutil.Process())
        ids = await launch("k")
        await asyncio.sleep(0.2)
        after = Memory.of(psutil.Process())
        running = sum(1 for t in engine.tasks.list() if t.status == "running")
        await asyncio.gather(*(c.remove_task(engine, cid) for cid in ids))
    return EngineMemory(running, before, after)


def engine_memory(ws: c.Workspace, rt: str) -> EngineMemory:
    bundle = ws.bundle(f"sleep-{rt}", ["/bin/sleep", "100000"])
    argv = [sys.executable, "-m", "bench.lifecycle", "--memory-probe", rt]
    argv += [str(ws.root(rt, "engine-mem")), str(bundle), f"{ws.prefix}{rt[0]}"]
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=c.REPO, timeout=600)
    if proc.returncode != 0:
        raise c.BenchError(f"memory probe failed: {proc.stderr[-2000:]}")
    return c.convert.structure(json.loads(proc.stdout), EngineMemory)


async def many_at_once(ws: c.Workspace, engine: Engine, rt: str) -> list[str]:
    """100 tasks ``sh -c "exit N"`` started at once: what was wrong of their statuses."""
    # 100 different exit codes in 0..255 (37 is prime to 256), signal-looking ones included.
    codes = {f"{ws.prefix}{rt[0]}m{i}": (i * 37) % 256 for i in range(MANY)}
    bundles = {
        cid: ws.bundle(cid, ["/bin/sh", "-c", f"exit {code}"]) for cid, code in codes.items()
    }
    sub = engine.subscribe(topics=[events.TASK_EXIT])
    await asyncio.gather(*(c.start_task(engine, cid, b) for cid, b in bundles.items()))
    exits = await asyncio.gather(*(engine.tasks.wait(cid) for cid in codes))
    await asyncio.gather(*(c.remove_task(engine, cid, kill=False) for cid in codes))
    seen: dict[str, list[int]] = {}
    while (event := sub.get_nowait()) is not None:
        seen.setdefault(event.container_id, []).append(event.exit_status or 0)
    sub.close()
    wrong = [
        f"{cid} wait {e.exit_status}"
        for cid, e in zip(codes, exits, strict=True)
        if e.exit_status != codes[cid]
    ]
    return wrong + [
        f"{cid} events {seen.get(cid)}" for cid, code in codes.items() if seen.get(cid) != [code]
    ]


async def measure(args: argparse.Namespace, ws: c.Workspace) -> Result:
    rounds, warmup = args.rounds or (12 if args.quick else 60), 3 if args.quick else 6
    # Every process that spawns starts before any Engine opens in this process.
    memory = {rt: engine_memory(ws, rt) for rt in args.runtimes}
    worker = c.BareWorker(ws.dir / "worker.log")
    daemon = Daemon(ws.dir / "ctd", f"{ws.prefix}c") if unavailable() is None else None
    sides = Sides(ws, worker)
    ctd_memory: list[Memory] = []
    left: list[str] = []
    many: dict[str, list[str]] = {}
    try:
        if daemon is not None:
            daemon.dir.mkdir()
            await asyncio.to_thread(daemon.start)
            await asyncio.to_thread(daemon.import_image)
            sides.ctd = Containerd(daemon, worker)
            ctd_memory = await sides.ctd.memory(ws.prefix)
        for rt in args.runtimes:
            sides.engines[rt] = await Engine(root=ws.root(rt, "engine"), runtime=rt).open()
            ws.root(rt, "bare")
        fns = {f"{arm} {rt}": sides.side(arm, rt) for rt in args.runtimes for arm in ARMS}
        fns |= {"containerd": sides.side("containerd")} if sides.ctd else {}
        samples = await c.interleave(fns, rounds=rounds, warmup=warmup)
        names = [f"engine-{rt}" for rt in args.runtimes] + args.runtimes
        names += ["containerd"] if sides.ctd else []
        concurrency: dict[int, dict[str, list[float]]] = {n: {s: [] for s in names} for n in REPS}
        for n, reps in REPS.items():
            for rep in range(1 if args.quick else reps):
                for s in names if rep % 2 == 0 else names[::-1]:
                    concurrency[n][s] += await sides.batch(s, n)
        for rt, engine in sides.engines.items():
            many[rt] = await many_at_once(ws, engine, rt)
    finally:
        for engine in sides.engines.values():
            await engine.close()
        if daemon is not None:
            left = await asyncio.to_thread(daemon.stop)
        await worker.aclose()
        remove_empty(sides.bare_cgroup)  # the bare side's parent; its containers' are gone
    runtimes = {}
    for rt in args.runtimes:
        mine = {k.split()[0]: v for k, v in samples.items() if k.endswith(f" {rt}")}
        own, interval = {}, {}
        for path, (_, base, _) in PATHS.items():
            pairs = zip(mine[f"engine_{path}"], mine[f"bare_{base}"], strict=True)
            diffs = [{k: e[k] - b[k] for k in ("total", "cpu_self")} for e, b in pairs]
            own[path], interval[path] = (
                c.summarize(diffs),
                c.median_interval([d["total"] for d in diffs]),
            )
        sides_rt = {k: c.summarize(v) for k, v in mine.items()}
        wrong = sides.wrong.get(rt, [])
        runtimes[rt] = Runtime(
            sides_rt, own, interval, rounds + warmup, wrong, many[rt], memory[rt]
        )
    containerd = c.summarize(samples["containerd"]) if "containerd" in samples else None
    result = Result(runtimes, containerd, {}, ctd_memory, left)
    result.concurrency = {1: {s: side["total"] for s, side in result.systems().items()}}
    result.concurrency |= {
        n: {s: c.stats(v) for s, v in by.items()} for n, by in concurrency.items()
    }
    return result


if __name__ == "__main__":
    if sys.argv[1:2] == ["--memory-probe"]:
        rt, root, bundle, prefix = sys.argv[2:6]
        probe = asyncio.run(memory_probe(Path(root), rt, Path(bundle), prefix))
        print(json.dumps(c.convert.unstructure(probe)))
        sys.exit(0)
    sys.exit(c.run(NAME, measure))
