"""The backend over a real :class:`runtime.Engine`, in the app's own event loop.

Engine events arrive through a synchronous bus listener (it never lags); each is handed to
the loop with ``call_soon`` so that, by the time it is delivered, the state change that
went with it is complete (an exit event is published just before ``wait`` resolves). The
event then goes to the recorder, if any, and to the app as a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal as signals
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textual.message_pump import MessagePump

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

from ..messages import EngineEvent, StatsSample
from ..templates import TEMPLATES
from .base import DEFAULT_PTY, Backend, Console, DrainedConsole
from .recording import Recorder

#: Output recorded per process at most: enough to replay a console, not a whole flood.
RECORD_OUTPUT_LIMIT = 512 * 1024


async def _pieces(stream: Any) -> AsyncIterator[list[tuple[float, bytes]]]:
    while True:
        try:
            yield await stream.next_stamped()
        except StopAsyncIteration:
            return


class LiveConsole(DrainedConsole):
    def __init__(self, backend: LiveBackend, id: str, exec_id: str) -> None:
        self._backend = backend
        self._id = id
        self._exec_id = exec_id
        self._process_io = backend.engine.tasks.io(id, exec_id)
        super().__init__(self._process_io)
        self.terminal = self._process_io.terminal

    async def resize(self, width: int, height: int) -> None:
        await self._backend.resize_pty(self._id, width, height, exec_id=self._exec_id)

    def stamped_backlog(self) -> list[tuple[float, bytes]]:
        return self._process_io.stamped_backlog()

    def stream_stamped(self) -> AsyncIterator[list[tuple[float, bytes]]]:
        # Opened now, with the backlog just taken: nothing in between is missed.
        stream = self._stream = self._process_io.stream()
        return _pieces(stream)

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
        recorder: Recorder | None = None,
        rootfs: Path | None = None,
        stats_interval: float = 1.0,
    ) -> None:
        self.engine = engine
        self.runtime_name = engine.runtime_name
        self.description = str(engine.root)
        #: Where bundles of containers made from the UI go (a shared busybox rootfs inside).
        self.bundles = Path(bundles)
        #: A busybox rootfs to share (read-only) instead of making one under ``bundles``.
        self.rootfs = rootfs
        self.created: list[str] = []
        self._recorder = recorder
        self._stats_interval = stats_interval
        self._target: MessagePump | None = None
        self._remove_listener: Any = None
        self._stats_ids: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    # -- wiring -----------------------------------------------------------------------------

    def connect(self, target: MessagePump) -> None:
        self._target = target
        if self._recorder is not None:
            for c in self.containers():
                self._record_state(c.id)
                task = self.task(c.id)
                if task is not None and task.status in ("created", "running", "paused"):
                    self._record_output(c.id, "")
        loop = asyncio.get_running_loop()

        def listen(event: Event) -> None:
            loop.call_soon(self._deliver, event)

        self._remove_listener = self.engine.bus.add_listener(listen)
        self._spawn(self._poll_stats())

    async def disconnect(self) -> None:
        if self._remove_listener is not None:
            with contextlib.suppress(ValueError):
                self._remove_listener()
            self._remove_listener = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._recorder is not None:
            self._recorder.close()
            self._recorder = None
        self._target = None

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _post(self, message: Any) -> None:
        if self._target is not None:
            self._target.post_message(message)

    def _deliver(self, event: Event) -> None:
        if self._recorder is not None:
            if event.container_id:
                self._record_state(event.container_id)
            self._recorder.event(event)
            if event.topic == events.TASK_CREATE:
                self._record_output(event.container_id, "")
            elif event.topic == events.TASK_EXEC_STARTED:
                self._record_output(event.container_id, event.exec_id)
        self._post(EngineEvent(event))

    def _record_state(self, id: str) -> None:
        assert self._recorder is not None
        self._recorder.state(id, self.container(id), self.task(id), self.execs(id))

    def _record_output(self, id: str, exec_id: str) -> None:
        try:
            io = self.engine.tasks.io(id, exec_id)
        except errors.Error:
            return
        # Taken together, with no await between: nothing is missed or recorded twice.
        backlog, stream = io.backlog(), io.stream()
        self._spawn(self._copy_output(id, exec_id, backlog, stream))

    async def _copy_output(self, id: str, exec_id: str, backlog: bytes, stream: Any) -> None:
        budget = RECORD_OUTPUT_LIMIT
        try:
            if backlog and self._recorder is not None:
                self._recorder.output(id, exec_id, backlog[-budget:])
                budget -= len(backlog)
            async for chunk in stream:
                if budget <= 0 or self._recorder is None:
                    break
                self._recorder.output(id, exec_id, chunk[:budget])
                budget -= len(chunk)
        finally:
            stream.close()

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
                if self._recorder is not None:
                    self._recorder.stats(id, stats)
                self._post(StatsSample(id, stats))

    def set_stats_targets(self, ids: Iterable[str]) -> None:
        self._stats_ids = set(ids)

    def now(self) -> datetime:
        return datetime.now(UTC)

    # -- state ------------------------------------------------------------------------------

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

    async def _recorded(self, action: str, id: str, coro: Any) -> Any:
        """Await an engine call; an error it raises is recorded for the replay, then raised."""
        try:
            return await coro
        except errors.Error as e:
            if self._recorder is not None:
                self._recorder.error(action, id, str(e))
            raise

    async def ensure_rootfs(self) -> Path:
        if self.rootfs is not None:
            return self.rootfs
        rootfs = self.bundles / "rootfs"
        if not (rootfs / "bin" / "busybox").exists():
            self.bundles.mkdir(mode=0o700, parents=True, exist_ok=True)
            await asyncio.to_thread(make_busybox_rootfs, rootfs)
        return rootfs

    async def create(
        self, id: str, args: Sequence[str], *, terminal: bool, labels: Mapping[str, str]
    ) -> None:
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
            await self._recorded("create", id, self.engine.containers.create(id, bundle, labels))
        except BaseException:
            shutil.rmtree(bundle, ignore_errors=True)
            raise
        self.created.append(id)

    async def start(self, id: str, exec_id: str = "") -> None:
        if exec_id:
            await self._recorded("start", id, self.engine.tasks.start(id, exec_id))
            return
        task = self.task(id)
        if task is not None and task.status == "stopped":
            # Starting a stopped container runs it again: a fresh task from the same bundle.
            await self._recorded("start", id, self.engine.tasks.delete(id))
            task = None
        if task is None:
            info = await self._recorded("start", id, self.engine.tasks.create(id))
            if info.terminal:
                await self.resize_pty(id, *DEFAULT_PTY)
        await self._recorded("start", id, self.engine.tasks.start(id))

    async def pause(self, id: str) -> None:
        await self._recorded("pause", id, self.engine.tasks.pause(id))

    async def resume(self, id: str) -> None:
        await self._recorded("resume", id, self.engine.tasks.resume(id))

    async def kill(self, id: str, signal: int, *, all: bool = False, exec_id: str = "") -> None:
        await self._recorded(
            "kill", id, self.engine.tasks.kill(id, signal, all=all, exec_id=exec_id)
        )

    async def delete(self, id: str, exec_id: str = "") -> None:
        if exec_id:
            await self._recorded("delete", id, self.engine.tasks.delete(id, exec_id))
            return
        container = self.engine.containers.get(id)
        if self.task(id) is not None:
            await self._recorded("delete", id, self.engine.tasks.delete(id))
        await self._recorded("delete", id, self.engine.containers.delete(id))
        shared = any(c.bundle == container.bundle for c in self.containers())  # a restored copy
        if container.bundle.parent == self.bundles.absolute() and not shared:
            shutil.rmtree(container.bundle, ignore_errors=True)

    async def exec(self, id: str, exec_id: str, args: Sequence[str], *, terminal: bool) -> None:
        await self._recorded(
            "exec", id, self.engine.tasks.exec(id, exec_id, list(args), terminal=terminal)
        )
        if terminal:
            # Remembered by the engine and applied when the exec's pty arrives.
            await self.resize_pty(id, *DEFAULT_PTY, exec_id=exec_id)
        await self._recorded("exec", id, self.engine.tasks.start(id, exec_id))

    async def checkpoint(self, id: str, path: str, *, exit: bool = False) -> None:
        await self._recorded("checkpoint", id, self.engine.tasks.checkpoint(id, path, exit=exit))

    async def restore(self, id: str, path: str, *, new_id: str = "") -> None:
        if new_id:
            old = self.engine.containers.get(id)
            await self._recorded(
                "restore", new_id, self.engine.containers.create(new_id, old.bundle, old.labels)
            )
            id = new_id
        task = self.task(id)
        if task is not None and task.status == "stopped":
            await self._recorded("restore", id, self.engine.tasks.delete(id))
        try:
            info = await self._recorded("restore", id, self.engine.tasks.restore(id, path))
        except BaseException:
            if new_id:
                with contextlib.suppress(errors.Error):
                    await self.engine.containers.delete(new_id)
            raise
        if info.terminal:
            await self.resize_pty(id, *DEFAULT_PTY)

    async def set_labels(self, id: str, labels: Mapping[str, str]) -> None:
        await self._recorded("labels", id, self.engine.containers.update(id, labels=labels))

    def console(self, id: str, exec_id: str = "") -> Console:
        return LiveConsole(self, id, exec_id)

    async def resize_pty(self, id: str, width: int, height: int, exec_id: str = "") -> None:
        """Set a process's pty size (and record it: a replay shows the console at it)."""
        await self.engine.tasks.resize_pty(id, width, height, exec_id=exec_id)
        if self._recorder is not None:
            self._recorder.pty(id, exec_id, width, height)

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
