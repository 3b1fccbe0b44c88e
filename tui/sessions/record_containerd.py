"""Record the session of the containerd screenshots (needs root and apt's containerd).

    python -m tui.sessions.record_containerd [OUT]    # default: tui/sessions/containerd.jsonl

Run from a checkout: it starts the tests' private containerd (tests/containerd/daemon.py:
its own root, state and socket under a temp dir, no CRI, no network) and imports a busybox
image built from the host's static busybox. In namespace ``default`` it then makes, through
the backend seam, what a small nerdctl host looks like: a web-like loop writing a log, a tty
shell with an exec, a worker that gets paused, a job that failed with its exit status and a
container never started; it samples stats for a few seconds, records all of it, and removes
everything after (the daemon's leftover check must come back empty).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from tests.containerd.daemon import Daemon, unavailable

from ..backend.base import CommandSource, Status
from ..backend.containerd.backend import ContainerdBackend
from ..backend.containerd.client import Client
from ..backend.recording import Recorder, RecordingBackend
from . import CONTAINERD_SESSION
from .driver import Driver

NAMESPACE = "default"
#: A local name: the image is the host's busybox, not one pulled from a registry.
IMAGE = "localhost/busybox:latest"
#: The console pane at 80x24 (as in record.py), so the replayed console looks as it did.
PANE = (80, 23)

_WEB = (
    "i=0; while true; do i=$((i+1)); "
    "case $((i % 9)) in "
    '0) echo "$(date -u +%H:%M:%S) GET /api/cart/$i 502 upstream reset";; '
    '4) echo "$(date -u +%H:%M:%S) POST /api/orders 201 $((i % 40 + 12))ms";; '
    '*) echo "$(date -u +%H:%M:%S) GET /static/app.js 200 $((i % 7 + 1))ms";; esac; '
    "sleep 0.2; done"
)
_WORKER = 'i=0; while true; do i=$((i+1)); echo "job $i done"; sleep 0.5; done'
_MIGRATE = "echo 'applying 0007_orders.sql'; echo 'error: relation orders exists' >&2; exit 3"

#: id -> (command, tty, labels); every one runs on IMAGE.
SCENE: dict[str, tuple[tuple[str, ...], bool, dict[str, str]]] = {
    "web": (("sh", "-c", _WEB), False, {"app": "shop", "tier": "frontend"}),
    "shell": (("sh",), True, {"app": "debug"}),
    "worker": (("sh", "-c", _WORKER), False, {"app": "shop", "tier": "jobs"}),
    "migrate": (("sh", "-c", _MIGRATE), False, {"app": "shop", "tier": "jobs"}),
    "cache": (("sh", "-c", "exec sleep 600"), False, {"app": "shop", "tier": "cache"}),
}


async def record(out: Path, namespace: str = NAMESPACE) -> list[str]:
    """Record the scene into ``out``; returns what the daemon found left behind.

    ``namespace``: a test's own (runc's state and the cgroups are per namespace name, shared
    by every containerd on the host)."""
    daemon = Daemon(Path(tempfile.mkdtemp(prefix="shimdeck-demo-")), namespace)
    try:
        daemon.start()
        daemon.import_image(IMAGE)
        client = await Client.connect(str(daemon.socket), namespace)
        try:
            try:
                live = await ContainerdBackend.open(client, image=IMAGE, io_dir=daemon.io_dir)
                recorder = Recorder(
                    out,
                    runtime="containerd",
                    start=datetime.now(UTC),
                    info=live.info,
                    capabilities=live.capabilities,
                )
                backend = RecordingBackend(live, recorder)
                try:
                    async with Driver(backend) as driver:
                        await _scene(driver)
                finally:
                    await backend.close()
            finally:
                # Not recorded: the replay ends with the scene, as the screenshots show it.
                await _remove_all(client, daemon.io_dir)
        finally:
            await client.close()
    finally:
        left = daemon.stop()
    return left


async def _scene(driver: Driver) -> None:
    backend = driver.backend
    for id, (args, tty, labels) in SCENE.items():
        await backend.create(id, CommandSource(args), terminal=tty, labels=labels)
    for id in ("web", "shell", "worker", "migrate"):
        await backend.start(id)
    backend.set_stats_targets(["web", "shell", "worker"])
    shell = backend.console("shell")
    await shell.resize(*PANE)
    await driver.wait_for(lambda: b"# " in shell.backlog())
    await backend.exec(
        "shell", "exec-1", ["sh", "-c", "echo hello from an exec; exec sleep 600"], terminal=True
    )
    await backend.console("shell", "exec-1").resize(*PANE)
    await driver.wait_for(lambda: driver.status("shell", "exec-1") == Status.RUNNING)
    shell.write(b"ps; ls /\r")  # the shell sees the exec's process beside its own
    await driver.wait_for(lambda: driver.status("migrate") == Status.STOPPED)
    await asyncio.sleep(2.5)  # stats samples and log lines
    await backend.pause("worker")
    await driver.wait_for(lambda: driver.status("worker") == Status.PAUSED)
    await asyncio.sleep(2.0)  # the paused task's flat sparkline, the others' last lines


async def _remove_all(client: Client, io_dir: Path) -> None:
    """Stop and delete every container of the scene (whatever step the scene reached), with
    a backend of its own: the recorded one is closed by now."""
    backend = await ContainerdBackend.open(client, image=IMAGE, io_dir=io_dir)
    try:
        for container in backend.containers():
            id = container.id
            status = Status.of(backend.task(id))
            if status == Status.PAUSED:
                await backend.resume(id)  # a frozen process takes SIGKILL only once thawed
            if status.live:
                await backend.kill(id, signal.SIGKILL, all=True)
                await client.wait(id)
            await backend.delete(id)
    finally:
        await backend.close()


def main() -> None:
    why = unavailable()
    if why:
        sys.exit(f"tui.sessions.record_containerd: {why}")
    if os.geteuid() != 0:
        sys.exit("tui.sessions.record_containerd: needs root (it runs a containerd)")
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else CONTAINERD_SESSION
    left = asyncio.run(record(out))
    if left:
        sys.exit(f"tui.sessions.record_containerd: left behind: {left}")
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
