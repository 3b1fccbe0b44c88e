"""The process state machine, one class per state (after containerd's init_state.go).

A state lists the operations it allows, and the states it may move to. An operation it does
not allow is refused with FailedPrecondition naming the state, before the runtime binary is
ever called; a move it does not allow is a bug of the engine's, refused the same way
(containerd: "invalid state transition") rather than leaving a process in a state it cannot
be in.
"""

from __future__ import annotations

from typing import ClassVar

from . import errors


class State:
    name: ClassVar[str]
    allowed: ClassVar[frozenset[str]]
    #: The states a process in this one may move to (filled in below, once all exist).
    moves: ClassVar[frozenset[type[State]]] = frozenset()

    @classmethod
    def check(cls, op: str, what: str) -> None:
        if op not in cls.allowed:
            raise errors.FailedPrecondition(f"cannot {op} {what} in {cls.name} state")

    @classmethod
    def transition(cls, to: type[State], what: str) -> type[State]:
        """Return ``to`` if this state may move to it, else refuse naming both."""
        if to not in cls.moves:
            raise errors.FailedPrecondition(
                f"invalid state transition of {what} from {cls.name} to {to.name}"
            )
        return to


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


# A created task may exit before it starts (killed, or its init failing); a pause that fails
# goes back to running; any live state can end in an exit; only an exit is deleted. An exec
# never started is deleted as it is, and one whose exit never came goes with its task.
Created.moves = frozenset({Running, Stopped})
Running.moves = frozenset({Pausing, Stopped})
Pausing.moves = frozenset({Paused, Running, Stopped})
Paused.moves = frozenset({Running, Stopped})
Stopped.moves = frozenset({Deleted})
ExecCreated.moves = frozenset({ExecRunning, Deleted})
ExecRunning.moves = frozenset({Stopped, Deleted})
