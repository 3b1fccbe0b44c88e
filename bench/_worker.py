"""The bare-runtime side of a benchmark, in a process of its own.

The engine owns child reaping in its process, so the bare runtime commands run here: this
process reads one JSON request per line on stdin and answers one JSON line on stdout. It
times each request itself, so the pipe to the benchmark adds nothing to what it reports.
It is a child subreaper, like the engine, so that a detached container's init is re-parented
to it and can be waited for (the ``steps`` baseline) and reaped (no zombies left behind).

Requests (``op``):

- ``steps``: run ``steps`` in order; each is ``{"argv": [...]}`` (spawned with stdio on
  /dev/null, waited for) or ``{"wait_pid_file": path}`` (wait for the pid written there,
  a container init re-parented to us). Answers the time of each step and of all of them,
  and the CPU time used by this process and by the processes it reaped meanwhile.
- ``parallel``: spawn every argv of ``argvs`` at once, then wait for them all. Answers the
  time until the last one was reaped, each one's time from the common start to its reaping
  (``times``, in ``argvs`` order) and every exit status. Other children reaped meanwhile
  (containerd's shims, re-parented here) are counted in ``others``.
- ``spawn``: start ``argv`` (a daemon) with stdout and stderr appended to ``log``, without
  waiting; answers its pid.
- ``stop``: send ``signal`` (SIGTERM) to ``pid`` (one ``spawn`` started), wait up to
  ``timeout`` seconds, then SIGKILL; answers its exit status and whether it had to be killed.
- ``pty``: spawn ``argv`` with its stdout and stderr on a fresh pty's slave and read the
  master to its end. Answers the bytes read, the total time and the time from the first
  byte to the end.
- ``kill``: SIGKILL the pid written in ``pid_file`` (a container init re-parented to us) and
  wait for it through a pidfd, the way the engine's reaper does: the floor under the
  engine's kill-to-exit-event latency. Answers the time from just before ``kill(2)`` to the
  reaped status.
- ``reap``: reap any exited children; answers how many, and this process's CPU time and
  its reaped children's so far (``cpu_self_total``, ``cpu_children_total``).
- ``quit``: reap and exit.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import resource
import select
import signal
import sys
import time
from typing import Any

PR_SET_CHILD_SUBREAPER = 36


def cpu_times() -> tuple[float, float]:
    """CPU seconds (user + system) of this process, and of its reaped children."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def _spawn(argv: list[str], stdin: int, stdout: int, stderr: int) -> int:
    actions = [
        (os.POSIX_SPAWN_DUP2, stdin, 0),
        (os.POSIX_SPAWN_DUP2, stdout, 1),
        (os.POSIX_SPAWN_DUP2, stderr, 2),
    ]
    return os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)


def _wait_adopted(pid: int, timeout: float = 10.0) -> int:
    """Wait for a container init the runtime left behind, once it is re-parented to us.

    ``crun run --detach`` (1.8) can return while its intermediate process, the init's parent,
    has not exited yet: until it does, the init is not our child (ECHILD), even once exited.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            return os.waitpid(pid, 0)[1]
        except ChildProcessError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.0002)


def _status(wait_status: int) -> int:
    return os.waitstatus_to_exitcode(wait_status) % 256


class Worker:
    def __init__(self, errlog: str) -> None:
        self.devnull = os.open(os.devnull, os.O_RDWR)
        self.errlog_path = errlog
        self.errlog = os.open(errlog, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def _err_tail(self, offset: int) -> str:
        with open(self.errlog_path, "rb") as f:
            f.seek(offset)
            return f.read()[-2000:].decode(errors="replace").strip()

    def steps(self, steps: list[dict[str, Any]]) -> dict[str, Any]:
        times: list[float] = []
        statuses: list[int] = []
        offset = os.fstat(self.errlog).st_size
        cpu0 = cpu_times()
        start = time.perf_counter()
        for step in steps:
            t0 = time.perf_counter()
            if "argv" in step:
                pid = _spawn(step["argv"], self.devnull, self.devnull, self.errlog)
                _, status = os.waitpid(pid, 0)
            else:
                with open(step["wait_pid_file"]) as f:
                    status = _wait_adopted(int(f.read().strip()))
            times.append(time.perf_counter() - t0)
            statuses.append(_status(status))
        total = time.perf_counter() - start
        cpu1 = cpu_times()
        return {
            "total": total,
            "cpu_self": cpu1[0] - cpu0[0],
            "cpu_children": cpu1[1] - cpu0[1],
            "times": times,
            "statuses": statuses,
            "stderr": self._err_tail(offset) if any(statuses) else "",
        }

    def parallel(self, argvs: list[list[str]]) -> dict[str, Any]:
        offset = os.fstat(self.errlog).st_size
        cpu0 = cpu_times()
        t0 = time.perf_counter()
        pids = [_spawn(argv, self.devnull, self.devnull, self.errlog) for argv in argvs]
        index = {pid: i for i, pid in enumerate(pids)}
        times = [0.0] * len(pids)
        statuses = [0] * len(pids)
        others = 0
        while index:
            pid, status = os.waitpid(-1, 0)
            if pid not in index:
                others += 1
                continue
            i = index.pop(pid)
            times[i] = time.perf_counter() - t0
            statuses[i] = _status(status)
        cpu1 = cpu_times()
        return {
            "total": max(times, default=0.0),
            "times": times,
            "statuses": statuses,
            "others": others,
            "cpu_self": cpu1[0] - cpu0[0],
            "cpu_children": cpu1[1] - cpu0[1],
            "stderr": self._err_tail(offset) if any(statuses) else "",
        }

    def spawn(self, argv: list[str], log: str) -> dict[str, Any]:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            pid = _spawn(argv, self.devnull, fd, fd)
        finally:
            os.close(fd)
        return {"pid": pid}

    def stop(
        self, pid: int, signal_number: int = signal.SIGTERM, timeout: float = 10.0
    ) -> dict[str, Any]:
        os.kill(pid, signal_number)
        deadline = time.monotonic() + timeout
        killed = False
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return {"status": _status(status), "killed": killed}
            if time.monotonic() > deadline and not killed:
                os.kill(pid, signal.SIGKILL)
                killed = True
            time.sleep(0.01)

    def pty(self, argv: list[str]) -> dict[str, Any]:
        master, slave = os.openpty()
        first: float | None = None
        first_len = 0
        n = 0
        t0 = time.perf_counter()
        pid = _spawn(argv, self.devnull, slave, slave)
        os.close(slave)
        while True:
            try:
                data = os.read(master, 65536)
            except OSError as e:  # EIO: every slave fd is closed, the end of output
                if e.errno != errno.EIO:
                    raise
                break
            if not data:
                break
            if first is None:
                first, first_len = time.perf_counter(), len(data)
            n += len(data)
        end = time.perf_counter()
        os.close(master)
        _, status = os.waitpid(pid, 0)
        return {
            "bytes": n,
            "total": end - t0,
            "streaming": end - (first or end),
            "streamed_bytes": n - first_len,
            "status": _status(status),
        }

    def kill(self, pid_file: str) -> dict[str, Any]:
        with open(pid_file) as f:
            pid = int(f.read().strip())
        pidfd = os.pidfd_open(pid)
        try:
            poller = select.poll()
            poller.register(pidfd, select.POLLIN)
            t0 = time.perf_counter()
            os.kill(pid, signal.SIGKILL)
            poller.poll()
            res = os.waitid(os.P_PIDFD, pidfd, os.WEXITED)
            elapsed = time.perf_counter() - t0
        finally:
            os.close(pidfd)
        assert res is not None
        status = res.si_status if res.si_code == os.CLD_EXITED else 128 + res.si_status
        return {"total": elapsed, "status": status}

    def reap(self) -> dict[str, Any]:
        count = 0
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            count += 1
        me, kids = cpu_times()
        return {"reaped": count, "cpu_self_total": me, "cpu_children_total": kids}


def main() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
    worker = Worker(sys.argv[1] if len(sys.argv) > 1 else os.devnull)
    for line in sys.stdin:
        req = json.loads(line)
        op = req.pop("op")
        try:
            if op == "quit":
                reply = worker.reap()
            elif op == "steps":
                reply = worker.steps(req["steps"])
            elif op == "parallel":
                reply = worker.parallel(req["argvs"])
            elif op == "spawn":
                reply = worker.spawn(req["argv"], req["log"])
            elif op == "stop":
                reply = worker.stop(req["pid"], req.get("signal", signal.SIGTERM), req["timeout"])
            elif op == "pty":
                reply = worker.pty(req["argv"])
            elif op == "kill":
                reply = worker.kill(req["pid_file"])
            elif op == "reap":
                reply = worker.reap()
            else:
                reply = {"error": f"unknown op {op!r}"}
        except Exception as e:  # reported to the benchmark, which raises it there
            reply = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
        if op == "quit":
            break


if __name__ == "__main__":
    main()
