"""Small steps the containerd tests share: a container from the test image, event waits."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from runtime import Event, errors
from tui.backend.containerd.client import Client, Subscription
from tui.backend.containerd.records import ContainerRecord, Mount
from tui.backend.containerd.spec import container_spec
from tui.messages import EngineEvent

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
    """Stands in for the app: keeps what the backend posts."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self._changed = asyncio.Event()

    def post_message(self, message: Any) -> bool:
        self.messages.append(message)
        self._changed.set()
        return True

    async def event(self, match: Callable[[Any], bool], timeout: float = 10.0) -> Any:
        """The first event posted so far, or from now on, that matches."""
        seen = 0
        async with asyncio.timeout(timeout):
            while True:
                for m in self.messages[seen:]:
                    if isinstance(m, EngineEvent) and match(m.event):
                        return m.event
                seen = len(self.messages)
                self._changed.clear()
                await self._changed.wait()
