"""Fan-out of engine events to any number of subscribers.

Each subscriber has its own bounded queue. Publishing never blocks and never waits on a
reader: when a subscriber's queue is full its oldest event is dropped, and the next thing it
reads is an ``/events/lagged`` event counting what it missed (the seed had one shared channel
whose full buffer blocked every producer).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from types import TracebackType

from .types import Event

TASK_CREATE = "/tasks/create"
TASK_START = "/tasks/start"
TASK_EXIT = "/tasks/exit"
TASK_PAUSED = "/tasks/paused"
TASK_RESUMED = "/tasks/resumed"
TASK_DELETE = "/tasks/delete"
TASK_OOM = "/tasks/oom"
TASK_EXEC_ADDED = "/tasks/exec-added"
TASK_EXEC_STARTED = "/tasks/exec-started"
TASK_CHECKPOINTED = "/tasks/checkpointed"
CONTAINER_CREATE = "/containers/create"
CONTAINER_UPDATE = "/containers/update"
CONTAINER_DELETE = "/containers/delete"
LAGGED = "/events/lagged"

DEFAULT_QUEUE = 4096


class Subscription:
    """A registered reader of events: iterate it with ``async for``; close it when done.

    It is registered when created, so every event published after ``subscribe()`` returns
    is seen, even before the first ``__anext__``.
    """

    def __init__(
        self,
        bus: EventBus,
        maxsize: int,
        accept: Callable[[Event], bool] | None,
    ) -> None:
        self._bus = bus
        self._queue: deque[Event] = deque()
        self._maxsize = maxsize
        self._accept = accept
        self._dropped = 0
        self._wakeup: asyncio.Event = asyncio.Event()
        self.closed = False

    def _offer(self, event: Event) -> None:
        if self._accept is not None and not self._accept(event):
            return
        if len(self._queue) >= self._maxsize:
            self._queue.popleft()
            self._dropped += 1
        self._queue.append(event)
        self._wakeup.set()

    def get_nowait(self) -> Event | None:
        """The next event, a lagged marker, or None when nothing is queued."""
        if self._dropped:
            dropped, self._dropped = self._dropped, 0
            return Event(LAGGED, "", datetime.now(UTC), dropped=dropped)
        if self._queue:
            return self._queue.popleft()
        return None

    async def get(self) -> Event:
        while True:
            event = self.get_nowait()
            if event is not None:
                return event
            if self.closed:
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        return await self.get()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._bus._remove(self)
            self._wakeup.set()

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class EventBus:
    def __init__(self) -> None:
        self._subs: list[Subscription] = []
        self._listeners: list[Callable[[Event], None]] = []

    def subscribe(
        self,
        *,
        maxsize: int = DEFAULT_QUEUE,
        accept: Callable[[Event], bool] | None = None,
    ) -> Subscription:
        sub = Subscription(self, maxsize, accept)
        self._subs.append(sub)
        return sub

    def add_listener(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``callback`` synchronously for each event; returns a function that removes it.

        For in-process consumers (the recorder, the UI bridge) that must not fall behind.
        A callback must be quick and must not raise.
        """
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback)

    def _remove(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)

    def publish(self, event: Event) -> None:
        for sub in self._subs:
            sub._offer(event)
        for listener in list(self._listeners):
            listener(event)

    def close(self) -> None:
        for sub in list(self._subs):
            sub.close()
