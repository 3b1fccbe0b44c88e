"""Console throughput: bytes/s from a container's pty to the engine's ``io.stream()``.

The container (``terminal: true``) runs busybox ``cat`` of a file of ``x`` bytes (no
newline, so the tty passes it unchanged); the consumer counts what ``io.stream()`` yields.
Against it, interleaved in the same run: the same busybox binary ``cat``-ing the same file
to the slave of a fresh ``os.openpty()`` in the bare worker, which reads the master with
64 KiB reads. Throughput is measured from the first byte read to the end of output (the
task's start-up is left out on both sides); the whole time is reported too.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from runtime import Engine
from runtime.bundle import find_busybox

from ._common import (
    BareWorker,
    BenchError,
    Row,
    Sample,
    Workspace,
    fmt_ratio,
    interleave,
    ms,
    ratio,
    run_per_runtime,
    summarize_samples,
)

NAME = "console"
MIB = 2**20


async def measure(
    args: argparse.Namespace, ws: Workspace, worker: BareWorker, runtime: str
) -> dict[str, Any]:
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
    return {"rounds": rounds, "warmup": warmup, "bytes": size} | {
        side: summarize_samples(s) for side, s in samples.items()
    }


def rows(rt: str, res: dict[str, Any]) -> list[Row]:
    eng, bare = res["engine"], res["bare"]
    size = res["bytes"] // MIB
    return [
        Row(
            NAME,
            f"{rt}: pty -> io.stream(), {size} MiB, median (n={eng['total']['n']})",
            f"{eng['mib_per_s']['median']:.0f} MiB/s",
            f"{bare['mib_per_s']['median']:.0f} MiB/s (cat to a bare pty)",
            fmt_ratio(ratio(eng["mib_per_s"]["median"], bare["mib_per_s"]["median"])),
        ),
        Row(
            NAME,
            f"{rt}: {size} MiB through the console, whole time, median",
            ms(eng["total"]["median"]),
            ms(bare["total"]["median"]),
            fmt_ratio(ratio(eng["total"]["median"], bare["total"]["median"])),
        ),
    ]


def main() -> int:
    return run_per_runtime(NAME, __doc__ or NAME, measure, rows)


if __name__ == "__main__":
    sys.exit(main())
