"""The seam between the UI and whatever runs containers.

A :class:`Backend` yields :data:`Update` records from :meth:`Backend.updates` ("container X
is now ...", then the event that said so; stats samples; whole listings), and the UI keeps
its model from them alone: it never reads a backend's state back. Actions are async and
raise ``runtime.errors.Error`` subclasses with user-readable messages. What a backend can
do at all is its :attr:`Backend.capabilities`; the UI disables the rest. Nothing here (or
anywhere in ``tui.backend``) imports Textual: the app turns updates into whatever its
screens need.
"""

from __future__ import annotations

import abc
import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Literal, Protocol

from runtime import Checkpoint, Event, Stats, TaskInfo, errors
from runtime import Container as EngineContainer
from runtime.stdio import OutputStream


class Status(StrEnum):
    """A container's task status, as the UI shows it (``NONE``: no task)."""

    NONE = "no task"
    CREATED = "created"
    RUNNING = "running"
    PAUSING = "pausing"
    PAUSED = "paused"
    STOPPED = "stopped"
    UNKNOWN = "unknown"

    @classmethod
    def of(cls, task: TaskInfo | None) -> Status:
        if task is None:
            return cls.NONE
        try:
            return cls(task.status)
        except ValueError:
            return cls.UNKNOWN

    @property
    def live(self) -> bool:
        """A process exists (it may be frozen): it has stats, it can be killed."""
        return self in (Status.RUNNING, Status.PAUSED, Status.PAUSING)


@dataclass(frozen=True)
class Container:
    """A container as the UI sees it. Not :class:`runtime.Container`: the engine has no
    images and always a bundle, containerd has images and no bundle the UI can use."""

    id: str
    runtime: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    #: The image it was made from ("" for a busybox bundle of the engine's).
    image: str = ""
    #: The OCI bundle directory, where the backend has one.
    bundle: Path | None = None
    #: containerd's snapshotter of its root filesystem ("" for the engine's bundles).
    snapshotter: str = ""

    @classmethod
    def of_engine(cls, c: EngineContainer, *, image: str = "") -> Container:
        return cls(
            id=c.id,
            runtime=c.runtime,
            labels=dict(c.labels),
            created_at=c.created_at,
            updated_at=c.updated_at,
            image=image,
            bundle=c.bundle,
        )


@dataclass(frozen=True)
class ContainerState:
    """Everything the UI shows of one container at one moment."""

    container: Container
    task: TaskInfo | None = None
    execs: list[TaskInfo] = field(default_factory=list)
    #: Newest first.
    checkpoints: list[Checkpoint] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.container.id


@dataclass(frozen=True)
class StateChanged:
    state: ContainerState


@dataclass(frozen=True)
class Removed:
    id: str


@dataclass(frozen=True)
class EventSeen:
    """An event, always after the state updates it caused."""

    event: Event


@dataclass(frozen=True)
class StatsSampled:
    id: str
    stats: Stats


@dataclass(frozen=True)
class Resynced:
    """The full listing: rows not in it are gone."""

    states: list[ContainerState]


@dataclass(frozen=True)
class ConnectionChanged:
    """The backend lost (or regained) what it watches; ``detail`` is for the header."""

    connected: bool
    detail: str = ""


Update = StateChanged | Removed | EventSeen | StatsSampled | Resynced | ConnectionChanged


class Capability(StrEnum):
    CREATE = "create"
    START = "start"
    PAUSE = "pause"
    KILL = "kill"
    DELETE = "delete"
    EXEC = "exec"
    ATTACH = "attach"
    CHECKPOINT = "checkpoint"
    RESTORE = "restore"
    LABELS = "labels"
    NAMESPACES = "namespaces"
    #: ``create`` takes an ImageSource, and ``images()`` lists what it may name.
    IMAGES = "images"
    #: Kill, pause and delete ask first (someone else manages these containers).
    CONFIRM_DESTRUCTIVE = "confirm_destructive"


#: What a backend that runs containers itself can do.
ACTIONS = frozenset(
    {
        Capability.CREATE,
        Capability.START,
        Capability.PAUSE,
        Capability.KILL,
        Capability.DELETE,
        Capability.EXEC,
        Capability.ATTACH,
        Capability.CHECKPOINT,
        Capability.RESTORE,
        Capability.LABELS,
    }
)


@dataclass(frozen=True)
class BackendInfo:
    """What the header says about a backend."""

    kind: Literal["engine", "containerd", "replay"]
    #: runc, crun, io.containerd.runc.v2 (a replay: the recorded one).
    runtime: str
    version: str = ""
    #: The engine's root directory, containerd's socket, or the session file.
    address: str = ""
    namespace: str = ""
    #: A replay: the backend the session was recorded on, where its header says (sessions
    #: from before that say nothing).
    recorded: BackendInfo | None = None


@dataclass(frozen=True)
class CommandSource:
    """Run ``args`` in a busybox bundle (the engine's containers)."""

    args: tuple[str, ...]


@dataclass(frozen=True)
class ImageSource:
    """Run ``args`` (the image's own command if empty) from an image in the store."""

    image: str
    args: tuple[str, ...] = ()


Source = CommandSource | ImageSource


def as_source(source: Source | Sequence[str]) -> Source:
    """A source; bare args (what ``create`` took before sources) are a CommandSource."""
    if isinstance(source, CommandSource | ImageSource):
        return source
    if isinstance(source, str):
        raise errors.InvalidArgument(f"a command is a list of arguments, not {source!r}")
    return CommandSource(tuple(source))


#: Called with (id, exec_id, columns, lines) when a backend sets a process's pty size.
PtyListener = Callable[[str, str, int, int], None]
#: Called with (id, exec_id, data) as input goes to a process's console, or (an output
#: listener) as its output comes to the UI.
InputListener = Callable[[str, str, bytes], None]
OutputListener = Callable[[str, str, bytes], None]


class UpdateFeed:
    """The queue between a backend's producers and its one consumer of updates."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[Update | None] = asyncio.Queue()

    def put(self, update: Update) -> None:
        self._queue.put_nowait(update)

    def end(self) -> None:
        self._queue.put_nowait(None)

    async def __aiter__(self) -> AsyncIterator[Update]:
        while (update := await self._queue.get()) is not None:
            yield update


#: Size a new pty gets until a console pane says otherwise.
DEFAULT_PTY = (80, 24)


class Console(abc.ABC):
    """One process's stdio as the console pane sees it."""

    #: True for a pty: keys go in, the pane size goes to the pty. False: output only.
    terminal: bool
    #: Shown in the console bar once the stream has ended.
    end_note: str = "output ended"
    #: A fixed terminal size (columns, lines) to show the output at, framed in the pane:
    #: a recording's, which cannot follow the pane. None: the pane's size.
    size: tuple[int, int] | None = None

    @abc.abstractmethod
    def backlog(self) -> bytes:
        """Output produced before the attach (the engine keeps the most recent part)."""

    @abc.abstractmethod
    def stream(self) -> AsyncIterator[bytes]:
        """Output from now on; ends when the process's output ends. Call right after backlog."""

    @abc.abstractmethod
    def write(self, data: bytes) -> None:
        """Send input to the process; raises an engine error when it cannot."""

    @abc.abstractmethod
    async def resize(self, width: int, height: int) -> None:
        """Set the pty size (terminal processes only)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Stop the stream (the process goes on)."""

    def stamped_backlog(self) -> list[tuple[float, bytes]]:
        """The backlog as pieces with the time each was read (``time.time()``)."""
        data = self.backlog()
        return [(time.time(), data)] if data else []

    def stream_stamped(self) -> AsyncIterator[list[tuple[float, bytes]]]:
        """The stream as lists of pieces with their read times. Call right after
        :meth:`stamped_backlog` (the stream starts at the call, not at the first read)."""
        return _stamp_now(self.stream())

    def log_files(self) -> list[Path]:
        """The process's output log, oldest part first (none: the backend keeps no log)."""
        return []


class DrainedIO(Protocol):
    """A process's stdio that its backend keeps drained (the engine's, or containerd FIFOs)."""

    def backlog(self) -> bytes: ...
    def stream(self) -> OutputStream: ...
    def write(self, data: bytes) -> None: ...


class DrainedConsole(Console):
    """A console that only looks at output its backend drains: closing it stops its stream."""

    def __init__(self, io: DrainedIO) -> None:
        self._io = io
        self._stream: OutputStream | None = None

    def backlog(self) -> bytes:
        return self._io.backlog()

    def stream(self) -> AsyncIterator[bytes]:
        self._stream = self._io.stream()
        return self._stream

    def write(self, data: bytes) -> None:
        self._io.write(data)

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()


async def _stamp_now(chunks: AsyncIterator[bytes]) -> AsyncIterator[list[tuple[float, bytes]]]:
    async for chunk in chunks:
        yield [(time.time(), chunk)]


class Backend(abc.ABC):
    """What the UI needs from an engine."""

    info: BackendInfo
    #: What the UI may offer; actions outside it are disabled, not refused one by one.
    capabilities: frozenset[Capability] = ACTIONS

    def __init__(self) -> None:
        self._pty_listeners: list[PtyListener] = []
        self._input_listeners: list[InputListener] = []
        self._output_listeners: list[OutputListener] = []

    @abc.abstractmethod
    def updates(self) -> AsyncIterator[Update]:
        """The stream of updates; the first is a :class:`Resynced`. One consumer only."""

    @abc.abstractmethod
    async def close(self) -> None:
        """End the updates and stop background work (stats, replay, draining)."""

    @abc.abstractmethod
    def now(self) -> datetime:
        """The clock uptimes are measured against (frozen in a deterministic replay)."""

    def set_stats_targets(self, ids: Iterable[str]) -> None:  # noqa: B027 - optional
        """The tasks whose stats the UI shows; only those are sampled (1 Hz)."""

    async def namespaces(self) -> list[tuple[str, int]]:
        """The namespaces there are, each with its container count (none: no namespaces)."""
        return []

    async def switch_namespace(self, namespace: str) -> None:
        """Watch another namespace: the updates go on with a :class:`Resynced` of it."""
        raise errors.FailedPrecondition(f"{self.info.kind} has no namespaces")

    def watch_execs(self, id: str | None) -> None:  # noqa: B027 - optional
        """The task whose execs the UI shows now (None: none). A backend that learns execs
        only when asked (containerd's ``ListPids``) asks now and on that task's exec events;
        one that reports every exec anyway needs nothing."""

    def confirm_text(self, id: str, action: str) -> str | None:
        """With CONFIRM_DESTRUCTIVE: the question to ask before ``action`` on ``id``."""
        return None

    def empty_note(self) -> str | None:
        """What the containers pane says while it has no rows, where that is more than
        "none" (a namespace that does not exist); None: the usual hint."""
        return None

    # -- hooks ------------------------------------------------------------------------------

    def add_pty_listener(self, listener: PtyListener) -> Callable[[], None]:
        """Call ``listener`` whenever this backend sets a pty's size; returns its remover."""
        self._pty_listeners.append(listener)
        return lambda: self._pty_listeners.remove(listener)

    def pty_resized(self, id: str, exec_id: str, columns: int, lines: int) -> None:
        """Tell the listeners (a backend calls this after it set a size)."""
        for listener in list(self._pty_listeners):
            listener(id, exec_id, columns, lines)

    def add_input_listener(self, listener: InputListener) -> Callable[[], None]:
        """Call ``listener`` as input goes to a console (benchmarks time keys from here);
        returns its remover."""
        self._input_listeners.append(listener)
        return lambda: self._input_listeners.remove(listener)

    def input_sent(self, id: str, exec_id: str, data: bytes) -> None:
        """Tell the listeners (a backend's console calls this as it writes)."""
        for listener in list(self._input_listeners):
            listener(id, exec_id, data)

    def add_output_listener(self, listener: OutputListener) -> Callable[[], None]:
        """Call ``listener`` as a console's output comes, before the UI has it (benchmarks
        time output to the screen from here); returns its remover."""
        self._output_listeners.append(listener)
        return lambda: self._output_listeners.remove(listener)

    def output_received(self, id: str, exec_id: str, data: bytes) -> None:
        """Tell the listeners (a backend's console calls this as output comes; the live
        backend's does)."""
        for listener in list(self._output_listeners):
            listener(id, exec_id, data)

    # -- actions --------------------------------------------------------------------------

    @abc.abstractmethod
    async def create(
        self, id: str, source: Source | Sequence[str], *, terminal: bool, labels: Mapping[str, str]
    ) -> None:
        """Create a container from ``source`` (see :func:`as_source`) without starting it."""

    @abc.abstractmethod
    async def start(self, id: str, exec_id: str = "") -> None:
        """Start the task (creating it, or re-creating a stopped one) or a created exec."""

    @abc.abstractmethod
    async def pause(self, id: str) -> None: ...

    @abc.abstractmethod
    async def resume(self, id: str) -> None: ...

    @abc.abstractmethod
    async def kill(self, id: str, signal: int, *, all: bool = False, exec_id: str = "") -> None: ...

    @abc.abstractmethod
    async def delete(self, id: str, exec_id: str = "") -> None:
        """Delete an exec, or a container with its (stopped or created) task."""

    @abc.abstractmethod
    async def exec(self, id: str, exec_id: str, args: Sequence[str], *, terminal: bool) -> None:
        """Add an exec to a task and start it."""

    @abc.abstractmethod
    async def checkpoint(self, id: str, path: str, *, exit: bool = False) -> None: ...

    @abc.abstractmethod
    async def restore(self, id: str, path: str, *, new_id: str = "") -> None:
        """Restore container ``id``'s task from the checkpoint at ``path`` (a stopped task
        is deleted first); with ``new_id``, into a new container from the same bundle."""

    @abc.abstractmethod
    async def set_labels(self, id: str, labels: Mapping[str, str]) -> None: ...

    async def images(self) -> list[str]:
        """Images an :class:`ImageSource` may name (none: the backend runs commands)."""
        return []

    @abc.abstractmethod
    def console(self, id: str, exec_id: str = "") -> Console:
        """The stdio of the task's init (or an exec), to attach the console pane to."""
