"""The OCI runtime command line (runc or crun), after go-runc.

Each command is a method that runs the binary through the engine's reaper, never through
``subprocess``. A command that leaves a process behind (create, exec, restore) and checkpoint
take one options object of ``opts``, as go-runc's, whose ``args()`` builds the command line.

A non-zero exit raises :class:`errors.RuntimeFailure` carrying what the runtime said, taken
from its JSON log (where detached create/exec write, since their stdio belongs to the
container) and its stderr.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from . import errors
from .checkpoint import runtime_argv
from .opts import CheckpointOpts, CreateOpts, ExecOpts, LaunchOpts, RestoreOpts
from .reaper import Reaper


def find_binary(runtime: str) -> str:
    """Resolve ``runc``/``crun``/a path to an executable, or raise Unavailable naming it."""
    if os.sep in runtime:
        if os.path.isfile(runtime) and os.access(runtime, os.X_OK):
            return os.path.abspath(runtime)
        raise errors.Unavailable(f"OCI runtime {runtime!r} is not an executable file")
    found = shutil.which(runtime)
    if found is None:
        raise errors.Unavailable(
            f"OCI runtime {runtime!r} was not found on PATH (install it: apt-get install {runtime})"
        )
    return found


def _read_memfd(fd: int) -> bytes:
    """All a finished command wrote into ``fd`` (a memfd), then close it."""
    try:
        size = os.fstat(fd).st_size
        return os.pread(fd, size, 0) if size else b""
    finally:
        os.close(fd)


def _log_errors(log: Path, offset: int) -> str:
    try:
        with open(log, "rb") as f:
            f.seek(offset)
            lines = f.read().decode(errors="replace").splitlines()
    except FileNotFoundError:
        return ""
    msgs = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            msgs.append(line.strip())
            continue
        if isinstance(entry, dict) and entry.get("level") in ("error", "fatal", "panic"):
            msgs.append(str(entry.get("msg", "")).strip())
    return "\n".join(m for m in msgs if m)


class OCIRuntime:
    """One runtime binary with its own state root (``--root``)."""

    def __init__(self, binary: str, root: Path, reaper: Reaper, criu: str | None = None) -> None:
        self.binary = binary
        #: The CRIU checkpoint and restore run (None: the runtime's own default).
        self.criu = criu
        self.name = os.path.basename(binary)
        self.root = root
        self._root = str(root)
        self._reaper = reaper
        self._null = -1

    def _devnull(self) -> int:
        """/dev/null, opened once: every command's stdin, and stdout unless it is wanted."""
        if self._null < 0:
            self._null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        return self._null

    def close(self) -> None:
        if self._null >= 0:
            os.close(self._null)
            self._null = -1

    async def run(
        self,
        *args: str,
        stdio: tuple[int, int, int] | None = None,
        log: Path | None = None,
        strict: bool = False,
        criu: bool = False,
        output: bool = False,
    ) -> bytes:
        """Run the binary with ``args``; with ``output``, return its stdout (else /dev/null
        has it: only ``state`` and ``ps`` answer there; errors come on stderr and the log).

        With ``stdio`` the runtime's own 0/1/2 are those fds (a detached container inherits
        them), and its messages are read from the JSON ``log`` instead. ``strict`` also fails
        a zero exit that logged an error (runc's ``delete --force`` does that when it could not
        remove its state). ``criu`` runs it with :attr:`criu` as its CRIU.
        """
        argv = [self.binary, "--root", self._root]
        if log is not None:
            argv += ["--log", str(log), "--log-format", "json"]
        argv += list(args)
        if criu:
            argv = runtime_argv(argv, self.name, self.criu)
        offset = 0
        if log is not None:
            with contextlib.suppress(FileNotFoundError):  # one stat, not exists() and stat()
                offset = os.stat(log).st_size
        if stdio is None:
            # Output goes to memory files, read once the command has exited: no pipes to
            # watch on the loop (four reader registrations per command, two tasks), and no
            # wait for an EOF that a process the runtime leaves behind could hold off.
            null = self._devnull()
            out = os.memfd_create("runtime-stdout", os.MFD_CLOEXEC) if output else null
            err = os.memfd_create("runtime-stderr", os.MFD_CLOEXEC)
            try:
                _, exited = self._reaper.spawn(argv, stdin=null, stdout=out, stderr=err)
                ex = await exited
            finally:
                stdout = _read_memfd(out) if output else b""
                stderr = _read_memfd(err)
        else:
            _, exited = self._reaper.spawn(argv, stdin=stdio[0], stdout=stdio[1], stderr=stdio[2])
            ex = await exited
            stdout = stderr = b""
        logged_error = strict and (b"level=error" in stderr or b'"level":"error"' in stderr)
        if ex.status != 0 or logged_error:
            said = _log_errors(log, offset) if log is not None else ""
            said = "\n".join(s for s in (stderr.decode(errors="replace").strip(), said) if s)
            said = said or f"exit status {ex.status}"
            raise errors.RuntimeFailure(
                f"{self.name} {args[0]} failed: {_last_line(said)}", command=argv, stderr=said
            )
        return stdout

    async def create(self, id: str, opts: CreateOpts) -> None:
        """``create``, or with ``opts.start`` ``run --detach``: created and started in one."""
        await self.launch(id, opts)

    async def start(self, id: str) -> None:
        await self.run("start", id)

    async def exec(self, id: str, opts: ExecOpts) -> None:
        """``exec --detach`` of the process described in ``opts.process_file``."""
        await self.launch(id, opts)

    async def launch(self, id: str, opts: LaunchOpts) -> None:
        """Run a command that leaves a process behind, wired to ``opts.stdio``."""
        if opts.stdio is None:
            raise errors.InvalidArgument(f"{self.name} {opts.command}: no stdio to give it")
        await self.run(*opts.args(), id, stdio=opts.stdio, log=opts.log, criu=opts.uses_criu)

    async def kill(self, id: str, sig: int, *, all: bool = False) -> None:
        await self.run("kill", *(["--all"] if all else []), id, str(sig))

    async def delete(self, id: str, *, force: bool = False) -> None:
        await self.run("delete", *(["--force"] if force else []), id, strict=True)

    async def pause(self, id: str) -> None:
        await self.run("pause", id)

    async def resume(self, id: str) -> None:
        await self.run("resume", id)

    async def state(self, id: str) -> dict[str, Any]:
        out = await self.run("state", id, output=True)
        state: dict[str, Any] = json.loads(out)
        return state

    async def ps(self, id: str) -> list[int]:
        out = await self.run("ps", "--format", "json", id, output=True)
        pids = json.loads(out) or []
        return [int(p) for p in pids]

    async def update(self, id: str, resources_file: Path) -> None:
        await self.run("update", "--resources", str(resources_file), id)

    async def checkpoint(self, id: str, opts: CheckpointOpts) -> None:
        await self.run(*opts.args(), id, criu=True)

    async def restore(self, id: str, opts: RestoreOpts) -> None:
        """``restore --detach`` from the checkpoint in ``opts.image_path``."""
        await self.launch(id, opts)


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else text


def read_pid_file(path: Path) -> int:
    with contextlib.suppress(FileNotFoundError):
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            text = os.read(fd, 64).strip()
        finally:
            os.close(fd)
        if text.isdigit():
            return int(text)
    raise errors.RuntimeFailure(f"the runtime wrote no pid to {path}")
