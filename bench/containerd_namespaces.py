"""The namespace picker's counts over 1,000 containers, against ``ctr``."""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from dataclasses import dataclass

from tests.containerd.daemon import Daemon
from tui.backend.containerd.client import Client
from tui.backend.containerd.spec import container_spec

from ._common import (
    BenchError,
    BenchResult,
    Row,
    Sample,
    Side,
    Workspace,
    fmt_ratio,
    interleave,
    ms,
    run,
    summarize_samples,
)

NAME = "containerd_namespaces"
TITLE = "containerd: namespace counts"
SMALL, OTHERS = 10, 3


@dataclass
class Result(BenchResult):
    containers: int
    shimdeck: Side
    ctr: Side

    def rows(self) -> list[Row]:
        ours, theirs = self.shimdeck["total"], self.ctr["total"]
        return [
            Row(
                NAME,
                f"namespace counts, {self.containers} + {OTHERS}x{SMALL} containers: "
                f"`Client.namespaces()`, median (n={ours.n})",
                ms(ours.median),
                f"{ms(theirs.median)} (`ctr namespaces ls` + `containers ls` per namespace)",
                fmt_ratio(ours.median / theirs.median),
            )
        ]


async def fill(client: Client, count: int) -> None:
    for start in range(0, count, 50):
        await asyncio.gather(
            *(
                client.create_container(
                    f"c{i}",
                    image="shimdeck.test/busybox:latest",
                    spec=container_spec(client.namespace, f"c{i}", ["sh"]),
                    snapshot_key="",
                    snapshotter="",
                    labels={"shimdeck.bench": "1"},
                )
                for i in range(start, min(start + 50, count))
            )
        )


async def measure(args: argparse.Namespace, ws: Workspace) -> Result:
    big = 100 if args.quick else 1000
    d = Daemon(ws.dir / "ctd", f"{ws.prefix}-ns")
    d.dir.mkdir()
    await asyncio.to_thread(d.start)
    names = [d.namespace, *(f"{d.namespace}-{k}" for k in range(OTHERS))]
    try:
        client = await Client.connect(str(d.socket), d.namespace)
        await fill(client, big)
        for other in names[1:]:
            await fill(client.in_namespace(other), SMALL)

        def ctr(*args: str) -> str:
            argv = ["ctr", "--address", str(d.socket), *args]
            return subprocess.run(argv, capture_output=True, text=True, check=True).stdout

        def count_all() -> dict[str, int]:
            listed = ctr("namespaces", "ls", "-q").split()
            return {n: len(ctr("-n", n, "containers", "ls", "-q").split()) for n in listed}

        async def shimdeck(_: int) -> Sample:
            began = time.perf_counter()
            counts = {n.name: n.containers for n in await client.namespaces()}
            return check(counts, time.perf_counter() - began)

        async def anchor(_: int) -> Sample:
            began = time.perf_counter()
            counts = await asyncio.to_thread(count_all)
            return check(counts, time.perf_counter() - began)

        def check(counts: dict[str, int], took: float) -> Sample:
            if counts.get(d.namespace) != big:
                raise BenchError(f"counted {counts}, not {big} in {d.namespace}")
            return {"total": took}

        rounds = args.rounds or (5 if args.quick else 15)
        samples = await interleave({"shimdeck": shimdeck, "ctr": anchor}, rounds=rounds, warmup=2)
        for ns in names:
            scoped = client.in_namespace(ns)
            for c in await scoped.containers():
                await scoped.delete_container(c.id)
            if ns != d.namespace:
                await client.delete_namespace(ns)
        await client.close()
    finally:
        left = await asyncio.to_thread(d.stop)
    if left:
        raise BenchError(f"the private containerd left: {', '.join(left)}")
    return Result(big, **{k: summarize_samples(v) for k, v in samples.items()})


if __name__ == "__main__":
    sys.exit(run(NAME, measure))
