"""The engine against bare runc, bare crun and containerd 1.6: lifecycle, concurrency, memory.

1. **Lifecycle** of a ``/bin/true`` container, five systems in interleaved rounds: the engine
   on runc and on crun (container create, ``tasks.run``, wait, task delete, container
   delete), ``runc run`` and ``crun run`` (one command each), and ``ctr run --rm --null-io``
   against a containerd this bench starts on a private socket and root (its runc shim,
   ``io.containerd.runc.v2``, with the default runc). Medians, and CPU per lifecycle of every
   process involved (for containerd: ctr, the daemon, the shim, runc).
2. **Concurrency**: N lifecycles started at once (N = 10, 50, 100; N = 1 is the interleaved
   round above) for each system in turn, the order alternating between repetitions. Each
   lifecycle's latency is from the common start to its end; the median and p90 of them.
3. **Memory** with 100 running ``sleep`` containers: the engine process's RSS (the engine
   has no other process per container), in a fresh interpreter, against containerd's RSS
   plus that of its 100 ``containerd-shim-runc-v2`` processes. PSS too (shared pages, such
   as the shims' one binary, divided among the processes that map them).

Containerd is stopped, its mounts checked (none may remain under its directory) and all its
files removed at the end; the run fails if anything is left.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from runtime import Engine

from . import _containerd
from ._common import (
    BareWorker,
    BenchError,
    CpuMeter,
    Row,
    Sample,
    Workspace,
    fmt_ratio,
    interleave,
    ms,
    ratio,
    run_bench,
    runtime_argv,
    summarize,
    summarize_samples,
)
from ._containerd import Containerd
from .lifecycle import TARGET_RATIO, memory_per_task

NAME = "compare"
CONCURRENCY = (1, 10, 50, 100)
#: The issue's figure for containerd here, and the factor the engine on crun should beat.
CONTAINERD_MS_BEFORE = 73
TARGET_SPEEDUP = 5.0
MEMORY_TASKS = 100
MIB = 2**20


def systems(runtimes: list[str], with_containerd: bool) -> list[str]:
    names = [f"engine-{rt}" for rt in runtimes] + list(runtimes)
    return names + (["containerd"] if with_containerd else [])


class Systems:
    """One lifecycle, or N at once, of each system; every id unique in the run."""

    def __init__(
        self,
        ws: Workspace,
        worker: BareWorker,
        ctd: Containerd | None,
        engines: dict[str, Engine],
        bundle: Path,
    ) -> None:
        self.ws, self.worker, self.ctd, self.engines, self.bundle = ws, worker, ctd, engines, bundle
        self.bare_roots = {rt: ws.root(rt, "bare") for rt in engines}
        self.seq = 0
        self.count: dict[str, int] = {}
        self.wrong: dict[str, list[int]] = {}
        self._ctd_cpu = 0.0

    async def prime(self) -> None:
        """Take the containerd side's CPU so far as the zero of its first sample."""
        if self.ctd is not None:
            reaped = await self.ctd.worker.call("reap")
            self._ctd_cpu = reaped["cpu_children_total"] + reaped["cpu_self_total"]

    def _id(self, system: str) -> str:
        self.seq += 1
        self.count[system] = self.count.get(system, 0) + 1
        return f"{self.ws.prefix}{system[0]}{system[-1]}{self.seq}"

    # -- one at a time --------------------------------------------------------------------

    async def one(self, system: str) -> Sample:
        if system.startswith("engine-"):
            return await self._engine_one(system)
        if system == "containerd":
            return await self._containerd_one()
        return await self._bare_one(system)

    async def _engine_one(self, system: str) -> Sample:
        engine = self.engines[system.split("-", 1)[1]]
        cid = self._id(system)
        cpu = CpuMeter()
        t0 = time.perf_counter()
        status = await _engine_lifecycle(engine, cid, self.bundle)
        total = time.perf_counter() - t0
        if status != 0:
            self.wrong.setdefault(system, []).append(status)
        c = cpu.sample()
        return {"total": total, "cpu": c["cpu_self"] + c["cpu_children"]} | c

    async def _bare_one(self, rt: str) -> Sample:
        argv = runtime_argv(rt, self.bare_roots[rt], "run", "--bundle", str(self.bundle))
        reply = await self.worker.steps({"argv": [*argv, self._id(rt)]})
        return {"total": reply["total"], "cpu": reply["cpu_self"] + reply["cpu_children"]}

    async def _containerd_one(self) -> Sample:
        assert self.ctd is not None
        worker = self.ctd.worker
        daemon0 = self.ctd.cpu_seconds()
        reply = await worker.steps({"argv": self.ctd.run_argv(self._id("containerd"), "/bin/true")})
        # containerd goes on working after ctr returns (the shim exits, the GC runs): let it
        # settle, so that its tail neither lands in the next system's sample nor escapes its
        # own CPU figure. Then ctr, the shims (reaped now) and the daemon.
        await self.ctd.settle()
        reaped = await worker.call("reap")
        procs = reaped["cpu_children_total"] + reaped["cpu_self_total"]
        cpu, self._ctd_cpu = procs - self._ctd_cpu, procs
        return {"total": reply["total"], "cpu": cpu + self.ctd.cpu_seconds() - daemon0}

    # -- N at once ----------------------------------------------------------------------

    async def batch(self, system: str, n: int) -> dict[str, Any]:
        """Start ``n`` lifecycles at once; each one's latency from the common start."""
        if system.startswith("engine-"):
            engine = self.engines[system.split("-", 1)[1]]
            ids = [self._id(system) for _ in range(n)]
            t0 = time.perf_counter()

            async def timed(cid: str) -> tuple[float, int]:
                status = await _engine_lifecycle(engine, cid, self.bundle)
                return time.perf_counter() - t0, status

            done = await asyncio.gather(*(timed(c) for c in ids))
            times = [t for t, _ in done]
            statuses = [s for _, s in done]
            wrong = [s for s in statuses if s != 0]
            if wrong:
                self.wrong.setdefault(system, []).extend(wrong)
            return {"times": times, "wrong": len(wrong)}
        if system == "containerd":
            assert self.ctd is not None
            argvs = [self.ctd.run_argv(self._id(system), "/bin/true") for _ in range(n)]
            reply = await self.ctd.worker.call("parallel", argvs=argvs)
            await self.ctd.settle(limit=3.0)
            await self.ctd.worker.call("reap")
        else:
            base = runtime_argv(
                system, self.bare_roots[system], "run", "--bundle", str(self.bundle)
            )
            argvs = [[*base, self._id(system)] for _ in range(n)]
            reply = await self.worker.call("parallel", argvs=argvs)
        if any(reply["statuses"]):
            raise BenchError(
                f"{system}, {n} at once: statuses {reply['statuses']}: {reply['stderr']}"
            )
        return {"times": reply["times"], "wrong": 0}


async def _engine_lifecycle(engine: Engine, cid: str, bundle: Path) -> int:
    await engine.containers.create(cid, bundle)
    await engine.tasks.run(cid)
    ex = await engine.tasks.wait(cid)
    await engine.tasks.delete(cid)
    await engine.containers.delete(cid)
    return ex.exit_status


async def concurrency(
    sys_: Systems, names: list[str], quick: bool, lone: dict[str, list[Sample]]
) -> dict[str, Any]:
    reps = {10: 1, 50: 1, 100: 1} if quick else {10: 3, 50: 1, 100: 1}
    out: dict[str, Any] = {
        "1": {s: summarize([x["total"] for x in lone[s]]) for s in names},
    }
    flip = False
    for n in CONCURRENCY[1:]:
        times: dict[str, list[float]] = {s: [] for s in names}
        spans: dict[str, list[float]] = {s: [] for s in names}
        for _ in range(reps[n]):
            for s in names[::-1] if flip else names:
                res = await sys_.batch(s, n)
                times[s] += res["times"]
                spans[s].append(max(res["times"]))
            flip = not flip
        out[str(n)] = {
            s: summarize(times[s]) | {"last_done_s": summarize(spans[s])["median"]} for s in names
        }
    return {"reps": reps, "by_n": out}


async def memory_containerd(ctd: Containerd, prefix: str) -> dict[str, Any]:
    """100 detached ``sleep`` containers: containerd's RSS and PSS, and its shims'."""
    ids = [f"{prefix}k{i}" for i in range(MEMORY_TASKS)]
    t0 = time.perf_counter()
    for batch in range(0, MEMORY_TASKS, 10):
        argvs = [
            ctd.run_argv(cid, "/bin/sleep", "100000", detach=True)
            for cid in ids[batch : batch + 10]
        ]
        reply = await ctd.worker.call("parallel", argvs=argvs)
        if any(reply["statuses"]):
            raise BenchError(f"ctr run --detach: {reply['statuses']}: {reply['stderr']}")
    started = time.perf_counter() - t0
    await asyncio.sleep(0.5)
    daemon = psutil.Process(ctd.pid).memory_full_info()
    shims = ctd.shims()
    shim_mem = [p.memory_full_info() for p in shims]
    t0 = time.perf_counter()
    await ctd.worker.steps({"argv": ctd.ctr("tasks", "delete", "--force", *ids)})
    await ctd.worker.steps({"argv": ctd.ctr("containers", "delete", *ids)})
    removed = time.perf_counter() - t0
    await asyncio.sleep(0.2)
    await ctd.worker.call("reap")
    return {
        "containers": MEMORY_TASKS,
        "shims": len(shims),
        "daemon": {"rss": daemon.rss, "pss": daemon.pss, "uss": daemon.uss},
        "shims_rss": sum(m.rss for m in shim_mem),
        "shims_pss": sum(m.pss for m in shim_mem),
        "shims_uss": sum(m.uss for m in shim_mem),
        "shim_rss_median": summarize([m.rss for m in shim_mem]).get("median", 0),
        "start_all_s": started,
        "delete_all_s": removed,
        "shims_left_after_delete": len(ctd.shims()),
    }


async def bench(args: argparse.Namespace, ws: Workspace) -> tuple[dict[str, Any], list[Row]]:
    runtimes = [r for r in args.runtimes.split(",") if r]
    rounds = args.rounds or (10 if args.quick else 40)
    warmup = 2 if args.quick else 5
    rootfs = ws.rootfs()
    bundle = ws.bundle("true", ["/bin/true"], rootfs)
    missing = _containerd.available()
    results: dict[str, Any] = {
        "containerd_version": missing if missing else _containerd.version(),
        "rounds": rounds,
        "warmup": warmup,
    }
    # Every process that spawns is started before any Engine opens in this process.
    # runc, as containerd's shims use: the same runtime on both sides.
    mem_rt = "runc" if "runc" in runtimes else runtimes[0]
    results["memory_engine"] = memory_per_task(ws, mem_rt, rootfs, trace=False, tag="engine-memc")
    results["memory_engine_runtime"] = mem_rt
    worker = BareWorker(ws.dir / "worker.log")
    cworker = BareWorker(ws.dir / "cworker.log") if not missing else None
    ctd = Containerd(ws.dir / "ctd", ws.prefix, cworker) if cworker is not None else None
    names = systems(runtimes, ctd is not None)
    results["systems"] = names
    try:
        if ctd is not None:
            image = _containerd.build_image(rootfs, ws.dir / "image.tar")
            t0 = time.perf_counter()
            await ctd.start(image)
            results["containerd_start_s"] = time.perf_counter() - t0
            results["memory_containerd"] = await memory_containerd(ctd, ws.prefix)
        engines: dict[str, Engine] = {}
        try:
            for rt in runtimes:
                engines[rt] = await Engine(root=ws.root(rt, "engine"), runtime=rt).open()
            sys_ = Systems(ws, worker, ctd, engines, bundle)
            await sys_.prime()

            def side(name: str) -> Any:
                return lambda i: sys_.one(name)

            lone = await interleave(
                {name: side(name) for name in names}, rounds=rounds, warmup=warmup
            )
            results["lifecycle"] = {name: summarize_samples(s) for name, s in lone.items()}
            results["concurrency"] = await concurrency(sys_, names, args.quick, lone)
            results["engine_wrong_status"] = sys_.wrong
            results["lifecycles"] = sys_.count
        finally:
            for engine in engines.values():
                await engine.close()
    finally:
        if ctd is not None:
            results["containerd_stop"] = await ctd.stop()
        if cworker is not None:
            await cworker.aclose()
        await worker.aclose()
    return results, rows(results)


def rows(res: dict[str, Any]) -> list[Row]:
    lc = res["lifecycle"]
    names = res["systems"]
    table: list[Row] = []

    def med(s: str) -> float:
        return float(lc[s]["total"]["median"])

    for rt in [n for n in names if n in ("runc", "crun")]:
        e = f"engine-{rt}"
        r = ratio(med(e), med(rt))
        table.append(
            Row(
                NAME,
                f"{e}: /bin/true lifecycle, median (n={lc[e]['total']['n']}), vs `{rt} run`",
                ms(med(e)),
                ms(med(rt)),
                fmt_ratio(r),
                f"<= {TARGET_RATIO[rt]}",
                r <= TARGET_RATIO[rt],
            )
        )
    if "containerd" in names:
        c = med("containerd")
        table.append(
            Row(
                NAME,
                f"containerd: `ctr run --rm`, median (n={lc['containerd']['total']['n']})",
                ms(c),
                target=f"(about {CONTAINERD_MS_BEFORE} ms measured before)",
            )
        )
        for e in [n for n in names if n.startswith("engine-")]:
            speedup = ratio(c, med(e))
            rt = e.split("-", 1)[1]
            table.append(
                Row(
                    NAME,
                    f"{e} vs containerd: lifecycle speed-up (containerd / engine, medians)",
                    ms(med(e)),
                    f"{ms(c)} (containerd)",
                    f"{speedup:.1f}x",
                    f">= {TARGET_SPEEDUP:.0f}x" if rt == "crun" else "",
                    speedup >= TARGET_SPEEDUP if rt == "crun" else None,
                )
            )
    cpu = ", ".join(f"{s} {lc[s]['cpu']['mean'] * 1e3:.1f}" for s in names)
    table.append(Row(NAME, "CPU per lifecycle, every process involved (ms, mean)", cpu))
    for n in CONCURRENCY[1:]:
        by = res["concurrency"]["by_n"][str(n)]
        cells = ", ".join(f"{s} {by[s]['median'] * 1e3:.0f}" for s in names)
        table.append(Row(NAME, f"{n} lifecycles at once: median latency (ms)", cells))
        if "containerd" in names and "engine-crun" in names:
            speedup = ratio(by["containerd"]["median"], by["engine-crun"]["median"])
            last = n == CONCURRENCY[-1]  # the target: 100 at once, as one at a time
            table.append(
                Row(
                    NAME,
                    f"{n} at once: engine-crun vs containerd, median latency",
                    ms(by["engine-crun"]["median"]),
                    f"{ms(by['containerd']['median'])} (containerd)",
                    f"{speedup:.1f}x",
                    f">= {TARGET_SPEEDUP:.0f}x" if last else "",
                    speedup >= TARGET_SPEEDUP if last else None,
                )
            )
    em = res["memory_engine"]
    if "memory_containerd" in res:
        cm = res["memory_containerd"]
        c_rss = cm["daemon"]["rss"] + cm["shims_rss"]
        c_pss = cm["daemon"]["pss"] + cm["shims_pss"]
        table += [
            Row(
                NAME,
                f"RSS with {em['running']} running sleep containers: engine"
                f" ({res.get('memory_engine_runtime', 'runc')}) vs"
                f" containerd + {cm['shims']} shims",
                f"{em['after']['rss'] / MIB:.1f} MiB",
                f"{c_rss / MIB:.1f} MiB ({cm['daemon']['rss'] / MIB:.1f} + {cm['shims']} x"
                f" {cm['shim_rss_median'] / MIB:.1f})",
                f"{ratio(c_rss, em['after']['rss']):.1f}x less",
            ),
            Row(
                NAME,
                "PSS, same containers: engine vs containerd + shims",
                f"{em['after']['pss'] / MIB:.1f} MiB",
                f"{c_pss / MIB:.1f} MiB",
                f"{ratio(c_pss, em['after']['pss']):.1f}x less",
            ),
        ]
    else:
        table.append(
            Row(
                NAME,
                f"RSS with {em['running']} running sleep tasks, engine",
                f"{em['after']['rss'] / MIB:.1f} MiB",
            )
        )
    wrong = res.get("engine_wrong_status", {})
    count = res.get("lifecycles", {})
    table.append(
        Row(
            NAME,
            "engine `tasks.run` of /bin/true: exit status 0 by `wait`",
            "all"
            if not wrong
            else "; ".join(
                f"{s}: {len(v)} wrong of {count.get(s, '?')} ({sorted(set(v))})"
                for s, v in wrong.items()
            ),
            target="all",
            met=not wrong,
            check=True,
        )
    )
    stop = res.get("containerd_stop")
    if stop is not None:
        ok = not (
            stop["shims_left"]
            or stop["mounts_left"]
            or stop["cgroups_left"]
            or stop["run_dir_left"]
            or not stop["dir_removed"]
        )
        table.append(
            Row(
                NAME,
                "containerd stopped; no shim, mount, cgroup or file of it left",
                "clean" if ok else f"LEFT: {stop}",
                target="clean",
                met=ok,
                check=True,
            )
        )
    return table


def main() -> int:
    return run_bench(NAME, __doc__ or NAME, bench)


if __name__ == "__main__":
    sys.exit(main())
