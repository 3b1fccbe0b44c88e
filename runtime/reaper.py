"""The one owner of every wait in the process.

The engine is a child subreaper (PR_SET_CHILD_SUBREAPER): runc and crun fork twice, so a
container's processes are re-parented to us and we must reap them. Every process the engine
cares about, runtime CLI calls included, is watched through a pidfd and reaped with
``waitid(P_PIDFD)``, so no wait can steal another's exit and a recycled pid can never be
mistaken for ours. Children nobody registered (a container process whose pid file we have not
read yet) are swept shortly after a watched process exits, and every ``SWEEP_INTERVAL``; their
exits are kept so that a late registration still gets its status (containerd issue 869 /
PR 940: never drop an early exit).

No SIGCHLD handler: SIGCHLD keeps its default disposition (discarded, zombies kept), so the
kernel drops the signal where it is made. A handler cost every runtime command's exit a
signal delivery, a wake-up of the loop through its self-pipe and two more loop turns (about
0.1 ms of CPU each, a third of the reaper's cost per lifecycle); everything it triggered has
a cause the reaper can watch instead (see ``_on_ready`` and ``sweep``).

The reaper never calls ``waitpid(-1)``: do not run ``subprocess``/asyncio child watchers for
the runtime binaries beside it; use :meth:`Reaper.spawn` instead.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from . import errors

PR_SET_CHILD_SUBREAPER = 36
UNKNOWN_EXIT_STATUS = 255
#: How long an exit of an unregistered child is kept for a registration that may follow.
EARLY_EXIT_TTL = 120.0
#: How long an unwatched zombie is left for whoever spawned it to reap.
SWEEP_GRACE = 0.5
#: Watched exits within this long share one sweep: each may have left orphans re-parented to
#: us, and a sweep reads /proc, while what it reaps is left SWEEP_GRACE anyway.
SWEEP_DELAY = 0.1
#: The sweep for exits no watched process announces (a child spawned outside the reaper).
SWEEP_INTERVAL = 1.0


@dataclass(frozen=True)
class Exit:
    pid: int
    status: int
    at: datetime
    #: False when the process was not ours to reap, so the status is the unknown 255.
    known: bool = True


def exit_status(code: int, si_code: int) -> int:
    """A wait status in the shell's convention: the code, or 128 + the signal that killed it."""
    if si_code == os.CLD_EXITED:
        return code
    return 128 + code


def set_subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise errors.Unavailable(f"cannot become a child subreaper: {os.strerror(err)}")


def _children() -> set[int]:
    pids: set[int] = set()
    for tid in os.listdir("/proc/self/task"):
        try:
            fd = os.open(f"/proc/self/task/{tid}/children", os.O_RDONLY | os.O_CLOEXEC)
        except (FileNotFoundError, ProcessLookupError):
            continue
        try:
            chunks = [os.read(fd, 65536)]
            while chunks[-1]:  # a /proc file: read to its end
                chunks.append(os.read(fd, 65536))
        except ProcessLookupError:
            continue
        finally:
            os.close(fd)
        pids.update(int(p) for p in b"".join(chunks).split())
    return pids


#: The kernel's task flag for "exit has begun" (include/linux/sched.h).
PF_EXITING = 0x4


def _stat(pid: int) -> list[bytes] | None:
    """The fields of /proc/``pid``/stat from its state on ("S", ppid, ...), or None if gone."""
    try:
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
    except (FileNotFoundError, ProcessLookupError):
        return None
    try:
        stat = os.read(fd, 4096)  # one read: an open() adds an fstat, an ioctl and a seek
    except ProcessLookupError:
        return None
    finally:
        os.close(fd)
    # "pid (comm) S ppid ...": comm may hold anything, so the fields are after the last ")".
    return stat[stat.rfind(b")") + 2 :].split()


def _zombie_parent(pid: int) -> int | None:
    """The parent pid of ``pid`` if it is a zombie, else None (alive, or gone)."""
    fields = _stat(pid)
    return int(fields[1]) if fields and len(fields) > 1 and fields[0] == b"Z" else None


def _is_zombie(pid: int) -> bool:
    return _zombie_parent(pid) is not None


def has_exited(pid: int) -> bool:
    """Whether ``pid`` is gone, a zombie, or exiting.

    A pid namespace's init that has begun to exit stays a sleeping process, not a zombie,
    until every other process of its namespace is reaped, and one orphaned to us (a runtime's
    exec helper killed in there, most likely) waits for a sweep. ``runc state`` says "running"
    all that while, though nothing can join the namespace any more.
    """
    fields = _stat(pid)
    if not fields or len(fields) < 7:
        return True
    return fields[0] in (b"Z", b"X") or bool(int(fields[6]) & PF_EXITING)


class Reaper:
    """Watches processes by pidfd on one asyncio loop and reaps them as they exit.

    One per event loop, shared by every engine on it: use :meth:`acquire` and :meth:`release`.
    """

    _by_loop: ClassVar[dict[asyncio.AbstractEventLoop, Reaper]] = {}

    @classmethod
    def acquire(cls) -> Reaper:
        loop = asyncio.get_running_loop()
        reaper = cls._by_loop.get(loop)
        if reaper is None or reaper._closed:
            reaper = cls._by_loop[loop] = cls(loop)
        reaper._users += 1
        return reaper

    def release(self) -> None:
        self._users -= 1
        if self._users <= 0:
            self._by_loop.pop(self._loop, None)
            self.close()

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop or asyncio.get_running_loop()
        self._users = 0
        self._watched: dict[int, tuple[int, asyncio.Future[Exit]]] = {}
        self._early: dict[int, tuple[Exit, float]] = {}
        self._zombie_seen: dict[int, float] = {}
        #: Exited, but still some other process's child: waiting to be re-parented to us, by
        #: a pidfd of that parent (-1 when there is none to watch: the sweeps retry it).
        self._handover: dict[int, int] = {}
        self._retried: set[int] = set()
        # Encoded once: handing os.environ to posix_spawn decodes and re-encodes it each time.
        self._env: dict[bytes, bytes] = dict(os.environb)
        self._resweep: asyncio.TimerHandle | None = None
        self._closed = False
        set_subreaper()
        # SIG_IGN would have the kernel reap our children before any wait could see them.
        ignored = signal.getsignal(signal.SIGCHLD) == signal.SIG_IGN
        if ignored and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        self._schedule_sweep(SWEEP_INTERVAL)

    def spawn(
        self, argv: Sequence[str], *, stdin: int, stdout: int, stderr: int
    ) -> tuple[int, asyncio.Future[Exit]]:
        """Start ``argv`` with the given fds as its stdio; return its pid and exit future."""
        actions: list[tuple[int, ...]] = [
            (os.POSIX_SPAWN_DUP2, stdin, 0),
            (os.POSIX_SPAWN_DUP2, stdout, 1),
            (os.POSIX_SPAWN_DUP2, stderr, 2),
        ]
        pid = os.posix_spawn(argv[0], list(argv), self._env, file_actions=actions)
        return pid, self.watch(pid)

    def watch(self, pid: int) -> asyncio.Future[Exit]:
        """Return a future resolved with ``pid``'s exit. Registering twice returns the same one."""
        if pid in self._watched:
            return self._watched[pid][1]
        fut: asyncio.Future[Exit] = self._loop.create_future()
        try:
            pidfd = os.pidfd_open(pid)
        except ProcessLookupError:
            early = self._early.pop(pid, None)
            ex = early[0] if early else Exit(pid, UNKNOWN_EXIT_STATUS, _now(), known=False)
            self._loop.call_soon(_resolve, fut, ex)
            return fut
        # A live (or zombie) process with this pid exists, so any kept early exit is stale.
        self._early.pop(pid, None)
        self._watched[pid] = (pidfd, fut)
        self._loop.add_reader(pidfd, self._on_ready, pid)
        return fut

    def _on_ready(self, pid: int) -> None:
        pidfd, fut = self._watched[pid]
        try:
            res = os.waitid(os.P_PIDFD, pidfd, os.WEXITED | os.WNOHANG)
        except ChildProcessError:
            parent = _zombie_parent(pid)
            if parent is not None:
                # Exited while still the child of a runtime process that has not exited yet
                # (crun's run --detach returns before its intermediate is gone). The kernel
                # re-parents the zombie to us before that parent's pidfd says it exited:
                # try again then.
                self._loop.remove_reader(pidfd)
                self._await_parent(pid, parent)
                return
            # Reaped by someone else (a process adopted after an engine restart, not ours):
            # it is gone, and its status is not ours to know.
            ex = Exit(pid, UNKNOWN_EXIT_STATUS, _now(), known=False)
        else:
            if res is None:
                return
            ex = Exit(pid, exit_status(res.si_status, res.si_code), _now())
            # What SIGCHLD told before: an exit may have left orphans re-parented to us.
            self._schedule_sweep(SWEEP_DELAY)
        self._unwatch(pid)
        _resolve(fut, ex)

    def _await_parent(self, pid: int, parent: int) -> None:
        try:
            pfd = os.pidfd_open(parent) if parent > 0 else -1
        except OSError:  # gone already (the zombie is ours now), or not in our namespace
            pfd = -1
        self._handover[pid] = pfd
        if pfd >= 0:
            self._loop.add_reader(pfd, self._retry_handover, pid)
        elif parent > 0 and pid not in self._retried:
            self._retried.add(pid)  # once: a zombie some other reaper took is no busy loop
            self._loop.call_soon(self._retry_handover, pid)
        # else: left to the sweeps, which retry every hand-over

    def _retry_handover(self, pid: int) -> None:
        if pid not in self._handover:
            return
        self._drop_handover(pid)
        pidfd, _ = self._watched[pid]
        self._loop.add_reader(pidfd, self._on_ready, pid)
        self._on_ready(pid)

    def _drop_handover(self, pid: int) -> None:
        pfd = self._handover.pop(pid, -1)
        if pfd >= 0:
            self._loop.remove_reader(pfd)
            os.close(pfd)

    def _retry_handovers(self) -> None:
        for pid in list(self._handover):
            self._retry_handover(pid)

    def _unwatch(self, pid: int) -> None:
        pidfd, _ = self._watched.pop(pid)
        self._drop_handover(pid)
        self._retried.discard(pid)
        self._loop.remove_reader(pidfd)
        os.close(pidfd)

    def sweep(self, grace: float = SWEEP_GRACE) -> None:
        """Reap exited children nobody watches, keeping their status for a later ``watch``.

        A zombie is left alone for ``SWEEP_GRACE`` seconds first: it may belong to code that
        reaps its own children by pid (``subprocess`` in a thread), which must not be robbed.
        """
        self._retry_handovers()
        now = time.monotonic()
        for pid in [p for p, (_, t) in self._early.items() if now - t > EARLY_EXIT_TTL]:
            del self._early[pid]
        # A zombie stays one until reaped: only children not seen as zombies yet are read.
        seen_before = self._zombie_seen
        self._zombie_seen = {
            pid: seen_before.get(pid, now)
            for pid in _children()
            if pid not in self._watched and (pid in seen_before or _is_zombie(pid))
        }
        waiting = False
        for pid, seen in self._zombie_seen.items():
            if now - seen < grace:
                waiting = True
                continue
            try:
                res = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG)
            except ChildProcessError:
                continue
            if res is not None:
                self._early[pid] = (Exit(pid, exit_status(res.si_status, res.si_code), _now()), now)
        self._schedule_sweep(SWEEP_GRACE if waiting else SWEEP_INTERVAL)

    def _schedule_sweep(self, delay: float) -> None:
        """Sweep in ``delay`` seconds at most: a sweep due sooner stays, a later one is moved."""
        if self._closed:
            return
        when = self._loop.time() + delay
        if self._resweep is not None:
            if self._resweep.when() <= when:
                return
            self._resweep.cancel()
        self._resweep = self._loop.call_at(when, self._sweep_again)

    def _sweep_again(self) -> None:
        self._resweep = None
        self.sweep()

    def forget(self, pid: int) -> None:
        """Stop watching ``pid`` (its exit stays unreported); used when the engine shuts down."""
        if pid in self._watched:
            fut = self._watched[pid][1]
            self._unwatch(pid)
            fut.cancel()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._resweep is not None:
            self._resweep.cancel()
            self._resweep = None
        for pid in list(self._watched):
            self.forget(pid)
        self.sweep(grace=0)


def _resolve(fut: asyncio.Future[Exit], ex: Exit) -> None:
    if not fut.done():
        fut.set_result(ex)


def _now() -> datetime:
    return datetime.now(UTC)
