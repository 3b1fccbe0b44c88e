"""Where the engine's own CPU goes in a ``/bin/true`` lifecycle: cProfile on a CPU clock.

For each runtime and each engine path (``create`` + ``start``, and ``run``), after a warm-up:
K lifecycles with no profiler, timing the engine process's CPU (``getrusage``: user + system,
every thread) per lifecycle; then K more under ``cProfile`` with ``time.process_time`` as its
clock, so that time spent blocked (the event loop waiting for an exit) counts as nothing and
what remains is the engine's own CPU. Each function's self time is divided by K: microseconds
per lifecycle. The profiler slows Python code more than C code, so its total is larger than
the unprofiled CPU; the ``scaled`` column shares the unprofiled CPU out in proportion.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from runtime import Engine

from ._common import (
    REPO,
    BareWorker,
    BenchError,
    Row,
    Workspace,
    run_per_runtime,
)
from ._worker import cpu_times

NAME = "engine_profile"
TOP = 15


def _where(key: tuple[str, int, str]) -> str:
    """``runtime/tasks.py:_create`` for the project's files, ``module:function`` for others."""
    filename, line, func = key
    if filename == "~":  # a builtin: "<built-in method posix.posix_spawn>"
        return func.strip("<>").replace("built-in method ", "")
    path = Path(filename)
    try:
        return f"{path.resolve().relative_to(REPO)}:{line}({func})"
    except ValueError:
        pass
    parts = path.parts
    if "python3.11" in parts:
        return f"{'/'.join(parts[parts.index('python3.11') + 1 :])}:{line}({func})"
    return f"{path.name}:{line}({func})"


def _module(key: tuple[str, int, str]) -> str:
    filename, _, func = key
    if filename == "~":
        name = func.strip("<>").replace("built-in method ", "")
        return "builtin " + name.split(" of ")[0].rsplit(".", 1)[0]
    path = Path(filename)
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        pass
    parts = path.parts
    if "python3.11" in parts:
        return "stdlib " + "/".join(parts[parts.index("python3.11") + 1 :])
    return path.name


async def _lifecycles(
    engine: Engine, bundle: Path, prefix: str, n: int, run: bool
) -> dict[str, float]:
    """``n`` lifecycles; answers the engine process's CPU seconds in each API call, summed
    (what runs while a call is awaited, such as reaper callbacks, counts to that call)."""
    cpu: dict[str, float] = defaultdict(float)
    clock = time.process_time

    for i in range(n):
        cid = f"{prefix}{i}"
        t0 = clock()
        await engine.containers.create(cid, bundle)
        t1 = clock()
        if run:
            await engine.tasks.run(cid)
            t2 = clock()
            cpu["tasks.run"] += t2 - t1
        else:
            await engine.tasks.create(cid)
            t = clock()
            await engine.tasks.start(cid)
            t2 = clock()
            cpu["tasks.create"] += t - t1
            cpu["tasks.start"] += t2 - t
        await engine.tasks.wait(cid)
        t3 = clock()
        await engine.tasks.delete(cid)
        t4 = clock()
        await engine.containers.delete(cid)
        t5 = clock()
        cpu["containers.create"] += t1 - t0
        cpu["tasks.wait"] += t3 - t2
        cpu["tasks.delete"] += t4 - t3
        cpu["containers.delete"] += t5 - t4
    return cpu


async def profile_arm(
    engine: Engine, bundle: Path, prefix: str, *, run: bool, k: int, warmup: int
) -> dict[str, Any]:
    await _lifecycles(engine, bundle, f"{prefix}w", warmup, run)
    c0, w0 = cpu_times()[0], time.perf_counter()
    calls = await _lifecycles(engine, bundle, f"{prefix}u", k, run)
    cpu = (cpu_times()[0] - c0) / k
    wall = (time.perf_counter() - w0) / k
    prof = cProfile.Profile(time.process_time)
    prof.enable()
    try:
        await _lifecycles(engine, bundle, f"{prefix}p", k, run)
    finally:
        prof.disable()
    raw: dict[Any, tuple[int, int, float, float, Any]] = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values()) / k
    scale = cpu / total if total else 0.0

    def item(key: Any, seconds: float, calls: int) -> dict[str, Any]:
        us = seconds / k * 1e6
        return {
            "where": _where(key),
            "us": round(us, 1),
            "us_scaled": round(us * scale, 1),
            "calls": round(calls / k, 2),
        }

    by_self = sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)[:TOP]
    engine_cum = sorted(
        ((key, v) for key, v in raw.items() if "/runtime/" in key[0]),
        key=lambda kv: kv[1][3],
        reverse=True,
    )[:TOP]
    modules: dict[str, float] = defaultdict(float)
    for key, v in raw.items():
        modules[_module(key)] += v[2]
    by_module = sorted(modules.items(), key=lambda kv: kv[1], reverse=True)[:TOP]
    return {
        "lifecycles": k,
        "cpu_per_lifecycle_us": round(cpu * 1e6, 1),
        "wall_per_lifecycle_ms": round(wall * 1e3, 2),
        "profiled_cpu_per_lifecycle_us": round(total * 1e6, 1),
        "cpu_by_call_us": {c: round(t / k * 1e6, 1) for c, t in calls.items()},
        "top_self": [item(key, v[2], v[1]) for key, v in by_self],
        "top_engine_cumulative": [item(key, v[3], v[1]) for key, v in engine_cum],
        "by_module": [
            {
                "module": m,
                "us": round(t / k * 1e6, 1),
                "us_scaled": round(t / k * 1e6 * scale, 1),
            }
            for m, t in by_module
        ],
    }


async def measure(
    args: argparse.Namespace, ws: Workspace, worker: BareWorker, runtime: str
) -> dict[str, Any]:
    del worker  # no bare side: this looks inside the engine only
    k = args.rounds or (15 if args.quick else 60)
    warmup = 3 if args.quick else 8
    bundle = ws.bundle(f"true-{runtime}", ["/bin/true"], ws.rootfs())
    out: dict[str, Any] = {}
    async with Engine(root=ws.root(runtime, "engine"), runtime=runtime) as engine:
        for arm, run in (("run", True), ("create_start", False)):
            prefix = f"{ws.prefix}{runtime[0]}{arm[0]}"
            out[arm] = await profile_arm(engine, bundle, prefix, run=run, k=k, warmup=warmup)
    if os.environ.get("SHIMDECK_BENCH_PRINT_PROFILE"):
        for arm, res in out.items():
            print(f"\n{runtime} {arm}: {res['cpu_per_lifecycle_us']} us CPU per lifecycle")
            print(f"  by call: {res['cpu_by_call_us']}")
            for it in res["top_engine_cumulative"]:
                print(f"  cum {it['us_scaled']:8.1f} us  {it['calls']:6.2f}x  {it['where']}")
            for it in res["top_self"]:
                print(f"  {it['us_scaled']:8.1f} us  {it['calls']:6.2f}x  {it['where']}")
    return out


def rows(rt: str, res: dict[str, Any]) -> list[Row]:
    table = []
    for arm, label in (("run", "`tasks.run`"), ("create_start", "create + start")):
        r = res.get(arm)
        if not r:
            raise BenchError(f"no profile for {arm}")
        calls = ", ".join(f"{c} {us / 1e3:.2f}" for c, us in r["cpu_by_call_us"].items())
        table.append(
            Row(
                NAME,
                f"{rt}: engine process CPU per {label} lifecycle (ms, by API call)",
                f"{r['cpu_per_lifecycle_us'] / 1e3:.2f} ms ({calls})",
            )
        )
    return table


def main() -> int:
    return run_per_runtime(NAME, __doc__ or NAME, measure, rows)


if __name__ == "__main__":
    sys.exit(main())
