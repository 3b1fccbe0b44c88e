"""What every benchmark shares: statistics, interleaving, the bare-side worker, the machine,
clean-up checks, rows, and the command line (:func:`run`) that writes a typed result."""

import argparse
import asyncio
import contextlib
import glob
import hashlib
import json
import math
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from statistics import mean, median, quantiles
from typing import Any, Generic, TypeVar

import cattrs
import psutil

from runtime import Engine, create_bundle

from ._worker import BenchError as BenchError
from ._worker import cpu_times as cpu_times
from ._worker import reply, request

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "bench" / "results"
RUNTIMES = ("runc", "crun")
MIB = 2**20
#: Results to and from JSON; a field renamed on one side fails to load, not a blank cell.
convert = cattrs.Converter(forbid_extra_keys=True)
#: One sample of one side of a benchmark: ``total`` seconds plus optional phase times.
Sample = dict[str, float]
Fmt = Callable[[float], str]


@dataclass
class Stats:
    n: int
    median: float
    p90: float
    p95: float
    p99: float
    mean: float

    def p95_med(self) -> str:
        return f"{ms(self.p95)} / {ms(self.median)}"

    def med_p95(self) -> str:
        return f"{ms(self.median)} / {ms(self.p95)}"


def stats(values: Sequence[float]) -> Stats:
    if len(values) < 2:
        v = values[0] if values else math.nan
        return Stats(len(values), v, v, v, v, v)
    # "inclusive": linear interpolation between the closest ranks, as numpy's default.
    q = quantiles(values, n=100, method="inclusive")
    return Stats(len(values), q[49], q[89], q[94], q[98], mean(values))


#: The statistics of each key of a side's samples (``total`` and its phases).
Side = dict[str, Stats]


def summarize(samples: Sequence[Sample]) -> Side:
    keys = dict.fromkeys(k for s in samples for k in s)
    return {k: stats([s[k] for s in samples if k in s]) for k in keys}


def median_interval(values: Sequence[float], resamples: int = 2000) -> tuple[float, float]:
    """A 95% confidence interval of the median: a seeded percentile bootstrap."""
    rng = random.Random(0)
    medians = sorted(median(rng.choices(values, k=len(values))) for _ in range(resamples))
    return medians[int(resamples * 0.025)], medians[int(resamples * 0.975) - 1]


def cpu_since(start: tuple[float, float]) -> Sample:
    """CPU used by this process and its reaped children since ``start`` (:func:`cpu_times`)."""
    now = cpu_times()
    return {"cpu_self": now[0] - start[0], "cpu_children": now[1] - start[1]}


def ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


#: The sides of a comparison, by name: each measures one sample, given the round's number.
Sides = dict[str, Callable[[int], Awaitable[Sample]]]


async def interleave(sides: Sides, *, rounds: int, warmup: int) -> dict[str, list[Sample]]:
    """Run each side once per round, alternating which goes first; drop the warm-up rounds
    (why: docs/benchmarks.md, Method)."""
    out: dict[str, list[Sample]] = {n: [] for n in sides}
    for i in range(warmup + rounds):
        for name in list(sides)[:: 1 if i % 2 == 0 else -1]:
            sample = await sides[name](i)
            if i >= warmup:
                out[name].append(sample)
    return out


def first_line(*argv: str) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError) as e:
        return f"unavailable ({e})"
    return out.splitlines()[0].strip() if out.strip() else "unavailable"


@dataclass
class Machine:
    nproc: int
    cpu: str
    memory_gib: float
    os: str
    kernel: str
    cgroup: str
    python: str
    runc: str
    crun: str
    containerd: str
    #: Which engine was measured: its commit, whether runtime/ differed from it, and a
    #: digest of runtime/*.py as they were (the working tree is what runs).
    commit: str
    runtime_dirty: bool
    runtime_sha256: str
    loadavg_start: float
    loadavg_end: float = math.nan

    @classmethod
    def now(cls) -> "Machine":
        """Uses ``subprocess``: call it before opening an Engine in this process."""
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if "model name" in ln), "unknown")
        digest = hashlib.sha256()
        for path in sorted((REPO / "runtime").glob("*.py")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
        git = ("git", "-C", str(REPO))
        dirty = first_line(*git, "status", "--porcelain", "--", "runtime")
        return cls(
            nproc=os.cpu_count() or 0,
            cpu=cpu,
            memory_gib=round(psutil.virtual_memory().total / 2**30, 1),
            os=platform.freedesktop_os_release().get("PRETTY_NAME", platform.platform()),
            kernel=platform.release(),
            cgroup="v2" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "v1 (hybrid)",
            python=platform.python_version(),
            runc=first_line("runc", "--version"),
            crun=first_line("crun", "--version"),
            containerd=first_line("containerd", "--version"),
            commit=first_line(*git, "rev-parse", "--short", "HEAD"),
            runtime_dirty=dirty not in ("", "unavailable"),
            runtime_sha256=digest.hexdigest()[:12],
            loadavg_start=os.getloadavg()[0],
        )

    def line(self) -> str:
        dirty = " + uncommitted runtime/ changes" if self.runtime_dirty else ""
        return (
            f"{self.nproc} CPU ({self.cpu}), {self.memory_gib} GiB, {self.os}, kernel"
            f" {self.kernel}, cgroup {self.cgroup}, Python {self.python}, {self.runc},"
            f" {self.crun}, {self.containerd}; load average {self.loadavg_start:.2f} at start;"
            f" engine at {self.commit}{dirty} (runtime/*.py sha256 {self.runtime_sha256})"
        )


class BareWorker:
    """The bare-runtime process (:mod:`bench._worker`); start it before opening an Engine,
    close it (:meth:`aclose`) after, or the engine's reaper may reap it."""

    def __init__(self, errlog: Path) -> None:
        argv = [sys.executable, "-m", "bench._worker", str(errlog)]
        self._proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=REPO)

    def _call(self, op: str, kw: dict[str, Any]) -> dict[str, Any]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(request(op, **kw))
        self._proc.stdin.flush()
        return reply(self._proc.stdout.readline(), f"bare worker, {op}")

    async def call(self, op: str, **kw: Any) -> dict[str, Any]:
        """One request, answered in a thread (the worker times it itself)."""
        return await asyncio.to_thread(self._call, op, kw)

    async def steps(self, *steps: dict[str, Any]) -> dict[str, Any]:
        """Run argv steps (and pid-file waits) in the worker; raise if any failed."""
        reply = await self.call("steps", steps=list(steps))
        if any(reply["statuses"]):
            raise BenchError(f"bare step failed {reply['statuses']}: {reply['stderr']}")
        return reply

    async def parallel(self, argvs: list[list[str]]) -> list[float]:
        """Every argv at once in the worker (raise if any failed): each one's time."""
        reply = await self.call("parallel", argvs=argvs)
        if any(reply["statuses"]):
            raise BenchError(f"{len(argvs)} at once: {reply['statuses']}: {reply['stderr']}")
        return list(reply["times"])

    async def aclose(self) -> None:
        if self._proc.poll() is None:
            with contextlib.suppress(BenchError, OSError):
                await self.call("reap")
        try:
            self._proc.communicate(timeout=30)  # closes its stdin: the worker's end
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.communicate()


def sample(reply: dict[str, Any], *phases: str) -> Sample:
    """A :meth:`BareWorker.steps` reply: its total and CPU, and its first steps' times."""
    costs = {k: reply[k] for k in ("total", "cpu_self", "cpu_children")}
    return dict(zip(phases, reply["times"], strict=False)) | costs


def runtime_argv(runtime: str, root: Path, *args: str) -> list[str]:
    if (binary := shutil.which(runtime)) is None:
        raise BenchError(f"{runtime} is not installed")
    return [binary, "--root", str(root), *args]


@contextlib.asynccontextmanager
async def bare_container(
    worker: BareWorker, rt: Callable[..., list[str]], bundle: Path, cid: str, pid_file: Path
) -> AsyncIterator[None]:
    """A detached bare container for the body (its init re-parented to the worker), then
    SIGKILLed, waited for and deleted. Its stderr goes to /dev/null, not the worker's log
    (CRIU cannot dump a file of another mount namespace; /dev/null it reopens)."""
    argv = rt("run", "--detach", "--bundle", str(bundle), "--pid-file", str(pid_file), cid)
    await worker.steps({"argv": ["/bin/sh", "-c", 'exec "$@" 2>/dev/null', "sh", *argv]})
    try:
        yield
    finally:
        wait = {"wait_pid_file": str(pid_file)}
        kill = [{"argv": rt("kill", cid, "KILL")}, wait, {"argv": rt("delete", "--force", cid)}]
        await worker.call("steps", steps=kill)
        await worker.call("reap")


async def ten_at_once(start: Callable[[str], Awaitable[Any]], ids: Sequence[str]) -> None:
    for i in range(0, len(ids), 10):
        await asyncio.gather(*(start(id) for id in ids[i : i + 10]))


async def start_task(engine: Engine, cid: str, bundle: Path) -> None:
    await engine.containers.create(cid, bundle)
    await engine.tasks.create(cid)
    await engine.tasks.start(cid)


async def remove_task(engine: Engine, cid: str, *, kill: bool = True) -> None:
    if kill:
        await engine.tasks.kill(cid, signal.SIGKILL)
    await engine.tasks.wait(cid)
    await engine.tasks.delete(cid)
    await engine.containers.delete(cid)


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
        if not (rootfs := self.dir / "base" / "rootfs").exists():
            create_bundle(self.dir / "base", ["/bin/true"])
        return rootfs

    def bundle(self, name: str, args: list[str], **kw: Any) -> Path:
        return create_bundle(self.dir / "bundles" / name, args, rootfs=self.rootfs(), **kw)


def _cgroups(names: Iterable[str]) -> list[str]:
    depths = ("*", "*/*", "*/*/*")
    return sorted(p for d in depths for n in names for p in glob.glob(f"/sys/fs/cgroup/{d}/{n}"))


def _list(runtime: str, root: Path) -> list[str]:
    if not root.exists():
        return []
    argv = runtime_argv(runtime, root, "list", "-q")
    return subprocess.run(argv, capture_output=True, text=True).stdout.split()


@dataclass
class Cleanup:
    """What a run left behind. Cgroups the engine left are an engine defect, not the bench's
    doing (docs/benchmarks.md, Method): reported apart, and removed."""

    containers_left: dict[str, list[str]]
    cgroups_left: list[str]
    engine_cgroups_left: list[str]
    children_left: list[int]
    mounts_left: list[str]
    tempdir_removed: bool = False

    @property
    def clean(self) -> bool:
        left = self.containers_left or self.cgroups_left or self.children_left or self.mounts_left
        return not left and self.tempdir_removed

    @classmethod
    def check(cls, ws: Workspace) -> "Cleanup":
        """Call after every Engine and worker is closed."""
        # Where an Engine on a root puts its tasks' cgroups (runtime/tasks.py).
        digests = (hashlib.sha256(bytes(r.absolute())).hexdigest() for r in ws.engine_roots)
        with open("/proc/self/mountinfo") as f:  # a containerd's snapshots, if still mounted
            mounts = [m for line in f if (m := line.split()[4]).startswith(f"{ws.dir}/")]
        return cls(
            {str(root): ids for rt, root in ws.roots if (ids := _list(rt, root))},
            _cgroups([f"{ws.prefix}*"]),
            _cgroups({f"shimdeck-{d[:12]}" for d in digests}),
            [p.pid for p in psutil.Process().children(recursive=True)],
            mounts,
        )

    def sweep(self, ws: Workspace) -> None:
        """Remove what :meth:`check` found: only ever what this run made."""
        for runtime, root in ws.roots:
            for cid in _list(runtime, root):
                subprocess.run(runtime_argv(runtime, root, "delete", "--force", cid), check=False)
        time.sleep(0.2)
        for pid in self.children_left:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
        for mount in sorted(self.mounts_left, reverse=True):
            subprocess.run(["umount", "-l", mount], check=False)
        for path in [*self.cgroups_left, *self.engine_cgroups_left]:
            for sub in sorted(Path(path).glob("**/"), key=lambda p: len(p.parts), reverse=True):
                with contextlib.suppress(OSError):
                    sub.rmdir()

    def line(self) -> str:
        n = sum(len(v) for v in self.containers_left.values())
        return (
            f"{n} containers, {len(self.cgroups_left)} cgroup dirs, {len(self.mounts_left)}"
            f" mounts, {len(self.children_left)} child processes left; temp dir removed:"
            f" {self.tempdir_removed}"
        )


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def mib(size: float) -> str:
    return f"{size / MIB:.2f} MiB"


def pct(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}f}% of a core"


def cpu(side: Side) -> str:
    """CPU per operation of the measuring process / its reaped children, medians."""
    return f"{ms(side['cpu_self'].median)} / {ms(side['cpu_children'].median)}"


@dataclass
class Row:
    """One line of a benchmark's table: its figure (``engine``) and its anchor's (``bare``);
    ``check``: a correctness check, whose miss fails the run (not a performance target)."""

    metric: str
    engine: str
    bare: str = ""
    ratio: str = ""
    target: str = ""
    met: bool | None = None
    check: bool = False

    def cells(self, bench: str) -> list[str]:
        met = {None: "", True: "yes", False: "**no**"}[self.met]
        return [bench, self.metric, self.engine, self.bare, self.ratio, self.target, met]


def vs(
    metric: str, ours: float, anchor: float, label: str = "", target: float = 0, fmt: Fmt = ms
) -> Row:
    """A figure against its anchor's: both, their ratio, and whether it is at most ``target``."""
    r, bare = ratio(ours, anchor), fmt(anchor) + (f" ({label})" if label else "")
    met = r <= target if target else None
    return Row(metric, fmt(ours), bare, f"{r:.2f}", f"<= {target}" if target else "", met)


def at_most(
    metric: str,
    value: float,
    limit: float,
    fmt: Fmt = ms,
    shown: str = "",
    *,
    bare: str = "",
    anchor: float | None = None,
    label: str = "",
    stat: str = "",
) -> Row:
    """``value`` (shown as ``shown``; ``stat`` names it) against a target: at most ``limit``
    (a NaN, nothing measured, is not); beside it ``bare``, or its ``anchor`` (``label``)
    and the ratio to it."""
    limit_text = re.sub(r"[.]0+(?!\d)", "", fmt(limit))  # "100 ms", not "100.00 ms"
    target, times = f"{stat} <= {limit_text}".lstrip(), ""
    if anchor is not None:
        bare, times = fmt(anchor) + (f" ({label})" if label else ""), f"{ratio(value, anchor):.2f}"
    return Row(metric, shown or fmt(value), bare, times, target, value <= limit)


def p95_at_most(metric: str, s: Stats, limit: float, bare: str = "") -> Row:
    """A latency's p95 (beside its median and count) against a target."""
    what = f"{metric} p95 / median (n={s.n})"
    return at_most(what, s.p95, limit, ms, s.p95_med(), bare=bare, stat="p95")


def check(metric: str, shown: str, ok: bool, target: str) -> Row:
    return Row(metric, shown, target=target, met=ok, check=True)


def table(header: Sequence[str], body: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in body])


def rows_table(name: str, rows: Iterable[Row]) -> str:
    head = ["bench", "metric", "engine", "bare", "ratio", "target", "met"]
    return table(head, (r.cells(name) for r in rows))


class BenchResult:
    """What a benchmark's result (a dataclass) renders: its rows, its part of
    docs/benchmarks.md (``docs``: where a plot goes) and its rows of the README's table
    (what, shimdeck, anchor, ratio)."""

    def rows(self) -> list[Row]:
        raise NotImplementedError

    def section(self, name: str, docs: Path) -> str:
        return rows_table(name, self.rows())

    def headline(self) -> list[list[str]]:
        return []


class PerRuntime:
    """One runtime's part of a :class:`ByRuntime` result."""

    def rows(self, rt: str) -> list[Row]:
        raise NotImplementedError


P = TypeVar("P", bound=PerRuntime)


@dataclass
class ByRuntime(BenchResult, Generic[P]):
    """A result for each runtime of ``--runtimes``, each rendering its own rows."""

    runtimes: dict[str, P]

    def rows(self) -> list[Row]:
        return [row for rt, res in self.runtimes.items() for row in res.rows(rt)]


@dataclass
class Doc:
    """What ``python -m bench.<name>`` writes: its result, as its module's ``Result``
    structures it, and the rows it rendered."""

    bench: str
    quick: bool
    started: str
    duration_s: float
    machine: Machine
    result: dict[str, Any]
    rows: list[Row]
    cleanup: Cleanup


R = TypeVar("R", bound=BenchResult)
T = TypeVar("T")
Measure = Callable[[argparse.Namespace, Workspace], Coroutine[Any, Any, R]]


def run(name: str, measure: Measure[R]) -> int:
    """``python -m bench.<name> [--quick] [--rounds N] [--runtimes ...] [--out FILE]``:
    ``measure`` in a fresh workspace, then the clean-up checked and swept, the JSON written
    and the rows printed. Exits 1 only on a failed correctness check or leftovers."""
    parser = argparse.ArgumentParser(prog=f"python -m bench.{name}")
    parser.add_argument("--quick", action="store_true", help="a short run (fewer rounds)")
    parser.add_argument("--rounds", type=int, default=None, help="measured rounds (override)")
    parser.add_argument("--runtimes", default=",".join(RUNTIMES), help="comma-separated")
    parser.add_argument("--out", type=Path, default=None, help="JSON file to write")
    args = parser.parse_args()
    args.runtimes = [r for r in args.runtimes.split(",") if r]
    machine, started, t0 = Machine.now(), datetime.now(UTC), time.monotonic()
    # On a tmpfs unless $SHIMDECK_BENCH_TMP (docs/benchmarks.md, Method: why).
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else tempfile.gettempdir()
    base = os.environ.get("SHIMDECK_BENCH_TMP") or shm
    tmp = Path(tempfile.mkdtemp(prefix=f"sdb-{name[:4]}-", dir=base))
    ws = Workspace(tmp, f"b{os.getpid()}{name[:2]}")
    try:
        result = asyncio.run(measure(args, ws))
    finally:
        cleanup = Cleanup.check(ws)
        cleanup.sweep(ws)
        shutil.rmtree(tmp, ignore_errors=True)
        cleanup.tempdir_removed = not tmp.exists()
    rows = result.rows()
    if left := sorted({p.split("/")[4] for p in cleanup.engine_cgroups_left}):
        metric = "engine cgroup directories left after `Engine.close` (removed by the bench)"
        rows.append(Row(metric, f"{len(left)}: {', '.join(left)}", target="0", met=False))
    machine.loadavg_end = os.getloadavg()[0]
    took = round(time.monotonic() - t0, 2)
    data = convert.unstructure(result)
    doc = Doc(name, args.quick, started.isoformat(), took, machine, data, rows, cleanup)
    out = args.out or RESULTS_DIR / f"{name}{'-quick' if args.quick else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(convert.unstructure(doc), indent=2) + "\n")
    print(f"## {name} ({'quick, ' if args.quick else ''}{took} s)\n")
    print(f"Machine: {machine.line()}\n\n{rows_table(name, rows)}\n")
    print(f"clean-up: {'ok' if cleanup.clean else cleanup.line()}; results in {out}\n")
    return 0 if cleanup.clean and not any(r.check and r.met is False for r in rows) else 1


def by_runtime(
    result: Callable[[dict[str, T]], R],
    measure: Callable[[argparse.Namespace, Workspace, BareWorker, str], Awaitable[T]],
) -> Measure[R]:
    """``measure`` for each runtime of ``--runtimes``, in ``result``, sharing one bare worker
    (started, like the shared rootfs, before any Engine opens)."""

    async def measure_all(args: argparse.Namespace, ws: Workspace) -> R:
        ws.rootfs()
        worker = BareWorker(ws.dir / "worker.log")
        try:
            return result({rt: await measure(args, ws, worker, rt) for rt in args.runtimes})
        finally:
            await worker.aclose()

    return measure_all
