"""What every benchmark shares: statistics, interleaving, the bare-side worker, the machine
description, clean-up checks, and writing results (JSON in bench/results/, a markdown table).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import glob
import hashlib
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from runtime import Engine, create_bundle

from ._worker import cpu_times

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
RUNTIMES = ("runc", "crun")

#: One sample of one side of a benchmark: ``total`` seconds plus optional phase times.
Sample = dict[str, float]


class BenchError(RuntimeError):
    """A benchmark could not measure what it meant to (a failed command, a wrong result)."""


# -- statistics ------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


def summarize(values: Sequence[float]) -> dict[str, float]:
    """n, median, p90, p99, min, max and mean of ``values``."""
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "median": median(values),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "min": min(values),
        "max": max(values),
        "mean": sum(values) / len(values),
    }


def summarize_samples(samples: Sequence[Sample]) -> dict[str, dict[str, float]]:
    """:func:`summarize` for each key of the samples (``total`` and the phases)."""
    keys: list[str] = []
    for s in samples:
        keys += [k for k in s if k not in keys]
    return {k: summarize([s[k] for s in samples if k in s]) for k in keys}


class CpuMeter:
    """CPU used by this process and its reaped children between two points, to put in a
    sample as ``cpu_self`` and ``cpu_children``: the engine's own cost, which background
    load on a shared machine moves much less than wall time."""

    def __init__(self) -> None:
        self._start = cpu_times()

    def sample(self) -> Sample:
        now = cpu_times()
        return {"cpu_self": now[0] - self._start[0], "cpu_children": now[1] - self._start[1]}


def ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


async def interleave(
    sides: dict[str, Callable[[int], Awaitable[Sample]]], *, rounds: int, warmup: int
) -> dict[str, list[Sample]]:
    """Run each side once per round, alternating which goes first; drop the warm-up rounds.

    Alternating engine and bare in one run exposes both to the same background load, which
    on a shared machine moves more than either side's own cost.
    """
    names = list(sides)
    out: dict[str, list[Sample]] = {n: [] for n in names}
    for i in range(warmup + rounds):
        for name in names if i % 2 == 0 else names[::-1]:
            sample = await sides[name](i)
            if i >= warmup:
                out[name].append(sample)
    return out


# -- the machine ---------------------------------------------------------------------------


def _first_line(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError) as e:
        return f"unavailable ({e})"
    return out.splitlines()[0].strip() if out.strip() else "unavailable"


def machine_info() -> dict[str, Any]:
    """nproc, CPU, memory, kernel, cgroup layout, runtime and Python versions, load.

    Uses ``subprocess``: call it before opening an Engine in this process.
    """
    cpu = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    cgroup = "v2" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "v1 (hybrid)"
    return {
        "nproc": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "kernel": platform.release(),
        "os": _os_release(),
        "cgroup": cgroup,
        "python": platform.python_version(),
        "runc": _first_line(["runc", "--version"]),
        "crun": _first_line(["crun", "--version"]),
        "loadavg_start": list(os.getloadavg()),
        "engine_source": engine_source(),
    }


def engine_source() -> dict[str, Any]:
    """Which engine was measured: the commit, whether runtime/ differs from it, and a digest
    of runtime/*.py as they were (the working tree is what the editable install runs)."""
    digest = hashlib.sha256()
    for path in sorted((REPO / "runtime").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    git = ["git", "-C", str(REPO)]
    return {
        "commit": _first_line([*git, "rev-parse", "--short", "HEAD"]),
        "runtime_dirty": _first_line([*git, "status", "--porcelain", "--", "runtime"])
        not in ("", "unavailable"),
        "runtime_sha256": digest.hexdigest()[:12],
    }


def _os_release() -> str:
    with contextlib.suppress(OSError), open("/etc/os-release") as f:
        for line in f:
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    return platform.platform()


def machine_line(m: dict[str, Any]) -> str:
    return (
        f"{m['nproc']} CPU ({m['cpu']}), {m['memory_gib']} GiB, {m['os']}, kernel {m['kernel']},"
        f" cgroup {m['cgroup']}, Python {m['python']}, {m['runc']}, {m['crun']};"
        f" load average {m['loadavg_start'][0]:.2f} at start;"
        f" engine at {_source_line(m['engine_source'])}"
    )


def _source_line(src: dict[str, Any]) -> str:
    dirty = " + uncommitted runtime/ changes" if src["runtime_dirty"] else ""
    return f"{src['commit']}{dirty} (runtime/*.py sha256 {src['runtime_sha256']})"


# -- the bare side -----------------------------------------------------------------------


class BareWorker:
    """The bare-runtime process (:mod:`bench._worker`); start it before opening an Engine.

    Closing it (:meth:`aclose`) waits for it with ``Popen.wait``: do that after the Engine is
    closed, or the engine's reaper may reap it first.
    """

    def __init__(self, errlog: Path) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "bench._worker", str(errlog)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=REPO,
        )
        self._reader: asyncio.StreamReader | None = None
        self._transport: asyncio.BaseTransport | None = None

    @property
    def pid(self) -> int:
        return self._proc.pid

    async def call(self, op: str, **kw: Any) -> dict[str, Any]:
        """Send one request; return the worker's reply (raise BenchError on its error)."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        if self._reader is None:
            loop = asyncio.get_running_loop()
            reader = self._reader = asyncio.StreamReader(limit=2**20)
            self._transport, _ = await loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(reader), self._proc.stdout
            )
        os.write(self._proc.stdin.fileno(), (json.dumps({"op": op, **kw}) + "\n").encode())
        line = await self._reader.readline()
        if not line:
            raise BenchError(f"the bare worker died (exit status {self._proc.poll()})")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise BenchError(f"bare worker, {op}: {reply['error']}")
        return reply

    async def steps(self, *steps: dict[str, Any]) -> dict[str, Any]:
        """Run argv steps (and pid-file waits) in the worker; raise if any failed."""
        reply = await self.call("steps", steps=list(steps))
        if any(reply["statuses"]):
            raise BenchError(f"bare step failed {reply['statuses']}: {reply['stderr']}")
        return reply

    async def aclose(self) -> None:
        if self._proc.poll() is None:
            with contextlib.suppress(BenchError, OSError):
                await self.call("quit")
            if self._proc.stdin is not None:
                self._proc.stdin.close()
        if self._transport is not None:
            self._transport.close()
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


def runtime_argv(runtime: str, root: Path, *args: str) -> list[str]:
    binary = shutil.which(runtime)
    if binary is None:
        raise BenchError(f"{runtime} is not installed")
    return [binary, "--root", str(root), *args]


# -- files, bundles, clean-up ---------------------------------------------------------------


@dataclass
class Workspace:
    """A short temporary directory (engine roots must be <= 90 characters), one id prefix
    per run, and the runtime roots used, so that clean-up can be checked afterwards."""

    dir: Path
    prefix: str
    roots: list[tuple[str, Path]] = field(default_factory=list)
    engine_roots: list[Path] = field(default_factory=list)

    def root(self, runtime: str, side: str) -> Path:
        path = self.dir / f"{side}-{runtime}"
        if side.startswith("engine"):
            # The engine keeps its runtime's state under <root>/<runtime name>.
            self.roots.append((runtime, path / runtime))
            self.engine_roots.append(path)
        else:
            self.roots.append((runtime, path))
        return path

    def rootfs(self) -> Path:
        """A busybox rootfs shared by every bundle of this run (the first call makes it,
        with subprocess: make it before opening an Engine)."""
        rootfs = self.dir / "base" / "rootfs"
        if not rootfs.exists():
            create_bundle(self.dir / "base", ["/bin/true"])
        return rootfs

    def bundle(self, name: str, args: list[str], rootfs: Path, **kw: Any) -> Path:
        return create_bundle(self.dir / "bundles" / name, args, rootfs=rootfs, **kw)


def tmp_base() -> str:
    """Where workspaces (engine roots, runtime roots, bundles) go: ``$SHIMDECK_BENCH_TMP``,
    else a tmpfs, as ``/run`` (the engine's default root, and runc's) is on most hosts.

    Not a disk directory: on the machine these figures come from, /run and /tmp are on the
    root ext4, where creating a file cost anywhere from 0.02 ms to 0.5 ms depending on the
    minute, and the engine creates more files per task and per exec than the bare runtime.
    """
    if os.environ.get("SHIMDECK_BENCH_TMP"):
        return os.environ["SHIMDECK_BENCH_TMP"]
    for candidate in ("/dev/shm", os.environ.get("XDG_RUNTIME_DIR") or ""):
        if candidate and os.access(candidate, os.W_OK):
            return candidate
    return tempfile.gettempdir()


@contextlib.contextmanager
def workspace(name: str) -> Any:
    tmp = Path(tempfile.mkdtemp(prefix=f"sdb-{name[:4]}-", dir=tmp_base()))
    try:
        yield Workspace(tmp, f"b{os.getpid()}{name[:2]}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def cleanup_report(ws: Workspace) -> dict[str, Any]:
    """What the run left behind: containers in any runtime root, cgroups named like ours,
    children (zombie or not) of this process. Call after every Engine and worker is closed."""
    containers: dict[str, list[str]] = {}
    for runtime, root in ws.roots:
        if root.exists():
            out = subprocess.run(
                runtime_argv(runtime, root, "list", "-q"), capture_output=True, text=True
            ).stdout.split()
            if out:
                containers[str(root)] = out
    cgroups = [
        p
        for depth in ("*", "*/*", "*/*/*")
        for p in glob.glob(f"/sys/fs/cgroup/{depth}/{ws.prefix}*")
    ]
    children = psutil.Process().children(recursive=True)
    zombies = [c.pid for c in children if _status(c) == psutil.STATUS_ZOMBIE]
    return {
        "containers_left": containers,
        "cgroups_left": sorted(cgroups),
        # Not the bench's doing, so not in "clean": reported as an engine defect, then removed.
        "engine_cgroups_left": engine_cgroups_left(ws),
        "children_left": [c.pid for c in children],
        "zombies": zombies,
        "clean": not (containers or cgroups or children),
    }


def engine_cgroup_name(root: Path) -> str:
    """The cgroup an Engine on ``root`` puts its tasks' cgroups under (runtime/tasks.py)."""
    return "shimdeck-" + hashlib.sha256(bytes(root.absolute())).hexdigest()[:12]


def engine_cgroups_left(ws: Workspace) -> list[str]:
    """The cgroup directories of this run's engines that are still there after they closed
    (crun puts a relative ``cgroupsPath`` under the hierarchy's root, runc under its own
    cgroup: where the engine's own memory cgroup is not the root, the engine removes the
    wrong one)."""
    names = {engine_cgroup_name(r) for r in ws.engine_roots}
    return sorted(
        p
        for depth in ("*", "*/*", "*/*/*")
        for name in names
        for p in glob.glob(f"/sys/fs/cgroup/{depth}/{name}")
    )


def remove_cgroup_trees(paths: Iterable[str]) -> None:
    """rmdir each cgroup directory and the (empty) cgroups under it, deepest first."""
    for path in paths:
        subs = sorted(Path(path).glob("**/"), key=lambda p: len(p.parts), reverse=True)
        for sub in subs:
            with contextlib.suppress(OSError):
                sub.rmdir()


def _left(report: dict[str, Any]) -> str:
    containers = sum(len(v) for v in report["containers_left"].values())
    return (
        f"{containers} containers, {len(report['cgroups_left'])} cgroup dirs,"
        f" {len(report['children_left'])} child processes ({len(report['zombies'])} zombies)"
    )


def sweep_leftovers(ws: Workspace) -> None:
    """Remove what :func:`cleanup_report` found: force-delete containers, reap zombies,
    remove cgroups. Only ever what this run made (its roots, its id prefix, its children)."""
    for runtime, root in ws.roots:
        if not root.exists():
            continue
        ids = subprocess.run(
            runtime_argv(runtime, root, "list", "-q"), capture_output=True, text=True
        ).stdout.split()
        for cid in ids:
            subprocess.run(runtime_argv(runtime, root, "delete", "--force", cid), check=False)
    time.sleep(0.2)
    for child in psutil.Process().children():
        if _status(child) == psutil.STATUS_ZOMBIE:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(child.pid, 0)
    for depth in ("*/*/*", "*/*", "*"):
        for path in glob.glob(f"/sys/fs/cgroup/{depth}/{ws.prefix}*"):
            with contextlib.suppress(OSError):
                os.rmdir(path)


def _status(p: psutil.Process) -> str:
    try:
        return str(p.status())
    except psutil.Error:
        return "gone"


# -- results ------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the markdown table."""

    bench: str
    metric: str
    engine: str
    bare: str = ""
    ratio: str = ""
    target: str = ""
    met: bool | None = None
    #: A correctness check (not a performance target): a miss makes the run fail.
    check: bool = False


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def fmt_ratio(value: float) -> str:
    return f"{value:.2f}"


def markdown_table(rows: Iterable[Row]) -> str:
    lines = [
        "| bench | metric | engine | bare | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        met = "" if r.met is None else ("yes" if r.met else "**no**")
        lines.append(
            f"| {r.bench} | {r.metric} | {r.engine} | {r.bare} | {r.ratio} | {r.target} | {met} |"
        )
    return "\n".join(lines)


def parse_args(description: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a short run (fewer rounds)")
    parser.add_argument("--rounds", type=int, default=None, help="measured rounds (override)")
    parser.add_argument("--runtimes", default=",".join(RUNTIMES), help="comma-separated: runc,crun")
    parser.add_argument("--out", type=Path, default=None, help="JSON file to write")
    return parser.parse_args(argv)


async def start_task(engine: Engine, cid: str, bundle: Path) -> None:
    """Create container ``cid`` on ``bundle`` and create and start its task."""
    await engine.containers.create(cid, bundle)
    await engine.tasks.create(cid)
    await engine.tasks.start(cid)


async def remove_task(engine: Engine, cid: str, *, kill: bool = True) -> None:
    """SIGKILL (unless ``kill`` is false), wait for, and delete task and container ``cid``."""
    if kill:
        await engine.tasks.kill(cid, signal.SIGKILL)
    await engine.tasks.wait(cid)
    await engine.tasks.delete(cid)
    await engine.containers.delete(cid)


BenchFn = Callable[
    [argparse.Namespace, Workspace], Coroutine[Any, Any, tuple[dict[str, Any], list[Row]]]
]


def run_bench(
    name: str, description: str, bench: BenchFn, argv: Sequence[str] | None = None
) -> int:
    """Parse the command line, run ``bench`` in a fresh workspace, check the clean-up,
    write ``bench/results/<name>.json`` (or ``--out``) and print the table. Returns 0, or 1
    when a correctness check failed or something was left behind (a missed performance
    target shows in the table and the JSON, not in the exit status)."""
    args = parse_args(description, argv)
    machine = machine_info()
    started = datetime.now(UTC)
    t0 = time.monotonic()
    with workspace(name) as ws:
        try:
            results, rows = asyncio.run(bench(args, ws))
        finally:
            cleanup = cleanup_report(ws)
            if not cleanup["clean"]:
                print(
                    f"{name} left things behind, removing them: {_left(cleanup)}", file=sys.stderr
                )
                sweep_leftovers(ws)
            if cleanup["engine_cgroups_left"]:
                remove_cgroup_trees(cleanup["engine_cgroups_left"])
                cleanup["engine_cgroups_removed"] = not engine_cgroups_left(ws)
    cleanup["tempdir_removed"] = not ws.dir.exists()
    if cleanup["engine_cgroups_left"]:
        left = cleanup["engine_cgroups_left"]
        rows.append(
            Row(
                name,
                "engine cgroup directories left after `Engine.close` (removed by the bench)",
                f"{len(left)}: {', '.join(sorted({p.split('/')[4] for p in left}))}",
                target="0",
                met=False,
            )
        )
    machine["loadavg_end"] = list(os.getloadavg())
    doc = {
        "bench": name,
        "quick": args.quick,
        "started": started.isoformat(),
        "duration_s": round(time.monotonic() - t0, 2),
        "machine": machine,
        "results": results,
        "rows": [asdict(r) for r in rows],
        "cleanup": cleanup,
    }
    out = args.out or RESULTS_DIR / f"{name}{'-quick' if args.quick else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    print(f"## {name} ({'quick, ' if args.quick else ''}{doc['duration_s']} s)\n")
    print(f"Machine: {machine_line(machine)}\n")
    print(markdown_table(rows))
    print(f"\nclean-up: {'ok' if cleanup['clean'] else _left(cleanup)}; results in {out}\n")
    failed = any(r.check and r.met is False for r in rows)
    return 1 if failed or not cleanup["clean"] or not cleanup["tempdir_removed"] else 0


#: Measures one runtime: (args, workspace, bare worker, runtime name) -> results.
Measure = Callable[[argparse.Namespace, Workspace, BareWorker, str], Awaitable[dict[str, Any]]]
#: Table rows from one runtime's results.
RowsFn = Callable[[str, dict[str, Any]], list[Row]]


def run_per_runtime(name: str, description: str, measure: Measure, rows: RowsFn) -> int:
    """:func:`run_bench` of ``measure`` for each runtime of ``--runtimes``, sharing one bare
    worker (started, like the shared rootfs, before any Engine opens)."""

    async def bench(args: argparse.Namespace, ws: Workspace) -> tuple[dict[str, Any], list[Row]]:
        ws.rootfs()
        worker = BareWorker(ws.dir / "worker.log")
        results: dict[str, Any] = {}
        table: list[Row] = []
        try:
            for rt in [r for r in args.runtimes.split(",") if r]:
                results[rt] = await measure(args, ws, worker, rt)
                table += rows(rt, results[rt])
        finally:
            await worker.aclose()
        return results, table

    return run_bench(name, description, bench)
