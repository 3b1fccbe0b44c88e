"""The seam between the UI and whatever runs containers.

The UI sees only :class:`Backend`: synchronous reads of current state, async actions that
raise ``runtime.errors.Error`` subclasses with user-readable messages, and a stream of
Textual messages (engine events, stats samples) posted to the app. :mod:`.live` implements
it over a real :class:`runtime.Engine`; :mod:`.replay` over a recorded session file.
"""

from __future__ import annotations

import abc
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol

from textual.message_pump import MessagePump

from runtime import Checkpoint, Container, TaskInfo
from runtime.stdio import OutputStream

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

    #: Shown in the title: "runc", "crun", "replay".
    runtime_name: str = ""
    #: A subtitle for the header (root directory, replayed file).
    description: str = ""

    @abc.abstractmethod
    def connect(self, target: MessagePump) -> None:
        """Start posting :mod:`tui.messages` to ``target`` (events, stats)."""

    @abc.abstractmethod
    async def disconnect(self) -> None:
        """Stop posting messages and stop background work (stats, replay, recording)."""

    @abc.abstractmethod
    def now(self) -> datetime:
        """The clock uptimes are measured against (frozen in a deterministic replay)."""

    # -- state ----------------------------------------------------------------------------

    @abc.abstractmethod
    def containers(self) -> list[Container]: ...

    @abc.abstractmethod
    def container(self, id: str) -> Container | None: ...

    @abc.abstractmethod
    def task(self, id: str) -> TaskInfo | None: ...

    @abc.abstractmethod
    def execs(self, id: str) -> list[TaskInfo]: ...

    def checkpoints(self, id: str) -> list[Checkpoint]:
        """The checkpoints of a container, newest first (none where the backend keeps none)."""
        return []

    def set_stats_targets(self, ids: Iterable[str]) -> None:  # noqa: B027 - optional
        """The tasks whose stats the UI shows; only those are sampled (1 Hz)."""

    # -- actions --------------------------------------------------------------------------

    @abc.abstractmethod
    async def create(
        self, id: str, args: Sequence[str], *, terminal: bool, labels: Mapping[str, str]
    ) -> None:
        """Create a container running ``args`` (a busybox bundle) without starting it."""

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

    @abc.abstractmethod
    def console(self, id: str, exec_id: str = "") -> Console:
        """The stdio of the task's init (or an exec), to attach the console pane to."""
