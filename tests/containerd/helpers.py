"""Small steps the containerd tests share: a container from the test image, event waits."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence

from runtime import Event, errors
from tui.backend.base import Backend, EventSeen, Update
from tui.backend.containerd.client import Client, Subscription
from tui.backend.containerd.records import ContainerRecord, Mount
from tui.backend.containerd.spec import container_spec

from .daemon import SNAPSHOTTER, Daemon


async def make_container(
    client: Client,
    daemon: Daemon,
    id: str,
    args: Sequence[str],
    *,
    terminal: bool = False,
    size: tuple[int, int] | None = None,
    labels: dict[str, str] | None = None,
) -> tuple[ContainerRecord, list[Mount]]:
    assert daemon.image is not None
    async with client.lease() as leased:
        mounts = await leased.prepare_snapshot(id, daemon.image.chain_id, snapshotter=SNAPSHOTTER)
        record = await leased.create_container(
            id,
            image=daemon.image.name,
            spec=container_spec(client.namespace, id, args, terminal=terminal, size=size),
            snapshot_key=id,
            snapshotter=SNAPSHOTTER,
            labels=labels,
        )
    return record, mounts


async def remove_container(client: Client, id: str) -> None:
    """Delete a stopped task (if any), the container's snapshot, then the container (as
    containerd's own client does: once the container is gone, its snapshot is garbage)."""
    with contextlib.suppress(errors.NotFound):
        await client.delete_task(id)
    await client.remove_snapshot(id, snapshotter=SNAPSHOTTER)
    await client.delete_container(id)


async def next_event(
    sub: Subscription, match: Callable[[Event], bool], timeout: float = 10.0
) -> Event:
    """The first event of ``sub`` that matches (a safety-net timeout only)."""
    async with asyncio.timeout(timeout):
        async for envelope in sub:
            if match(envelope.event):
                return envelope.event
    raise AssertionError("the event stream ended")


class Target:
    """Stands in for the app: the one consumer of the backend's updates, keeping them."""

    def __init__(self, backend: Backend) -> None:
        self.updates: list[Update] = []
        self._changed = asyncio.Event()
        self._follower = asyncio.ensure_future(self._follow(backend.updates()))

    async def _follow(self, updates: AsyncIterator[Update]) -> None:
        async for update in updates:
            self.updates.append(update)
            self._changed.set()

    async def wait(self, match: Callable[[Update], bool], timeout: float = 10.0) -> Update:
        """The first update so far, or from now on, that matches."""
        seen = 0
        async with asyncio.timeout(timeout):
            while True:
                for u in self.updates[seen:]:
                    if match(u):
                        return u
                seen = len(self.updates)
                self._changed.clear()
                await self._changed.wait()

    async def event(self, match: Callable[[Event], bool], timeout: float = 10.0) -> Event:
        """The first event seen so far, or from now on, that matches."""
        u = await self.wait(lambda u: isinstance(u, EventSeen) and match(u.event), timeout)
        assert isinstance(u, EventSeen)
        return u.event

    async def stop(self) -> None:
        self._follower.cancel()
        await asyncio.gather(self._follower, return_exceptions=True)
