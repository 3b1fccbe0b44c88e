"""containerd's event stream that outlives containerd restarts.

:func:`watch` yields the namespace's decoded events and, between them, :class:`Connection`
markers: ``connected`` once the first subscription is live (list now: no later event is
missed), ``disconnected`` when the stream breaks, ``reconnected`` once a new subscription is
live again (whatever happened meanwhile is unknown: the consumer must resync). While
containerd is down it retries with a backoff doubling from :data:`RETRY_FIRST` to
:data:`RETRY_MAX` seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Literal

from runtime import errors

from .client import Client
from .events import Envelope

RETRY_FIRST, RETRY_MAX = 0.1, 2.0

State = Literal["connected", "disconnected", "reconnected"]


@dataclass(frozen=True)
class Connection:
    """A change of the stream's state; ``detail`` says why it broke."""

    state: State
    detail: str = ""

    @property
    def live(self) -> bool:
        return self.state != "disconnected"


Watch = AsyncGenerator[Envelope | Connection, None]


async def watch(client: Client, *, first: float = RETRY_FIRST, most: float = RETRY_MAX) -> Watch:
    """Events of ``client``'s namespace, and :class:`Connection` markers, until cancelled."""
    delay = first
    announced: State | None = None
    while True:
        subscription = client.subscribe()
        try:
            await subscription.synced()
            announced = "connected" if announced is None else "reconnected"
            yield Connection(announced)
            delay = first
            async for envelope in subscription:
                yield envelope
            reason = "containerd ended the event stream"
        except errors.Error as e:
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        finally:
            subscription.close()
        if announced != "disconnected":
            # Once per outage (also when containerd was down from the start).
            announced = "disconnected"
            yield Connection(announced, reason)
        await asyncio.sleep(delay)
        delay = min(delay * 2, most)
