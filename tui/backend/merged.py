"""The merged logs of several processes as one console (``L`` on the main screen).

Each source's output is cut into whole lines; each line is prefixed with its container id,
in a colour of its own (SGR, which the log pane obeys), and stamped with the time the
engine read its end. The backlogs are merged by those times; live lines are handed on in
the order they were read (a batch that arrives together is sorted by time). A line still
open when its output ends is handed on as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
from collections.abc import AsyncIterator, Sequence

from .base import Console

Stamped = tuple[float, bytes]

#: SGR colours of the prefixes, in the order containers get them.
COLOURS = ("36", "33", "35", "32", "34", "31", "96", "93", "95", "92", "94", "91")


class MergedConsole(Console):
    terminal = False
    end_note = "every output ended"

    def __init__(self, sources: Sequence[tuple[str, Console]]) -> None:
        if not sources:
            raise ValueError("merged logs need at least one source")
        self.sources = list(sources)
        width = max(len(id) for id, _ in self.sources)
        self._prefix = {
            id: f"\x1b[{COLOURS[i % len(COLOURS)]}m{id:<{width}}\x1b[0m ".encode()
            for i, (id, _) in enumerate(self.sources)
        }
        self._partial = {id: b"" for id, _ in self.sources}
        self._tasks: list[asyncio.Task[None]] = []
        self._queue: asyncio.Queue[list[Stamped] | None] = asyncio.Queue()

    @property
    def prefixes(self) -> list[str]:
        """What starts each line: the container id in its colour (not the process's)."""
        return [prefix.decode() for prefix in self._prefix.values()]

    @property
    def ids(self) -> list[str]:
        return [id for id, _ in self.sources]

    def _lines(self, id: str, stamp: float, data: bytes) -> list[Stamped]:
        *complete, rest = (self._partial[id] + data).split(b"\n")
        self._partial[id] = rest
        prefix = self._prefix[id]
        return [(stamp, prefix + line + b"\n") for line in complete]

    def _rest(self, id: str, stamp: float) -> list[Stamped]:
        rest, self._partial[id] = self._partial[id], b""
        return [(stamp, self._prefix[id] + rest + b"\n")] if rest else []

    def backlog(self) -> bytes:
        return b"".join(data for _, data in self.stamped_backlog())

    def stamped_backlog(self) -> list[Stamped]:
        per_source = []
        for id, console in self.sources:
            lines: list[Stamped] = []
            for stamp, data in console.stamped_backlog():
                lines += self._lines(id, stamp, data)
            per_source.append(lines)
        return list(heapq.merge(*per_source, key=lambda piece: piece[0]))

    def stream(self) -> AsyncIterator[bytes]:
        return self._bytes(self.stream_stamped())

    @staticmethod
    async def _bytes(pieces: AsyncIterator[list[Stamped]]) -> AsyncIterator[bytes]:
        async for batch in pieces:
            yield b"".join(data for _, data in batch)

    def stream_stamped(self) -> AsyncIterator[list[Stamped]]:
        # Every source's stream is opened now, right after the backlogs were taken.
        streams = [(id, console.stream_stamped()) for id, console in self.sources]
        self._tasks = [asyncio.ensure_future(self._pump(id, s)) for id, s in streams]
        return self._merge(len(streams))

    async def _pump(self, id: str, stream: AsyncIterator[list[Stamped]]) -> None:
        last = 0.0
        try:
            async for pieces in stream:
                lines: list[Stamped] = []
                for stamp, data in pieces:
                    lines += self._lines(id, stamp, data)
                    last = stamp
                if lines:
                    self._queue.put_nowait(lines)
        finally:
            rest = self._rest(id, last)
            if rest:
                self._queue.put_nowait(rest)
            self._queue.put_nowait(None)

    async def _merge(self, sources: int) -> AsyncIterator[list[Stamped]]:
        open_ = sources
        while open_:
            batch: list[Stamped] = []
            item = await self._queue.get()
            while True:
                if item is None:
                    open_ -= 1
                else:
                    batch += item
                if self._queue.empty() or not open_:
                    break
                item = self._queue.get_nowait()
            if batch:
                batch.sort(key=lambda piece: piece[0])
                yield batch

    def write(self, data: bytes) -> None:
        """Merged logs take no input (the pane is read-only)."""

    async def resize(self, width: int, height: int) -> None:
        """Logs have no tty to size."""

    def close(self) -> None:
        for _, console in self.sources:
            console.close()
        for task in self._tasks:
            task.cancel()
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)
