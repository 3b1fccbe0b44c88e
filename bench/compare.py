"""The engine against bare runc, bare crun and containerd 1.6: lifecycle, N at once, memory."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import psutil

from runtime import Engine
from tests.containerd import image
from tests.containerd.daemon import Daemon, unavailable

from ._common import (
    MIB,
    REPO,
    BareWorker,
    BenchError,
    BenchResult,
    CpuMeter,
    Row,
    Sample,
    Side,
    Stats,
    Workspace,
    convert,
    interleave,
    ms,
    ratio,
    remove_task,
    run,
    runtime_argv,
    start_task,
    stats,
    summarize_samples,
    table,
)

NAME = "compare"
TITLE = "Lifecycle: the engine, bare runtimes and containerd"
REPS = {10: 3, 50: 1, 100: 1}
TARGET_SPEEDUP = 5.0
TARGET_MIB_PER_TASK = 1.0
MANY = 100
LABELS = {"runc": "bare runc", "crun": "bare crun", "containerd": "containerd 1.6"}


def label(system: str) -> str:
    return f"engine ({system[7:]})" if system.startswith("engine-") else LABELS[system]


@dataclass
class Memory:
    """RSS, PSS and USS in bytes (PSS divides shared pages, such as the shims' one binary,
    among the processes that map them; USS is what a process alone holds)."""

    rss: int
    pss: int
    uss: int

    def __add__(self, other: Memory) -> Memory:
        return Memory(self.rss + other.rss, self.pss + other.pss, self.uss + other.uss)

    def cells(self) -> list[str]:
        return [f"{v / MIB:.1f}" for v in (self.rss, self.pss, self.uss)]


@dataclass
class EngineMemory:
    running: int
    before: Memory
    after: Memory

    @property
    def per_task_mib(self) -> float:
        return (self.after.rss - self.before.rss) / self.running / MIB


@dataclass
class ContainerdMemory:
    daemon: Memory
    shims: list[Memory]

    @property
    def shims_total(self) -> Memory:
        total = Memory(0, 0, 0)
        for shim in self.shims:
            total = total + shim
        return total


@dataclass
class Result(BenchResult):
    systems: list[str]
    lifecycle: dict[str, Side]
    #: N at once -> system -> the latencies of its lifecycles.
    concurrency: dict[int, dict[str, Stats]]
    engine_memory: dict[str, EngineMemory]
    containerd_memory: ContainerdMemory | None
    wrong_status: dict[str, list[int]]
    containerd_left: list[str]

    def med(self, system: str) -> float:
        return self.lifecycle[system]["total"].median

    def rows(self) -> list[Row]:
        rows = []
        ctd = "containerd" in self.systems
        for e in [s for s in self.systems if s.startswith("engine-") and ctd]:
            speedup = ratio(self.med("containerd"), self.med(e))
            target = e == "engine-crun"
            rows.append(
                Row(
                    NAME,
                    f"{e} vs containerd: lifecycle speed-up (containerd / engine, medians)",
                    ms(self.med(e)),
                    f"{ms(self.med('containerd'))} (containerd)",
                    f"{speedup:.1f}x",
                    f">= {TARGET_SPEEDUP:.0f}x" if target else "",
                    speedup >= TARGET_SPEEDUP if target else None,
                )
            )
        if ctd and "engine-crun" in self.systems:
            by = self.concurrency[MANY]
            speedup = ratio(by["containerd"].median, by["engine-crun"].median)
            rows.append(
                Row(
                    NAME,
                    f"{MANY} at once: engine-crun vs containerd, median latency",
                    ms(by["engine-crun"].median),
                    f"{ms(by['containerd'].median)} (containerd)",
                    f"{speedup:.1f}x",
                    f">= {TARGET_SPEEDUP:.0f}x",
                    speedup >= TARGET_SPEEDUP,
                )
            )
        for rt, m in self.engine_memory.items():
            rows.append(
                Row(
                    NAME,
                    f"{rt}: engine RSS per running task ({m.running} sleep tasks)",
                    f"{m.per_task_mib:.3f} MiB",
                    f"{self.shim_mib()} (containerd-shim, per container)",
                    target=f"<= {TARGET_MIB_PER_TASK} MiB",
                    met=m.per_task_mib <= TARGET_MIB_PER_TASK,
                )
            )
        wrong = "; ".join(f"{s}: {sorted(set(v))}" for s, v in self.wrong_status.items() if v)
        rows.append(
            Row(
                NAME,
                "engine `tasks.run` of /bin/true: exit status 0 by `wait`",
                wrong or "all",
                target="all",
                met=not wrong,
                check=True,
            )
        )
        if ctd:
            left = ", ".join(self.containerd_left)
            rows.append(
                Row(
                    NAME,
                    "containerd stopped; no shim, mount, cgroup or file of it left",
                    f"LEFT: {left}" if left else "clean",
                    target="clean",
                    met=not left,
                    check=True,
                )
            )
        return rows

    def shim_mib(self) -> str:
        cm = self.containerd_memory
        return f"{stats([s.rss for s in cm.shims]).median / MIB:.1f} MiB" if cm else "-"

    def section(self, docs: Path) -> str:
        base = "engine-crun" if "engine-crun" in self.systems else self.systems[0]
        ctd = "containerd" in self.systems
        head = ["system", "median", "p90", "CPU per lifecycle (mean)", f"vs {label(base)}"]
        body = []
        for s in self.systems:
            t = self.lifecycle[s]["total"]
            body.append(
                [label(s), ms(t.median), ms(t.p90), ms(self.lifecycle[s]["cpu"].mean)]
                + [f"{t.median / self.med(base):.2f}"]
                + ([f"{self.med('containerd') / t.median:.1f}"] if ctd else [])
            )
        vs = ctd and "engine-crun" in self.systems
        n_head = ["N at once", *(f"{label(s)} (ms)" for s in self.systems)]
        n_head += ["containerd / engine (crun)"] if vs else []
        n_body = [
            [str(n), *(f"{by[s].median * 1e3:.0f} / {by[s].p90 * 1e3:.0f}" for s in self.systems)]
            + ([f"{by['containerd'].median / by['engine-crun'].median:.1f}"] if vs else [])
            for n, by in sorted(self.concurrency.items())
        ]
        self.plot(docs / "benchmarks-concurrency.svg")
        parts = [
            f"{self.lifecycle[base]['total'].n} interleaved rounds of every system.",
            table(head + (["containerd is ... times slower"] if ctd else []), body),
            "![Median lifecycle latency against the number started at once]"
            "(benchmarks-concurrency.svg)",
            "Each cell: median / p90 of the lifecycles' latencies, from the common start to"
            " each one's end; N = 1 is the interleaved rounds above.",
            table(n_head, n_body),
        ]
        cm = self.containerd_memory
        if cm is not None:
            mem = [
                [f"engine process ({rt}), {m.running} running `sleep` tasks", *m.after.cells()]
                for rt, m in self.engine_memory.items()
            ]
            total = cm.daemon + cm.shims_total
            engine = next(iter(self.engine_memory.values())).after
            mem += [
                [
                    f"containerd daemon, {len(cm.shims)} running `sleep` containers",
                    *cm.daemon.cells(),
                ],
                [
                    f"its {len(cm.shims)} shims (median RSS each {self.shim_mib()})",
                    *cm.shims_total.cells(),
                ],
                ["**containerd + shims**", *(f"**{c}**" for c in total.cells())],
                ["containerd + shims / engine"]
                + [
                    f"{a / b:.1f}x"
                    for a, b in zip(
                        (total.rss, total.pss, total.uss),
                        (engine.rss, engine.pss, engine.uss),
                        strict=True,
                    )
                ],
            ]
            parts.append(table(["", "RSS (MiB)", "PSS (MiB)", "USS (MiB)"], mem))
        return "\n\n".join(parts)

    def plot(self, path: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")  # no display: a file only
        from matplotlib import pyplot as plt

        fig, ax = plt.subplots(figsize=(7.6, 4.6))
        ns = sorted(self.concurrency)
        for s in self.systems:
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
        if "containerd" not in self.systems:
            return []
        rows = [
            [
                f"lifecycle beside containerd (`ctr run --rm`), {e[7:]}",
                ms(self.med(e)),
                ms(self.med("containerd")),
                f"{self.med('containerd') / self.med(e):.1f}x faster",
            ]
            for e in self.systems
            if e.startswith("engine-")
        ]
        rows += [
            [
                f"memory per running container, {rt}",
                f"{m.per_task_mib:.3f} MiB (in one process)",
                f"containerd-shim: {self.shim_mib()} each",
                "",
            ]
            for rt, m in self.engine_memory.items()
        ]
        return rows


class Containerd:
    """The private containerd's side: ``ctr`` through the bare worker, and the CPU of
    the daemon and of the shims its supervisor reaped."""

    def __init__(self, daemon: Daemon, worker: BareWorker) -> None:
        self.daemon, self.worker = daemon, worker
        assert daemon.process is not None
        self.supervisor = psutil.Process(daemon.process.pid)
        self.containerd = self.supervisor.children()[0]
        self.binary = shutil.which("ctr") or "ctr"  # the worker spawns by path

    def ctr(self, *args: str) -> list[str]:
        d = self.daemon
        return [self.binary, "--address", str(d.socket), "--namespace", d.namespace, *args]

    def run_argv(self, cid: str, *argv: str, detach: bool = False) -> list[str]:
        mode = "--detach" if detach else "--rm"
        return self.ctr("run", mode, "--null-io", image.NAME, cid, *argv)

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


class Systems:
    """One lifecycle, or N at once, of each system; every id unique in the run."""

    def __init__(
        self, ws: Workspace, worker: BareWorker, ctd: Containerd | None, engines: dict[str, Engine]
    ) -> None:
        self.ws, self.worker, self.ctd, self.engines = ws, worker, ctd, engines
        self.bundle = ws.bundle("true", ["/bin/true"], ws.rootfs())
        self.bare_roots = {rt: ws.root(rt, "bare") for rt in engines}
        self.seq = 0
        self.wrong: dict[str, list[int]] = {}

    def _id(self, system: str) -> str:
        self.seq += 1
        return f"{self.ws.prefix}{system[0]}{system[-1]}{self.seq}"

    def _argv(self, system: str) -> list[str]:
        if system == "containerd":
            assert self.ctd is not None
            return self.ctd.run_argv(self._id(system), "/bin/true")
        argv = runtime_argv(system, self.bare_roots[system], "run", "--bundle", str(self.bundle))
        return [*argv, self._id(system)]

    async def _engine(self, system: str, t0: float) -> float:
        engine, cid = self.engines[system[7:]], self._id(system)
        await engine.containers.create(cid, self.bundle)
        await engine.tasks.run(cid)
        status = (await engine.tasks.wait(cid)).exit_status
        await engine.tasks.delete(cid)
        await engine.containers.delete(cid)
        self.wrong.setdefault(system, []).extend([status] if status else [])
        return time.perf_counter() - t0

    async def one(self, system: str, _: int = 0) -> Sample:
        if system.startswith("engine-"):
            cpu = CpuMeter()
            total = await self._engine(system, time.perf_counter())
            return {"total": total, "cpu": sum(cpu.sample().values())}
        ctd0 = self.ctd.cpu() if self.ctd and system == "containerd" else 0.0
        reply = await self.worker.steps({"argv": self._argv(system)})
        cpu = reply["cpu_self"] + reply["cpu_children"]
        if self.ctd is not None and system == "containerd":
            await self.ctd.settle()
            cpu += self.ctd.cpu() - ctd0
        return {"total": reply["total"], "cpu": cpu}

    async def batch(self, system: str, n: int) -> list[float]:
        """Start ``n`` lifecycles at once; each one's latency from the common start."""
        if system.startswith("engine-"):
            t0 = time.perf_counter()
            return list(await asyncio.gather(*(self._engine(system, t0) for _ in range(n))))
        reply = await self.worker.call("parallel", argvs=[self._argv(system) for _ in range(n)])
        if any(reply["statuses"]):
            raise BenchError(f"{system}, {n} at once: {reply['statuses']}: {reply['stderr']}")
        if self.ctd is not None and system == "containerd":
            await self.ctd.settle(limit=3.0)
        return list(reply["times"])


async def concurrency(sys_: Systems, names: list[str], quick: bool) -> dict[int, dict[str, Stats]]:
    out = {}
    flip = False
    for n, reps in REPS.items():
        times: dict[str, list[float]] = {s: [] for s in names}
        for _ in range(1 if quick else reps):
            for s in names[::-1] if flip else names:
                times[s] += await sys_.batch(s, n)
            flip = not flip
        out[n] = {s: stats(v) for s, v in times.items()}
    return out


def _memory(p: psutil.Process) -> Memory:
    m = p.memory_full_info()
    return Memory(m.rss, m.pss, m.uss)


async def memory_probe(root: Path, runtime: str, bundle: Path, prefix: str) -> EngineMemory:
    """The engine process before and after 100 running ``sleep`` tasks, in a fresh process."""
    async with Engine(root=root, runtime=runtime) as engine:

        async def launch_all(tag: str, n: int = MANY) -> list[str]:
            ids = [f"{prefix}{tag}{i}" for i in range(n)]
            for batch in range(0, n, 10):
                await asyncio.gather(
                    *(start_task(engine, c, bundle) for c in ids[batch : batch + 10])
                )
            gc.collect()
            return ids

        # Every code path a task takes, once, before the first measurement.
        await asyncio.gather(*(remove_task(engine, c) for c in await launch_all("w", 10)))
        gc.collect()
        before = _memory(psutil.Process())
        ids = await launch_all("k")
        await asyncio.sleep(0.2)
        after = _memory(psutil.Process())
        running = sum(1 for t in engine.tasks.list() if t.status == "running")
        await asyncio.gather(*(remove_task(engine, c) for c in ids))
    return EngineMemory(running, before, after)


def engine_memory(ws: Workspace, runtime: str) -> EngineMemory:
    bundle = ws.bundle(f"sleep-{runtime}", ["/bin/sleep", "100000"], ws.rootfs())
    root = ws.root(runtime, "engine-mem")
    argv = [sys.executable, "-m", "bench.compare", "--memory-probe", runtime, str(root)]
    argv += [str(bundle), f"{ws.prefix}{runtime[0]}"]
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=600)
    if proc.returncode != 0:
        raise BenchError(f"memory probe failed: {proc.stderr[-2000:]}")
    return convert.structure(json.loads(proc.stdout), EngineMemory)


async def containerd_memory(ctd: Containerd, prefix: str) -> ContainerdMemory:
    ids = [f"{prefix}k{i}" for i in range(MANY)]
    for batch in range(0, MANY, 10):
        argvs = [
            ctd.run_argv(c, "/bin/sleep", "100000", detach=True) for c in ids[batch : batch + 10]
        ]
        reply = await ctd.worker.call("parallel", argvs=argvs)
        if any(reply["statuses"]):
            raise BenchError(f"ctr run --detach: {reply['statuses']}: {reply['stderr']}")
    await asyncio.sleep(0.5)
    mem = ContainerdMemory(_memory(ctd.containerd), [_memory(p) for p in ctd.shims()])
    await ctd.worker.steps({"argv": ctd.ctr("tasks", "delete", "--force", *ids)})
    await ctd.worker.steps({"argv": ctd.ctr("containers", "delete", *ids)})
    await ctd.settle(limit=3.0)
    return mem


async def measure(args: argparse.Namespace, ws: Workspace) -> Result:
    rounds = args.rounds or (10 if args.quick else 40)
    # Every process that spawns is started before any Engine opens in this process.
    memory = {rt: engine_memory(ws, rt) for rt in args.runtimes}
    worker = BareWorker(ws.dir / "worker.log")
    daemon = Daemon(ws.dir / "ctd", f"{ws.prefix}c") if unavailable() is None else None
    ctd, ctd_memory, left, engines = None, None, [], {}
    try:
        if daemon is not None:
            daemon.dir.mkdir()
            await asyncio.to_thread(daemon.start)
            await asyncio.to_thread(daemon.import_image)
            ctd = Containerd(daemon, worker)
            ctd_memory = await containerd_memory(ctd, ws.prefix)
        for rt in args.runtimes:
            engines[rt] = await Engine(root=ws.root(rt, "engine"), runtime=rt).open()
        sys_ = Systems(ws, worker, ctd, engines)
        names = [f"engine-{rt}" for rt in engines] + list(engines)
        names += ["containerd"] if ctd else []
        lone = await interleave(
            {s: partial(sys_.one, s) for s in names},
            rounds=rounds,
            warmup=2 if args.quick else 5,
        )
        lifecycle = {s: summarize_samples(v) for s, v in lone.items()}
        by_n = {1: {s: side["total"] for s, side in lifecycle.items()}}
        by_n |= await concurrency(sys_, names, args.quick)
    finally:
        for engine in engines.values():
            await engine.close()
        if daemon is not None:
            left = await asyncio.to_thread(daemon.stop)
        await worker.aclose()
    return Result(names, lifecycle, by_n, memory, ctd_memory, sys_.wrong, left)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--memory-probe"]:
        runtime, root, bundle, prefix = sys.argv[2:6]
        probe = asyncio.run(memory_probe(Path(root), runtime, Path(bundle), prefix))
        print(json.dumps(convert.unstructure(probe)))
        sys.exit(0)
    sys.exit(run(NAME, measure))
