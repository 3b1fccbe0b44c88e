"""The UI on a real containerd at scale: 1,000 containers, 50 running, on a real pty."""

import argparse
import asyncio
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from tests.containerd import image
from tests.containerd.daemon import Daemon
from tests.containerd.helpers import make_container, next_event, remove_container
from tui.backend.containerd.client import Client
from tui.backend.containerd.spec import container_spec

from . import _common as c
from .ui import PtyProgram, idle_cpu

NAME = "containerd_ui"
TITLE = "The UI on containerd at scale"
SIZE = (140, 45)
FIRST_PAINT_TARGET, EVENT_P95_TARGET, IDLE_CPU_TARGET, RSS_TARGET_MIB = 1.0, 0.100, 3.0, 80.0
SMALL, OTHERS = 10, 3


@dataclass
class Result(c.BenchResult):
    containers: int
    running: int
    first_paint: c.Stats
    ctr_listing: c.Stats
    event_to_row: c.Stats
    idle_cpu_percent: float
    rss_mib: float
    #: The namespace picker's counts (with 3 more namespaces of 10), and ctr's.
    namespaces: c.Stats
    ctr_namespaces: c.Stats

    def rows(self) -> list[c.Row]:
        fp, ctr, ev = self.first_paint, self.ctr_listing, self.event_to_row
        scale = f"{self.containers} containers ({self.running} running)"
        return [
            c.at_most(
                f"{scale}: start to first paint, median (n={fp.n})",
                *(fp.median, FIRST_PAINT_TARGET),
                anchor=ctr.median,
                label="`ctr containers ls` + `ctr tasks ls`",
            ),
            c.at_most(
                f"{scale}: event to its row repainted, p95 (n={ev.n}; median {c.ms(ev.median)})",
                *(ev.p95, EVENT_P95_TARGET),
            ),
            c.at_most(
                f"{scale}: idle CPU of the UI (10 s)", self.idle_cpu_percent, IDLE_CPU_TARGET, c.pct
            ),
            c.at_most(
                f"{scale}: RSS of the UI", self.rss_mib, RSS_TARGET_MIB, lambda v: f"{v:.1f} MiB"
            ),
            c.vs(
                f"{scale} + {OTHERS}x{SMALL}: namespace counts, `Client.namespaces()`, median",
                *(self.namespaces.median, self.ctr_namespaces.median),
                "`ctr namespaces ls` + `containers ls` for each",
            ),
        ]


def cid(i: int) -> str:
    # Running tasks first: ids sort, so they are the rows on screen.
    return f"c{i:04d}"


async def populate(client: Client, daemon: Daemon, containers: int, running: int) -> None:
    async def one(id: str) -> None:
        args, labels = ["sleep", "100000"], {"bench": "containerd_ui"}
        _, mounts = await make_container(client, daemon, id, args, labels=labels)
        if id in tasks:
            await client.create_task(id, rootfs=mounts)
            await client.start(id)

    tasks = {cid(i) for i in range(running)}
    await c.ten_at_once(one, [cid(i) for i in range(containers)])


async def depopulate(client: Client) -> None:
    tasks = {t.container_id for t in await client.tasks()}

    async def one(id: str) -> None:
        if id in tasks:
            await client.kill(id, 9)
            await client.wait(id)
        await remove_container(client, id)

    await c.ten_at_once(one, [box.id for box in await client.containers()])


def start_ui(daemon: Daemon, io_dir: Path) -> PtyProgram:
    argv = [sys.executable, "-m", "tui", "--containerd", "-a", str(daemon.socket)]
    env = {"XDG_RUNTIME_DIR": str(io_dir), "XDG_CONFIG_HOME": str(io_dir)}
    return PtyProgram([*argv, "-n", daemon.namespace], size=SIZE, env=env)


async def painted(ui: PtyProgram, containers: int, running: int) -> float:
    """When the UI showed its first screen of ``containers``, ``running`` of them running."""
    header = f"containers · {containers} · {running} running"

    def shown() -> bool:
        return header in (text := ui.text()) and cid(0) in text

    return await asyncio.to_thread(ui.wait, shown, "the first paint")


async def event_to_row(client: Client, ui: PtyProgram, samples: int) -> list[float]:
    """Pause and resume the first rows' tasks in turn; each time, from this process's
    subscription seeing the event to the row on screen showing the new status."""
    rng = random.Random(8)
    sub = client.subscribe()
    await sub.synced()

    async def one(n: int) -> float:
        # At random times, as events come: not in step with the UI's repaints (it
        # repaints a changed model at once, then at most every 0.1 s during a burst).
        await asyncio.to_thread(ui.idle, rng.uniform(0.05, 0.25))
        id, paused = cid(n % 5), n // 5 % 2 == 0
        await (client.pause(id) if paused else client.resume(id))
        topic, want = ("/tasks/paused", "paused") if paused else ("/tasks/resumed", "running")
        await next_event(sub, lambda e: e.topic == topic and e.container_id == id)
        seen = time.monotonic()

        def row_shows() -> bool:
            return want in next((ln for ln in ui.screen.display if f" {id} " in ln), "")

        shown = await asyncio.to_thread(ui.wait, row_shows, f"{id} {want}", 10)
        return max(0.0, shown - seen)

    try:
        return [await one(n) for n in range(samples)]
    finally:
        sub.close()


async def namespace_counts(client: Client, daemon: Daemon, rounds: int) -> dict[str, c.Stats]:
    """``Client.namespaces()`` (one List of namespaces, then one of containers per namespace,
    at once) against what a user types with ``ctr`` for the same counts, interleaved."""
    others = [client.in_namespace(f"{daemon.namespace}-{k}") for k in range(OTHERS)]
    for other in others:  # no image there: a container needs only a spec
        spec = container_spec(other.namespace, "n", ["sh"])
        create = partial(other.create_container, image=image.NAME, spec=spec)
        await asyncio.gather(
            *(create(f"n{i}", snapshot_key="", snapshotter="") for i in range(SMALL))
        )
    want = {daemon.namespace: len(await client.containers())}

    def ls(*args: str) -> list[str]:
        argv = ["ctr", "--address", str(daemon.socket), *args, "ls", "-q"]
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.split()

    def ctr_counts() -> dict[str, int]:
        return {n: len(ls("-n", n, "containers")) for n in ls("namespaces")}

    async def shimdeck(_: int) -> c.Sample:
        t0 = time.perf_counter()
        counts = {n.name: n.containers for n in await client.namespaces()}
        return check(counts, time.perf_counter() - t0)

    async def ctr(_: int) -> c.Sample:
        t0 = time.perf_counter()
        return check(await asyncio.to_thread(ctr_counts), time.perf_counter() - t0)

    def check(counts: dict[str, int], took: float) -> c.Sample:
        if counts.get(daemon.namespace) != want[daemon.namespace]:
            raise c.BenchError(f"namespace counts {counts}, not {want}")
        return {"total": took}

    samples = await c.interleave({"shimdeck": shimdeck, "ctr": ctr}, rounds=rounds, warmup=2)
    for other in others:
        for box in await other.containers():
            await other.delete_container(box.id)
        await client.delete_namespace(other.namespace)
    return {k: c.stats([s["total"] for s in v]) for k, v in samples.items()}


async def measure(args: argparse.Namespace, ws: c.Workspace) -> Result:
    containers = 100 if args.quick else 1000
    running = 10 if args.quick else 50
    rounds = args.rounds or (3 if args.quick else 7)
    # A namespace of this run's own: runc keeps its state in /run/containerd/runc/<namespace>
    # whatever containerd's root, so two runs at once under one name collide there.
    daemon = Daemon(Path(tempfile.mkdtemp(prefix="sdcui-", dir=ws.dir)), f"{ws.prefix}-ui")
    io_dir = ws.dir / "io"
    io_dir.mkdir()
    try:
        await asyncio.to_thread(daemon.start)
        await asyncio.to_thread(daemon.import_image)
        client = await Client.connect(str(daemon.socket), daemon.namespace)
        try:
            await populate(client, daemon, containers, running)

            async def paint(_: int) -> c.Sample:
                ui = start_ui(daemon, io_dir)
                try:
                    return {"total": await painted(ui, containers, running) - ui.started}
                finally:
                    ui.close()

            async def listing(_: int) -> c.Sample:
                t0 = time.monotonic()
                for what in ("containers", "tasks"):  # check=True: a failure raises
                    await asyncio.to_thread(daemon.ctr, what, "ls")
                return {"total": time.monotonic() - t0}

            # The first round warms caches.
            timed = await c.interleave({"paint": paint, "ctr": listing}, rounds=rounds, warmup=1)
            paints, listings = ([s["total"] for s in timed[k]] for k in ("paint", "ctr"))
            ui = start_ui(daemon, io_dir)
            try:
                await painted(ui, containers, running)
                events = await event_to_row(client, ui, 20 if args.quick else 60)
                idle = await asyncio.to_thread(idle_cpu, ui, 3.0 if args.quick else 10.0)
                rss = ui.rss_bytes() / 2**20
            finally:
                ui.close()
            counts = await namespace_counts(client, daemon, rounds * 2)
        finally:
            # Here too after a failure: runc keeps its containers' state outside the
            # daemon's directory, in /run/containerd/runc/<namespace>.
            await depopulate(client)
            await client.close()
    finally:
        left = await asyncio.to_thread(daemon.stop)
    if left:
        raise c.BenchError(f"the private containerd left: {', '.join(left)}")
    fp, ls, ev = (c.stats(v) for v in (paints, listings, events))
    return Result(containers, running, fp, ls, ev, idle, rss, counts["shimdeck"], counts["ctr"])


if __name__ == "__main__":
    sys.exit(c.run(NAME, measure))
