"""The task service: containerd's shim task API over one OCI runtime.

Ordering rules kept here (containerd fixed each of them late; see docs/design.md):
- an exit is published only after the event of the operation that started the process
  (Create -> Start -> Exit -> Delete; ExecAdded -> ExecStarted -> Exit);
- every exec's exit is published before its task's init exit, even when init died first;
- an exit that reaches the reaper before the process is registered is kept, not dropped.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import functools
import hashlib
import json
import os
import shutil
import signal as _signal
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import errors, events, ids, states
from .bundle import task_bundle
from .cgroups import OomWatch, cgroup_dirs, read_stats, remove_empty
from .checkpoint import CheckpointOpts, RestoreOpts, check_namespaces, criu_failure
from .console import ConsoleSocket
from .containers import Containers
from .events import EventBus
from .failures import read_available, with_output
from .oci import OCIRuntime, read_pid_file
from .process import Process, Task
from .reaper import Exit, Reaper
from .spec import load_spec, merge_env, pty_size, signal_number
from .stdio import ProcessIO
from .store import Store
from .types import Checkpoint, Container, Event, ExitInfo, Stats, TaskInfo

#: Bound on waiting for a process's output to end after it exited (containerd uses 10 s).
DRAIN_TIMEOUT = 10.0
#: Bound on holding an init exit back for execs whose exits have not come in.
EXEC_EXIT_GRACE = 5.0
CONSOLE_TIMEOUT = 10.0


def _now() -> datetime:
    return datetime.now(UTC)


def _absolute(what: str, path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    if not p.is_absolute() or ".." in p.parts:
        raise errors.InvalidArgument(f"{what} {str(path)!r} must be absolute, no '..'")
    return p


class Tasks:
    """``engine.tasks``: create, start, exec, kill, wait and delete tasks and their execs."""

    def __init__(
        self,
        *,
        root: Path,
        runtime: OCIRuntime,
        reaper: Reaper,
        bus: EventBus,
        store: Store,
        containers: Containers,
    ) -> None:
        self._root = root
        self._runtime = runtime
        self._reaper = reaper
        self._bus = bus
        self._store = store
        self._containers = containers
        self._tasks: dict[str, Task] = {}
        self._creating: set[str] = set()
        self._no_creates = asyncio.Event()
        self._no_creates.set()
        self._closing = False
        self._sockets = root / "c"
        # Relative to the engine's own cgroup, unique to its root.
        self._cgroup_parent = "shimdeck-" + hashlib.sha256(bytes(root)).hexdigest()[:12]
        self._socket_seq = 0

    # -- helpers ----------------------------------------------------------------------------

    def _get(self, id: str) -> Task:
        ids.validate(id, "task id")
        try:
            return self._tasks[id]
        except KeyError:
            raise errors.NotFound(f"task {id!r} not found") from None

    def _publish(self, topic: str, proc: Process, **kw: Any) -> None:
        self._bus.publish(
            Event(topic, proc.task_id, _now(), exec_id=proc.exec_id, pid=proc.pid, **kw)
        )

    def _console_socket(self) -> ConsoleSocket:
        self._socket_seq += 1
        return ConsoleSocket(self._sockets / f"{self._socket_seq}.sock")

    def _watch(self, task: Task, proc: Process, exited: asyncio.Future[Exit]) -> None:
        def done(fut: asyncio.Future[Exit]) -> None:
            if not fut.cancelled():
                proc.exit = fut.result()
                self._publish_exit(task, proc)

        exited.add_done_callback(done)

    def _publish_exit(self, task: Task, proc: Process, *, force: bool = False) -> None:
        if proc.exit is None or proc.published.done() or proc.holds:
            return
        if proc is task.init and not force:
            pending = [e for e in task.execs.values() if e.running]
            if pending:
                # The kernel tears the pid namespace down; those exits are on their way.
                asyncio.get_running_loop().call_later(
                    EXEC_EXIT_GRACE, functools.partial(self._publish_exit, task, proc, force=True)
                )
                return
        if proc is task.init and task.oom is not None:
            task.oom.poll()  # an OOM kill is told before the exit it caused
        if proc.state is not states.Deleted:
            proc.state = states.Stopped
        info = ExitInfo(proc.pid, proc.exit.status, proc.exit.at)
        self._publish(
            events.TASK_EXIT, proc, exit_status=info.exit_status, exited_at=info.exited_at
        )
        proc.published.set_result(info)
        if proc is not task.init:
            self._publish_exit(task, task.init)

    async def _launch(
        self,
        proc: Process,
        run: Any,
        *,
        terminal: bool,
        pid_file: Path,
    ) -> asyncio.Future[Exit]:
        """Run a create/exec/restore command wired to ``proc``'s IO; return its exit future."""
        console: ConsoleSocket | None = None
        devnull = os.open(os.devnull, os.O_RDWR)
        err_r = err_w = -1
        try:
            if terminal:
                console = self._console_socket()
                # The process gets the pty, not our stdio: the runtime's stderr is ours to read.
                err_r, err_w = os.pipe()
                stdio = (devnull, devnull, err_w)
            else:
                stdio = proc.io.make_pipes()
            try:
                if console is None:
                    await run(stdio, None)
                else:
                    await self._run_with_console(proc, run, stdio, console)
            except errors.RuntimeFailure as e:
                output = read_available(err_r) if terminal else proc.io.read_now()
                raise with_output(e, output) from None
            pid = read_pid_file(pid_file)
        finally:
            for fd in (devnull, err_r, err_w):
                if fd >= 0:
                    os.close(fd)
            proc.io.close_child_ends()
            if console is not None:
                console.close()
        proc.pid = pid
        return self._reaper.watch(pid)

    async def _run_with_console(
        self, proc: Process, run: Any, stdio: tuple[int, int, int], console: ConsoleSocket
    ) -> None:
        # Take the master as soon as it arrives: the process may already be writing.
        master = asyncio.ensure_future(console.receive_master())

        def take(f: asyncio.Future[int]) -> None:
            if not f.cancelled() and f.exception() is None:
                proc.io.set_master(f.result())

        master.add_done_callback(take)
        try:
            await run(stdio, console.path)
            await asyncio.wait_for(asyncio.shield(master), CONSOLE_TIMEOUT)
        finally:
            if not master.done():
                master.cancel()

    # -- the init process -----------------------------------------------------------------

    async def create(self, id: str) -> TaskInfo:
        """Create the task of container ``id`` (not started). Terminal comes from the spec."""
        return await self._create(id, restore_from=None, start=False)

    async def run(self, id: str) -> TaskInfo:
        """Create and start the task of container ``id`` in one runtime command.

        The same as ``create`` then ``start`` (both events are published, in that order), for
        one runtime invocation fewer: ``runc run --detach``.
        """
        return await self._create(id, restore_from=None, start=True)

    async def restore(
        self,
        id: str,
        path: str | os.PathLike[str],
        *,
        tcp_established: bool = False,
        unix_sockets: bool = False,
        file_locks: bool = False,
        empty_namespaces: Sequence[str] = (),
    ) -> TaskInfo:
        """Create and start the task of container ``id`` from a checkpoint at ``path``.

        ``id`` is the container checkpointed, once its task is deleted, or a new container
        made from the same bundle. A paused task comes back running; a terminal task with a
        new console (its pane re-attaches). The flags must match those of the checkpoint.
        """
        image = Path(path)
        if not (image / "inventory.img").exists():
            raise errors.InvalidArgument(f"{image} holds no checkpoint (no inventory.img)")
        opts = functools.partial(
            RestoreOpts,
            image_path=image,
            tcp_established=tcp_established,
            ext_unix_sockets=unix_sockets,
            file_locks=file_locks,
            empty_namespaces=check_namespaces(empty_namespaces),
        )
        return await self._create(id, restore_from=opts, start=True)

    async def _create(
        self, id: str, restore_from: Callable[..., RestoreOpts] | None, start: bool
    ) -> TaskInfo:
        container: Container = self._containers.get(id)
        if self._closing:
            raise errors.Unavailable(f"cannot create task {id!r}: the engine is closing")
        if id in self._tasks or id in self._creating:
            raise errors.AlreadyExists(f"task {id!r} already exists")
        spec = load_spec(container.bundle)
        terminal = bool(spec["process"].get("terminal", False))
        self._creating.add(id)
        self._no_creates.clear()
        tdir = self._root / "tasks" / id
        try:
            shutil.rmtree(tdir, ignore_errors=True)
            tdir.mkdir(mode=0o700, parents=True)
            proc = Process(
                id,
                "",
                args=tuple(spec["process"].get("args") or ()),
                io=ProcessIO(terminal, tdir / "init.log"),
            )
            pid_file, log = tdir / "init.pid", tdir / "runtime.log"
            bundle = task_bundle(
                container.bundle, spec, tdir / "bundle", f"{self._cgroup_parent}/{id}"
            )

            async def run(stdio: tuple[int, int, int], sock: Path | None) -> None:
                if restore_from is None:
                    await self._runtime.create(
                        id,
                        bundle,
                        pid_file=pid_file,
                        log=log,
                        stdio=stdio,
                        console_socket=sock,
                        start=start,
                    )
                else:
                    opts = restore_from(
                        bundle=bundle,
                        work_path=restore_work,
                        pid_file=pid_file,
                        console_socket=sock,
                        shell_job=terminal,
                    )
                    await self._runtime.restore(id, opts, log=log, stdio=stdio)

            # Outside the task's directory: its log outlives a failed restore.
            restore_work = self._root / "criu" / id
            try:
                if restore_from is not None:
                    shutil.rmtree(restore_work, ignore_errors=True)
                    restore_work.mkdir(mode=0o700, parents=True)
                exited = await self._launch(proc, run, terminal=terminal, pid_file=pid_file)
            except errors.RuntimeFailure as e:
                proc.io.close()
                shutil.rmtree(tdir, ignore_errors=True)
                if restore_from is not None:
                    with contextlib.suppress(errors.Error):
                        await self._runtime.delete(id, force=True)
                    raise criu_failure(
                        "restore", f"task {id!r}", e, [restore_work / "restore.log"]
                    ) from None
                if "already exists" in str(e):
                    # Not ours to delete: left by an earlier engine on this root, or another.
                    raise errors.AlreadyExists(
                        f"the runtime already has a container {id!r}, left by an earlier "
                        "engine: open the engine with adopt=True to take it over"
                    ) from None
                with contextlib.suppress(errors.Error):
                    await self._runtime.delete(id, force=True)
                raise
            except BaseException:
                proc.io.close()
                with contextlib.suppress(errors.Error):
                    await self._runtime.delete(id, force=True)
                shutil.rmtree(tdir, ignore_errors=True)
                raise
        finally:
            self._creating.discard(id)
            if not self._creating:
                self._no_creates.set()
        task = Task(container=container, dir=tdir, init=proc, base_process=spec["process"])
        self._tasks[id] = task
        self._store.add_task(id, proc.pid, terminal)
        self._publish(events.TASK_CREATE, proc)
        task.oom = OomWatch.open(proc.pid, lambda: self._publish(events.TASK_OOM, task.init))
        if start:
            proc.state = states.Running
            proc.started_at = _now()
            self._publish(events.TASK_START, proc)
        self._watch(task, proc, exited)
        return proc.info(container.bundle)

    async def start(self, id: str, exec_id: str = "") -> int:
        """Start the task's init process, or the exec ``exec_id``; return its pid."""
        task = self._get(id)
        proc = task.process(exec_id)
        async with task.lock:
            proc.check("start")
            if exec_id and task.init.state not in (states.Created, states.Running):
                raise errors.FailedPrecondition(
                    f"cannot start {proc.what}: the task is {task.init.state.name}"
                )
            proc.holds += 1
            try:
                if exec_id:
                    await self._start_exec(task, proc)
                else:
                    await self._runtime.start(id)
                proc.state = states.ExecRunning if exec_id else states.Running
                proc.started_at = _now()
                topic = events.TASK_EXEC_STARTED if exec_id else events.TASK_START
                self._publish(topic, proc)
            finally:
                proc.holds -= 1
                self._publish_exit(task, proc)
        return proc.pid

    async def kill(
        self, id: str, signal: int = _signal.SIGTERM, all: bool = False, exec_id: str = ""
    ) -> None:
        """Signal the init process (``all``: every process of the task) or one exec."""
        sig = signal_number(signal)
        task = self._get(id)
        proc = task.process(exec_id)
        proc.check("kill")
        if proc.exit is not None:
            raise errors.NotFound(f"{proc.what} has already exited")
        if exec_id:
            if all:
                raise errors.InvalidArgument("all applies to the init process only")
            # Safe by pid: it is our unreaped child, so the pid cannot have been reused.
            os.kill(proc.pid, sig)
            return
        paused = proc.state is states.Paused
        try:
            await self._runtime.kill(id, sig, all=all)
        except errors.RuntimeFailure:
            if proc.exit is not None:
                raise errors.NotFound(f"{proc.what} has already exited") from None
            raise
        if paused and sig == _signal.SIGKILL:
            # A frozen process cannot die: thaw it so the kill takes effect (runc does this
            # itself for --all; crun does not).
            with contextlib.suppress(errors.RuntimeFailure):
                await self._runtime.resume(id)

    async def pause(self, id: str) -> None:
        task = self._get(id)
        async with task.lock:
            task.init.check("pause")
            task.init.state = states.Pausing
            try:
                await self._runtime.pause(id)
            except BaseException:
                if task.init.state is states.Pausing:
                    task.init.state = states.Running
                raise
            if task.init.state is states.Pausing:
                task.init.state = states.Paused
                self._publish(events.TASK_PAUSED, task.init)

    async def resume(self, id: str) -> None:
        task = self._get(id)
        async with task.lock:
            task.init.check("resume")
            await self._runtime.resume(id)
            if task.init.state is states.Paused:
                task.init.state = states.Running
                self._publish(events.TASK_RESUMED, task.init)

    async def state(self, id: str, exec_id: str = "") -> TaskInfo:
        task = self._get(id)
        return task.process(exec_id).info(task.container.bundle)

    def list(self) -> builtins.list[TaskInfo]:
        return [t.init.info(t.container.bundle) for t in self._tasks.values()]

    def get(self, id: str) -> TaskInfo | None:
        task = self._tasks.get(id)
        return task.init.info(task.container.bundle) if task else None

    def execs(self, id: str) -> builtins.list[TaskInfo]:
        task = self._get(id)
        return [e.info(task.container.bundle) for e in task.execs.values()]

    async def wait(self, id: str, exec_id: str = "") -> ExitInfo:
        """Wait for the process to exit; return its exit status and time."""
        task = self._get(id)
        return await asyncio.shield(task.process(exec_id).published)

    async def pids(self, id: str) -> builtins.list[tuple[int, str]]:
        """Every process of the task as (pid, exec_id); exec_id is "" for the init and others."""
        task = self._get(id)
        if task.init.exit is not None or task.init.state is states.Stopped:
            return []
        by_pid = {p.pid: p.exec_id for p in task.execs.values() if p.running}
        return [(pid, by_pid.get(pid, "")) for pid in await self._runtime.ps(id)]

    async def delete(self, id: str, exec_id: str = "") -> ExitInfo:
        """Delete a stopped (or never started) process and release what it held."""
        task = self._get(id)
        if exec_id:
            return await self._delete_exec(task, task.process(exec_id))
        proc = task.init
        async with task.lock:
            proc.check("delete")
            if proc.state is states.Created:
                await self._runtime.kill(id, _signal.SIGKILL)
                await asyncio.wait_for(asyncio.shield(proc.published), DRAIN_TIMEOUT)
            done = proc.published.result()
            try:
                await self._runtime.delete(id, force=True)
            except errors.RuntimeFailure as e:
                if "not exist" not in e.stderr and "not found" not in e.stderr.lower():
                    raise
            for p in task.processes():
                if p.pid:  # an exec never started has no output to wait for
                    await p.io.drain(DRAIN_TIMEOUT if p is proc else 1.0)
                p.io.close()
                p.state = states.Deleted
            if task.oom is not None:
                task.oom.close()
            del self._tasks[id]
            self._store.delete_task(id)
            shutil.rmtree(task.dir, ignore_errors=True)
            self._bus.publish(
                Event(
                    events.TASK_DELETE,
                    id,
                    _now(),
                    pid=done.pid,
                    exit_status=done.exit_status,
                    exited_at=done.exited_at,
                )
            )
            return done

    # -- execs ----------------------------------------------------------------------------

    async def exec(
        self,
        id: str,
        exec_id: str,
        args: Sequence[str],
        *,
        terminal: bool = False,
        env: dict[str, str] | Sequence[str] | None = None,
        cwd: str | None = None,
    ) -> TaskInfo:
        """Add an exec process to a task; it runs when started with ``start(id, exec_id)``."""
        ids.validate(exec_id, "exec id")
        task = self._get(id)
        if not args or not all(isinstance(a, str) and a and "\0" not in a for a in args):
            raise errors.InvalidArgument("exec args must be a non-empty list of non-empty strings")
        task.init.check("exec")
        if exec_id in task.execs:
            raise errors.AlreadyExists(f"exec {exec_id!r} of task {id!r} already exists")
        # The spec as it was at create: the bundle may have changed or gone since.
        base = task.base_process or load_spec(task.dir / "bundle")["process"]
        spec = dict(base)
        spec.update(args=list(args), terminal=bool(terminal))
        if env is not None:
            spec["env"] = merge_env(spec.get("env") or [], env)
        if cwd is not None:
            if not cwd.startswith("/"):
                raise errors.InvalidArgument(f"exec cwd {cwd!r} must be an absolute path")
            spec["cwd"] = cwd
        spec.pop("consoleSize", None)
        io = ProcessIO(bool(terminal), task.dir / f"exec-{exec_id}.log")
        proc = Process(id, exec_id, args=tuple(args), io=io, spec=spec)
        task.execs[exec_id] = proc
        self._publish(events.TASK_EXEC_ADDED, proc)
        return proc.info(task.container.bundle)

    async def _start_exec(self, task: Task, proc: Process) -> None:
        assert proc.spec is not None
        process_file = task.dir / f"exec-{proc.exec_id}.json"
        pid_file = task.dir / f"exec-{proc.exec_id}.pid"
        spec = dict(proc.spec)
        if proc.io.terminal and proc.io.size is not None:
            # The process may run before our TIOCSWINSZ lands: let the runtime size the pty.
            width, height = proc.io.size
            spec["consoleSize"] = {"width": width, "height": height}
        fd = os.open(process_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(spec))

        async def run(stdio: tuple[int, int, int], sock: Path | None) -> None:
            await self._runtime.exec(
                task.id,
                process_file,
                pid_file=pid_file,
                log=task.dir / "runtime.log",
                stdio=stdio,
                console_socket=sock,
            )

        try:
            exited = await self._launch(proc, run, terminal=proc.io.terminal, pid_file=pid_file)
        except BaseException as e:
            # Leave the exec as it was, created, with fresh stdio for another try.
            old, proc.io = proc.io, ProcessIO(proc.io.terminal, proc.io.log_path)
            old.close()
            if proc.io.terminal and old.size is not None:
                proc.io.resize(*old.size)
            if isinstance(e, errors.RuntimeFailure) and await self._init_gone(task):
                raise errors.FailedPrecondition(
                    f"cannot start {proc.what}: the task has exited"
                ) from None
            raise
        self._watch(task, proc, exited)

    async def _init_gone(self, task: Task) -> bool:
        """Whether the task's init has exited, even if its exit is not reaped yet."""
        if task.init.exit is not None:
            return True
        try:
            return (await self._runtime.state(task.id)).get("status") != "running"
        except errors.RuntimeFailure:
            return True

    async def _delete_exec(self, task: Task, proc: Process) -> ExitInfo:
        proc.check("delete")
        if proc.state is states.ExecCreated:
            done = ExitInfo(0, 255, _now())
        else:
            done = await asyncio.shield(proc.published)
            await proc.io.drain(1.0)
        proc.io.close()
        for suffix in (".json", ".pid", ".log", ".log.1"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(task.dir / f"exec-{proc.exec_id}{suffix}")
        proc.state = states.Deleted
        task.execs.pop(proc.exec_id, None)
        return done

    # -- stdio --------------------------------------------------------------------------

    def io(self, id: str, exec_id: str = "") -> ProcessIO:
        """The process's stdio: write, backlog, live stream, log path."""
        return self._get(id).process(exec_id).io

    async def resize_pty(self, id: str, width: int, height: int, exec_id: str = "") -> None:
        """Set the process's terminal to ``width`` columns by ``height`` rows."""
        pty_size(width, "width")
        pty_size(height, "height")
        proc = self._get(id).process(exec_id)
        proc.check("resize")
        if not proc.io.terminal:
            raise errors.FailedPrecondition(f"{proc.what} has no terminal")
        proc.io.resize(width, height)

    async def close_io(self, id: str, exec_id: str = "") -> None:
        """Deliver EOF on the process's stdin."""
        proc = self._get(id).process(exec_id)
        proc.check("close_io")
        proc.io.close_stdin()

    # -- resources and checkpoints -----------------------------------------------------

    async def stats(self, id: str) -> Stats:
        """CPU, memory and pids of the task's cgroup."""
        task = self._get(id)
        if task.init.exit is not None:
            raise errors.FailedPrecondition(f"no stats for {task.init.what}: it has exited")
        if task.cgroups is None:
            task.cgroups = cgroup_dirs(task.init.pid)  # fixed for the task's life
        return read_stats(task.init.pid, task.cgroups)

    async def update(self, id: str, resources: dict[str, Any]) -> None:
        """Change the task's cgroup limits (OCI LinuxResources: memory, cpu, pids...)."""
        if not isinstance(resources, dict):
            raise errors.InvalidArgument("resources must be a dict in OCI LinuxResources form")
        task = self._get(id)
        async with task.lock:
            task.init.check("update")
            path = task.dir / "resources.json"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(json.dumps(resources))
            await self._runtime.update(id, path)

    async def checkpoint(
        self,
        id: str,
        path: str | os.PathLike[str],
        exit: bool = False,
        *,
        pre_dump: bool = False,
        parent: str | os.PathLike[str] | None = None,
        tcp_established: bool = False,
        unix_sockets: bool = False,
        file_locks: bool = False,
        empty_namespaces: Sequence[str] = (),
        work_path: str | os.PathLike[str] | None = None,
    ) -> None:
        """Checkpoint the task with CRIU into ``path``, as containerd's options have it.

        ``exit``: the task stops after the dump (else it goes on, paused if it was paused).
        ``pre_dump``: memory only, the task goes on; a later checkpoint names it ``parent``.
        ``tcp_established``, ``unix_sockets`` (external ones), ``file_locks``: dump those too.
        ``empty_namespaces``: namespaces restored empty. ``work_path``: CRIU's logs go there
        (default: the task's own directory).
        """
        image = _absolute("checkpoint path", path)
        parent_path = None if parent is None else _absolute("parent checkpoint", parent)
        if parent_path is not None and not parent_path.is_dir():
            raise errors.InvalidArgument(f"parent checkpoint {parent_path} is not a directory")
        if exit and pre_dump:
            raise errors.InvalidArgument("a pre-dump leaves the task running: not with exit")
        empty = check_namespaces(empty_namespaces)
        task = self._get(id)
        async with task.lock:
            task.init.check("checkpoint")
            made = not image.exists()
            work = (
                _absolute("work path", work_path)
                if work_path is not None
                else task.dir / "checkpoint-work"
            )
            if work_path is None:
                shutil.rmtree(work, ignore_errors=True)
            work.mkdir(mode=0o700, parents=True, exist_ok=True)
            image.mkdir(mode=0o700, parents=True, exist_ok=True)
            opts = CheckpointOpts(
                image_path=image,
                work_path=work,
                leave_running=not exit,
                pre_dump=pre_dump,
                parent_path=parent_path,
                tcp_established=tcp_established,
                ext_unix_sockets=unix_sockets,
                file_locks=file_locks,
                shell_job=task.init.io.terminal,
                empty_namespaces=empty,
            )
            try:
                await self._runtime.checkpoint(id, opts)
            except errors.RuntimeFailure as e:
                if made:
                    shutil.rmtree(image, ignore_errors=True)
                raise criu_failure("checkpoint", task.init.what, e, [work / "dump.log"]) from None
            if not pre_dump:  # a pre-dump cannot be restored on its own
                size = sum(f.stat().st_size for f in image.rglob("*") if f.is_file())
                self._store.add_checkpoint(Checkpoint(id, image, _now(), size, exited=exit))
            self._publish(events.TASK_CHECKPOINTED, task.init, detail={"path": str(image)})

    # -- engine life --------------------------------------------------------------------

    def adopt(self, container: Container, pid: int, terminal: bool, status: str) -> None:
        """Take over a task an earlier engine left, in the state the runtime reports."""
        tdir = self._root / "tasks" / container.id
        tdir.mkdir(mode=0o700, parents=True, exist_ok=True)
        io = ProcessIO(terminal, None)
        io.detach()
        proc = Process(container.id, "", args=(), io=io)
        proc.pid = pid
        proc.state = {
            "created": states.Created,
            "running": states.Running,
            "paused": states.Paused,
            "pausing": states.Paused,
        }.get(status, states.Stopped)
        task = Task(container=container, dir=tdir, init=proc, adopted=True)
        self._tasks[container.id] = task
        if proc.state is states.Stopped:
            proc.exit = Exit(pid, 255, _now(), known=False)
            self._publish_exit(task, proc)
        else:
            self._watch(task, proc, self._reaper.watch(pid))

    async def shutdown(self, keep: bool) -> None:
        """Kill and delete every task (unless ``keep``), then release what the engine holds."""
        self._closing = True
        await self._no_creates.wait()  # a create under way ends in a task to remove too
        if not keep:
            await asyncio.gather(
                *(self._remove(t) for t in list(self._tasks.values())), return_exceptions=True
            )
        for task in list(self._tasks.values()):
            for p in task.processes():
                self._reaper.forget(p.pid)
                p.io.close()
            if task.oom is not None:
                task.oom.close()
        self._tasks.clear()
        if not keep:
            remove_empty(self._cgroup_parent)

    async def _remove(self, task: Task) -> None:
        proc = task.init
        if proc.running or proc.state is states.Created:
            with contextlib.suppress(errors.Error):
                await self.kill(task.id, _signal.SIGKILL, all=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(proc.published), DRAIN_TIMEOUT)
        with contextlib.suppress(errors.Error):
            await self.delete(task.id)
        if task.id in self._tasks:
            # The orderly path failed (a runtime error, an exit that never came): make sure
            # the runtime holds nothing, whatever state we believed.
            with contextlib.suppress(errors.Error):
                await self._runtime.delete(task.id, force=True)
