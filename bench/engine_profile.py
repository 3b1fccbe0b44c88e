"""Where the engine's own CPU goes in a ``/bin/true`` lifecycle: by API call, then cProfile."""

import argparse
import contextlib
import cProfile
import itertools
import pstats
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime import Engine
from runtime.cgroups import remove_empty

from . import _common as c
from . import _floor

NAME = "engine_profile"
TITLE = "Where the engine's CPU goes"
#: The lifecycle's two paths: what they are called, and their API calls.
ARMS = {
    "run": ("`tasks.run`", ["tasks.run"]),
    "create_start": ("create + start", ["tasks.create", "tasks.start"]),
}
END = ["tasks.wait", "tasks.delete", "containers.delete"]


@dataclass
class Item:
    """A function or a module: us per lifecycle, profiled and scaled to the unprofiled CPU."""

    where: str
    us: float
    us_scaled: float
    calls: float = 0.0


@dataclass
class Arm:
    lifecycles: int
    cpu_per_lifecycle_us: float
    profiled_cpu_per_lifecycle_us: float
    cpu_by_call_us: dict[str, float]
    top_self: list[Item]
    top_engine_cumulative: list[Item]
    by_module: list[Item]

    def cpu(self) -> str:
        calls = ", ".join(f"{call} {us / 1e3:.2f}" for call, us in self.cpu_by_call_us.items())
        return f"{self.cpu_per_lifecycle_us / 1e3:.2f} ms ({calls})"

    def section(self, label: str) -> str:
        calls = ", ".join(f"`{call}` {us:.0f}" for call, us in self.cpu_by_call_us.items())
        text = [
            f"**{label}**: {self.cpu_per_lifecycle_us:.0f} us of engine CPU per lifecycle"
            f" ({self.lifecycles} lifecycles); by API call (us): {calls}. Under the"
            f" profiler: {self.profiled_cpu_per_lifecycle_us:.0f} us.",
        ]
        tables = {"engine function (time in it and below)": self.top_engine_cumulative}
        for head, items in (tables | {"function (self time)": self.top_self}).items():
            body = [
                [f"`{i.where}`", f"{i.us_scaled:.0f}", f"{i.us:.0f}", f"{i.calls:g}"] for i in items
            ]
            text.append(c.table([head, "us scaled", "us profiled", "calls"], body))
        body = [[m.where, f"{m.us_scaled:.0f}"] for m in self.by_module]
        return "\n\n".join([*text, c.table(["module (self time)", "us scaled"], body)])


@dataclass
class AgainstFloor:
    """CPU per ``tasks.run`` lifecycle, interleaved: the engine's, and its system calls'
    alone in asyncio (bench/_floor.py)."""

    engine: c.Stats
    floor: c.Stats


@dataclass
class Result(c.BenchResult):
    runtimes: dict[str, dict[str, Arm]]
    floor: dict[str, AgainstFloor] = field(default_factory=dict)

    def rows(self) -> list[c.Row]:
        rows = [
            c.Row(
                f"{rt}: engine process CPU per {label} lifecycle (ms, by API call)", arms[arm].cpu()
            )
            for rt, arms in self.runtimes.items()
            for arm, (label, _) in ARMS.items()
        ]
        for rt, f in self.floor.items():
            what = f"{rt}: CPU per `tasks.run` lifecycle, against its system calls (n={f.engine.n})"
            rows.append(c.vs(what, f.engine.median, f.floor.median, "in asyncio"))
        return rows

    def section(self, name: str, docs: Path) -> str:
        return "\n\n".join(
            arms[arm].section(f"{rt}, {label}")
            for rt, arms in self.runtimes.items()
            for arm, (label, _) in ARMS.items()
        )


def _file(filename: str) -> str:
    """Relative to the repository, or to the standard library ("stdlib ..."), or a name."""
    path = Path(filename)
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(c.REPO))
    if "python3.11" in path.parts:
        return "stdlib " + "/".join(path.parts[path.parts.index("python3.11") + 1 :])
    return path.name


def _where(key: tuple[str, int, str]) -> str:
    """``runtime/tasks.py:12(_create)``, ``asyncio/events.py:80(_run)``, or a builtin."""
    filename, line, func = key
    if filename == "~":  # a builtin: "<built-in method posix.posix_spawn>"
        return func.strip("<>").replace("built-in method ", "")
    return f"{_file(filename).removeprefix('stdlib ')}:{line}({func})"


def _module(key: tuple[str, int, str]) -> str:
    if key[0] == "~":
        return "builtin " + _where(key).split(" of ")[0].rsplit(".", 1)[0]
    return _file(key[0])


async def _lifecycles(
    engine: Engine, bundle: Path, prefix: str, n: int, middle: list[str]
) -> dict[str, float]:
    """``n`` lifecycles; the engine process's CPU seconds in each API call, summed."""
    cpu: dict[str, float] = defaultdict(float)
    for cid, call in itertools.product(
        (f"{prefix}{i}" for i in range(n)), ["containers.create", *middle, *END]
    ):
        api, method = call.split(".")
        step = getattr(getattr(engine, api), method)
        t0 = time.process_time()
        await (step(cid, bundle) if call == "containers.create" else step(cid))
        cpu[call] += time.process_time() - t0
    return cpu


async def profile_arm(
    engine: Engine, bundle: Path, prefix: str, middle: list[str], k: int, warmup: int
) -> Arm:
    await _lifecycles(engine, bundle, f"{prefix}w", warmup, middle)
    c0 = time.process_time()
    calls = await _lifecycles(engine, bundle, f"{prefix}u", k, middle)
    cpu = (time.process_time() - c0) / k
    prof = cProfile.Profile(time.process_time)
    prof.enable()
    try:
        await _lifecycles(engine, bundle, f"{prefix}p", k, middle)
    finally:
        prof.disable()
    raw: dict[Any, tuple[int, int, float, float, Any]] = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values()) / k
    scale = cpu / total if total else 0.0

    def item(where: str, seconds: float, calls: int = 0) -> Item:
        us = seconds / k * 1e6
        return Item(where, round(us, 1), round(us * scale, 1), round(calls / k, 2))

    # The ones the section shows: 10 by self time, 12 of the engine's by time in and below.
    by_self = sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)[:10]
    engine_cum = [kv for kv in raw.items() if "/runtime/" in kv[0][0]]
    engine_cum = sorted(engine_cum, key=lambda kv: kv[1][3], reverse=True)[:12]
    modules: dict[str, float] = defaultdict(float)
    for key, v in raw.items():
        modules[_module(key)] += v[2]
    by_module = sorted(modules.items(), key=lambda kv: kv[1], reverse=True)[:10]
    return Arm(
        lifecycles=k,
        cpu_per_lifecycle_us=round(cpu * 1e6, 1),
        profiled_cpu_per_lifecycle_us=round(total * 1e6, 1),
        cpu_by_call_us={call: round(t / k * 1e6, 1) for call, t in calls.items()},
        top_self=[item(_where(key), v[2], v[1]) for key, v in by_self],
        top_engine_cumulative=[item(_where(key), v[3], v[1]) for key, v in engine_cum],
        by_module=[item(m, t) for m, t in by_module],
    )


async def measure(args: argparse.Namespace, ws: c.Workspace) -> Result:
    k, warmup = args.rounds or (15 if args.quick else 60), 3 if args.quick else 8
    result = Result({})
    for rt in args.runtimes:
        bundle = ws.bundle(f"true-{rt}", ["/bin/true"])  # with subprocess: no Engine yet
        async with Engine(root=ws.root(rt, "engine"), runtime=rt) as engine:
            result.runtimes[rt] = {
                arm: await profile_arm(
                    engine, bundle, f"{ws.prefix}{rt[0]}{arm[0]}", calls, k, warmup
                )
                for arm, (_, calls) in ARMS.items()
            }
            result.floor[rt] = await against_floor(engine, ws, rt, bundle, k, warmup)
    return result


async def against_floor(
    engine: Engine, ws: c.Workspace, rt: str, bundle: Path, k: int, warmup: int
) -> AgainstFloor:
    """CPU of ``k`` ``tasks.run`` lifecycles and of ``k`` of their system calls, interleaved."""
    cgroups = f"{ws.prefix}floor"
    floor = _floor.Floor(rt, ws.root(rt, "floor"), ws.dir / f"floor-{rt}-work", bundle, cgroups)
    ids = itertools.count()

    async def timed(life: Callable[[str], Awaitable[None]]) -> c.Sample:
        t0 = time.process_time()
        await life(f"{ws.prefix}{rt[0]}f{next(ids)}")
        return {"total": time.process_time() - t0}

    async def engine_run(cid: str) -> None:
        await _lifecycles(engine, bundle, cid, 1, ARMS["run"][1])

    sides: c.Sides = {
        "engine": lambda _: timed(engine_run),
        "floor": lambda _: timed(floor.lifecycle),
    }
    try:
        got = await c.interleave(sides, rounds=k, warmup=warmup)
    finally:
        floor.close()
        remove_empty(cgroups)
    return AgainstFloor(*(c.stats([s["total"] for s in got[side]]) for side in ("engine", "floor")))


if __name__ == "__main__":
    sys.exit(c.run(NAME, measure))
