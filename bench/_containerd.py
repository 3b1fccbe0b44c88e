"""A private containerd for the comparison: its config, an OCI image made from busybox, and a
clean stop.

Everything lives in one directory the bench chooses (root, state, the gRPC socket, runc's
root), with Debian's ``containerd`` 1.6 (``apt-get install containerd``). Two things
containerd 1.6 puts under ``/run/containerd`` whatever its config says (the shims' sockets
in ``s/``, ctr's FIFOs in ``fifo/``) are removed afterwards when this run created them.
The daemon is started by a bench worker (:mod:`bench._worker`, a child subreaper), so the
shims it double-forks end up that worker's children, away from the engine's process.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from ._common import BareWorker, BenchError

CONTAINERD = "containerd"
CTR = "ctr"
SHIM = "containerd-shim-runc-v2"
IMAGE = "docker.io/library/shimdeck-bench:latest"
RUN_DIR = Path("/run/containerd")

#: Plugins this comparison does not use: CRI (kubelet), the snapshotters other than
#: overlayfs and native, tracing, and /opt/containerd (``opt``).
DISABLED_PLUGINS = (
    "io.containerd.grpc.v1.cri",
    "io.containerd.snapshotter.v1.aufs",
    "io.containerd.snapshotter.v1.btrfs",
    "io.containerd.snapshotter.v1.devmapper",
    "io.containerd.snapshotter.v1.zfs",
    "io.containerd.internal.v1.opt",
    "io.containerd.tracing.processor.v1.otlp",
    "io.containerd.internal.v1.tracing",
)


def available() -> str | None:
    """None when containerd, ctr and the runc shim are installed, else what is missing."""
    missing = [b for b in (CONTAINERD, CTR, SHIM) if shutil.which(b) is None]
    if missing:
        return f"{', '.join(missing)} not installed (apt-get install containerd)"
    return None


def version() -> str:
    try:
        out = subprocess.run([CONTAINERD, "--version"], capture_output=True, text=True).stdout
    except OSError as e:
        return f"unavailable ({e})"
    return out.strip() or "unavailable"


# -- the image -------------------------------------------------------------------------------


def _tar_dir(root: Path) -> bytes:
    """A reproducible tar of ``root`` (owner root, mtime 0, sorted), the image's one layer."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:

        def clean(info: tarfile.TarInfo) -> tarfile.TarInfo:
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mtime = 0
            return info

        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root).as_posix()
            tar.add(path, arcname=rel, recursive=False, filter=clean)
    return buf.getvalue()


def _blob(blobs: dict[str, bytes], data: bytes) -> dict[str, Any]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    blobs[digest] = data
    return {"digest": digest, "size": len(data)}


def build_image(rootfs: Path, out: Path, name: str = IMAGE) -> Path:
    """Write an OCI image-layout tarball of ``rootfs`` (one gzip layer) named ``name``.

    No registry is reachable here: this is what ``ctr images import`` loads instead of a pull.
    """
    layer_tar = _tar_dir(rootfs)
    layer_gz = gzip.compress(layer_tar, compresslevel=1, mtime=0)
    blobs: dict[str, bytes] = {}
    layer = _blob(blobs, layer_gz) | {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip"}
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/bin"], "Cmd": ["/bin/sh"], "WorkingDir": "/"},
        "rootfs": {
            "type": "layers",
            "diff_ids": ["sha256:" + hashlib.sha256(layer_tar).hexdigest()],
        },
    }
    config_desc = _blob(blobs, json.dumps(config).encode()) | {
        "mediaType": "application/vnd.oci.image.config.v1+json"
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config_desc,
        "layers": [layer],
    }
    manifest_desc = _blob(blobs, json.dumps(manifest).encode()) | {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "platform": {"architecture": "amd64", "os": "linux"},
        "annotations": {
            "io.containerd.image.name": name,
            "org.opencontainers.image.ref.name": name.rsplit(":", 1)[-1],
        },
    }
    index = {"schemaVersion": 2, "manifests": [manifest_desc]}
    out.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out, "w") as tar:

        def add(arcname: str, data: bytes) -> None:
            info = tarfile.TarInfo(arcname)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        add("oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode())
        add("index.json", json.dumps(index).encode())
        for digest, data in blobs.items():
            add("blobs/sha256/" + digest.split(":", 1)[1], data)
    return out


# -- the daemon ------------------------------------------------------------------------------


def config_toml(d: Path) -> str:
    disabled = ", ".join(f'"{p}"' for p in DISABLED_PLUGINS)
    return f"""version = 2
root = "{d}/root"
state = "{d}/state"
disabled_plugins = [{disabled}]

[grpc]
  address = "{d}/c.sock"

[ttrpc]
  address = "{d}/c.sock.ttrpc"

[debug]
  address = ""
  level = "warn"

[metrics]
  address = ""
"""


@dataclass
class Containerd:
    """One private containerd, driven through ``ctr`` in ``worker`` (which started it)."""

    dir: Path
    namespace: str
    worker: BareWorker
    pid: int = 0
    run_dir_existed: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def socket(self) -> Path:
        return self.dir / "c.sock"

    def ctr(self, *args: str) -> list[str]:
        binary = shutil.which(CTR)
        assert binary is not None
        return [binary, "-a", str(self.socket), "-n", self.namespace, *args]

    def run_argv(self, cid: str, *argv: str, detach: bool = False) -> list[str]:
        """``ctr run`` of the bench image: removed at exit (``--rm``), or ``--detach``."""
        mode = "--detach" if detach else "--rm"
        return self.ctr(
            "run", mode, "--null-io", "--runc-root", str(self.dir / "runc"), IMAGE, cid, *argv
        )

    async def start(self, image: Path, timeout: float = 20.0) -> None:
        self.run_dir_existed = RUN_DIR.exists()
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "config.toml").write_text(config_toml(self.dir))
        binary = shutil.which(CONTAINERD)
        assert binary is not None
        reply = await self.worker.call(
            "spawn",
            argv=[binary, "--config", str(self.dir / "config.toml")],
            log=str(self.dir / "containerd.log"),
        )
        self.pid = int(reply["pid"])
        deadline = time.monotonic() + timeout
        while True:
            reply = await self.worker.call("steps", steps=[{"argv": self.ctr("version")}])
            if reply["statuses"] == [0]:
                break
            if time.monotonic() > deadline or not psutil.pid_exists(self.pid):
                raise BenchError(f"containerd did not come up: {self.log_tail()}")
            await asyncio.sleep(0.05)
        await self.worker.steps({"argv": self.ctr("images", "import", str(image))})

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return (self.dir / "containerd.log").read_text()[-2000:]
        return ""

    def shims(self, everywhere: bool = False) -> list[psutil.Process]:
        """The shim processes serving this containerd (their command line names its socket)."""
        found = []
        candidates: list[psutil.Process] = []
        if everywhere:
            candidates = list(psutil.process_iter())
        else:
            # Re-parented to the worker that started the daemon (a subreaper); a shim whose
            # parent is gone would be elsewhere: look everywhere then.
            with contextlib.suppress(psutil.Error):
                candidates = psutil.Process(self.worker.pid).children()
        for p in candidates:
            with contextlib.suppress(psutil.Error):
                if p.name() == SHIM and str(self.socket) in p.cmdline():
                    found.append(p)
        return found

    def cpu_seconds(self) -> float:
        """CPU of the daemon and of the children it has reaped (``shim start``)."""
        t = psutil.Process(self.pid).cpu_times()
        return float(t.user + t.system + t.children_user + t.children_system)

    async def settle(self, quiet: float = 0.02, limit: float = 0.5) -> float:
        """Wait until the daemon and its shims use no CPU for ``quiet`` seconds (at most
        ``limit``); answers the time waited."""
        t0 = time.perf_counter()

        def busy() -> float:
            total = self.cpu_seconds()
            for p in self.shims():
                with contextlib.suppress(psutil.Error):
                    t = p.cpu_times()
                    total += t.user + t.system
            return total

        last = busy()
        while time.perf_counter() - t0 < limit:
            await asyncio.sleep(quiet)
            now = busy()
            if now == last and not self.shims():
                break
            last = now
        return time.perf_counter() - t0

    async def stop(self) -> dict[str, Any]:
        """SIGTERM the daemon, unmount whatever is left under its directory, remove it all.

        Answers what it found: shims still running, mounts left, and whether it is all gone.
        """
        left_shims = [p.pid for p in self.shims(everywhere=True)]
        status = None
        if self.pid:
            reply = await self.worker.call("stop", pid=self.pid, timeout=15.0)
            status = reply["status"]
        for pid in left_shims:  # only after a failed run: containers were not deleted
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).kill()
        await self.worker.call("reap")
        mounts = mounts_under(self.dir)
        for mnt in sorted(mounts, key=len, reverse=True):
            subprocess.run(["umount", "-l", mnt], check=False, capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)
        # Containers got cgroups /<namespace>/<id> (ctr's default): runc removed each
        # container's; the namespace's own stays, in every hierarchy.
        cgroups_left = []
        for path in sorted(glob.glob(f"/sys/fs/cgroup/*/{self.namespace}"), reverse=True):
            for sub in sorted(Path(path).glob("**/"), key=lambda p: len(p.parts), reverse=True):
                with contextlib.suppress(OSError):
                    sub.rmdir()
            if os.path.isdir(path):
                cgroups_left.append(path)
        if not self.run_dir_existed:
            # containerd 1.6 keeps shim sockets in /run/containerd/s and ctr's FIFOs in
            # /run/containerd/fifo whatever its config says; this run created the directory.
            for name in ("s", "fifo", ""):
                with contextlib.suppress(OSError):
                    (RUN_DIR / name).rmdir()
        return {
            "exit_status": status,
            "shims_left": left_shims,
            "mounts_left_before_umount": mounts,
            "mounts_left": mounts_under(self.dir),
            "dir_removed": not self.dir.exists(),
            "cgroups_left": cgroups_left,
            "run_dir_left": (not self.run_dir_existed) and RUN_DIR.exists(),
        }


def mounts_under(d: Path) -> list[str]:
    prefix = str(d).rstrip("/") + "/"
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mnt = line.split()[4]
            if mnt.startswith(prefix) or mnt == str(d):
                found.append(mnt)
    return found
