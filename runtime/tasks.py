"""The task service: containerd's shim task API over one OCI runtime.

Ordering rules kept here (containerd fixed each of them late; see docs/design.md), each in one
method of the section "when exits are published":
- an exit is published only after the event of the operation that started the process
  (Create -> Start -> Exit -> Delete; ExecAdded -> ExecStarted -> Exit): ``_starting``;
- every exec's exit is published before its task's init exit, even when init died first, and
  a task without a pid namespace of its own loses its other processes with its init:
  ``_handle_init_exit``;
- an exit that reaches the reaper before the process is registered is kept, not dropped (the
  reaper's early exits, handed to ``_watch``).
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import shutil
import signal as _signal
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from . import errors, events, ids, states
from .bundle import task_bundle
from .cgroups import OomWatch, cgroup_dirs, read_stats, remove_empty
from .checkpoint import criu_failure, images_size
from .console import ConsoleSocket
from .containers import Containers
from .events import EventBus
from .failures import read_available, with_output
from .oci import OCIRuntime, read_pid_file
from .opts import CheckpointOpts, CreateOpts, ExecOpts, LaunchOpts, RestoreOpts, check_namespaces
from .process import Process, Task
from .reaper import Exit, Reaper, has_exited
from .spec import kill_all_on_exit, load_spec, merge_env, pty_size, signal_number
from .stdio import ProcessIO
from .store import Store
from .types import Checkpoint, Container, Event, ExitInfo, Stats, TaskInfo

#: Bound on waiting for a process's output to end after it exited (containerd uses 10 s).
DRAIN_TIMEOUT = 10.0
#: Bound on holding an init exit back for execs whose exits have not come in.
EXEC_EXIT_GRACE = 5.0
CONSOLE_TIMEOUT = 10.0

_Opts = TypeVar("_Opts", bound=LaunchOpts)


def _now() -> datetime:
    return datetime.now(UTC)


def _absolute(what: str, path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    if not p.is_absolute() or ".." in p.parts:
        raise errors.InvalidArgument(f"{what} {str(path)!r} must be absolute, no '..'")
    return p


#: What a task's directory holds after a plain life (see ``_create``): removed by name, at
#: a few syscalls, where ``shutil.rmtree`` lists and stats every directory level.
_TASK_FILES = ("bundle/config.json", "init.pid", "runtime.log", "init.log")


def _remove_task_dir(tdir: Path) -> None:
    d = os.fspath(tdir)
    for name in _TASK_FILES:
        with contextlib.suppress(OSError):
            os.unlink(f"{d}/{name}")
    try:
        os.rmdir(f"{d}/bundle")
        os.rmdir(d)
    except OSError:  # more in it (execs, a rotated log, checkpoint work): remove it all
        shutil.rmtree(tdir, ignore_errors=True)


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
        # A future, not an Event: a wait watches it without a task of its own.
        self._closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sockets = root / "c"
        self._tasks_dir = root / "tasks"
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

    # -- when exits are published (containerd's preStart, handleStarted, handleInitExit) ---

    def _watch(self, task: Task, proc: Process, exited: asyncio.Future[Exit]) -> None:
        """Record ``proc``'s exit as soon as the reaper has it, then handle it.

        An exit the reaper kept from before the pid was known resolves ``exited`` on the next
        loop turn, never inside this call: the caller's event is published first.
        """

        def done(fut: asyncio.Future[Exit]) -> None:
            if not fut.cancelled():
                proc.exit = fut.result()
                self._handle_exit(task, proc)

        exited.add_done_callback(done)

    @contextlib.contextmanager
    def _starting(self, task: Task, proc: Process) -> Iterator[None]:
        """preStart/handleStarted: hold ``proc``'s exit back while it is being started.

        Invariant: inside the block an exit of ``proc`` is recorded, never published; the block
        publishes ``/tasks/start`` or ``exec-started`` as its last step, and on leaving (started
        or failed) an exit recorded meanwhile is handled. An exec being started counts as
        running, so an init exit that comes meanwhile waits for it.
        """
        proc.starting = True
        try:
            yield
        finally:
            proc.starting = False
            self._handle_exit(task, proc)
            if proc is not task.init:
                task.exec_exited.set()  # a start that failed holds the init's exit no more

    def _handle_exit(self, task: Task, proc: Process) -> None:
        """Publish ``proc``'s exit once it is known and no start holds it back."""
        if proc.exit is None or proc.published.done() or proc.starting:
            return
        if proc is task.init:
            self._handle_init_exit(task)
        else:
            self._publish_exit(task, proc)
            task.exec_exited.set()

    def _handle_init_exit(self, task: Task) -> None:
        """handleInitExit: the init's exit is the last exit published for its task.

        When the task has no pid namespace of its own, the kernel kills nothing when its init
        dies: every process left in it is killed first. Then the init's exit waits for the
        exit of every exec started or being started. Without either, it is published at once.
        """
        if task.init_exit is not None:
            return  # already waiting for the rest of the task
        if not task.kill_all_on_exit and not task.running_execs():
            self._publish_exit(task, task.init)
            return
        task.init_exit = asyncio.ensure_future(self._publish_init_exit_last(task))

    async def _publish_init_exit_last(self, task: Task) -> None:
        if task.kill_all_on_exit:
            # Every process the task's cgroup holds, as containerd's KillAll; an error here
            # (the runtime's state gone) must not keep the exit from being told.
            with contextlib.suppress(errors.Error):
                await self._runtime.kill(task.id, _signal.SIGKILL, all=True)

        async def execs_exited() -> None:
            while task.running_execs():
                task.exec_exited.clear()
                await task.exec_exited.wait()

        # The bound only guards against an exec we cannot see exit (not our child): the
        # kernel, or the kill above, ends every exec with the init.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(execs_exited(), EXEC_EXIT_GRACE)
        self._publish_exit(task, task.init)

    def _publish_exit(self, task: Task, proc: Process) -> None:
        """Tell ``proc``'s exit: the stopped state, ``/tasks/exit``, then ``wait`` returns."""
        assert proc.exit is not None
        if proc is task.init and task.oom is not None:
            task.oom.poll()  # an OOM kill is told before the exit it caused
        if proc.state is not states.Deleted:
            proc.transition(states.Stopped)
        info = ExitInfo(proc.pid, proc.exit.status, proc.exit.at)
        self._publish(
            events.TASK_EXIT, proc, exit_status=info.exit_status, exited_at=info.exited_at
        )
        proc.published.set_result(info)

    # -- running the runtime ------------------------------------------------------------

    async def _launch(
        self, proc: Process, opts: _Opts, command: Callable[[str, _Opts], Awaitable[None]]
    ) -> asyncio.Future[Exit]:
        """Run ``command`` (create, exec or restore) with ``opts`` wired to ``proc``'s IO.

        Returns the exit future of the process it left behind, not yet watched: the caller
        publishes its event first (see ``_watch``).
        """
        console: ConsoleSocket | None = None
        devnull = err_r = err_w = -1
        try:
            if proc.io.terminal:
                devnull = os.open(os.devnull, os.O_RDWR)
                console = self._console_socket()
                # The process gets the pty, not our stdio: the runtime's stderr is ours to read.
                err_r, err_w = os.pipe()
                wired = dataclasses.replace(
                    opts, stdio=(devnull, devnull, err_w), console_socket=console.path
                )
            else:
                wired = dataclasses.replace(opts, stdio=proc.io.make_pipes())
            try:
                if console is None:
                    await command(proc.task_id, wired)
                else:
                    await self._run_with_console(proc, command(proc.task_id, wired), console)
            except errors.RuntimeFailure as e:
                output = read_available(err_r) if proc.io.terminal else proc.io.read_now()
                raise with_output(e, output) from None
            pid = read_pid_file(opts.pid_file)
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
        self, proc: Process, launched: Awaitable[None], console: ConsoleSocket
    ) -> None:
        # Take the master as soon as it arrives: the process may already be writing.
        master = asyncio.ensure_future(console.receive_master())

        def take(f: asyncio.Future[int]) -> None:
            if not f.cancelled() and f.exception() is None:
                proc.io.set_master(f.result())

        master.add_done_callback(take)
        try:
            await launched
            await asyncio.wait_for(asyncio.shield(master), CONSOLE_TIMEOUT)
        finally:
            if not master.done():
                master.cancel()
                # Let the cancellation run before the socket is closed: asyncio drops the
                # accept's reader by fd number a loop turn later, and by then the number may
                # be a new pidfd's (the runtime delete that follows a failed launch), whose
                # reader it would remove: an exit nobody sees.
                await asyncio.wait((master,))

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
        tdir = self._tasks_dir / id
        try:
            try:
                tdir.mkdir(mode=0o700, parents=True)
            except FileExistsError:  # left by a task of this id an earlier engine lost
                shutil.rmtree(tdir, ignore_errors=True)
                tdir.mkdir(mode=0o700)
            proc = Process(
                id,
                "",
                args=tuple(spec["process"].get("args") or ()),
                io=ProcessIO(terminal, tdir / "init.log"),
            )
            # The spec's, else one of this engine's own: runc and crun would use ``/<id>``,
            # which two engines with a container of the same id would share.
            cgroups_path = (spec.get("linux") or {}).get("cgroupsPath") or (
                f"{self._cgroup_parent}/{id}"
            )
            bundle = task_bundle(container.bundle, spec, tdir / "bundle", cgroups_path)
            pid_file, log = tdir / "init.pid", tdir / "runtime.log"
            # Outside the task's directory: its log outlives a failed restore.
            restore_work = self._root / "criu" / id
            try:
                if restore_from is None:
                    opts = CreateOpts(pid_file=pid_file, log=log, bundle=bundle, start=start)
                    exited = await self._launch(proc, opts, self._runtime.create)
                else:
                    shutil.rmtree(restore_work, ignore_errors=True)
                    restore_work.mkdir(mode=0o700, parents=True)
                    restored = restore_from(
                        pid_file=pid_file,
                        log=log,
                        bundle=bundle,
                        work_path=restore_work,
                        shell_job=terminal,
                    )
                    exited = await self._launch(proc, restored, self._runtime.restore)
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
        task = Task(
            container=container,
            dir=tdir,
            init=proc,
            base_process=spec["process"],
            kill_all_on_exit=kill_all_on_exit(spec),
        )
        self._tasks[id] = task
        self._store.add_task(id, proc.pid, terminal)
        self._publish(events.TASK_CREATE, proc)
        task.oom = OomWatch.open(
            proc.pid, cgroups_path, lambda: self._publish(events.TASK_OOM, task.init)
        )
        if start:
            proc.transition(states.Running)
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
            if exec_id and task.init.exit is not None:
                # Its exit may wait for running execs: none may join them now.
                raise errors.FailedPrecondition(f"cannot start {proc.what}: the task has exited")
            with self._starting(task, proc):
                if exec_id:
                    await self._start_exec(task, proc)
                else:
                    await self._runtime.start(id)
                proc.transition(states.ExecRunning if exec_id else states.Running)
                proc.started_at = _now()
                topic = events.TASK_EXEC_STARTED if exec_id else events.TASK_START
                self._publish(topic, proc)
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
            # ``all`` is for the init: containerd ignores it for an exec (its force delete of
            # an exec sends it). Safe by pid: our unreaped child's pid cannot be reused.
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
            task.init.transition(states.Pausing)
            try:
                await self._runtime.pause(id)
            except BaseException:
                if task.init.state is states.Pausing:  # not stopped meanwhile
                    task.init.transition(states.Running)
                raise
            if task.init.state is states.Pausing:
                task.init.transition(states.Paused)
                self._publish(events.TASK_PAUSED, task.init)

    async def resume(self, id: str) -> None:
        task = self._get(id)
        async with task.lock:
            task.init.check("resume")
            await self._runtime.resume(id)
            if task.init.state is states.Paused:
                task.init.transition(states.Running)
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
        """Wait for the process to exit; return its exit status and time.

        Raises Unavailable if the engine closes first, leaving the process running.
        """
        proc = self._get(id).process(exec_id)
        if not proc.published.done():
            await asyncio.wait((proc.published, self._closed), return_when=asyncio.FIRST_COMPLETED)
            if not proc.published.done():
                raise errors.Unavailable(
                    f"the engine closed while waiting for {proc.what}, which still runs"
                )
        return proc.published.result()

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
                p.transition(states.Deleted)
            if task.oom is not None:
                task.oom.close()
            del self._tasks[id]
            self._store.delete_task(id)
            _remove_task_dir(task.dir)
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

        opts = ExecOpts(pid_file=pid_file, log=task.dir / "runtime.log", process_file=process_file)
        try:
            exited = await self._launch(proc, opts, self._runtime.exec)
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
        if task.init.pid and has_exited(task.init.pid):
            return True  # the runtime may still call it running: see has_exited
        try:
            return (await self._runtime.state(task.id)).get("status") != "running"
        except errors.RuntimeFailure:
            return True

    async def _delete_exec(self, task: Task, proc: Process) -> ExitInfo:
        proc.check("delete")
        if proc.state is states.ExecCreated:
            done = ExitInfo(0, 0, _now())  # as containerd: never started, nothing failed
        else:
            done = await asyncio.shield(proc.published)
            await proc.io.drain(1.0)
        proc.io.close()
        for suffix in (".json", ".pid", ".log", ".log.1"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(task.dir / f"exec-{proc.exec_id}{suffix}")
        proc.transition(states.Deleted)
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
                size = images_size(image)
                self._store.add_checkpoint(Checkpoint(id, image, _now(), size, exited=exit))
            self._publish(events.TASK_CHECKPOINTED, task.init, detail={"path": str(image)})

    # -- engine life --------------------------------------------------------------------

    def adopt(self, container: Container, pid: int, terminal: bool, status: str) -> None:
        """Take over a task an earlier engine left, in the state the runtime reports."""
        tdir = self._root / "tasks" / container.id
        tdir.mkdir(mode=0o700, parents=True, exist_ok=True)
        io = ProcessIO(terminal, None)
        io.detach()
        state = {
            "created": states.Created,
            "running": states.Running,
            "paused": states.Paused,
            "pausing": states.Paused,
        }.get(status, states.Stopped)
        proc = Process(container.id, "", args=(), io=io, state=state)
        proc.pid = pid
        try:
            spec = load_spec(tdir / "bundle")
        except errors.InvalidArgument:
            spec = {}  # its bundle copy is gone: assume the worst, a shared pid namespace
        task = Task(
            container=container,
            dir=tdir,
            init=proc,
            adopted=True,
            kill_all_on_exit=kill_all_on_exit(spec),
        )
        self._tasks[container.id] = task
        if state is states.Stopped:
            proc.exit = Exit(pid, 255, _now(), known=False)
            self._handle_exit(task, proc)
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
            if task.init_exit is not None:
                task.init_exit.cancel()
            for p in task.processes():
                self._reaper.forget(p.pid)
                p.io.close()
            if task.oom is not None:
                task.oom.close()
        self._tasks.clear()
        if not self._closed.done():  # what still waits for an exit will not see it from here
            self._closed.set_result(None)
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
