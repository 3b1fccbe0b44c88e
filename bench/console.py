"""Console throughput: bytes/s from a container's pty to the engine's ``io.stream()``."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

from runtime import Engine
from runtime.bundle import find_busybox

from ._common import (
    MIB,
    BareWorker,
    BenchError,
    BenchResult,
    Row,
    Sample,
    Side,
    Workspace,
    fmt_ratio,
    interleave,
    ms,
    per_runtime,
    ratio,
    run,
    runtime_rows,
    summarize_samples,
)

NAME = "console"
TITLE = "Console throughput"


@dataclass
class Runtime:
    bytes: int
    engine: Side
    bare: Side

    def rows(self, rt: str) -> list[Row]:
        eng, bare = self.engine, self.bare
        size = self.bytes // MIB
        rate, total = eng["mib_per_s"].median, eng["total"].median
        bare_rate, bare_total = bare["mib_per_s"].median, bare["total"].median
        return [
            Row(
                NAME,
                f"{rt}: pty -> io.stream(), {size} MiB, median (n={eng['total'].n})",
                f"{rate:.0f} MiB/s",
                f"{bare_rate:.0f} MiB/s (cat to a bare pty)",
                fmt_ratio(ratio(rate, bare_rate)),
            ),
            Row(
                NAME,
                f"{rt}: {size} MiB through the console, whole time, median",
                ms(total),
                ms(bare_total),
                fmt_ratio(ratio(total, bare_total)),
            ),
        ]


@dataclass
class Result(BenchResult):
    runtimes: dict[str, Runtime]

    def rows(self) -> list[Row]:
        return runtime_rows(self.runtimes)


async def measure(args: argparse.Namespace, ws: Workspace) -> Result:
    return Result(await per_runtime(args, ws, measure_runtime))


async def measure_runtime(
    args: argparse.Namespace, ws: Workspace, worker: BareWorker, runtime: str
) -> Runtime:
    size = (8 if args.quick else 64) * MIB
    rootfs = ws.rootfs()
    data = rootfs / "data.bin"
    if not data.exists() or data.stat().st_size != size:
        data.write_bytes(b"x" * size)
    bundle = ws.bundle(f"cat-{runtime}", ["/bin/cat", "/data.bin"], rootfs, terminal=True)
    busybox = str(find_busybox())
    rounds = args.rounds or (4 if args.quick else 12)
    warmup = 1 if args.quick else 2

    async with Engine(root=ws.root(runtime, "engine"), runtime=runtime) as engine:

        async def engine_side(i: int) -> Sample:
            cid = f"{ws.prefix}{runtime[0]}c{i}"
            await engine.containers.create(cid, bundle)
            await engine.tasks.create(cid)
            stream = engine.tasks.io(cid).stream()
            n = first_len = 0
            first = None
            t0 = time.perf_counter()
            await engine.tasks.start(cid)
            async for chunk in stream:
                if first is None:
                    first, first_len = time.perf_counter(), len(chunk)
                n += len(chunk)
            end = time.perf_counter()
            ex = await engine.tasks.wait(cid)
            await engine.tasks.delete(cid)
            await engine.containers.delete(cid)
            if ex.exit_status != 0 or n != size or stream.dropped:
                raise BenchError(
                    f"engine console: status {ex.exit_status}, {n} of {size} bytes,"
                    f" {stream.dropped} dropped"
                )
            streaming = end - (first or end)
            return {
                "total": end - t0,
                "streaming": streaming,
                "mib_per_s": (n - first_len) / streaming / MIB,
            }

        async def bare_side(i: int) -> Sample:
            reply = await worker.call("pty", argv=[busybox, "cat", str(data)])
            if reply["bytes"] != size or reply["status"] != 0:
                raise BenchError(f"bare pty: status {reply['status']}, {reply['bytes']} bytes")
            return {
                "total": reply["total"],
                "streaming": reply["streaming"],
                "mib_per_s": reply["streamed_bytes"] / reply["streaming"] / MIB,
            }

        samples = await interleave(
            {"engine": engine_side, "bare": bare_side}, rounds=rounds, warmup=warmup
        )
    return Runtime(size, **{side: summarize_samples(s) for side, s in samples.items()})


if __name__ == "__main__":
    sys.exit(run(NAME, measure))
