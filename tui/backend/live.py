"""The backend over a real :class:`runtime.Engine`, in the app's own event loop.

Engine events arrive through a synchronous bus listener (it never lags); each is handed to
the loop with ``call_soon`` so that, by the time it is delivered, the state change that
went with it is complete (an exit event is published just before ``wait`` resolves). The
container's state is then read from the engine (in memory, cheap) and goes out as a
:class:`StateChanged` (or :class:`Removed`), followed by the event itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal as signals
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from runtime import (
    Checkpoint,
    Container,
    Engine,
    Event,
    TaskInfo,
    create_bundle,
    errors,
    events,
)
from runtime.bundle import make_busybox_rootfs

from ..templates import TEMPLATES
from . import base
from .base import (
    DEFAULT_PTY,
    Backend,
    BackendInfo,
    CommandSource,
    Console,
    ContainerState,
    DrainedConsole,
    EventSeen,
    Removed,
    Resynced,
    Source,
    StateChanged,
    StatsSampled,
    Update,
    UpdateFeed,
    as_source,
)


async def _pieces(
    stream: Any, tell: Callable[[bytes], None]
) -> AsyncIterator[list[tuple[float, bytes]]]:
    while True:
        try:
            pieces = await stream.next_stamped()
        except StopAsyncIteration:
            return
        for _, data in pieces:
            tell(data)
        yield pieces


class LiveConsole(DrainedConsole):
    def __init__(self, backend: LiveBackend, id: str, exec_id: str) -> None:
        self._backend = backend
        self._id = id
        self._exec_id = exec_id
        self._process_io = backend.engine.tasks.io(id, exec_id)
        super().__init__(self._process_io)
        self.terminal = self._process_io.terminal

    def write(self, data: bytes) -> None:
        self._backend.input_sent(self._id, self._exec_id, data)
        super().write(data)

    async def resize(self, width: int, height: int) -> None:
        await self._backend.resize_pty(self._id, width, height, exec_id=self._exec_id)

    def stamped_backlog(self) -> list[tuple[float, bytes]]:
        return self._process_io.stamped_backlog()

    def stream_stamped(self) -> AsyncIterator[list[tuple[float, bytes]]]:
        # Opened now, with the backlog just taken: nothing in between is missed.
        stream = self._stream = self._process_io.stream()
        return _pieces(stream, partial(self._backend.output_received, self._id, self._exec_id))

    def log_files(self) -> list[Path]:
        path = self._process_io.log_path
        if path is None:
            return []
        return [p for p in (path.with_name(path.name + ".1"), path) if p.exists()]


class LiveBackend(Backend):
    def __init__(
        self,
        engine: Engine,
        *,
        bundles: Path,
        rootfs: Path | None = None,
        stats_interval: float = 1.0,
    ) -> None:
        super().__init__()
        self.engine = engine
        self.info = BackendInfo(
            kind="engine", runtime=engine.runtime_name, address=str(engine.root)
        )
        #: Where bundles of containers made from the UI go (a shared busybox rootfs inside).
        self.bundles = Path(bundles)
        #: A busybox rootfs to share (read-only) instead of making one under ``bundles``.
        self.rootfs = rootfs
        self.created: list[str] = []
        self._stats_interval = stats_interval
        self._feed: UpdateFeed | None = None
        self._remove_listener: Any = None
        self._stats_ids: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    # -- updates ----------------------------------------------------------------------------

    def updates(self) -> AsyncIterator[Update]:
        if self._feed is not None:
            raise RuntimeError("a backend's updates have one consumer")
        feed = self._feed = UpdateFeed()
        loop = asyncio.get_running_loop()

        def listen(event: Event) -> None:
            loop.call_soon(self._deliver, event)

        # Listening and listing in one step of the loop: no event falls in between.
        self._remove_listener = self.engine.bus.add_listener(listen)
        feed.put(Resynced(self.states()))
        self._spawn(self._poll_stats())
        return aiter(feed)

    async def close(self) -> None:
        if self._remove_listener is not None:
            with contextlib.suppress(ValueError):
                self._remove_listener()
            self._remove_listener = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._feed is not None:
            self._feed.end()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _deliver(self, event: Event) -> None:
        feed = self._feed
        if feed is None:
            return
        if event.topic == events.LAGGED:
            feed.put(Resynced(self.states()))
        elif event.container_id:
            self._put_state(event.container_id)
        feed.put(EventSeen(event))

    def _put_state(self, id: str) -> None:
        if self._feed is not None:
            state = self.state(id)
            self._feed.put(StateChanged(state) if state is not None else Removed(id))

    async def _poll_stats(self) -> None:
        while True:
            await asyncio.sleep(self._stats_interval)
            for id in list(self._stats_ids):
                task = self.task(id)
                if task is None or task.status not in ("running", "paused", "pausing"):
                    continue
                try:
                    stats = await self.engine.tasks.stats(id)
                except errors.Error:
                    continue
                # Each sample reads files: let keys and repaints in between.
                await asyncio.sleep(0)
                if self._feed is not None:
                    self._feed.put(StatsSampled(id, stats))

    def set_stats_targets(self, ids: Iterable[str]) -> None:
        self._stats_ids = set(ids)

    def now(self) -> datetime:
        return datetime.now(UTC)

    # -- the engine's state (for the updates, and for code that drives this backend) ---------

    def states(self) -> list[ContainerState]:
        return [s for c in self.containers() if (s := self.state(c.id)) is not None]

    def state(self, id: str) -> ContainerState | None:
        container = self.container(id)
        if container is None:
            return None
        return ContainerState(
            base.Container.of_engine(container),
            self.task(id),
            self.execs(id),
            self.checkpoints(id),
        )

    def containers(self) -> list[Container]:
        return self.engine.containers.list()

    def container(self, id: str) -> Container | None:
        try:
            return self.engine.containers.get(id)
        except errors.Error:
            return None

    def task(self, id: str) -> TaskInfo | None:
        return self.engine.tasks.get(id)

    def execs(self, id: str) -> list[TaskInfo]:
        try:
            return self.engine.tasks.execs(id)
        except errors.Error:
            return []

    def checkpoints(self, id: str) -> list[Checkpoint]:
        try:
            return self.engine.containers.checkpoints(id)
        except errors.Error:
            return []

    # -- actions ------------------------------------------------------------------------------

    async def ensure_rootfs(self) -> Path:
        if self.rootfs is not None:
            return self.rootfs
        rootfs = self.bundles / "rootfs"
        if not (rootfs / "bin" / "busybox").exists():
            self.bundles.mkdir(mode=0o700, parents=True, exist_ok=True)
            await asyncio.to_thread(make_busybox_rootfs, rootfs)
        return rootfs

    async def create(
        self, id: str, source: Source | Sequence[str], *, terminal: bool, labels: Mapping[str, str]
    ) -> None:
        source = as_source(source)
        if not isinstance(source, CommandSource):
            raise errors.InvalidArgument(
                f"the engine runs commands on busybox, not images ({source.image!r})"
            )
        args = source.args
        rootfs = await self.ensure_rootfs()
        env = next((t.env for t in TEMPLATES.values() if tuple(args) == t.args), None)
        bundle = self.bundles / id
        if self.container(id) is not None:
            raise errors.AlreadyExists(f"container {id!r} already exists")
        await asyncio.to_thread(
            create_bundle,
            bundle,
            list(args),
            terminal=terminal,
            env=env,
            rootfs=rootfs,
            hostname=id,
        )
        try:
            await self.engine.containers.create(id, bundle, labels)
        except BaseException:
            shutil.rmtree(bundle, ignore_errors=True)
            raise
        self.created.append(id)

    async def start(self, id: str, exec_id: str = "") -> None:
        if exec_id:
            await self.engine.tasks.start(id, exec_id)
            return
        task = self.task(id)
        if task is not None and task.status == "stopped":
            # Starting a stopped container runs it again: a fresh task from the same bundle.
            await self.engine.tasks.delete(id)
            task = None
        if task is None:
            info = await self.engine.tasks.create(id)
            if info.terminal:
                await self.resize_pty(id, *DEFAULT_PTY)
        await self.engine.tasks.start(id)

    async def pause(self, id: str) -> None:
        await self.engine.tasks.pause(id)

    async def resume(self, id: str) -> None:
        await self.engine.tasks.resume(id)

    async def kill(self, id: str, signal: int, *, all: bool = False, exec_id: str = "") -> None:
        await self.engine.tasks.kill(id, signal, all=all, exec_id=exec_id)

    async def delete(self, id: str, exec_id: str = "") -> None:
        if exec_id:
            await self.engine.tasks.delete(id, exec_id)
            # No event says an exec was deleted (as containerd's shim sends none): say it here.
            self._put_state(id)
            return
        container = self.engine.containers.get(id)
        if self.task(id) is not None:
            await self.engine.tasks.delete(id)
        await self.engine.containers.delete(id)
        shared = any(c.bundle == container.bundle for c in self.containers())  # a restored copy
        if container.bundle.parent == self.bundles.absolute() and not shared:
            shutil.rmtree(container.bundle, ignore_errors=True)

    async def exec(self, id: str, exec_id: str, args: Sequence[str], *, terminal: bool) -> None:
        await self.engine.tasks.exec(id, exec_id, list(args), terminal=terminal)

        if terminal:
            # Remembered by the engine and applied when the exec's pty arrives.
            await self.resize_pty(id, *DEFAULT_PTY, exec_id=exec_id)
        await self.engine.tasks.start(id, exec_id)

    async def checkpoint(self, id: str, path: str, *, exit: bool = False) -> None:
        await self.engine.tasks.checkpoint(id, path, exit=exit)

    async def restore(self, id: str, path: str, *, new_id: str = "") -> None:
        if new_id:
            old = self.engine.containers.get(id)
            await self.engine.containers.create(new_id, old.bundle, old.labels)

            id = new_id
        task = self.task(id)
        if task is not None and task.status == "stopped":
            await self.engine.tasks.delete(id)
        try:
            info = await self.engine.tasks.restore(id, path)
        except BaseException:
            if new_id:
                with contextlib.suppress(errors.Error):
                    await self.engine.containers.delete(new_id)
            raise
        if new_id:
            self.created.append(new_id)  # made in this session: a demo removes it on quit
        if info.terminal:
            await self.resize_pty(id, *DEFAULT_PTY)

    async def set_labels(self, id: str, labels: Mapping[str, str]) -> None:
        await self.engine.containers.update(id, labels=labels)

    def console(self, id: str, exec_id: str = "") -> Console:
        return LiveConsole(self, id, exec_id)

    async def resize_pty(self, id: str, width: int, height: int, exec_id: str = "") -> None:
        """Set a process's pty size (and tell the pty listeners: a recording keeps it)."""
        await self.engine.tasks.resize_pty(id, width, height, exec_id=exec_id)
        self.pty_resized(id, exec_id, width, height)

    # -- teardown ---------------------------------------------------------------------------

    async def remove(self, id: str) -> None:
        """Kill, then delete a container and its task, whatever state it is in."""
        task = self.task(id)
        if task is not None and task.status != "stopped":
            with contextlib.suppress(errors.Error):
                await self.engine.tasks.kill(id, signals.SIGKILL, all=True)
            with contextlib.suppress(errors.Error, TimeoutError):
                await asyncio.wait_for(self.engine.tasks.wait(id), 10)
        with contextlib.suppress(errors.Error):
            await self.delete(id)
