"""Console throughput: bytes/s from a container's pty to the engine's ``io.stream()``."""

import argparse
import sys
import time
from dataclasses import dataclass

from runtime import Engine
from runtime.bundle import find_busybox

from . import _common as c

NAME = "console"
TITLE = "Console throughput"


@dataclass
class Runtime(c.PerRuntime):
    bytes: int
    engine: c.Side
    bare: c.Side

    def rows(self, rt: str) -> list[c.Row]:
        eng, bare = self.engine, self.bare
        n, size = eng["total"].n, self.bytes // c.MIB
        rate, total = eng["mib_per_s"].median, eng["total"].median
        bare_rate, bare_total = bare["mib_per_s"].median, bare["total"].median
        return [
            c.vs(
                f"{rt}: pty -> io.stream(), {size} MiB, median (n={n})",
                *(rate, bare_rate, "cat to a bare pty"),
                fmt=lambda v: f"{v:.0f} MiB/s",
            ),
            c.vs(f"{rt}: {size} MiB through the console, whole time, median", total, bare_total),
        ]


Result = c.ByRuntime[Runtime]


async def measure_runtime(
    args: argparse.Namespace, ws: c.Workspace, worker: c.BareWorker, runtime: str
) -> Runtime:
    size = (8 if args.quick else 64) * c.MIB
    rootfs = ws.rootfs()
    data = rootfs / "data.bin"
    if not data.exists() or data.stat().st_size != size:
        data.write_bytes(b"x" * size)
    bundle = ws.bundle(f"cat-{runtime}", ["/bin/cat", "/data.bin"], terminal=True)
    busybox = str(find_busybox())
    rounds = args.rounds or (4 if args.quick else 12)
    warmup = 1 if args.quick else 2

    async with Engine(root=ws.root(runtime, "engine"), runtime=runtime) as engine:

        async def engine_side(i: int) -> c.Sample:
            cid = f"{ws.prefix}{runtime[0]}c{i}"
            await engine.containers.create(cid, bundle)
            await engine.tasks.create(cid)
            stream = engine.tasks.io(cid).stream()
            n = first_len = 0
            t0 = first = time.perf_counter()
            await engine.tasks.start(cid)
            async for chunk in stream:
                if not n:  # the rate from the first chunk on: what streaming alone costs
                    first, first_len = time.perf_counter(), len(chunk)
                n += len(chunk)
            end = time.perf_counter()
            ex = await engine.tasks.wait(cid)
            await engine.tasks.delete(cid)
            await engine.containers.delete(cid)
            if ex.exit_status != 0 or n != size or stream.dropped:
                raise c.BenchError(
                    f"engine console: status {ex.exit_status}, {n} of {size} bytes,"
                    f" {stream.dropped} dropped"
                )
            return {"total": end - t0, "mib_per_s": (n - first_len) / (end - first) / c.MIB}

        async def bare_side(i: int) -> c.Sample:
            reply = await worker.call("pty", argv=[busybox, "cat", str(data)])
            if reply["bytes"] != size or reply["status"] != 0:
                raise c.BenchError(f"bare pty: status {reply['status']}, {reply['bytes']} bytes")
            return {"total": reply["total"], "mib_per_s": reply["mib_per_s"]}

        sides: c.Sides = {"engine": engine_side, "bare": bare_side}
        samples = await c.interleave(sides, rounds=rounds, warmup=warmup)
    return Runtime(size, **{side: c.summarize(s) for side, s in samples.items()})


if __name__ == "__main__":
    sys.exit(c.run(NAME, c.by_runtime(Result, measure_runtime)))
