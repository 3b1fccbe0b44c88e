"""The bare-runtime side of a benchmark, in a process of its own, as the engine owns child
reaping in its (docs/benchmarks.md, Method); and the one control protocol of the bench's
helper processes (this worker, the UI child): a request is a JSON line naming ``op`` and
its arguments, answered by one JSON line, ``{"error": ...}`` when the handler raised."""

import asyncio
import contextlib
import ctypes
import errno
import inspect
import json
import os
import resource
import select
import signal
import sys
import time
from typing import Any

PR_SET_CHILD_SUBREAPER = 36


class BenchError(RuntimeError):
    """A benchmark could not measure what it meant to (a failed command, a wrong result)."""


def request(op: str, **kw: Any) -> bytes:
    return (json.dumps({"op": op, **kw}) + "\n").encode()


def reply(line: bytes, what: str) -> dict[str, Any]:
    if not line:
        raise BenchError(f"{what}: the process died")
    if "error" in (answer := json.loads(line)):
        raise BenchError(f"{what}: {answer['error']}")
    return dict(answer)


async def answer(handler: object, line: bytes) -> bytes:
    """What ``handler.op_<op>(**args)`` returned (awaited if need be), or an error, as a line."""
    req = json.loads(line)
    try:
        out = getattr(handler, f"op_{req.pop('op')}")(**req)
        out = await out if inspect.isawaitable(out) else out
    except Exception as e:  # reported to the benchmark, which raises it there
        out = {"error": f"{type(e).__name__}: {e}"}
    return (json.dumps(out) + "\n").encode()


def cpu_times() -> tuple[float, float]:
    """CPU seconds (user + system) of this process, and of its reaped children."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def _spawn(argv: list[str], *stdio: int) -> int:
    actions = [(os.POSIX_SPAWN_DUP2, fd, i) for i, fd in enumerate(stdio)]
    return os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)


def _wait_adopted(pid: int, timeout: float = 10.0) -> int:
    """Wait for a container init once it is re-parented here: ``crun run --detach`` (1.8) can
    return before the init's parent exits, and until then it is not our child (ECHILD)."""
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

    def _outcome(self, times: list[float], statuses: list[int], offset: int) -> dict[str, Any]:
        """Each command's time and status, and the error log from ``offset`` if any failed."""
        stderr = ""
        if any(statuses):
            with open(self.errlog_path, "rb") as f:
                f.seek(offset)
                stderr = f.read()[-2000:].decode(errors="replace").strip()
        return {"times": times, "statuses": statuses, "stderr": stderr}

    def op_steps(self, steps: list[dict[str, Any]]) -> dict[str, Any]:
        """Each step in turn: ``{"argv": [...]}`` spawned and waited for, or
        ``{"wait_pid_file": path}``, a container init re-parented here; times and CPU.

        An argv step with ``"pipes": true`` gets its stdio wired as the engine wires a task's
        (runtime/stdio.py): a stdin pipe, one pipe for stdout and stderr, read to its end
        once every step is done."""
        times: list[float] = []
        statuses: list[int] = []
        held: list[int] = []
        offset, cpu0, start = os.fstat(self.errlog).st_size, cpu_times(), time.perf_counter()
        for step in steps:
            t0 = time.perf_counter()
            if "argv" in step and step.get("pipes"):
                (in_r, in_w), (out_r, out_w) = os.pipe(), os.pipe()
                pid = _spawn(step["argv"], in_r, out_w, out_w)
                os.close(in_r)
                os.close(out_w)
                held += [in_w, out_r]
                _, status = os.waitpid(pid, 0)
            elif "argv" in step:
                pid = _spawn(step["argv"], self.devnull, self.devnull, self.errlog)
                _, status = os.waitpid(pid, 0)
            else:
                with open(step["wait_pid_file"]) as f:
                    status = _wait_adopted(int(f.read().strip()))
            times.append(time.perf_counter() - t0)
            statuses.append(_status(status))
        for in_w, out_r in zip(held[::2], held[1::2], strict=True):
            os.close(in_w)
            while os.read(out_r, 65536):
                pass
            os.close(out_r)
        total, cpu1 = time.perf_counter() - start, cpu_times()
        cpu = {"cpu_self": cpu1[0] - cpu0[0], "cpu_children": cpu1[1] - cpu0[1]}
        return {"total": total} | cpu | self._outcome(times, statuses, offset)

    def op_parallel(self, argvs: list[list[str]]) -> dict[str, Any]:
        """Every argv at once; each one's time from the common start to its reaping. Other
        children reaped meanwhile (inits re-parented here) are let go."""
        offset = os.fstat(self.errlog).st_size
        t0 = time.perf_counter()
        pids = [_spawn(argv, self.devnull, self.devnull, self.errlog) for argv in argvs]
        index = {pid: i for i, pid in enumerate(pids)}
        times, statuses = [0.0] * len(pids), [0] * len(pids)
        while index:
            pid, status = os.waitpid(-1, 0)
            if pid in index:
                i = index.pop(pid)
                times[i], statuses[i] = time.perf_counter() - t0, _status(status)
        return {"total": max(times, default=0.0)} | self._outcome(times, statuses, offset)

    def op_pty(self, argv: list[str]) -> dict[str, Any]:
        """``argv`` with its output on a fresh pty, read to its end: the bytes, the time, and
        the rate from the first read on."""
        master, slave = os.openpty()
        n = first_len = 0
        t0 = first = time.perf_counter()
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
            if not n:
                first, first_len = time.perf_counter(), len(data)
            n += len(data)
        end = time.perf_counter()
        os.close(master)
        status = _status(os.waitpid(pid, 0)[1])
        mib_per_s = (n - first_len) / (end - first) / 2**20
        return {"bytes": n, "total": end - t0, "mib_per_s": mib_per_s, "status": status}

    def op_kill(self, pid_file: str) -> dict[str, Any]:
        """SIGKILL a container init re-parented here, waited for through a pidfd as the
        engine's reaper does: the floor under the engine's kill-to-exit-event latency."""
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

    def op_reap(self) -> dict[str, Any]:
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        return {}


async def main() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
    worker = Worker(sys.argv[1])
    for line in sys.stdin.buffer:  # to its end: the benchmark closing the pipe
        sys.stdout.buffer.write(await answer(worker, line))
        sys.stdout.buffer.flush()


if __name__ == "__main__":
    asyncio.run(main())
