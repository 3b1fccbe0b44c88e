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
        state: type[states.State] | None = None,
    ) -> None:
        self.task_id = task_id
        self.exec_id = exec_id
        self.args = args
        self.io = io
        self.spec = spec
        #: Where the process starts: created, or for a task taken over, what the runtime says.
        self._state: type[states.State] = state or (
            states.ExecCreated if exec_id else states.Created
        )
        self.pid = 0
        self.started_at: datetime | None = None
        #: The reaped exit, known before it is published.
        self.exit: Exit | None = None
        #: Resolved when the exit event has been published: what ``wait`` returns.
        self.published: asyncio.Future[ExitInfo] = asyncio.get_running_loop().create_future()
        #: A start under way: its event must be published before this process's exit.
        self.starting = False

    @property
    def what(self) -> str:
        if self.exec_id:
            return f"exec {self.exec_id!r} of task {self.task_id!r}"
        return f"task {self.task_id!r}"

    @property
    def state(self) -> type[states.State]:
        return self._state

    def check(self, op: str) -> None:
        self._state.check(op, self.what)

    def transition(self, to: type[states.State]) -> None:
        """Move to state ``to``, or raise FailedPrecondition if the current one forbids it."""
        self._state = self._state.transition(to, self.what)

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
    #: No pid namespace of its own: when the init exits the kernel kills nothing else.
    kill_all_on_exit: bool = False
    #: Set at each exec exit published (and each exec start that ends): the init's exit may
    #: be waiting for them.
    exec_exited: asyncio.Event = field(default_factory=asyncio.Event)
    #: Publishes the init's exit once the rest of the task is gone (see Tasks._handle_init_exit).
    init_exit: asyncio.Task[None] | None = None
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

    def running_execs(self) -> list[Process]:
        """Execs started or being started whose exit is not published yet."""
        return [e for e in self.execs.values() if e.starting or e.running]
