"""The engine: one object that owns the reaper, the runtime, the store and the event bus."""

from __future__ import annotations

import contextlib
import fcntl
import os
import resource
from pathlib import Path
from types import TracebackType
from typing import Any

from . import errors
from .checkpoint import find_criu
from .containers import Containers
from .events import EventBus, Subscription
from .oci import OCIRuntime, find_binary
from .reaper import Reaper
from .store import Store
from .tasks import Tasks
from .types import Event

#: Leaves room under the 107-byte unix socket limit for ``/c/<n>.sock``.
MAX_ROOT_LENGTH = 90


def default_root() -> Path:
    """``/run/shimdeck`` for root, ``$XDG_RUNTIME_DIR/shimdeck`` for anyone else."""
    if os.geteuid() == 0:
        return Path("/run/shimdeck")
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if not xdg:
        raise errors.Unavailable("XDG_RUNTIME_DIR is not set: pass root= to choose a directory")
    return Path(xdg) / "shimdeck"


def _private_dir(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise errors.InvalidArgument(f"engine root {path} exists and is not a directory")
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if path.stat().st_uid != os.geteuid():
            raise errors.InvalidArgument(f"engine root {path} belongs to another user")
        os.chmod(path, 0o700)
    except OSError as e:
        raise errors.InvalidArgument(f"engine root {path} cannot be used: {e.strerror}") from None


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Engine:
    """An in-process container shim over runc or crun.

    ``async with Engine() as engine`` opens it; leaving the block kills and deletes the tasks
    it holds unless ``keep_tasks`` is true. ``adopt`` takes over tasks an earlier engine on the
    same root left running (their exit status is 255 when it cannot be reaped). ``criu`` is
    the CRIU binary checkpoints use; by default the one ``scripts/setup-host`` installed, else
    ``criu`` on PATH (:attr:`criu` says which, None when there is none).
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        runtime: str = "runc",
        *,
        keep_tasks: bool = False,
        adopt: bool = False,
        criu: str | os.PathLike[str] | None = None,
    ) -> None:
        self.root = Path(root).absolute() if root is not None else default_root()
        if len(str(self.root)) > MAX_ROOT_LENGTH:
            raise errors.InvalidArgument(
                f"engine root {self.root} is too long (at most {MAX_ROOT_LENGTH} characters)"
            )
        self.runtime_binary = find_binary(runtime)
        self.runtime_name = os.path.basename(self.runtime_binary)
        self.criu = find_criu(criu)
        self.keep_tasks = keep_tasks
        self.adopt = adopt
        self.bus = EventBus()
        self._opened = False
        self._lock_fd = -1
        self._reaper: Reaper | None = None
        self._store: Store | None = None
        self._tasks: Tasks | None = None
        self._containers: Containers | None = None

    @property
    def tasks(self) -> Tasks:
        if self._tasks is None:
            raise errors.Unavailable("the engine is not open: use 'async with Engine() as e'")
        return self._tasks

    @property
    def containers(self) -> Containers:
        if self._containers is None:
            raise errors.Unavailable("the engine is not open: use 'async with Engine() as e'")
        return self._containers

    def subscribe(self, *, maxsize: int = 4096, topics: list[str] | None = None) -> Subscription:
        """Events from now on, in a queue of ``maxsize`` (see :class:`Subscription`)."""
        wanted = set(topics) if topics else None
        return self.bus.subscribe(
            maxsize=maxsize, accept=(lambda e: e.topic in wanted) if wanted else None
        )

    async def open(self) -> Engine:
        if self._opened:
            return self
        _private_dir(self.root)
        self._lock_fd = os.open(self.root / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise errors.Unavailable(f"another engine is using {self.root}") from None
        _raise_fd_limit()
        for sub in ("tasks", "c", self.runtime_name):
            _private_dir(self.root / sub)
        self._reaper = Reaper.acquire()
        self._store = Store(self.root / "meta.db")
        runtime = OCIRuntime(
            self.runtime_binary, self.root / self.runtime_name, self._reaper, criu=self.criu
        )
        self._containers = Containers(
            self._store,
            self.bus,
            self.runtime_name,
            lambda id: self._tasks is not None and self._tasks.get(id) is not None,
        )
        self._tasks = Tasks(
            root=self.root,
            runtime=runtime,
            reaper=self._reaper,
            bus=self.bus,
            store=self._store,
            containers=self._containers,
        )
        self._runtime = runtime
        self._opened = True
        if self.adopt:
            await self._adopt()
        return self

    async def _adopt(self) -> None:
        assert self._store is not None and self._containers is not None
        known = {c.id: c for c in self._containers.list()}
        for id, pid, terminal in self._store.tasks():
            if id not in known:
                self._store.delete_task(id)
                continue
            try:
                state: dict[str, Any] = await self._runtime.state(id)
                status = str(state.get("status", "stopped"))
                pid = int(state.get("pid") or pid)
            except errors.RuntimeFailure:
                status = "stopped"
            self.tasks.adopt(known[id], pid, terminal, status)

    async def close(self, keep_tasks: bool | None = None) -> None:
        if not self._opened:
            return
        keep = self.keep_tasks if keep_tasks is None else keep_tasks
        try:
            await self.tasks.shutdown(keep)
        finally:
            self.bus.close()
            self._runtime.close()
            if self._store is not None:
                self._store.close()
            if self._reaper is not None:
                self._reaper.release()
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)
            self._opened = False
            self._tasks = None
            self._containers = None

    async def __aenter__(self) -> Engine:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


__all__ = ["Engine", "Event", "default_root"]
