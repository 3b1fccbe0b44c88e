"""The one owner of every wait in the process.

The engine is a child subreaper (PR_SET_CHILD_SUBREAPER): runc and crun fork twice, so a
container's processes are re-parented to us and we must reap them. Every process the engine
cares about, runtime CLI calls included, is watched through a pidfd and reaped with
``waitid(P_PIDFD)``, so no wait can steal another's exit and a recycled pid can never be
mistaken for ours. Children nobody registered (a container process whose pid file we have not
read yet) are swept shortly after a SIGCHLD; their exits are kept so that a late registration
still gets its status (containerd issue 869 / PR 940: never drop an early exit).

The reaper never calls ``waitpid(-1)``: do not run ``subprocess``/asyncio child watchers for
the runtime binaries beside it; use :meth:`Reaper.spawn` instead.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
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
#: SIGCHLDs within this long share one sweep: every runtime command's exit sends one, and
#: a sweep reads /proc, while what it reaps is left SWEEP_GRACE anyway.
SWEEP_DELAY = 0.1


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


def _is_zombie(pid: int) -> bool:
    try:
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
    except (FileNotFoundError, ProcessLookupError):
        return False
    try:
        stat = os.read(fd, 4096)  # one read: an open() adds an fstat, an ioctl and a seek
    except ProcessLookupError:
        return False
    finally:
        os.close(fd)
    return stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3] == b"Z"


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
        #: Exited, but still some other process's child: waiting to be re-parented to us.
        self._handover: set[int] = set()
        # Encoded once: handing os.environ to posix_spawn decodes and re-encodes it each time.
        self._env: dict[bytes, bytes] = dict(os.environb)
        self._resweep: asyncio.TimerHandle | None = None
        self._closed = False
        set_subreaper()
        self._loop.add_signal_handler(signal.SIGCHLD, self._on_sigchld)

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
            if _is_zombie(pid):
                # Exited while still the child of a runtime process that has not exited yet
                # (crun's run --detach returns before its intermediate is gone). When that
                # parent exits, the zombie is re-parented to us with a SIGCHLD: try again then.
                self._loop.remove_reader(pidfd)
                self._handover.add(pid)
                return
            # Reaped by someone else (a process adopted after an engine restart, not ours):
            # it is gone, and its status is not ours to know.
            ex = Exit(pid, UNKNOWN_EXIT_STATUS, _now(), known=False)
        else:
            if res is None:
                return
            ex = Exit(pid, exit_status(res.si_status, res.si_code), _now())
        self._unwatch(pid)
        _resolve(fut, ex)

    def _retry_handovers(self) -> None:
        for pid in list(self._handover):
            self._handover.discard(pid)
            pidfd, _ = self._watched[pid]
            self._loop.add_reader(pidfd, self._on_ready, pid)
            self._on_ready(pid)

    def _unwatch(self, pid: int) -> None:
        pidfd, _ = self._watched.pop(pid)
        self._handover.discard(pid)
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
        if waiting and not self._closed and self._resweep is None:
            self._resweep = self._loop.call_later(SWEEP_GRACE, self._sweep_again)

    def _on_sigchld(self) -> None:
        # A hand-over is a watched process's exit someone waits for: retried now. Unwatched
        # zombies keep until the sweep; a watch that comes first reaps its own by pidfd.
        self._retry_handovers()
        if self._resweep is None and not self._closed:
            self._resweep = self._loop.call_later(SWEEP_DELAY, self._sweep_again)

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
        self._loop.remove_signal_handler(signal.SIGCHLD)
        if self._resweep is not None:
            self._resweep.cancel()
        for pid in list(self._watched):
            self.forget(pid)
        self.sweep(grace=0)


def _resolve(fut: asyncio.Future[Exit], ex: Exit) -> None:
    if not fut.done():
        fut.set_result(ex)


def _now() -> datetime:
    return datetime.now(UTC)
