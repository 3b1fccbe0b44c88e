"""The console of a container the CRI made: its kubelet log file, tailed live.

The CRI runtime, not shimdeck, owns such a container's stdio (its output goes to the log
the kubelet asked for, and stdin is not ours to write), so the pane shows that log: the
bounded backlog, then whatever is written, across the kubelet's rotations, each line at the
time the CRI stamped it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from runtime import errors

from ..base import Console
from . import cri
from .crilog import CriDecoder, LogTail, Stamped, rotated

#: How often the tail looks for more output.
TAIL_INTERVAL = 0.1


def resolve(path_or_dir: Path) -> Path:
    """A log file as given; for a container's log directory, its newest attempt's log."""
    if path_or_dir.is_dir():
        found = cri.attempts(path_or_dir)
        return path_or_dir / f"{found[-1] if found else 0}.log"
    return path_or_dir


def console_for(
    identity: cri.CriIdentity,
    sandbox: cri.CriIdentity | None = None,
    *,
    running: Callable[[], bool] | None = None,
    root: Path = cri.POD_LOGS_ROOT,
) -> CriLogConsole:
    """The console of a CRI container (``sandbox``: its pod's sandbox, found by
    ``identity.sandbox_id``, whose spec records the pod's log directory); raises
    ``errors.NotFound`` for a sandbox, which has no log of its own."""
    try:
        path = cri.log_path(identity, sandbox, root)
    except ValueError as e:
        raise errors.NotFound(str(e)) from None
    return CriLogConsole(path, running=running)


class CriLogConsole(Console):
    """A CRI container's log: output only. ``running`` says whether the container still
    runs (the stream ends once it does not and the file has nothing more); without it the
    stream goes on until :meth:`close`."""

    terminal = False
    end_note = "container exited: end of its log"

    def __init__(
        self,
        path_or_dir: Path | str,
        *,
        running: Callable[[], bool] | None = None,
        interval: float = TAIL_INTERVAL,
    ) -> None:
        self.path = resolve(Path(path_or_dir))
        self._running = running
        self._interval = interval
        self._tail = LogTail(self.path)
        self._decoder = CriDecoder()
        self._closed = False
        self._streaming = False

    def stamped_backlog(self) -> list[Stamped]:
        return self._decoder.feed(self._tail.backlog())

    def backlog(self) -> bytes:
        return b"".join(data for _, data in self.stamped_backlog())

    async def stream_stamped(self) -> AsyncIterator[list[Stamped]]:
        self._streaming = True
        try:
            while not self._closed:
                data = await asyncio.to_thread(self._tail.read)
                if data:
                    if pieces := self._decoder.feed(data):
                        yield pieces
                    continue
                if self._running is not None and not self._running():
                    # One last look: the runtime may have written its last lines meanwhile.
                    last = self._decoder.feed(await asyncio.to_thread(self._tail.read))
                    if last := last + self._decoder.flush():
                        yield last
                    return
                await asyncio.sleep(self._interval)
        finally:
            self._tail.close()

    async def stream(self) -> AsyncIterator[bytes]:
        async for pieces in self.stream_stamped():
            yield b"".join(data for _, data in pieces)

    def write(self, data: bytes) -> None:
        raise errors.FailedPrecondition(
            "the console shows the kubelet's log file: logs of a CRI container are "
            "read-only; use exec"
        )

    async def resize(self, width: int, height: int) -> None:
        return None

    def close(self) -> None:
        self._closed = True
        if not self._streaming:
            # A stream closes the file itself, between reads (never under one).
            self._tail.close()

    def log_files(self) -> list[Path]:
        return [*rotated(self.path), self.path]
