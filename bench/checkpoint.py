"""Checkpoint and restore of a running task, through the engine and by hand with the runtime."""

import argparse
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass

from runtime import Engine
from runtime.checkpoint import find_criu
from runtime.checkpoint import runtime_argv as with_criu

from . import _common as c

NAME = "checkpoint"
TITLE = "Checkpoint and restore (CRIU)"
TARGET_RATIO = 1.1


@dataclass
class Runtime(c.PerRuntime):
    skipped: str = ""
    engine: c.Side | None = None
    bare: c.Side | None = None

    def rows(self, rt: str) -> list[c.Row]:
        if self.engine is None or self.bare is None:
            return [c.Row(f"{rt}: checkpoint + restore", f"not measured: {self.skipped}")]
        eng, bare = ({k: v.median for k, v in side.items()} for side in (self.engine, self.bare))
        return [
            c.vs(
                f"{rt}: checkpoint + restore of a sleep, median (n={self.engine['total'].n})",
                *(eng["total"], bare["total"], f"`{rt} checkpoint` + `{rt} restore`", TARGET_RATIO),
            ),
            *(c.vs(f"{rt}: {k}, median", eng[k], bare[k]) for k in ("checkpoint", "restore")),
        ]


Result = c.ByRuntime[Runtime]


def unusable(runtime: str, criu: str | None) -> str | None:
    """Why checkpoints cannot be measured on ``runtime`` here, if they cannot."""
    if criu is None or subprocess.run([criu, "check"], capture_output=True).returncode:
        return "no CRIU passes 'criu check' (run scripts/setup-host)"
    out = subprocess.run([runtime, "checkpoint", "--help"], capture_output=True, text=True)
    return "built without CRIU" if "unknown command" in out.stdout + out.stderr else None


async def measure_runtime(
    args: argparse.Namespace, ws: c.Workspace, worker: c.BareWorker, runtime: str
) -> Runtime:
    criu = find_criu()
    why = unusable(runtime, criu)
    if why is not None:
        return Runtime(skipped=why)
    assert criu is not None
    bundle = ws.bundle(f"sleep-{runtime}", ["/bin/sleep", "100000"])
    bare_root = ws.root(runtime, "bare")
    bare_id = f"{ws.prefix}{runtime[0]}bare"
    pid_file = ws.dir / f"bare-{runtime}.pid"
    rounds = args.rounds or (5 if args.quick else 25)
    warmup = 1 if args.quick else 3

    def rt(*a: str) -> list[str]:
        return with_criu(c.runtime_argv(runtime, bare_root, *a), runtime, criu)

    def image(side: str, i: int) -> str:
        shutil.rmtree(ws.dir / f"img-{side}-{runtime}-{i - 1}", ignore_errors=True)
        return str(ws.dir / f"img-{side}-{runtime}-{i}")

    async with (
        c.bare_container(worker, rt, bundle, bare_id, pid_file),
        Engine(root=ws.root(runtime, "engine"), runtime=runtime, criu=criu) as engine,
    ):
        cid = f"{ws.prefix}{runtime[0]}eng"
        await c.start_task(engine, cid, bundle)

        async def engine_side(i: int) -> c.Sample:
            path = image("engine", i)
            t0 = time.perf_counter()
            await engine.tasks.checkpoint(cid, path, exit=True)
            await engine.tasks.wait(cid)
            await engine.tasks.delete(cid)
            t1 = time.perf_counter()
            info = await engine.tasks.restore(cid, path)
            t2 = time.perf_counter()
            if info.status != "running":
                raise c.BenchError(f"the engine restored a task {info.status}")
            return {"total": t2 - t0, "checkpoint": t1 - t0, "restore": t2 - t1}

        async def bare_side(i: int) -> c.Sample:
            path = image("bare", i)
            work = str(ws.dir / f"work-{runtime}")
            # "parallel" waits for any child: it reaps the init CRIU killed (the worker
            # is its subreaper) while runc checks it is gone, as the engine's reaper does.
            dump = await worker.parallel(
                [rt("checkpoint", "--image-path", path, "--work-path", work, bare_id)]
            )
            restore = ["restore", "--detach", "--bundle", str(bundle), "--image-path", path]
            restore += ["--work-path", work, "--pid-file", str(pid_file), bare_id]
            took = (await worker.steps({"argv": rt(*restore)}))["total"]
            return {"total": dump[0] + took, "checkpoint": dump[0], "restore": took}

        samples = await c.interleave(
            {"engine": engine_side, "bare": bare_side}, rounds=rounds, warmup=warmup
        )
        await c.remove_task(engine, cid)
    return Runtime(engine=c.summarize(samples["engine"]), bare=c.summarize(samples["bare"]))


if __name__ == "__main__":
    sys.exit(c.run(NAME, c.by_runtime(Result, measure_runtime)))
