"""What a recording script drives a backend with: the UI's model, kept from its updates.

A script is the backend's one consumer of updates (as the app would be), so a recording
wrapped around it records them, and the script waits on the same rows the UI would show.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from ..backend.base import Backend, Update
from ..model import Model


class Driver:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.model = Model()
        self._follower: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Driver:
        self._follower = asyncio.ensure_future(self._follow(self.backend.updates()))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follower

    async def _follow(self, updates: AsyncIterator[Update]) -> None:
        async for update in updates:
            self.model.apply(update)

    async def wait_for(self, predicate: Callable[[], object], timeout: float = 10.0) -> None:
        """Poll ``predicate`` (a script's own pace, not a test's) until it holds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() > deadline:
                raise TimeoutError("the recorded session did not reach its next step")
            await asyncio.sleep(0.05)

    def status(self, id: str, exec_id: str = "") -> str:
        row = self.model.rows.get(id)
        if row is None:
            return "gone"
        if not exec_id:
            return row.status
        return next((e.status for e in row.execs if e.exec_id == exec_id), "gone")
