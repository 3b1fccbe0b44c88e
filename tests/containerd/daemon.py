"""A private containerd for tests: its own root, state, opt and socket under a temp dir.

The CRI plugin is off (it is slow to start and would write elsewhere). Run this module to
print how long starting it and importing the busybox image take.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import psutil

from runtime.cgroups import remove_empty

from . import image

SNAPSHOTTER = "overlayfs"
#: Plugins the tests do not use (CRI is slow to start and writes elsewhere).
DISABLED_PLUGINS = (
    "io.containerd.grpc.v1.cri",
    "io.containerd.snapshotter.v1.aufs",
    "io.containerd.snapshotter.v1.btrfs",
    "io.containerd.snapshotter.v1.devmapper",
    "io.containerd.snapshotter.v1.zfs",
    "io.containerd.tracing.processor.v1.otlp",
    "io.containerd.internal.v1.tracing",
)
#: containerd 1.6 puts shim sockets (s/), ctr's FIFOs (fifo/) and runc's state (runc/)
#: here whatever its config says; what a test run created is removed after it.
RUN_DIR = Path("/run/containerd")
_BOOTED = "containerd successfully booted"


def unavailable() -> str | None:
    """None when a private containerd can run here, else why not."""
    for binary in ("containerd", "ctr", "containerd-shim-runc-v2", "runc"):
        if shutil.which(binary) is None:
            return f"{binary} is not installed: run scripts/setup-host (apt containerd)"
    if os.geteuid() != 0:
        return "a private containerd needs root"
    return None


@dataclass
class Daemon:
    dir: Path
    namespace: str
    process: subprocess.Popen[bytes] | None = None
    image: image.Image | None = None
    timings: dict[str, float] = field(default_factory=dict)
    #: The directories under RUN_DIR (and RUN_DIR) that existed before this daemon.
    existed: set[Path] = field(default_factory=set)

    @property
    def socket(self) -> Path:
        return self.dir / "containerd.sock"

    @property
    def io_dir(self) -> Path:
        return self.dir / "io"

    def _config(self) -> Path:
        config = self.dir / "config.toml"
        config.write_text(
            f"""version = 2
root = "{self.dir}/root"
state = "{self.dir}/state"
disabled_plugins = {json.dumps(list(DISABLED_PLUGINS))}
[grpc]
  address = "{self.socket}"
[plugins."io.containerd.internal.v1.opt"]
  path = "{self.dir}/opt"
"""
        )
        return config

    def start(self) -> None:
        if self.process is None:
            self.existed = {
                p for p in (RUN_DIR, *(RUN_DIR / d for d in ("s", "fifo", "runc"))) if p.exists()
            }
        began = time.perf_counter()
        command = ["containerd", "--config", str(self._config()), "--log-level", "info"]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.containerd.supervise", *command],
            cwd=Path(__file__).parents[2],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        assert self.process.stderr is not None
        log = []
        # containerd says when it serves; read its log rather than polling the socket.
        for raw in self.process.stderr:
            line = raw.decode(errors="replace")
            log.append(line)
            if _BOOTED in line:
                break
        else:
            self.process.wait()
            raise RuntimeError("containerd exited while starting:\n" + "".join(log[-20:]))
        # Keep draining its log so containerd never blocks on a full pipe.
        self._drain = threading.Thread(
            target=_copy, args=(self.process.stderr, self.dir / "containerd.log", log, "a")
        )
        self._drain.start()
        self.timings["start"] = time.perf_counter() - began

    def import_image(self, name: str = "") -> None:
        """Build the busybox image (named ``name``, else the tests' name) and import it."""
        began = time.perf_counter()
        self.image = image.build(self.dir / "busybox.tar", name or image.NAME)
        built = time.perf_counter()
        self.ctr("images", "import", "--snapshotter", SNAPSHOTTER, str(self.image.archive))
        self.image.archive.unlink()
        self.timings["build image"] = built - began
        self.timings["import image"] = time.perf_counter() - built

    def ctr(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ctr", "--address", str(self.socket), "--namespace", self.namespace, *args],
            capture_output=True,
            text=True,
            check=check,
            timeout=30,
        )

    def shims(self) -> list[psutil.Process]:
        """Shim processes serving this daemon's tasks."""
        found = []
        for p in psutil.process_iter(["cmdline"]):
            cmdline = p.info["cmdline"] or []
            if cmdline and "containerd-shim" in cmdline[0] and str(self.socket) in cmdline:
                found.append(p)
        return found

    def mounts(self) -> list[str]:
        with open("/proc/self/mountinfo") as f:
            return [line for line in f if str(self.dir) in line]

    def fifos(self) -> list[Path]:
        return [
            p
            for p in self.dir.rglob("*")
            if not p.is_symlink() and stat.S_ISFIFO(p.lstat().st_mode)
        ]

    def halt(self) -> None:
        """Stop containerd only (root, state and socket path stay, for :meth:`start` again).

        Its supervisor waits for every shim: halt with no task running."""
        assert not self.shims(), "halt() with tasks running would wait for them"
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=10)
        self._drain.join(timeout=10)
        self.socket.unlink(missing_ok=True)

    def stop(self) -> list[str]:
        """Stop containerd and remove its directory; returns what was left behind."""
        left: list[str] = []
        left += [f"shim pid {p.pid}" for p in self.shims()]
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                for p in psutil.Process(self.process.pid).children(recursive=True):
                    p.kill()
                self.process.kill()
                self.process.wait()
                left.append("containerd (or a shim) did not stop on SIGTERM")
        if getattr(self, "_drain", None) is not None:
            self._drain.join(timeout=10)
        left += [f"mount {line.split()[4]}" for line in self.mounts()]
        left += [f"fifo {p}" for p in self.fifos()]
        # runc keeps its state per namespace name under /run/containerd/runc: ours only.
        runc_state = Path("/run/containerd/runc") / self.namespace
        if runc_state.is_dir():
            leftover = list(runc_state.iterdir())
            left += [f"runc state {p}" for p in leftover]
            if not leftover:
                runc_state.rmdir()
        # containerd's shim puts each container's cgroup at /<namespace>/<id> in every
        # hierarchy; runc removes the container's, never the namespace's.
        remove_empty(self.namespace)
        top = Path("/sys/fs/cgroup")
        for d in (top / self.namespace, *top.glob(f"*/{self.namespace}")):
            if d.is_dir():
                left.append(f"cgroup {d}")
        # What else is in these directories may belong to another containerd (a parallel
        # test session, the host's): ours is checked above (shims, runc state by namespace).
        for created in (*(RUN_DIR / d for d in ("s", "fifo", "runc")), RUN_DIR):
            if created not in self.existed and created.is_dir():
                with contextlib.suppress(OSError):
                    created.rmdir()
        shutil.rmtree(self.dir, ignore_errors=True)
        return left


def _copy(source: IO[bytes], dest: Path, head: list[str], mode: str) -> None:
    with dest.open(mode) as out:
        out.writelines(head)
        for raw in source:
            out.write(raw.decode(errors="replace"))


def start() -> Daemon:
    d = Daemon(Path(tempfile.mkdtemp(prefix="sdctrd-")), f"shimdeck-test-{os.getpid()}")
    try:
        d.start()
        d.import_image()
    except BaseException:
        d.stop()
        raise
    return d


if __name__ == "__main__":
    runs = []
    for _ in range(5):
        daemon = start()
        runs.append(daemon.timings)
        leftovers = daemon.stop()
        assert not leftovers, leftovers
    for key in runs[0]:
        values = sorted(r[key] for r in runs)
        print(f"{key}: median {values[len(values) // 2] * 1000:.0f} ms over {len(values)} runs")
