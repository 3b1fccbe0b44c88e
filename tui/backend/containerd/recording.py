"""``--record`` on containerd until recording wraps any backend (issue 8's seam).

The backend posts events and stats to its target; a :class:`RecordingTarget` in between
writes each one (with the state of the container it names, as :mod:`..live` does) before
passing it on. Console output is not recorded here: the seam's wrapper will do it for every
backend at once.
"""

from __future__ import annotations

from typing import Any

from textual.message_pump import MessagePump

from ...messages import EngineEvent, StatsSample
from ..recording import Recorder
from .backend import ContainerdBackend


class RecordingTarget:
    """Stands between the backend and the app; records what passes."""

    def __init__(self, target: MessagePump, backend: ContainerdBackend, recorder: Recorder):
        self._target, self._backend, self._recorder = target, backend, recorder

    def post_message(self, message: Any) -> bool:
        if isinstance(message, EngineEvent):
            if message.event.container_id:
                self.state(message.event.container_id)
            self._recorder.event(message.event)
        elif isinstance(message, StatsSample):
            self._recorder.stats(message.id, message.stats)
        return self._target.post_message(message)

    def state(self, id: str) -> None:
        b = self._backend
        self._recorder.state(id, b.container(id), b.task(id), b.execs(id))


class RecordingContainerdBackend(ContainerdBackend):
    """A :class:`ContainerdBackend` whose session goes to :attr:`recorder` as well."""

    recorder: Recorder | None = None

    def connect(self, target: MessagePump) -> None:
        if self.recorder is None:
            super().connect(target)
            return
        proxy = RecordingTarget(target, self, self.recorder)
        for c in self.containers():
            proxy.state(c.id)
        super().connect(proxy)  # type: ignore[arg-type]

    async def disconnect(self) -> None:
        await super().disconnect()
        if self.recorder is not None:
            self.recorder.close()
            self.recorder = None
