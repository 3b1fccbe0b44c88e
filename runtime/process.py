"""The engine's view of a task (a container's init process) and of its exec processes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import errors, states
from .cgroups import OomWatch
from .reaper import Exit
from .stdio import ProcessIO
from .types import Container, ExitInfo, TaskInfo


class Process:
    """One process: the init of a task (``exec_id == ""``) or an exec inside it."""

    def __init__(
        self,
        task_id: str,
        exec_id: str,
        *,
        args: tuple[str, ...],
        io: ProcessIO,
        spec: dict[str, Any] | None = None,
    ) -> None:
        self.task_id = task_id
        self.exec_id = exec_id
        self.args = args
        self.io = io
        self.spec = spec
        self.state: type[states.State] = states.ExecCreated if exec_id else states.Created
        self.pid = 0
        self.started_at: datetime | None = None
        #: The reaped exit, known before it is published.
        self.exit: Exit | None = None
        #: Resolved when the exit event has been published: what ``wait`` returns.
        self.published: asyncio.Future[ExitInfo] = asyncio.get_running_loop().create_future()
        #: Operations in flight whose event must be published before this process's exit.
        self.holds = 0

    @property
    def what(self) -> str:
        if self.exec_id:
            return f"exec {self.exec_id!r} of task {self.task_id!r}"
        return f"task {self.task_id!r}"

    def check(self, op: str) -> None:
        self.state.check(op, self.what)

    @property
    def running(self) -> bool:
        """Started and its exit not yet published."""
        return self.pid != 0 and not self.published.done()

    def info(self, bundle: Path) -> TaskInfo:
        done = self.published.result() if self.published.done() else None
        return TaskInfo(
            id=self.task_id,
            exec_id=self.exec_id,
            pid=self.pid,
            status=self.state.name,
            bundle=bundle,
            terminal=self.io.terminal,
            exit_status=done.exit_status if done else None,
            exited_at=done.exited_at if done else None,
            started_at=self.started_at,
            args=self.args,
        )


@dataclass
class Task:
    container: Container
    dir: Path
    init: Process
    execs: dict[str, Process] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    adopted: bool = False
    oom: OomWatch | None = None
    #: Its cgroup directories, found at the first stats call.
    cgroups: dict[str, Path] | None = None
    #: The spec's process section at create: what execs start from.
    base_process: dict[str, Any] | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def id(self) -> str:
        return self.container.id

    def process(self, exec_id: str) -> Process:
        if not exec_id:
            return self.init
        try:
            return self.execs[exec_id]
        except KeyError:
            raise errors.NotFound(f"exec {exec_id!r} of task {self.id!r} not found") from None

    def processes(self) -> list[Process]:
        return [self.init, *self.execs.values()]
