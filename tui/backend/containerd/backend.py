"""``ContainerdBackend``: the :class:`tui.backend.base.Backend` seam over a containerd.

State is a cache of what containerd reports, driven by its event stream: subscribe (and
wait until the stream is live), then list, once; each event then refreshes the one
container it names, from containerd, before it reaches the UI. Every refresh overwrites
with what containerd says now, so replaying one, or a whole resync, is harmless. A broken
stream (containerd restarted) marks the backend disconnected, then resubscribes and resyncs.

Each refresh goes out as an update (:class:`StateChanged` or :class:`Removed`, then the
event); a resync as :class:`Resynced`, a broken stream as :class:`ConnectionChanged`.
``create`` takes an :class:`ImageSource` (a :class:`CommandSource` runs on the image chosen
at open). Unlike the in-process engine, nothing here stops or removes a container when
shimdeck quits.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import shutil
import urllib.parse
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runtime import Checkpoint, Event, TaskInfo, errors
from runtime.bundle import DEFAULT_PATH
from runtime.checkpoint import find_criu, images_size
from runtime.events import TASK_EXEC_STARTED, TASK_START
from runtime.stdio import BACKLOG_BYTES, READ_SIZE

from ...memory import release_free_memory
from ..base import (
    ACTIONS,
    DEFAULT_PTY,
    Backend,
    BackendInfo,
    Capability,
    CommandSource,
    ConnectionChanged,
    Console,
    Container,
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
from . import checkpoints, cio, cri, criquestions, fifos, output, procinfo
from .client import RUNC_V2, Client
from .criconsole import console_for
from .criu import criu_failure
from .records import ContainerRecord, ProcessRecord
from .spec import container_spec, exec_process
from .watch import Connection, Watch

#: Where a log file's tail looks for more output while its process runs.
TAIL_INTERVAL = 0.1
#: Relisting once the stream is live again, if containerd does not answer yet: first wait,
#: and the longest.
RELIST_FIRST, RELIST_MAX = 0.1, 2.0
#: The header's words while the event stream is broken.
DISCONNECTED = "disconnected, retrying"


def default_io_dir() -> Path:
    """shimdeck's own directory for FIFOs and logs (it must outlive shimdeck, not boots)."""
    if os.geteuid() == 0:
        return Path("/run/shimdeck/containerd")
    base = os.environ.get("XDG_RUNTIME_DIR") or f"/tmp/shimdeck-{os.geteuid()}"
    return Path(base) / "shimdeck" / "containerd"


def namespace_io_dir(io_root: Path, address: str, namespace: str) -> Path:
    """Where one containerd's namespace keeps its processes' FIFOs and logs: two
    containerds (a host's and a test's) may both have a container "web" in "default"."""
    return io_root / urllib.parse.quote(str(address), safe="") / namespace


class FifoConsole(DrainedConsole):
    """A tty process's FIFOs, drained by the backend (the console only looks)."""

    def __init__(self, backend: ContainerdBackend, io: cio.FifoIO, id: str, exec_id: str):
        super().__init__(io)
        self._backend, self._id, self._exec_id = backend, id, exec_id
        self.terminal = True

    def write(self, data: bytes) -> None:
        self._backend.input_sent(self._id, self._exec_id, data)
        super().write(data)

    async def resize(self, width: int, height: int) -> None:
        await self._backend.client.resize_pty(self._id, width, height, exec_id=self._exec_id)
        self._backend.pty_resized(self._id, self._exec_id, width, height)


class LogConsole(Console):
    """The log file a process without a tty writes, tailed; output only."""

    terminal = False

    def __init__(self, backend: ContainerdBackend, path: Path, id: str, exec_id: str) -> None:
        self._backend, self._path, self._id, self._exec_id = backend, path, id, exec_id
        self._offset = 0
        self._closed = False

    def backlog(self) -> bytes:
        try:
            with self._path.open("rb") as f:
                size = f.seek(0, os.SEEK_END)
                f.seek(max(0, size - BACKLOG_BYTES))
                data = f.read()
        except FileNotFoundError:
            return b""
        self._offset = size
        return data

    async def stream(self) -> AsyncIterator[bytes]:
        while not self._closed:
            chunk = await asyncio.to_thread(self._read_more)
            if chunk:
                yield chunk
                continue
            if not self._backend.running(self._id, self._exec_id):
                if last := await asyncio.to_thread(self._read_more):
                    yield last
                return
            await asyncio.sleep(TAIL_INTERVAL)

    def _read_more(self) -> bytes:
        try:
            with self._path.open("rb") as f:
                f.seek(self._offset)
                data = f.read(READ_SIZE * 4)
        except FileNotFoundError:
            return b""
        self._offset += len(data)
        return data

    def write(self, data: bytes) -> None:
        raise errors.FailedPrecondition("this process has no tty: its output is a log file")

    async def resize(self, width: int, height: int) -> None:
        return None

    def close(self) -> None:
        self._closed = True


class ContainerdBackend(Backend):
    #: CONFIRM_DESTRUCTIVE: a namespace may hold a node's pods; ``confirm_text`` asks only
    #: about the containers the CRI made.
    capabilities = ACTIONS | {
        Capability.NAMESPACES,
        Capability.IMAGES,
        Capability.CONFIRM_DESTRUCTIVE,
    }
    #: Where the kubelet keeps pod logs, for pods whose sandbox does not record its own.
    pod_logs_root: Path = cri.POD_LOGS_ROOT

    def __init__(
        self,
        client: Client,
        *,
        image: str,
        io_dir: Path,
        stats_interval: float = 1.0,
        criu: str | None = None,
    ):
        super().__init__()
        self.client = client
        self.info = BackendInfo(
            kind="containerd",
            runtime="io.containerd.runc.v2",
            version=client.version.version,
            address=str(client.path),
            namespace=client.namespace,
        )
        self.image = image
        self._io_root = Path(io_dir)
        #: Namespaces watched before the current one (their tty FIFOs are no longer drained).
        self.visited: set[str] = set()
        self.io_dir = namespace_io_dir(self._io_root, client.path, client.namespace)
        self.description = f"containerd {client.version.version} {client.path} [{client.namespace}]"
        #: False while the event stream is broken (the header will show it).
        self.connected = False
        self._stats_interval = stats_interval
        self._containers: dict[str, ContainerRecord] = {}
        self._tasks: dict[str, ProcessRecord] = {}
        self._execs: dict[str, dict[str, ProcessRecord]] = {}
        self._fifos: dict[tuple[str, str], cio.FifoIO] = {}
        self._feed: UpdateFeed | None = None
        #: The live event stream, listed after; followed once the UI takes the updates.
        self._stream: Watch | None = None
        self._follower: asyncio.Task[None] | None = None
        self._stats_ids: set[str] = set()
        self._background: set[asyncio.Task[None]] = set()
        #: (container id, exec id) -> (pid, when it started), from start events or /proc.
        self._starts: dict[tuple[str, str], tuple[int, datetime]] = {}
        #: (container id, exec id) -> an exec's args (what shimdeck sent, or /proc's).
        self._sent_args: dict[tuple[str, str], tuple[str, ...]] = {}
        #: The task whose execs the UI shows (see :meth:`watch_execs`).
        self._execs_watched: str | None = None
        #: containerd has no such namespace (yet: a container created in it makes it).
        self._no_namespace = False
        #: The checkpoints shimdeck wrote, newest first, by container (see checkpoints).
        self._checkpoints: dict[str, list[Checkpoint]] = {}
        #: The CRIU runc gets for the tasks shimdeck creates (as the engine's: ``criu``, else
        #: setup's where the system's fails, else PATH's), so that they can be checkpointed.
        self._criu = find_criu(criu) or ""

    @classmethod
    async def open(
        cls, client: Client, *, image: str = "", io_dir: Path | None = None, criu: str | None = None
    ) -> ContainerdBackend:
        """Subscribe, then list what there is: nothing is missed, and nothing listed twice."""
        if not image:
            names = [i.name for i in await client.images()]
            image = names[0] if names else ""
        backend = cls(client, image=image, io_dir=io_dir or default_io_dir(), criu=criu)
        await backend._go_live()
        backend.connected = True
        # tty processes an earlier shimdeck started block once nobody drains them: resume.
        backend._fifos.update(await fifos.redrain(client, backend.io_dir))
        return backend

    # -- the event stream -------------------------------------------------------------------

    async def _go_live(self) -> None:
        """Subscribe, wait until the stream is live, then list: an event from then on
        refreshes what it names, so the listing needs no second pass."""
        stream = self.client.watch()
        try:
            first = await anext(stream)
            if isinstance(first, Connection) and not first.live:
                raise errors.Unavailable(f"containerd's event stream: {first.detail}")
            await self._list()
        except BaseException:
            await stream.aclose()
            raise
        self._stream = stream

    async def _list(self) -> None:
        """Overwrite the whole cache with containerd's listing."""
        containers = {c.id: c for c in await self.client.containers()}
        tasks = {t.container_id: t for t in await self.client.tasks()}
        # containerd lists nothing for a namespace it does not have, as for an empty one.
        self._no_namespace = not containers and not await self.client.has_namespace(
            self.client.namespace
        )
        self._containers, self._tasks = containers, tasks
        self._checkpoints = checkpoints.load_all(self.io_dir, containers)
        self._execs = {id: e for id, e in self._execs.items() if id in tasks}
        self._starts = {k: v for k, v in self._starts.items() if k[0] in tasks}
        self._sent_args = {k: v for k, v in self._sent_args.items() if k[0] in tasks}
        # The replies were megabytes at a thousand containers: give back what they held.
        release_free_memory()

    async def refresh(self, id: str, exec_id: str = "") -> None:
        """Overwrite the cache of one container (and one exec) with containerd's view."""
        try:
            self._containers[id] = await self.client.container(id)
            self._no_namespace = False  # its first container made it
        except errors.NotFound:
            self._containers.pop(id, None)
            self._checkpoints.pop(id, None)
        try:
            self._tasks[id] = await self.client.task(id)
        except errors.NotFound:
            self._tasks.pop(id, None)
            self._execs.pop(id, None)
            self._drop_fifos(id)
            self._forget(id)
            return
        if exec_id:
            try:
                self._execs.setdefault(id, {})[exec_id] = await self.client.task(id, exec_id)
            except errors.NotFound:
                self._execs.get(id, {}).pop(exec_id, None)
                self._drop_fifos(id, exec_id)
                self._forget(id, exec_id)

    def _forget(self, id: str, exec_id: str | None = None) -> None:
        """Drop the start times and commands of a task's processes (or one exec's)."""
        for known in (self._starts, self._sent_args):
            for key in [k for k in known if k[0] == id and exec_id in (None, k[1])]:
                del known[key]

    async def refresh_execs(self, id: str) -> None:
        """Learn a task's execs from ``ListPids`` (it runs ``runc ps``: on demand only).

        ``ListPids`` names live execs only: the stopped ones already known are asked
        about again (``Tasks.Get``) and kept until they are deleted."""
        try:
            infos = await self.client.pids(id)
        except errors.NotFound:
            self._execs.pop(id, None)
            return
        found = {}
        known = set(self._execs.get(id, {}))
        for exec_id in sorted({i.exec_id for i in infos if i.exec_id} | known):
            with contextlib.suppress(errors.NotFound):
                found[exec_id] = await self.client.task(id, exec_id)
        self._execs[id] = found

    async def resync(self) -> None:
        """Relist everything; the updates go on with a :class:`Resynced` of it."""
        await self._list()
        self._put(Resynced(self.states()))

    async def _follow(self, stream: Watch) -> None:
        """Consume the live stream :meth:`_go_live` listed after: each event refreshes what
        it names; a stream live again relists; a broken one shows in the header."""
        async with contextlib.aclosing(stream):
            async for item in stream:
                if isinstance(item, Connection):
                    await self._connection_changed(item)
                    continue
                event = item.event
                self._note_start(event)
                id = event.container_id
                if id:
                    try:
                        await self.refresh(id, event.exec_id)
                        if event.exec_id and id == self._execs_watched:
                            await self.refresh_execs(id)
                    except errors.Error:
                        continue  # containerd went meanwhile: the stream says so next
                    self._put_state(id)
                self._put(EventSeen(event))

    async def _connection_changed(self, change: Connection) -> None:
        if not change.live:
            self.connected = False
            self._put(ConnectionChanged(False, DISCONNECTED))
            return
        # Live (again): whatever happened before the subscription is unknown until listed.
        delay = RELIST_FIRST
        while True:
            try:
                await self._list()
                break
            except errors.Error:
                await asyncio.sleep(delay)  # up, yet not answering yet: retry
                delay = min(delay * 2, RELIST_MAX)
        if self._execs_watched and self.running(self._execs_watched):
            with contextlib.suppress(errors.Error):
                await self.refresh_execs(self._execs_watched)
        self._put(Resynced(self.states()))
        if not self.connected:
            self.connected = True
            self._put(ConnectionChanged(True, ""))

    def _note_start(self, event: Event) -> None:
        """A start event's time is the process's start (containerd's Task has none)."""
        if event.topic in (TASK_START, TASK_EXEC_STARTED) and event.container_id and event.pid:
            key = (event.container_id, event.exec_id)
            self._starts[key] = (event.pid, event.timestamp)

    def _started_at(self, p: ProcessRecord) -> datetime | None:
        """When ``p`` started: its start event's time, else (started before shimdeck)
        its process's, from /proc; None while it is only created."""
        if p.status == "created" or p.pid <= 0:
            return None
        key = (p.container_id, p.exec_id)
        known = self._starts.get(key)
        if known is not None and known[0] == p.pid:
            return known[1]
        if p.status == "stopped":
            return None  # its pid may be another process's by now
        when = procinfo.started_at(p.pid)
        if when is not None:
            self._starts[key] = (p.pid, when)
        return when

    def _exec_args(self, p: ProcessRecord) -> tuple[str, ...]:
        """An exec's command: what shimdeck sent, else its process's argv from /proc."""
        key = (p.container_id, p.exec_id)
        args = self._sent_args.get(key)
        if args is None and p.status in ("running", "paused", "pausing"):
            args = procinfo.command_line(p.pid)
            if args:
                self._sent_args[key] = args
        return args or ()

    async def _poll_stats(self) -> None:
        while True:
            await asyncio.sleep(self._stats_interval)
            ids = [i for i in self._stats_ids if self.running(i)]
            try:
                samples = await self.client.metrics(ids)
            except errors.Error:
                continue
            for id, stats in samples.items():
                self._put(StatsSampled(id, stats))

    # -- wiring -----------------------------------------------------------------------------

    async def namespaces(self) -> list[tuple[str, int]]:
        return [(n.name, n.containers) for n in await self.client.namespaces()]

    async def undrained(self) -> list[fifos.TtyProcess]:
        """The live tty processes shimdeck made FIFOs for, in every namespace this backend
        watched: once it stops, nobody drains them (the quit note names them)."""
        found = []
        for namespace in sorted(self.visited | {self.client.namespace}):
            client = self.client.in_namespace(namespace)
            io_dir = namespace_io_dir(self._io_root, client.path, namespace)
            for p in await fifos.live_tty_processes(client, io_dir):
                left = namespace != self.client.namespace
                found.append(replace(p, namespace=namespace) if left else p)
        return found

    async def switch_namespace(self, namespace: str) -> None:
        """Watch ``namespace`` instead: the same connection, a new subscription and listing
        (the updates go on with its :class:`Resynced`)."""
        if namespace == self.client.namespace:
            return
        self.visited.add(self.client.namespace)
        names = [n for n, _ in await self.namespaces()]
        if namespace not in names:
            raise errors.NotFound(f"containerd has no namespace {namespace!r}")
        # The old namespace's stream ends first: none of its events may follow the switch.
        await self._stop_following()
        # Stop draining the old namespace's FIFOs (they stay, for a later reopen).
        for io in self._fifos.values():
            io.close()
        self._fifos.clear()
        self.client = self.client.in_namespace(namespace)
        self.io_dir = namespace_io_dir(self._io_root, self.client.path, namespace)
        self.info = replace(self.info, namespace=namespace)
        self.description = f"containerd {self.info.version} {self.info.address} [{namespace}]"
        self._execs, self._starts, self._sent_args = {}, {}, {}
        self._execs_watched = None
        try:
            await self._go_live()
            # What an earlier shimdeck started there with a tty is drained again, as at open.
            self._fifos.update(await fifos.redrain(self.client, self.io_dir))
        finally:
            if self._feed is not None:
                self._put(Resynced(self.states()))
                self._start_following()

    def _start_following(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            self._follower = asyncio.ensure_future(self._follow(stream))

    async def _stop_following(self) -> None:
        follower, self._follower = self._follower, None
        if follower is not None:
            follower.cancel()
            await asyncio.gather(follower, return_exceptions=True)
        stream, self._stream = self._stream, None
        if stream is not None:  # live, not yet followed
            await stream.aclose()

    def watch_execs(self, id: str | None) -> None:
        """The UI shows ``id``'s execs: learn them now (``ListPids``), and again on each exec
        event of that task (never on a timer: ``ListPids`` runs the runtime's ``ps``)."""
        if id == self._execs_watched:
            return
        self._execs_watched = id
        if id is not None and self.running(id):
            self._spawn(self._refresh_execs_and_tell(id))

    async def _refresh_execs_and_tell(self, id: str) -> None:
        with contextlib.suppress(errors.Error):
            await self.refresh_execs(id)
            self._put_state(id)

    def updates(self) -> AsyncIterator[Update]:
        """What :meth:`open` listed, then what the event stream brings."""
        if self._feed is not None:
            raise RuntimeError("a backend's updates have one consumer")
        feed = self._feed = UpdateFeed()
        feed.put(Resynced(self.states()))
        self._start_following()
        self._spawn(self._poll_stats())
        return aiter(feed)

    async def close(self) -> None:
        await self._stop_following()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        # Stop draining; the FIFOs stay so a later start can reopen them.
        for io in self._fifos.values():
            io.close()
        self._fifos.clear()
        if self._feed is not None:
            self._feed.end()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _put(self, update: Update) -> None:
        if self._feed is not None:
            self._feed.put(update)

    def _put_state(self, id: str) -> None:
        state = self.state(id)
        self._put(StateChanged(state) if state is not None else Removed(id))

    def set_stats_targets(self, ids: Iterable[str]) -> None:
        self._stats_ids = set(ids)

    def now(self) -> datetime:
        return datetime.now(UTC)

    # -- state ------------------------------------------------------------------------------

    def running(self, id: str, exec_id: str = "") -> bool:
        record = self._execs.get(id, {}).get(exec_id) if exec_id else self._tasks.get(id)
        return record is not None and record.status in ("created", "running", "paused", "pausing")

    def containers(self) -> list[Container]:
        return [self._container(c) for c in sorted(self._containers.values(), key=_created)]

    def container(self, id: str) -> Container | None:
        record = self._containers.get(id)
        return None if record is None else self._container(record)

    def _container(self, c: ContainerRecord) -> Container:
        return Container(
            id=c.id,
            runtime=c.runtime,
            labels=dict(c.labels),
            created_at=c.created_at,
            updated_at=c.updated_at,
            image=c.image,
            snapshotter=c.snapshotter,
        )

    def states(self) -> list[ContainerState]:
        return [s for c in self.containers() if (s := self.state(c.id)) is not None]

    def state(self, id: str) -> ContainerState | None:
        container = self.container(id)
        if container is None:
            return None
        return ContainerState(
            container, self.task(id), self.execs(id), self._checkpoints.get(id, [])
        )

    def task(self, id: str) -> TaskInfo | None:
        record = self._tasks.get(id)
        container = self._containers.get(id)
        if record is None:
            return None
        args = container.args if container else ()
        return _task_info(record, args, self._started_at(record))

    def execs(self, id: str) -> list[TaskInfo]:
        return [
            _task_info(e, self._exec_args(e), self._started_at(e))
            for _, e in sorted(self._execs.get(id, {}).items())
        ]

    # -- actions ------------------------------------------------------------------------------

    def _dir(self, id: str) -> Path:
        return self.io_dir / id

    async def images(self) -> list[str]:
        return [i.name for i in await self.client.images()]

    async def create(
        self, id: str, source: Source | Sequence[str], *, terminal: bool, labels: Mapping[str, str]
    ) -> None:
        source = as_source(source)
        image = source.image if not isinstance(source, CommandSource) else self.image
        if not image:
            raise errors.FailedPrecondition("containerd's image store has no image to run")
        chain_id, config = await self.client.image_config(image)
        args = list(source.args) or list(config.get("config", {}).get("Cmd") or [])
        if not args:
            raise errors.InvalidArgument(f"image {image!r} has no command: give one")
        snapshotter = "overlayfs"
        spec = container_spec(self.client.namespace, id, args, terminal=terminal, size=DEFAULT_PTY)
        image_env = config.get("config", {}).get("Env") or [f"PATH={DEFAULT_PATH}"]
        spec["process"]["env"] = [*image_env, "TERM=xterm-256color"]
        await self._make_container(id, image, chain_id, spec, snapshotter, labels)
        await self.refresh(id)

    async def _make_container(
        self,
        id: str,
        image: str,
        chain_id: str,
        spec: Mapping[str, Any],
        snapshotter: str,
        labels: Mapping[str, str],
        runtime: str = RUNC_V2,
    ) -> ContainerRecord:
        """A container with a snapshot of its own of ``chain_id``, under one lease; the
        snapshot goes again if the container cannot be made."""
        async with self.client.lease() as leased:
            await leased.prepare_snapshot(id, chain_id, snapshotter=snapshotter)
            try:
                return await leased.create_container(
                    id,
                    image=image,
                    spec=spec,
                    snapshot_key=id,
                    snapshotter=snapshotter,
                    labels=labels,
                    runtime=runtime,
                )
            except BaseException:
                with contextlib.suppress(errors.Error):
                    await leased.remove_snapshot(id, snapshotter=snapshotter)
                raise

    async def start(self, id: str, exec_id: str = "") -> None:
        if exec_id:
            await self.client.start(id, exec_id)
            self._connect_fifo(id, exec_id)
            await self.refresh(id, exec_id)
            return
        container = self._containers.get(id) or await self.client.container(id)
        task = self._tasks.get(id)
        if task is not None and task.status == "stopped":
            await self._delete_task(id)
            task = None
        if task is None:
            await self._create_task(container)
        await self.client.start(id)
        await self.refresh(id)

    async def _delete_task(self, id: str) -> None:
        await self.client.delete_task(id)
        self._drop_fifos(id)

    async def _create_task(self, container: ContainerRecord, restore_from: str = "") -> None:
        """Its init process, with its IO: FIFOs shimdeck drains for a tty, else log files;
        ``restore_from``: a checkpoint directory its start restores instead (CRIU's log
        then goes to :meth:`_criu_work`, where a failure leaves it)."""
        id = container.id
        mounts = await self.client.snapshot_mounts(
            container.snapshot_key, snapshotter=container.snapshotter
        )
        work = ""
        if restore_from:
            # An earlier restore's log is not this one's; runc makes only the last part.
            work_dir = self._criu_work(id)
            shutil.rmtree(work_dir, ignore_errors=True)
            work_dir.parent.mkdir(parents=True, exist_ok=True)
            work = str(work_dir)
        create = functools.partial(
            self.client.create_task,
            id,
            rootfs=mounts,
            criu=self._criu,
            restore_from=restore_from,
            criu_work=work,
        )
        if container.terminal:
            io = self._make_fifos(id, id, "")
            try:
                await create(stdin=io.stdin, stdout=io.stdout, terminal=True)
            except BaseException:
                self._drop_fifos(id)
                raise
            io.connected()
        else:
            log = cio.log_io(self._dir(id), id)
            await create(stdout=log.stdout, stderr=log.stderr)

    def _make_fifos(self, id: str, name: str, exec_id: str) -> cio.FifoIO:
        d = self._dir(id)
        for leftover in (d / f"{name}-stdin", d / f"{name}-stdout"):
            # From an earlier run of this process: nobody holds them any more.
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
        io = cio.FifoIO.create(d, name)
        self._fifos[(id, exec_id)] = io
        return io

    def _connect_fifo(self, id: str, exec_id: str) -> None:
        io = self._fifos.get((id, exec_id))
        if io is not None:
            io.connected()

    def _drop_fifos(self, id: str, exec_id: str | None = None) -> None:
        for key in [k for k in self._fifos if k[0] == id and exec_id in (None, k[1])]:
            self._fifos.pop(key).remove()

    async def pause(self, id: str) -> None:
        await self.client.pause(id)
        await self.refresh(id)

    async def resume(self, id: str) -> None:
        await self.client.resume(id)
        await self.refresh(id)

    async def kill(self, id: str, signal: int, *, all: bool = False, exec_id: str = "") -> None:
        await self.client.kill(id, signal, all=all, exec_id=exec_id)

    async def delete(self, id: str, exec_id: str = "") -> None:
        if exec_id:
            await self.client.delete_exec(id, exec_id)
            self._drop_fifos(id, exec_id)
            await self.refresh(id, exec_id)
            # containerd (1.6) publishes no event for DeleteProcess: say it here.
            self._put_state(id)
            return
        container = self._containers.get(id) or await self.client.container(id)
        with contextlib.suppress(errors.NotFound):
            await self.client.delete_task(id)
        with contextlib.suppress(errors.NotFound):
            await self.client.remove_snapshot(
                container.snapshot_key, snapshotter=container.snapshotter
            )
        await self.client.delete_container(id)
        self._drop_fifos(id)
        # Its logs, checkpoint records and CRIU's restore logs go with it.
        shutil.rmtree(self._dir(id), ignore_errors=True)
        await self.refresh(id)

    async def exec(self, id: str, exec_id: str, args: Sequence[str], *, terminal: bool) -> None:
        container = self._containers.get(id) or await self.client.container(id)
        process = exec_process(container.spec, args, terminal=terminal, size=DEFAULT_PTY)
        if terminal:
            io = self._make_fifos(id, exec_id, exec_id)
            stdio = {"stdin": io.stdin, "stdout": io.stdout}
        else:
            log = cio.log_io(self._dir(id), exec_id)
            stdio = {"stdout": log.stdout, "stderr": log.stderr}
        try:
            await self.client.exec(id, exec_id, process, **stdio)
        except BaseException:
            self._drop_fifos(id, exec_id)
            raise
        self._sent_args[(id, exec_id)] = tuple(args)
        await self.start(id, exec_id)

    async def checkpoint(self, id: str, path: str, *, exit: bool = False) -> None:
        container = self._containers.get(id) or await self.client.container(id)
        made = not os.path.lexists(path)
        try:
            await self.client.checkpoint(id, path, exit=exit, terminal=container.terminal)
        except errors.RuntimeFailure as e:
            # The shim leaves what it wrote of a failed dump (descriptors.json): not a
            # checkpoint, so nothing of it stays where the user asked for one.
            if made:
                shutil.rmtree(path, ignore_errors=True)
            raise criu_failure("checkpoint", f"task {id!r}", e) from None
        written = Checkpoint(id, Path(path), self.now(), images_size(Path(path)), exited=exit)
        self._checkpoints[id] = checkpoints.add(self._dir(id), written)
        self._put_state(id)  # containerd's /tasks/checkpointed may have come before this

    async def restore(self, id: str, path: str, *, new_id: str = "") -> None:
        """The checkpoint at ``path`` as the task of ``id`` (once its task is gone or
        stopped) or of a new container ``new_id`` made as ``id`` was: same image, spec and
        labels, a snapshot of its own."""
        if not (Path(path) / "inventory.img").exists():
            raise errors.InvalidArgument(f"{path} holds no checkpoint (no inventory.img)")
        source = self._containers.get(id) or await self.client.container(id)
        if source.terminal:
            # The runc shim (containerd 1.6) has runc restore with a console socket and
            # waits for the new console, which runc 1.1 never sends: Tasks.Start hangs.
            raise errors.FailedPrecondition(
                f"containerd's runc shim cannot restore {id!r}: it has a tty"
                " (the engine can: shimdeck without --containerd)"
            )
        if new_id:
            target = await self._copy_container(source, new_id)
        else:
            target = source
            task = self._tasks.get(id)
            if task is not None and task.status != "stopped":
                raise errors.FailedPrecondition(
                    f"task {id!r} is {task.status}: restore into a new container"
                )
            if task is not None:
                await self._delete_task(id)
        try:
            await self._create_task(target, restore_from=path)
            try:
                await self.client.start(target.id)
            except BaseException:
                with contextlib.suppress(errors.Error):
                    await self._delete_task(target.id)
                raise
        except errors.RuntimeFailure as e:
            failure = criu_failure("restore", repr(target.id), e, self._criu_work(target.id))
            await self._forget_copy(new_id)
            raise failure from None
        except BaseException:
            await self._forget_copy(new_id)
            raise
        await self.refresh(target.id)

    def _criu_work(self, id: str) -> Path:
        """CRIU's work directory for a restore into ``id``: outside the container's own
        directory, so that the log of a failed restore into a copy stays (as the engine's
        ``<root>/criu/<id>``). containerd ids cannot start with a dot."""
        return self.io_dir / ".criu" / id

    async def _copy_container(self, source: ContainerRecord, new_id: str) -> ContainerRecord:
        spec = json.loads(source.spec_json) if source.spec_json else {}
        linux = spec.get("linux", {})
        cgroup = linux.get("cgroupsPath", "")
        if cgroup.rsplit("/", 1)[-1] == source.id:  # the source's own cgroup: one of its own
            linux["cgroupsPath"] = cgroup[: -len(source.id)] + new_id
        chain_id, _ = await self.client.image_config(source.image)
        made = await self._make_container(
            new_id, source.image, chain_id, spec, source.snapshotter, source.labels, source.runtime
        )
        self._containers[new_id] = made
        return made

    async def _forget_copy(self, new_id: str) -> None:
        """A failed restore into a new container leaves no container behind."""
        if new_id:
            with contextlib.suppress(errors.Error):
                await self.delete(new_id)

    async def set_labels(self, id: str, labels: Mapping[str, str]) -> None:
        self._containers[id] = await self.client.update_labels(id, labels)

    def cri_identity(self, id: str) -> cri.CriIdentity | None:
        """Who container ``id`` is in its pod, if the CRI made it (labels and spec)."""
        record = self._containers.get(id)
        return None if record is None else cri.identify_spec(record.labels, record.spec)

    def confirm_text(self, id: str, action: str) -> str | None:
        record = self._containers.get(id)
        return None if record is None else criquestions.question(record.labels, action)

    def empty_note(self) -> str | None:
        if self._no_namespace and not self._containers:
            return f"containerd has no namespace {self.client.namespace!r}: N picks one"
        return None

    def console(self, id: str, exec_id: str = "") -> Console:
        io = self._fifos.get((id, exec_id))
        if io is not None:
            return FifoConsole(self, io, id, exec_id)
        record = self._execs.get(id, {}).get(exec_id) if exec_id else self._tasks.get(id)
        if record is None:
            raise errors.NotFound(f"no process {exec_id or id} in container {id}")
        who = None if exec_id or record.terminal else self.cri_identity(id)
        if who is not None:
            # The CRI owns its stdio: the output is the kubelet's log of the container.
            sandbox = self.cri_identity(who.sandbox_id) if who.sandbox_id else None
            return console_for(
                who, sandbox, running=lambda: self.running(id), root=self.pod_logs_root
            )
        source = output.where_output_goes(record, self._containers.get(id))
        if source.kind == "log" and source.path is not None:
            return LogConsole(self, source.path, id, exec_id)
        if source.kind == "fifos":
            # FIFOs another client (or an earlier shimdeck) made: reopen and drain them.
            io = cio.FifoIO.reopen(record.stdin, record.stdout, record.stderr)
            self._fifos[(id, exec_id)] = io
            return FifoConsole(self, io, id, exec_id)
        raise errors.FailedPrecondition(source.note)


def _created(c: ContainerRecord) -> tuple[datetime, str]:
    return (c.created_at or datetime.min.replace(tzinfo=UTC), c.id)


def _task_info(p: ProcessRecord, args: tuple[str, ...], started_at: datetime | None) -> TaskInfo:
    return TaskInfo(
        id=p.container_id,
        pid=p.pid,
        status=p.status,
        bundle=Path(),
        exec_id=p.exec_id,
        terminal=p.terminal,
        exit_status=p.exit_status,
        exited_at=p.exited_at,
        started_at=started_at,
        args=args,
    )
