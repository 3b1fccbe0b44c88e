"""``python -m bench.containerd_namespaces``: the namespace picker's counts over 1,000
containers, against ``ctr`` as the anchor (interleaved, medians).

shimdeck's side is :meth:`Client.namespaces` (one ``Namespaces.List``, then one
``Containers.List`` per namespace, at once, on an open connection). The anchor is what a user
types for the same figures: ``ctr namespaces ls -q`` and ``ctr -n NS containers ls -q`` for
each namespace. A private containerd (tests/containerd/daemon.py, no image: a container
needs only a spec) holds 1,000 containers with shimdeck's busybox spec in one namespace and
10 in each of three others. Needs root and Debian's containerd; not part of ``python -m
bench`` (it starts its own containerd), so run it on its own.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import tempfile
import time
from pathlib import Path

from bench._common import interleave, median
from tests.containerd.daemon import Daemon
from tui.backend.containerd.client import Client
from tui.backend.containerd.spec import container_spec

BIG, SMALL, OTHERS = 1000, 10, 3


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


async def main(rounds: int) -> None:
    d = Daemon(Path(tempfile.mkdtemp(prefix="sdbns-")), f"bench-ns-{os.getpid()}")
    d.start()
    names = [d.namespace, *(f"{d.namespace}-{k}" for k in range(OTHERS))]
    try:
        client = await Client.connect(str(d.socket), d.namespace)
        await fill(client, BIG)
        for other in names[1:]:
            await fill(client.in_namespace(other), SMALL)

        def ctr(*args: str) -> str:
            return subprocess.run(
                ["ctr", "--address", str(d.socket), *args],
                capture_output=True,
                text=True,
                check=True,
            ).stdout

        async def shimdeck(_: int) -> float:
            began = time.perf_counter()
            counts = {n.name: n.containers for n in await client.namespaces()}
            took = time.perf_counter() - began
            assert counts[d.namespace] == BIG, counts
            return took

        async def anchor(_: int) -> float:
            began = time.perf_counter()

            def count_all() -> dict[str, int]:
                listed = ctr("namespaces", "ls", "-q").split()
                return {n: len(ctr("-n", n, "containers", "ls", "-q").split()) for n in listed}

            counts = await asyncio.to_thread(count_all)
            took = time.perf_counter() - began
            assert counts[d.namespace] == BIG, counts
            return took

        samples = await interleave({"shimdeck": shimdeck, "ctr": anchor}, rounds=rounds, warmup=2)
        ours, theirs = median(samples["shimdeck"]), median(samples["ctr"])
        print(f"namespace counts, {BIG} + {OTHERS}x{SMALL} containers, {rounds} rounds:")
        print(f"  shimdeck Client.namespaces(): median {ours * 1e3:.1f} ms")
        print(f"  ctr namespaces ls + containers ls per namespace: median {theirs * 1e3:.1f} ms")
        print(f"  ratio shimdeck/ctr: {ours / theirs:.2f}")
        for ns in names:
            scoped = client.in_namespace(ns)
            for c in await scoped.containers():
                await scoped.delete_container(c.id)
            if ns != d.namespace:
                await client.delete_namespace(ns)
        await client.close()
    finally:
        left = d.stop()
    assert not left, left


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    asyncio.run(main(parser.parse_args().rounds))
