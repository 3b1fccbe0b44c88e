"""The tty FIFOs shimdeck made, found again: re-drained at start, named at quit.

The registry is the filesystem: :mod:`.cio` makes a tty process's FIFOs as
``<io_dir>/<id>/<name>-stdin|stdout`` (``io_dir`` is one containerd's namespace's; ``name`` is the
container id for a task's init process, the exec id for an exec). A FIFO there whose process
``Tasks.Get`` reports live, with exactly that stdout path, is one shimdeck must drain: the
shim holds a read end of its own (so writes never fail), and once its 64 KiB fill up the
process blocks until somebody reads again.
"""

from __future__ import annotations

import contextlib
import stat
from dataclasses import dataclass
from pathlib import Path

from runtime import errors

from . import cio
from .client import Client
from .records import ProcessRecord

STDOUT_SUFFIX = "-stdout"
#: Task states in which the shim still copies the tty to the FIFO (or will).
LIVE = ("created", "running", "paused", "pausing")


@dataclass(frozen=True)
class TtyProcess:
    """A live tty process whose FIFOs shimdeck made."""

    container_id: str
    #: Empty for the task's init process.
    exec_id: str
    record: ProcessRecord
    namespace: str = ""

    @property
    def name(self) -> str:
        name = f"{self.container_id} exec {self.exec_id}" if self.exec_id else self.container_id
        return f"{name} [{self.namespace}]" if self.namespace else name


def _candidates(io_dir: Path) -> list[tuple[str, str, Path]]:
    """(container id, exec id, stdout FIFO) for each stdout FIFO in the layout."""
    found: list[tuple[str, str, Path]] = []
    if not io_dir.is_dir():
        return found
    for container_dir in sorted(p for p in io_dir.iterdir() if p.is_dir()):
        for stdout in sorted(container_dir.glob(f"*{STDOUT_SUFFIX}")):
            with contextlib.suppress(FileNotFoundError):
                if not stat.S_ISFIFO(stdout.lstat().st_mode):
                    continue
                name = stdout.name[: -len(STDOUT_SUFFIX)]
                exec_id = "" if name == container_dir.name else name
                found.append((container_dir.name, exec_id, stdout))
    return found


async def live_tty_processes(client: Client, io_dir: Path) -> list[TtyProcess]:
    """Live processes whose tty FIFOs shimdeck made under ``io_dir`` (one namespace's)."""
    result = []
    for container_id, exec_id, stdout in _candidates(io_dir):
        try:
            record = await client.task(container_id, exec_id)
        except errors.NotFound:
            continue  # left over from a process that is gone: the next create replaces it
        if record.status in LIVE and record.terminal and record.stdout == str(stdout):
            result.append(TtyProcess(container_id, exec_id, record))
    return result


async def redrain(client: Client, io_dir: Path) -> dict[tuple[str, str], cio.FifoIO]:
    """Reopen and drain every live tty process's FIFOs (as an earlier shimdeck left them),
    keyed ``(container id, exec id)`` as the backend keeps them."""
    drained: dict[tuple[str, str], cio.FifoIO] = {}
    for process in await live_tty_processes(client, io_dir):
        r = process.record
        try:
            drained[(process.container_id, process.exec_id)] = cio.FifoIO.reopen(
                r.stdin, r.stdout, r.stderr
            )
        except (errors.Error, OSError):
            continue  # it ended between Get and open: nothing to drain
    return drained


def quit_note(processes: list[TtyProcess]) -> str:
    """What to tell the user on quit about tty processes nobody will drain ("" if none)."""
    if not processes:
        return ""
    names = ", ".join(p.name for p in processes)
    return (
        f"shimdeck: {len(processes)} tty process(es) keep running with nobody reading their "
        f"output: {names}; each blocks once 64 KiB of output is unread, until shimdeck "
        "starts again on their namespace (it reopens their FIFOs) or they are attached to"
    )
