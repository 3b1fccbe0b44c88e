"""The process state machine, one class per state (after containerd's init_state.go).

A state lists the operations it allows; anything else is refused with FailedPrecondition
naming the state, before the runtime binary is ever called.
"""

from __future__ import annotations

from typing import ClassVar

from . import errors


class State:
    name: ClassVar[str]
    allowed: ClassVar[frozenset[str]]

    @classmethod
    def check(cls, op: str, what: str) -> None:
        if op not in cls.allowed:
            raise errors.FailedPrecondition(f"cannot {op} {what} in {cls.name} state")


class Created(State):
    name = "created"
    allowed = frozenset({"start", "delete", "kill", "exec", "update", "resize", "close_io"})


class Running(State):
    name = "running"
    allowed = frozenset({"pause", "checkpoint", "update", "exec", "kill", "resize", "close_io"})


class Pausing(State):
    """Between asking the runtime to freeze and it confirming; only a kill gets through."""

    name = "pausing"
    allowed = frozenset({"kill"})


class Paused(State):
    name = "paused"
    allowed = frozenset({"resume", "checkpoint", "update", "kill", "close_io"})


class Stopped(State):
    name = "stopped"
    allowed = frozenset({"delete"})

    @classmethod
    def check(cls, op: str, what: str) -> None:
        if op == "kill":
            raise errors.NotFound(f"{what} has already exited")
        super().check(op, what)


class Deleted(State):
    name = "deleted"
    allowed: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def check(cls, op: str, what: str) -> None:
        raise errors.NotFound(f"{what} was deleted")


#: Execs: created -> running -> stopped -> deleted; no pause of their own.
class ExecCreated(Created):
    allowed = frozenset({"start", "delete", "resize", "close_io"})


class ExecRunning(Running):
    allowed = frozenset({"kill", "resize", "close_io"})
