"""OCI bundles: a ``config.json`` shaped like ``runc spec`` and a small busybox rootfs."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from . import errors

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]


def default_spec(
    args: Sequence[str],
    *,
    terminal: bool = False,
    env: Mapping[str, str] | None = None,
    cwd: str = "/",
    hostname: str = "shimdeck",
    readonly: bool = True,
) -> dict[str, Any]:
    """The OCI runtime spec ``runc spec`` writes, with the given process."""
    environment = {"PATH": DEFAULT_PATH, "TERM": "xterm-256color"} | dict(env or {})
    return {
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": terminal,
            "user": {"uid": 0, "gid": 0},
            "args": list(args),
            "env": [f"{k}={v}" for k, v in environment.items()],
            "cwd": cwd,
            "capabilities": {
                k: list(_CAPS) for k in ("bounding", "effective", "permitted", "ambient")
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": readonly},
        "hostname": hostname,
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {
                "destination": "/dev",
                "type": "tmpfs",
                "source": "tmpfs",
                "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
            },
            {
                "destination": "/dev/pts",
                "type": "devpts",
                "source": "devpts",
                "options": [
                    "nosuid",
                    "noexec",
                    "newinstance",
                    "ptmxmode=0666",
                    "mode=0620",
                    "gid=5",
                ],
            },
            {
                "destination": "/dev/shm",
                "type": "tmpfs",
                "source": "shm",
                "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
            },
            {
                "destination": "/dev/mqueue",
                "type": "mqueue",
                "source": "mqueue",
                "options": ["nosuid", "noexec", "nodev"],
            },
            {
                "destination": "/sys",
                "type": "sysfs",
                "source": "sysfs",
                "options": ["nosuid", "noexec", "nodev", "ro"],
            },
            {
                "destination": "/sys/fs/cgroup",
                "type": "cgroup",
                "source": "cgroup",
                "options": ["nosuid", "noexec", "nodev", "relatime", "ro"],
            },
            {
                "destination": "/tmp",
                "type": "tmpfs",
                "source": "tmpfs",
                "options": ["nosuid", "nodev", "mode=1777", "size=65536k"],
            },
        ],
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            "maskedPaths": [
                "/proc/acpi",
                "/proc/asound",
                "/proc/kcore",
                "/proc/keys",
                "/proc/latency_stats",
                "/proc/timer_list",
                "/proc/timer_stats",
                "/proc/sched_debug",
                "/sys/firmware",
                "/proc/scsi",
            ],
            "readonlyPaths": [
                "/proc/bus",
                "/proc/fs",
                "/proc/irq",
                "/proc/sys",
                "/proc/sysrq-trigger",
            ],
        },
    }


def find_busybox() -> Path:
    """The host's static busybox, or Unavailable naming the package to install."""
    for candidate in ("/bin/busybox", "/usr/bin/busybox"):
        if os.path.isfile(candidate):
            return Path(candidate)
    found = shutil.which("busybox")
    if found:
        return Path(found)
    raise errors.Unavailable(
        "busybox was not found: install it with apt-get install busybox-static"
    )


def make_busybox_rootfs(rootfs: Path) -> None:
    """A rootfs of the host's busybox with every applet linked into /bin."""
    busybox = find_busybox()
    if b"ld-linux" in busybox.read_bytes()[:4096]:
        raise errors.Unavailable(f"{busybox} is dynamically linked: install busybox-static")
    for d in ("bin", "dev", "proc", "sys", "tmp", "etc", "root", "var/run"):
        (rootfs / d).mkdir(parents=True, exist_ok=True)
    target = rootfs / "bin" / "busybox"
    shutil.copy2(busybox, target)
    applets = subprocess.run(
        [str(busybox), "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    for applet in applets:
        link = rootfs / "bin" / applet
        if applet != "busybox" and not link.exists():
            link.symlink_to("busybox")
    (rootfs / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (rootfs / "etc" / "group").write_text("root:x:0:\ntty:x:5:\n")
    (rootfs / "etc" / "hostname").write_text("shimdeck\n")


def create_bundle(
    path: str | os.PathLike[str],
    args: Sequence[str],
    *,
    terminal: bool = False,
    env: Mapping[str, str] | None = None,
    cwd: str = "/",
    hostname: str | None = None,
    rootfs: str | os.PathLike[str] | None = None,
) -> Path:
    """Write an OCI bundle at ``path`` running ``args``; return the bundle's path.

    With ``rootfs`` None a busybox rootfs is made inside the bundle; otherwise ``rootfs`` is
    used as it is (an existing directory).
    """
    if isinstance(args, str | bytes) or not args:
        raise errors.InvalidArgument("args must be a non-empty list of strings")
    if not all(isinstance(a, str) and a and "\0" not in a for a in args):
        raise errors.InvalidArgument(f"args {list(args)!r}: each must be a non-empty string")
    if not cwd.startswith("/"):
        raise errors.InvalidArgument(f"cwd {cwd!r} must be an absolute path")
    bundle = Path(path).absolute()
    bundle.mkdir(mode=0o700, parents=True, exist_ok=True)
    if rootfs is None:
        root_path = "rootfs"
        make_busybox_rootfs(bundle / "rootfs")
    else:
        root_dir = Path(rootfs).absolute()
        if not root_dir.is_dir():
            raise errors.InvalidArgument(f"rootfs {root_dir} is not a directory")
        root_path = str(root_dir)
    spec = default_spec(
        args,
        terminal=terminal,
        env=env,
        cwd=cwd,
        hostname=hostname or bundle.name[:63] or "shimdeck",
    )
    spec["root"]["path"] = root_path
    fd = os.open(bundle / "config.json", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(spec, f, indent=2)
    return bundle


def task_bundle(source: Path, spec: dict[str, Any], dest: Path, cgroups_path: str) -> Path:
    """The bundle the runtime is given: the container's spec, made to stand anywhere.

    Written under the task's state directory so the engine can add what it must decide
    itself, without touching the user's bundle: the cgroup ``cgroups_path`` it chose (see
    ``Tasks._create``), and paths the spec gives relative to its bundle.
    """
    # Copied only where changed: the caller's spec (the task's base process) stays as it was,
    # at less than a deep copy's cost.
    spec = dict(spec)
    root = spec["root"] = dict(spec.get("root") or {"path": "rootfs"})
    if not os.path.isabs(root.get("path", "rootfs")):
        root["path"] = str(source / root.get("path", "rootfs"))
    mounts = []
    for mount in spec.get("mounts") or []:
        src = mount.get("source")
        binding = mount.get("type") == "bind" or "bind" in (mount.get("options") or [])
        if binding and isinstance(src, str) and not os.path.isabs(src):
            mount = dict(mount, source=str(source / src))
        mounts.append(mount)
    if "mounts" in spec:
        spec["mounts"] = mounts
    linux = spec["linux"] = dict(spec.get("linux") or {})
    linux["cgroupsPath"] = cgroups_path
    d = os.fspath(dest)
    with contextlib.suppress(FileExistsError):
        os.mkdir(d, 0o700)
    # A raw write of one buffer: os.fdopen's text layers add an fstat, an ioctl and a seek.
    data = json.dumps(spec).encode()  # dumps uses the C encoder; dump never does
    fd = os.open(f"{d}/config.json", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
    return dest
