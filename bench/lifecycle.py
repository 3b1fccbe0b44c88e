"""Task lifecycle: the engine against the bare runtime, 100 tasks at once, memory per task.

1. A ``/bin/true`` task's whole life through the engine against the bare runtime doing the
   same, in interleaved rounds. Two engine paths: ``create`` + ``start`` (container create,
   task create, start, wait, task delete, container delete: the runtime's ``create``,
   ``start`` and ``delete``), and ``run`` (container create, ``tasks.run``, wait, task delete,
   container delete: the runtime's ``run --detach`` and ``delete``). Three bare baselines:
   ``<rt> run`` (create, start, wait and delete in one command: a foreground ``run`` destroys
   its container when the process exits, so a ``delete`` after it only fails with "container
   does not exist"); ``run --detach --pid-file``, wait for the pid, ``delete --force`` (the
   two commands of the engine's ``run`` path); and ``create --pid-file``, ``start``, wait for
   the pid, ``delete --force`` (the commands of its ``create`` + ``start`` path). Each
   command is one process, waited for by a subreaper as the engine does. The last two issue
   the engine's own command lines (its JSON ``--log`` included), so the difference between
   an engine path and its baseline is the engine's own cost: the median of the per-round
   differences, which is the row with the 1 ms target.
2. 100 tasks ``sh -c "exit N"`` (100 different N) created and started at once with
   ``asyncio.gather``: the time until all are reaped, and whether every status is right, by
   ``wait`` and by ``/tasks/exit`` event.
3. The engine process's RSS before and after 100 running ``sleep`` tasks.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import psutil

from runtime import Engine, events

from ._common import (
    REPO,
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
    remove_task,
    run_per_runtime,
    runtime_argv,
    start_task,
    summarize,
    summarize_samples,
)

NAME = "lifecycle"
TARGET_RATIO = {"runc": 1.2, "crun": 1.5}
TARGET_MIB_PER_TASK = 1.0
#: What the engine may add to a lifecycle on top of the runtime commands it issues.
TARGET_OWN_MS = 1.0
#: containerd-shim-runc-v2: one Go process per container, about this much RSS each.
SHIM_MIB_PER_CONTAINER = 13
MANY = 100


def _exit_code(i: int) -> int:
    """100 different exit codes in 0..255 (37 is prime to 256), signal-looking ones included."""
    return (i * 37) % 256


async def interleaved(
    args: argparse.Namespace, ws: Workspace, worker: BareWorker, runtime: str, rootfs: Path
) -> dict[str, Any]:
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
                "engine": engine_side,
                "engine_run": engine_run,
                "bare_run": bare_run,
                "bare_detach": bare_detach,
                "bare_steps": bare_steps,
            },
            rounds=rounds,
            warmup=warmup,
        )
    own = {
        path: {
            key: summarize(
                [e[key] - b[key] for e, b in zip(samples[path], samples[base], strict=True)]
            )
            for key in ("total", "cpu_self")
        }
        for path, base in (("engine", "bare_steps"), ("engine_run", "bare_detach"))
    }
    return {
        "rounds": rounds,
        "warmup": warmup,
        "run_lifecycles": rounds + warmup,
        "run_wrong_status": wrong_run,
        "own": own,
    } | {side: summarize_samples(s) for side, s in samples.items()}


async def many_at_once(
    ws: Workspace, worker: BareWorker, runtime: str, rootfs: Path
) -> dict[str, Any]:
    """Create and start 100 short tasks at once; check every exit status. As context, the
    bare worker then spawns 100 ``<rt> run`` of the same bundles at once."""
    bundles = [
        ws.bundle(f"exit{i}-{runtime}", ["/bin/sh", "-c", f"exit {_exit_code(i)}"], rootfs)
        for i in range(MANY)
    ]
    async with Engine(root=ws.root(runtime, "engine-many"), runtime=runtime) as engine:
        sub = engine.subscribe(topics=[events.TASK_EXIT])
        ids = [f"{ws.prefix}{runtime[0]}m{i}" for i in range(MANY)]

        t0 = time.perf_counter()
        await asyncio.gather(*(start_task(engine, ids[i], bundles[i]) for i in range(MANY)))
        t_started = time.perf_counter()
        exits = await asyncio.gather(*(engine.tasks.wait(cid) for cid in ids))
        t_reaped = time.perf_counter()
        await asyncio.gather(*(engine.tasks.delete(cid) for cid in ids))
        await asyncio.gather(*(engine.containers.delete(cid) for cid in ids))
        t_deleted = time.perf_counter()
        seen: dict[str, list[int]] = {}
        while (event := sub.get_nowait()) is not None:
            if event.topic == events.TASK_EXIT:
                seen.setdefault(event.container_id, []).append(event.exit_status or 0)
        sub.close()
    wrong_wait = [
        (cid, ex.exit_status, _exit_code(i))
        for i, (cid, ex) in enumerate(zip(ids, exits, strict=True))
        if ex.exit_status != _exit_code(i)
    ]
    wrong_events = [
        (cid, seen.get(cid), _exit_code(i))
        for i, cid in enumerate(ids)
        if seen.get(cid) != [_exit_code(i)]
    ]
    bare_root = ws.root(runtime, "bare-many")
    bare = await worker.call(
        "parallel",
        argvs=[
            runtime_argv(
                runtime, bare_root, "run", "--bundle", str(b), f"{ws.prefix}{runtime[0]}p{i}"
            )
            for i, b in enumerate(bundles)
        ],
    )
    bare_wrong = [
        (i, status, _exit_code(i))
        for i, status in enumerate(bare["statuses"])
        if status != _exit_code(i)
    ]
    return {
        "tasks": MANY,
        "bare_run_all_s": bare["total"],
        "bare_wrong_status": bare_wrong,
        "start_all_s": t_started - t0,
        "reaped_all_s": t_reaped - t0,
        "delete_all_s": t_deleted - t_reaped,
        "wrong_wait_status": wrong_wait,
        "wrong_exit_events": wrong_events,
        "correct": not wrong_wait and not wrong_events,
    }


def _memory(full: bool = False) -> dict[str, int]:
    p = psutil.Process()
    if full:  # PSS and USS too (reads smaps: slower)
        m = p.memory_full_info()
        return {"rss": m.rss, "pss": m.pss, "uss": m.uss, "fds": p.num_fds()}
    return {"rss": p.memory_info().rss, "fds": p.num_fds()}


async def memory_probe(
    root: Path, runtime: str, bundle: Path, prefix: str, trace: bool = True
) -> dict[str, Any]:
    """The engine process's RSS before and after 100 running ``sleep`` tasks.

    Run in a fresh process (see :func:`memory_per_task`): freed Python memory stays in the
    process, so after the other phases the heap would already hold room for 100 tasks.
    A second round under ``tracemalloc`` gives the Python heap each task holds on to.
    """
    async with Engine(root=root, runtime=runtime) as engine:

        async def launch(cid: str) -> None:
            await start_task(engine, cid, bundle)

        async def remove(cid: str) -> None:
            await remove_task(engine, cid)

        async def launch_all(tag: str) -> list[str]:
            ids = [f"{prefix}{tag}{i}" for i in range(MANY)]
            for batch in range(0, MANY, 10):
                await asyncio.gather(*(launch(c) for c in ids[batch : batch + 10]))
            gc.collect()
            return ids

        # Warm up: every code path a task takes, run once before the first measurement.
        warm = [f"{prefix}w{i}" for i in range(10)]
        await asyncio.gather(*(launch(c) for c in warm))
        await asyncio.gather(*(remove(c) for c in warm))
        gc.collect()
        before = _memory()
        ids = await launch_all("k")
        await asyncio.sleep(0.2)
        after = _memory(full=True)
        running = sum(1 for t in engine.tasks.list() if t.status == "running")
        t0 = time.perf_counter()
        await asyncio.gather(*(remove(c) for c in ids))
        removed_s = time.perf_counter() - t0
        gc.collect()
        end = _memory()
        mib = 2**20
        result: dict[str, Any] = {
            "tasks": MANY,
            "running": running,
            "before": before,
            "after": after,
            "after_delete": end,
            "rss_mib_per_task": (after["rss"] - before["rss"]) / MANY / mib,
            "fds_per_task": (after["fds"] - before["fds"]) / MANY,
            "rss_mib_kept_after_delete": (end["rss"] - before["rss"]) / mib,
            "kill_delete_all_s": removed_s,
        }
        if not trace:
            return result
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        ids = await launch_all("t")
        traced = tracemalloc.get_traced_memory()[0] - base
        top = tracemalloc.take_snapshot().statistics("lineno")[:8]
        tracemalloc.stop()
        await asyncio.gather(*(remove(c) for c in ids))
    return result | {
        "python_heap_kib_per_task": traced / MANY / 1024,
        "python_heap_top": [str(s) for s in top],
    }


def memory_per_task(
    ws: Workspace, runtime: str, rootfs: Path, *, trace: bool = True, tag: str = "engine-mem"
) -> dict[str, Any]:
    """:func:`memory_probe` in a fresh interpreter (no Engine is open here meanwhile)."""
    bundle = ws.bundle(f"sleep-{runtime}", ["/bin/sleep", "100000"], rootfs)
    root = ws.root(runtime, tag)
    argv = [sys.executable, "-m", "bench.lifecycle", "--memory-probe", runtime, str(root)]
    argv += [str(bundle), f"{ws.prefix}{runtime[0]}", "trace" if trace else "notrace"]
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=600)
    if proc.returncode != 0:
        raise BenchError(f"memory probe failed: {proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


async def measure(
    args: argparse.Namespace, ws: Workspace, worker: BareWorker, runtime: str
) -> dict[str, Any]:
    rootfs = ws.rootfs()
    return {
        "interleaved": await interleaved(args, ws, worker, runtime, rootfs),
        "many": await many_at_once(ws, worker, runtime, rootfs),
        "memory": memory_per_task(ws, runtime, rootfs),
    }


def _cpu(side: dict[str, Any]) -> str:
    return f"{ms(side['cpu_self']['median'])} / {ms(side['cpu_children']['median'])}"


def rows(rt: str, res: dict[str, Any]) -> list[Row]:
    il = res["interleaved"]
    eng, run, steps = (il[k]["total"] for k in ("engine", "bare_run", "bare_steps"))
    erun, detach = il["engine_run"]["total"], il["bare_detach"]["total"]
    r_run = ratio(eng["median"], run["median"])
    r_steps = ratio(eng["median"], steps["median"])
    rr_run = ratio(erun["median"], run["median"])
    rr_detach = ratio(erun["median"], detach["median"])
    target = TARGET_RATIO[rt]
    many, mem = res["many"], res["memory"]
    wrong = il["run_wrong_status"]
    per_task = mem["rss_mib_per_task"]
    own = [
        Row(
            NAME,
            f"{rt}: the engine's own time per {label} lifecycle (median of per-round"
            f" differences to the same {n} runtime commands; its own CPU beside)",
            f"{ms(il['own'][path]['total']['median'])}"
            f" (CPU {ms(il['own'][path]['cpu_self']['median'])})",
            f"{ms(il[path]['total']['median'])} vs {ms(il[base]['total']['median'])}",
            target=f"<= {TARGET_OWN_MS:.0f} ms",
            met=il["own"][path]["total"]["median"] * 1e3 <= TARGET_OWN_MS,
        )
        for path, base, label, n in (
            ("engine_run", "bare_detach", "`tasks.run`", 2),
            ("engine", "bare_steps", "create + start", 4),
        )
    ]
    return [
        *own,
        Row(
            NAME,
            f"{rt}: /bin/true lifecycle by `tasks.run`, median (n={erun['n']})",
            ms(erun["median"]),
            f"{ms(run['median'])} (`{rt} run`)",
            fmt_ratio(rr_run),
            f"<= {target}",
            rr_run <= target,
        ),
        Row(
            NAME,
            f"{rt}: `tasks.run` lifecycle vs the same 2 runtime commands, median",
            ms(erun["median"]),
            f"{ms(detach['median'])} (`run --detach` + wait + `delete`)",
            fmt_ratio(rr_detach),
            f"<= {target}",
            rr_detach <= target,
        ),
        Row(
            NAME,
            f"{rt}: `tasks.run` of /bin/true, exit status 0 by `wait`",
            f"{il['run_lifecycles'] - len(wrong)} of {il['run_lifecycles']}"
            + (f" (others: {sorted(set(wrong))})" if wrong else ""),
            target="all",
            met=not wrong,
            check=True,
        ),
        Row(
            NAME,
            f"{rt}: `tasks.run` lifecycle, p90",
            ms(erun["p90"]),
            ms(run["p90"]),
            fmt_ratio(ratio(erun["p90"], run["p90"])),
        ),
        Row(
            NAME,
            f"{rt}: /bin/true lifecycle by create + start, median (n={eng['n']})",
            ms(eng["median"]),
            f"{ms(run['median'])} (`{rt} run`)",
            fmt_ratio(r_run),
            f"<= {target}",
            r_run <= target,
        ),
        Row(
            NAME,
            f"{rt}: create + start lifecycle, p90",
            ms(eng["p90"]),
            ms(run["p90"]),
            fmt_ratio(ratio(eng["p90"], run["p90"])),
        ),
        Row(
            NAME,
            f"{rt}: create + start lifecycle vs the same 4 runtime commands, median",
            ms(eng["median"]),
            f"{ms(steps['median'])} (create/start/wait/delete)",
            fmt_ratio(r_steps),
        ),
        Row(
            NAME,
            f"{rt}: CPU per `tasks.run` lifecycle, engine process / its children, median",
            _cpu(il["engine_run"]),
            f"{_cpu(il['bare_detach'])} (worker, 2 commands)",
            fmt_ratio(
                ratio(
                    il["engine_run"]["cpu_self"]["median"], il["bare_detach"]["cpu_self"]["median"]
                )
            ),
        ),
        Row(
            NAME,
            f"{rt}: CPU per create + start lifecycle, engine process / its children, median",
            _cpu(il["engine"]),
            f"{_cpu(il['bare_steps'])} (worker, 4 commands)",
            fmt_ratio(
                ratio(il["engine"]["cpu_self"]["median"], il["bare_steps"]["cpu_self"]["median"])
            ),
        ),
        Row(
            NAME,
            f"{rt}: {many['tasks']} tasks at once: all reaped / all deleted",
            f"{many['reaped_all_s']:.2f} s / {many['reaped_all_s'] + many['delete_all_s']:.2f} s",
            f"{many['bare_run_all_s']:.2f} s (100 `{rt} run` at once)",
            fmt_ratio(ratio(many["reaped_all_s"] + many["delete_all_s"], many["bare_run_all_s"])),
        ),
        Row(
            NAME,
            f"{rt}: {many['tasks']} tasks at once, exit statuses (wait and /tasks/exit)",
            "all right" if many["correct"] else "WRONG (see JSON)",
            target="every status right",
            met=many["correct"],
            check=True,
        ),
        Row(
            NAME,
            f"{rt}: engine RSS per running task ({mem['running']} sleep tasks)",
            f"{per_task:.3f} MiB ({mem['fds_per_task']:.1f} fds)",
            f"~{SHIM_MIB_PER_CONTAINER} MiB (containerd-shim, per container)",
            target=f"<= {TARGET_MIB_PER_TASK} MiB",
            met=per_task <= TARGET_MIB_PER_TASK,
        ),
    ]


def main() -> int:
    if sys.argv[1:2] == ["--memory-probe"]:
        runtime, root, bundle, prefix, trace = sys.argv[2:7]
        result = asyncio.run(
            memory_probe(Path(root), runtime, Path(bundle), prefix, trace == "trace")
        )
        print(json.dumps(result))
        return 0
    return run_per_runtime(NAME, __doc__ or NAME, measure, rows)


if __name__ == "__main__":
    sys.exit(main())
