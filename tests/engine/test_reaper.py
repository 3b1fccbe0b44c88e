"""The reaper owns every wait: early exits are kept, nothing is stolen, no zombie remains."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

from runtime.reaper import Reaper, _stat, has_exited


def _spawn(code: int) -> int:
    return os.posix_spawn("/bin/sh", ["sh", "-c", f"exit {code}"], os.environ)


async def _until_reaped(pid: int) -> None:
    while os.path.exists(f"/proc/{pid}"):
        await asyncio.sleep(0.005)


async def test_an_exit_before_registration_is_kept() -> None:
    reaper = Reaper.acquire()
    try:
        pid = _spawn(42)
        # A sweep reaps the unregistered child and keeps its status.
        await asyncio.wait_for(_until_reaped(pid), 10)
        ex = await asyncio.wait_for(reaper.watch(pid), 5)
        assert (ex.pid, ex.status, ex.known) == (pid, 42, True)
    finally:
        reaper.release()


async def test_watched_children_are_not_stolen_by_the_sweep() -> None:
    reaper = Reaper.acquire()
    try:
        futs = {}
        for code in range(30):
            pid = _spawn(code)
            futs[pid] = (code, reaper.watch(pid))
        for _ in range(20):
            reaper.sweep()
            await asyncio.sleep(0)
        for code, fut in futs.values():
            assert (await asyncio.wait_for(fut, 10)).status == code
    finally:
        reaper.release()


async def test_spawn_reports_the_exit_status() -> None:
    reaper = Reaper.acquire()
    try:
        null = os.open(os.devnull, os.O_RDWR)
        try:
            _, fut = reaper.spawn(
                ["/bin/sh", "-c", "kill -9 $$"], stdin=null, stdout=null, stderr=null
            )
        finally:
            os.close(null)
        assert (await asyncio.wait_for(fut, 10)).status == 137
    finally:
        reaper.release()


async def _spawn_telling_a_pid(reaper: Reaper, argv: list[str]) -> tuple[int, asyncio.Future]:
    """Spawn ``argv`` through the reaper; return the pid it prints first, and its exit."""
    null = os.open(os.devnull, os.O_RDWR)
    out_r, out_w = os.pipe()
    try:
        _, exited = reaper.spawn(argv, stdin=null, stdout=out_w, stderr=null)
    finally:
        os.close(null)
        os.close(out_w)
    with os.fdopen(out_r) as f:
        return int(await asyncio.to_thread(f.readline)), exited


async def test_a_process_that_is_not_ours_exits_with_unknown_status() -> None:
    reaper = Reaper.acquire()
    try:
        # The sleep's parent is the shell, which reaps it: we can see it die, not its status.
        pid, shell = await _spawn_telling_a_pid(
            reaper, ["/bin/sh", "-c", "sleep 100 & echo $!; wait"]
        )
        fut = reaper.watch(pid)
        os.kill(pid, 9)
        ex = await asyncio.wait_for(fut, 10)
        assert (ex.pid, ex.status, ex.known) == (pid, 255, False)
        assert (await asyncio.wait_for(shell, 10)).status == 0
    finally:
        reaper.release()


async def test_subprocess_in_a_thread_is_not_robbed() -> None:
    import subprocess

    reaper = Reaper.acquire()
    try:

        def run(code: int) -> int:
            return subprocess.run(["/bin/sh", "-c", f"exit {code}"]).returncode

        codes = await asyncio.gather(*(asyncio.to_thread(run, c) for c in range(1, 21)))
        assert codes == list(range(1, 21))
    finally:
        reaper.release()


HANDOVER = """
import os, sys, time
child = os.fork()
if child == 0:
    time.sleep(0.1)
    os._exit(7)
print(child, flush=True)
time.sleep(0.5)  # exit without reaping: the zombie child is handed to the subreaper
"""


async def test_an_exit_before_the_handover_to_us_keeps_its_status() -> None:
    # crun's run --detach returns while the container's init is still its intermediate's child.
    import sys

    reaper = Reaper.acquire()
    try:
        pid, parent = await _spawn_telling_a_pid(reaper, [sys.executable, "-c", HANDOVER])
        ex = await asyncio.wait_for(reaper.watch(pid), 10)
        assert (ex.pid, ex.status, ex.known) == (pid, 7, True)
        assert (await asyncio.wait_for(parent, 10)).status == 0
    finally:
        reaper.release()


#: Makes a pid namespace whose init (B) lives until killed and whose second member (C) is a
#: zombie its parent, outside the namespace, reaps only when told: as an exec helper of the
#: runtime's that died orphaned while the container's init exited.
NAMESPACE_WITH_A_ZOMBIE = """
import ctypes, os, signal, sys
if ctypes.CDLL(None, use_errno=True).unshare(0x20000000) != 0:  # CLONE_NEWPID
    sys.exit(os.strerror(ctypes.get_errno()))
b = os.fork()
if b == 0:
    while True:
        signal.pause()
c = os.fork()
if c == 0:
    os._exit(0)
print(b, flush=True)
sys.stdin.readline()
os.waitpid(c, 0)
os.waitpid(b, 0)
"""


def test_an_init_waiting_for_its_namespace_to_empty_has_exited() -> None:
    with subprocess.Popen(
        [sys.executable, "-c", NAMESPACE_WITH_A_ZOMBIE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as parent:
        assert parent.stdout is not None and parent.stdin is not None
        init = int(parent.stdout.readline())
        try:
            assert not has_exited(init)
            os.kill(init, 9)
            deadline = time.monotonic() + 10
            while not has_exited(init) and time.monotonic() < deadline:
                time.sleep(0.005)
            fields = _stat(init)
            assert fields is not None and fields[0] != b"Z", "it should wait, not be a zombie"
            assert has_exited(init)
        finally:
            parent.stdin.write("reap\n")
            parent.stdin.close()
        assert parent.wait(10) == 0
    assert has_exited(init)
