"""The engine's system calls for one ``run`` lifecycle of ``/bin/true``, issued from asyncio
with none of its logic: what an asyncio engine doing the same work costs at the least.

As a syscall trace of ``tasks.run`` shows them: the container and task records (SQLite), the
spec read and the task bundle written, the init's log file, two pipes (one read to its end),
``<rt> run --detach`` with a JSON log and a pid file, three pidfd waits (``run``, the init,
``delete``), the OOM eventfd of the init's memory cgroup, ``<rt> delete --force`` with its
stderr in a memfd, and the task directory removed.
"""

import asyncio
import contextlib
import json
import os
import shutil
import sqlite3
from pathlib import Path

FLAGS = os.O_CLOEXEC


class Floor:
    """Lifecycles in ``dir``, the runtime's state in ``root``, cgroups below ``cgroups``."""

    def __init__(self, runtime: str, root: Path, dir: Path, bundle: Path, cgroups: str) -> None:
        self.binary, self.dir, self.bundle = shutil.which(runtime) or runtime, dir, bundle
        self.root, self.cgroups = str(root), cgroups
        dir.mkdir()
        self.db = sqlite3.connect(dir / "floor.db", isolation_level=None)
        for pragma in ("locking_mode=EXCLUSIVE", "journal_mode=WAL", "synchronous=NORMAL"):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.execute("CREATE TABLE c (id TEXT PRIMARY KEY, bundle TEXT) WITHOUT ROWID")
        self.db.execute("CREATE TABLE t (id TEXT PRIMARY KEY, pid INTEGER) WITHOUT ROWID")
        self.null = os.open(os.devnull, os.O_RDWR | FLAGS)
        self.env = dict(os.environb)

    def close(self) -> None:
        self.db.close()
        os.close(self.null)

    async def _exit(self, pid: int) -> int:
        loop, fd = asyncio.get_running_loop(), os.pidfd_open(pid)
        done: asyncio.Future[int] = loop.create_future()

        def ready() -> None:
            try:
                res = os.waitid(os.P_PIDFD, fd, os.WEXITED | os.WNOHANG)
            except ChildProcessError:  # crun's init, not yet handed over to this subreaper
                loop.remove_reader(fd)
                loop.call_later(0.001, loop.add_reader, fd, ready)
                return
            if res is not None:
                loop.remove_reader(fd)
                done.set_result(res.si_status)

        loop.add_reader(fd, ready)
        try:
            return await done
        finally:
            os.close(fd)

    async def _spawn(self, *args: str, stdio: tuple[int, int, int]) -> None:
        dup = os.POSIX_SPAWN_DUP2
        actions = [(dup, fd, i) for i, fd in enumerate(stdio)]
        argv = [self.binary, "--root", self.root, *args]
        if await self._exit(os.posix_spawn(argv[0], argv, self.env, file_actions=actions)):
            raise RuntimeError(f"{args[0]} failed")

    async def lifecycle(self, cid: str) -> None:
        loop, config = asyncio.get_running_loop(), f"{self.bundle}/config.json"
        os.stat(config)
        self.db.execute("INSERT INTO c VALUES (?, ?)", (cid, str(self.bundle)))
        fd = os.open(config, os.O_RDONLY | FLAGS)
        spec = json.loads(os.read(fd, 1 << 16))
        os.close(fd)
        task = f"{self.dir}/tasks/{cid}"
        os.makedirs(f"{task}/bundle")
        log = os.open(f"{task}/init.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND | FLAGS, 0o600)
        if not os.path.isabs(spec["root"]["path"]):
            spec["root"]["path"] = f"{self.bundle}/{spec['root']['path']}"
        spec["linux"]["cgroupsPath"] = f"{self.cgroups}/{cid}"
        fd = os.open(f"{task}/bundle/config.json", os.O_WRONLY | os.O_CREAT | FLAGS, 0o600)
        os.write(fd, json.dumps(spec).encode())
        os.close(fd)
        (stdin, stdin_w), (out, out_w) = os.pipe(), os.pipe()
        os.set_blocking(out, False)
        ended = loop.create_future()

        def drain() -> None:
            if not os.read(out, 1 << 16):
                loop.remove_reader(out)
                ended.set_result(None)

        loop.add_reader(out, drain)
        with contextlib.suppress(FileNotFoundError):
            os.stat(f"{task}/runtime.log")
        pid_file, logged = f"{task}/init.pid", ("--log", f"{task}/runtime.log", "--log-format")
        run = ("run", "--detach", "--pid-file", pid_file, "--bundle", f"{task}/bundle", cid)
        await self._spawn(*logged, "json", *run, stdio=(stdin, out_w, out_w))
        fd = os.open(pid_file, os.O_RDONLY | FLAGS)
        pid = int(os.read(fd, 64))
        os.close(fd)
        os.close(stdin)
        os.close(out_w)
        init = asyncio.ensure_future(self._exit(pid))
        self.db.execute("INSERT INTO t VALUES (?, ?)", (cid, pid))
        oom = self._oom_watch(pid)
        await init
        await ended
        os.close(out)
        if oom is not None:
            os.pread(oom[1], 4096, 0)
        err = os.memfd_create("stderr", os.MFD_CLOEXEC)
        await self._spawn("delete", "--force", cid, stdio=(self.null, self.null, err))
        for fd in (err, stdin_w, log):
            os.close(fd)
        if oom is not None:
            loop.remove_reader(oom[0])
            os.close(oom[0])
            os.close(oom[1])
        self.db.execute("DELETE FROM t WHERE id = ?", (cid,))
        shutil.rmtree(task)
        self.db.execute("DELETE FROM c WHERE id = ?", (cid,))

    def _oom_watch(self, pid: int) -> tuple[int, int] | None:
        """As the engine's: on cgroup v1's memory controller only."""
        fd = os.open(f"/proc/{pid}/cgroup", os.O_RDONLY | FLAGS)
        lines = os.read(fd, 1 << 16).decode().splitlines()
        os.close(fd)
        paths = [ln.split(":")[2] for ln in lines if ":memory:" in ln]
        if not paths:
            return None
        mem = "/sys/fs/cgroup/memory" + paths[0]
        efd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
        control = os.open(f"{mem}/memory.oom_control", os.O_RDONLY | FLAGS)
        fd = os.open(f"{mem}/cgroup.event_control", os.O_WRONLY | FLAGS)
        os.write(fd, f"{efd} {control}".encode())
        os.close(fd)
        os.pread(control, 4096, 0)
        asyncio.get_running_loop().add_reader(efd, os.eventfd_read, efd)
        return efd, control
