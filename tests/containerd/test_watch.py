"""The reconnecting event watch: containerd stopped mid-watch, then started again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

from tui.backend.containerd.client import Client
from tui.backend.containerd.events import Envelope
from tui.backend.containerd.watch import Connection

from .daemon import Daemon


async def create(client: Client, id: str) -> None:
    """A container needs neither an image nor a snapshot to exist (and make an event)."""
    await client.create_container(
        id, image="none", spec={"ociVersion": "1.0.2"}, snapshot_key="", snapshotter=""
    )


async def next_item(stream: AsyncGenerator[Envelope | Connection, None]) -> Envelope | Connection:
    async with asyncio.timeout(20):  # a safety net: containerd restarts in about a second
        return await anext(stream)


async def test_watch_survives_a_restart(spare: Daemon) -> None:
    client = await Client.connect(str(spare.socket), spare.namespace)
    stream = client.watch()
    try:
        assert await next_item(stream) == Connection("connected")
        await create(client, "before")
        item = await next_item(stream)
        assert isinstance(item, Envelope)
        assert (item.event.topic, item.event.container_id) == ("/containers/create", "before")

        await asyncio.to_thread(spare.halt)
        down = await next_item(stream)
        assert isinstance(down, Connection) and down.state == "disconnected" and not down.live
        assert down.detail

        await asyncio.to_thread(spare.start)
        assert await next_item(stream) == Connection("reconnected")
        # What happened while it was down is the consumer's to relist; events flow again.
        assert [c.id for c in await client.containers()] == ["before"]
        await create(client, "after")
        item = await next_item(stream)
        assert isinstance(item, Envelope)
        assert (item.event.topic, item.event.container_id) == ("/containers/create", "after")
    finally:
        await stream.aclose()
        for c in await client.containers():
            await client.delete_container(c.id)
        await client.close()


async def test_watch_starts_while_containerd_is_down(spare: Daemon) -> None:
    client = await Client.connect(str(spare.socket), spare.namespace)
    await asyncio.to_thread(spare.halt)
    stream = client.watch()
    try:
        down = await next_item(stream)
        assert isinstance(down, Connection) and down.state == "disconnected"
        await asyncio.to_thread(spare.start)
        assert await next_item(stream) == Connection("reconnected")
    finally:
        await stream.aclose()
        await client.close()
