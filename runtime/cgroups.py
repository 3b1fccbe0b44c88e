"""Resource use of a task, read from its cgroup (v1 controllers or the v2 unified tree)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from . import errors
from .types import Stats


@functools.cache
def _mounts() -> dict[str, tuple[str, str]]:
    """Map a v1 controller (or "" for v2) to (mount point, root inside the hierarchy).

    Read once: the cgroup mounts of a host do not move while the engine runs.
    """
    found: dict[str, tuple[str, str]] = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields, extra = left.split(), right.split()
            if not extra:
                continue
            if extra[0] == "cgroup2":
                found.setdefault("", (fields[4], fields[3]))
            elif extra[0] == "cgroup":
                for opt in extra[2].split(","):
                    found.setdefault(opt, (fields[4], fields[3]))
    return found


def _read_small(path: str) -> str:
    """A small kernel file in one read: cheaper than ``open()``'s text layers."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return os.read(fd, 65536).decode()
    finally:
        os.close(fd)


def _below(path: str, root: str) -> str:
    """``path`` (as /proc/<pid>/cgroup gives it) relative to the mount's ``root``."""
    if root == "/":
        return path.lstrip("/")
    if path.startswith(root):
        return os.path.relpath(path, root)
    return path.lstrip("/")


def cgroup_dirs(pid: int, only: str | None = None) -> dict[str, Path]:
    """The cgroup directory of ``pid`` for each controller it is in ("" for v2).

    With ``only``, just that controller's (the OOM watch needs no other).
    """
    mounts = _mounts()
    dirs: dict[str, Path] = {}
    try:
        lines = _read_small(f"/proc/{pid}/cgroup").splitlines()
    except (FileNotFoundError, ProcessLookupError):
        raise errors.NotFound(f"process {pid} is gone") from None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for ctl in controllers.split(",") if controllers else [""]:
            if ctl not in mounts or (only is not None and ctl != only):
                continue
            mount, root = mounts[ctl]
            dirs[ctl] = Path(mount, _below(path, root))
    return dirs


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    if text == "max":
        return None
    try:
        return int(text.split()[0])
    except (ValueError, IndexError):
        return None


def read_stats(pid: int, dirs: dict[str, Path] | None = None) -> Stats:
    """Stats of ``pid``'s cgroup; pass ``dirs`` (from :func:`cgroup_dirs`) to skip finding it."""
    dirs = dirs if dirs is not None else cgroup_dirs(pid)
    if "memory" in dirs or "cpuacct" in dirs:
        cpu_ns = _read_int(dirs.get("cpuacct", Path("/nonexistent")) / "cpuacct.usage") or 0
        mem_dir = dirs.get("memory", Path("/nonexistent"))
        memory = _read_int(mem_dir / "memory.usage_in_bytes") or 0
        limit = _read_int(mem_dir / "memory.limit_in_bytes")
        pids = _read_int(dirs.get("pids", Path("/nonexistent")) / "pids.current") or 0
        cpu = cpu_ns / 1e9
    elif "" in dirs:
        d = dirs[""]
        usage = 0
        try:
            for line in (d / "cpu.stat").read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "usage_usec":
                    usage = int(value)
        except OSError:
            pass
        cpu = usage / 1e6
        memory = _read_int(d / "memory.current") or 0
        limit = _read_int(d / "memory.max")
        pids = _read_int(d / "pids.current") or 0
    else:
        raise errors.Unavailable(f"no cgroup found for process {pid}")
    if limit is not None and limit >= 1 << 62:
        limit = None
    return Stats(cpu, memory, pids, limit, datetime.now(UTC))


class OomWatch:
    """Calls ``on_oom`` at each OOM kill in a process's memory cgroup (cgroup v1 eventfd).

    :meth:`open` returns None where that is not available (cgroup v2, or no memory
    controller): there no ``/tasks/oom`` event is sent.
    """

    def __init__(
        self, efd: int, control: int, on_oom: Callable[[], None], kills: int | None = None
    ) -> None:
        self._efd = efd
        self._control = control
        #: The kills already counted, not this task's (read now unless given).
        self._kills = max(0, _oom_kills(control) or 0) if kills is None else kills
        self._on_oom = on_oom
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(efd, self.poll)

    @classmethod
    def open(cls, pid: int, cgroups_path: str, on_oom: Callable[[], None]) -> OomWatch | None:
        """Watch the memory cgroup of ``pid``, a task's init the runtime put in
        ``cgroups_path`` (the spec's ``linux.cgroupsPath``)."""
        try:
            mem = cgroup_dirs(pid, only="memory").get("memory")
        except errors.Error:
            return None
        if mem is None:
            return None
        kills: int | None = None
        if mem == Path(_mounts()["memory"][0]):
            # An exited process reads as the hierarchy's root on cgroup v1 (an init killed at
            # once, before ``run`` returned). Its own cgroup is where the runtime put it, and
            # every kill counted there was this task's.
            mem = next((p for p in runtime_cgroup_dirs(cgroups_path, "memory") if p.is_dir()), None)
            if mem is None:
                return None
            kills = 0
        d = str(mem)
        efd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
        try:
            control = os.open(f"{d}/memory.oom_control", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            os.close(efd)
            return None
        try:
            ctl = os.open(f"{d}/cgroup.event_control", os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.write(ctl, f"{efd} {control}".encode())
            finally:
                os.close(ctl)
        except OSError:
            os.close(efd)
            os.close(control)
            return None
        return cls(efd, control, on_oom, kills)

    def poll(self) -> None:
        """Report an OOM kill, if the cgroup's count of them grew since the last report.

        Called when the eventfd fires and again before the task's exit is told: the event
        comes when the cgroup runs out of memory (and when it is removed), the count grows
        once the kill is done.
        """
        if self._efd < 0:
            return
        fired = True
        try:
            os.eventfd_read(self._efd)
        except BlockingIOError:
            fired = False
        kills = _oom_kills(self._control)
        if kills is None:
            self.close()
        elif kills == UNCOUNTED:
            if fired:
                self._on_oom()
        elif kills > self._kills:
            self._kills = kills
            self._on_oom()

    def close(self) -> None:
        if self._efd >= 0:
            self._loop.remove_reader(self._efd)
            os.close(self._efd)
            os.close(self._control)
            self._efd = -1


UNCOUNTED = -1


def _oom_kills(control: int) -> int | None:
    """The ``oom_kill`` count of a memory.oom_control fd; None once the cgroup is gone.

    ``UNCOUNTED`` on kernels before 4.13, which have no counter: then the event is trusted.
    """
    try:
        text = os.pread(control, 4096, 0).decode()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "oom_kill":
            return int(value)
    return UNCOUNTED if text else None


def runtime_cgroup_dirs(cgroups_path: str, controller: str, own: Path | None = None) -> list[Path]:
    """Where a runtime puts a container's ``cgroups_path`` in ``controller``'s hierarchy.

    An absolute path is below the hierarchy's root. A relative one is below the caller's own
    cgroup (``own``, read when not given) for runc, below the hierarchy's root for crun (on
    v1): both places are given.
    """
    if controller not in _mounts():
        return []
    places = [Path(_mounts()[controller][0], cgroups_path.lstrip("/"))]
    if not cgroups_path.startswith("/"):
        own = own or cgroup_dirs(os.getpid(), only=controller).get(controller)
        if own is not None and own / cgroups_path not in places:
            places.insert(0, own / cgroups_path)
    return places


def remove_empty(relative: str) -> None:
    """Remove the cgroup ``relative``, if empty, wherever the runtime put it, in every
    hierarchy."""
    for ctl, own in cgroup_dirs(os.getpid()).items():
        for d in runtime_cgroup_dirs(relative, ctl, own):
            with contextlib.suppress(OSError):
                d.rmdir()
