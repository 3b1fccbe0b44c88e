"""One options object per runtime command, after go-runc's ``CreateOpts``/``ExecOpts``/...

Each ``args()`` is the command line after the runtime's global flags, without the container
id; runc and crun take the same flags.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from typing import ClassVar

from . import errors

#: The namespaces CRIU may create empty on restore instead of restoring them (runc's flag).
NAMESPACES = frozenset({"network", "pid", "ipc", "uts", "mount", "user", "cgroup"})


def check_namespaces(names: Sequence[str]) -> tuple[str, ...]:
    """``names`` if each is a namespace CRIU can create empty, else InvalidArgument."""
    unknown = sorted(set(names) - NAMESPACES)
    if unknown:
        raise errors.InvalidArgument(
            f"empty_namespaces: unknown namespace {unknown[0]!r} (one of {sorted(NAMESPACES)})"
        )
    return tuple(names)


def _namespaces(names: Sequence[str]) -> list[str]:
    return [arg for ns in check_namespaces(names) for arg in ("--empty-ns", ns)]


def _flags(flags: dict[str, bool]) -> list[str]:
    return [flag for flag, on in flags.items() if on]


@dataclass(frozen=True, kw_only=True)
class LaunchOpts:
    """What every command that leaves a process behind takes (after go-runc's IO options).

    ``stdio`` (the process's 0/1/2) and ``console_socket`` are filled in by whoever wires the
    process's IO, just before the command runs.
    """

    command: ClassVar[str]
    #: The command runs CRIU, so it is given the engine's (see ``checkpoint.runtime_argv``).
    uses_criu: ClassVar[bool] = False
    pid_file: Path
    #: The runtime's JSON log: detached commands cannot tell us anything on stderr.
    log: Path
    stdio: tuple[int, int, int] | None = None
    console_socket: Path | None = None

    def args(self) -> list[str]:
        args = [*self.command.split(), "--pid-file", str(self.pid_file)]
        if self.console_socket is not None:
            args += ["--console-socket", str(self.console_socket)]
        return args


@dataclass(frozen=True, kw_only=True)
class CreateOpts(LaunchOpts):
    """``create``; with ``start``, ``run --detach`` (created and started in one command)."""

    command: ClassVar[str] = "create"
    bundle: Path
    start: bool = False

    def args(self) -> list[str]:
        args = super().args()
        if self.start:
            args[:1] = ["run", "--detach"]
        return [*args, "--bundle", str(self.bundle)]


@dataclass(frozen=True, kw_only=True)
class ExecOpts(LaunchOpts):
    """``exec --detach`` of a process spec written to ``process_file``."""

    command: ClassVar[str] = "exec --detach"
    process_file: Path

    def args(self) -> list[str]:
        return [*super().args(), "--process", str(self.process_file)]


@dataclass(frozen=True, kw_only=True)
class CriuOpts:
    """What CRIU is told of a task's resources: a restore must say what its checkpoint said."""

    tcp_established: bool = False
    ext_unix_sockets: bool = False
    file_locks: bool = False
    #: A task on a terminal: its session is not the container's own (go-runc's AllowTerminal).
    shell_job: bool = False
    empty_namespaces: tuple[str, ...] = ()

    def criu_args(self) -> list[str]:
        flags = {
            "--tcp-established": self.tcp_established,
            "--ext-unix-sk": self.ext_unix_sockets,
            "--file-locks": self.file_locks,
            "--shell-job": self.shell_job,
        }
        return _flags(flags) + _namespaces(self.empty_namespaces)


@dataclass(frozen=True, kw_only=True)
class RestoreOpts(CriuOpts, LaunchOpts):
    """``restore --detach``: the task comes back in the background, its pid in a file."""

    command: ClassVar[str] = "restore --detach"
    uses_criu: ClassVar[bool] = True
    bundle: Path
    image_path: Path
    work_path: Path

    def args(self) -> list[str]:
        args = [*super().args(), "--bundle", str(self.bundle)]
        args += ["--image-path", str(self.image_path), "--work-path", str(self.work_path)]
        return args + self.criu_args()


@dataclass(frozen=True)
class CheckpointOpts(CriuOpts):
    """``checkpoint``: containerd's checkpoint options."""

    image_path: Path
    work_path: Path
    _: KW_ONLY
    #: The task keeps running after the dump (containerd's default; ``exit`` is the opposite).
    leave_running: bool = True
    #: Dump memory only, for a later checkpoint with ``parent_path`` to send less.
    pre_dump: bool = False
    #: An earlier pre-dump this checkpoint is relative to.
    parent_path: Path | None = None

    def args(self) -> list[str]:
        args = ["checkpoint", "--image-path", str(self.image_path)]
        args += ["--work-path", str(self.work_path)]
        if self.parent_path is not None:
            args += ["--parent-path", str(self.parent_path)]
        args += _flags(
            {
                "--pre-dump": self.pre_dump,
                "--leave-running": self.leave_running and not self.pre_dump,
            }
        )
        return args + self.criu_args()
