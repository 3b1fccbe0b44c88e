"""A CRI container's log console against the plain log tail (no container runs)."""

import argparse
import asyncio
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, cast

from runtime.stdio import BACKLOG_BYTES
from tui.backend.containerd.backend import LogConsole
from tui.backend.containerd.criconsole import CriLogConsole

from . import _common as c

NAME = "cri_log"
TITLE = "CRI container logs"
TEXT = "GET /healthz 200 0.41ms user-agent=kube-probe/1.31"


def cri_line(text: str) -> bytes:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"
    return f"{stamp} stdout F {text}\n".encode()


class _Running:
    """What ``LogConsole`` asks of its backend: whether the process still runs."""

    def running(self, id: str, exec_id: str) -> bool:
        return True


def plain_console(path: Path) -> LogConsole:
    return LogConsole(cast(Any, _Running()), path, "anchor", "")


Framing = Callable[[str], bytes]
SIDES: dict[str, tuple[Framing, Callable[[Path], Any]]] = {
    "cri": (cri_line, CriLogConsole),
    "plain": (lambda text: f"{text}\n".encode(), plain_console),
}


async def measure_side(name: str, dir: Path, i: int, lines: int) -> c.Sample:
    frame, make = SIDES[name]
    path = dir / f"{name}-{i}.log"
    one = frame(TEXT)
    path.write_bytes(one * (BACKLOG_BYTES // len(one)))
    t0 = time.perf_counter()
    console = make(path)
    backlog = console.stamped_backlog()
    backlog_s = time.perf_counter() - t0
    shown = sum(len(data) for _, data in backlog)
    if shown < BACKLOG_BYTES // len(one) * (len(TEXT) + 1) - 2 * len(one):
        raise c.BenchError(f"{name}: backlog of {shown} bytes is short")
    stream: AsyncIterator[list[tuple[float, bytes]]] = console.stream_stamped()
    latencies = []
    with path.open("ab", buffering=0) as out:
        for n in range(lines):
            # The stream is waiting (polling) when the line is written, as in the pane.
            next_piece = asyncio.ensure_future(anext(stream))
            await asyncio.sleep(random.uniform(0.0, 0.1))
            text = f"live {n}"
            written = time.perf_counter()
            out.write(frame(text))
            async with asyncio.timeout(5):
                pieces = await next_piece
            latencies.append(time.perf_counter() - written)
            if pieces[-1][1] != f"{text}\n".encode():
                raise c.BenchError(f"{name}: expected {text!r}, got {pieces!r}")
        cpu, idle_t0 = time.process_time(), time.perf_counter()
        waiting = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(1.0)
        idle = (time.process_time() - cpu) / (time.perf_counter() - idle_t0)
        out.write(frame("bye"))
        async with asyncio.timeout(5):
            await waiting
    console.close()
    await cast(AsyncGenerator[Any, None], stream).aclose()
    path.unlink()
    lat = c.stats(latencies)
    return dict(backlog=backlog_s, latency_median=lat.median, latency_p95=lat.p95, idle_cpu=idle)


@dataclass
class Result(c.BenchResult):
    lines_per_round: int
    cri: c.Side
    plain: c.Side

    def rows(self) -> list[c.Row]:
        return [
            c.vs(label, self.cri[key].median, self.plain[key].median, fmt=fmt)
            for key, label, fmt in (
                ("backlog", f"attach: {BACKLOG_BYTES // 1024} KiB backlog read and decoded", c.ms),
                ("latency_median", "line written to stream yield, median of a round", c.ms),
                ("latency_p95", "line written to stream yield, p95 of a round", c.ms),
                ("idle_cpu", "idle tail CPU (share of a core)", lambda v: f"{v * 100:.2f}%"),
            )
        ]


async def measure(args: argparse.Namespace, ws: c.Workspace) -> Result:
    rounds = args.rounds or (3 if args.quick else 9)
    lines = 10 if args.quick else 20
    dir = ws.dir / "logs"
    dir.mkdir(parents=True)
    sides: c.Sides = {name: partial(measure_side, name, dir, lines=lines) for name in SIDES}
    samples = await c.interleave(sides, rounds=rounds, warmup=1)
    return Result(lines, **{name: c.summarize(s) for name, s in samples.items()})


if __name__ == "__main__":
    raise SystemExit(c.run(NAME, measure))
