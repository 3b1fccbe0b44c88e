"""Checkpoint and restore with CRIU, on the real runtimes, and CRIU's failures told clearly."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from runtime import Engine, errors, events
from runtime.checkpoint import failed_line, find_criu, runtime_argv
from runtime.opts import CheckpointOpts, RestoreOpts

from ..conftest import assert_nothing_left
from .helpers import (
    TIMEOUT,
    crippled_criu,
    drain,
    read_until,
    runtime_lacks_criu,
    stop,
    working_criu,
)

COUNTER = "i=0; while :; do i=$((i+1)); echo $i; sleep 0.02; done"


@pytest.fixture
def criu(engine: Engine) -> str:
    """The success path's precondition: a CRIU that works, under a runtime that can use it."""
    if runtime_lacks_criu(engine.runtime_name):
        pytest.skip(f"{engine.runtime_name} here is built without CRIU (its error is tested)")
    found = working_criu()
    if found is None:
        pytest.skip("no CRIU here passes 'criu check': run scripts/setup-host")
    return found


def numbers(output: bytes) -> list[int]:
    """The counter's complete lines (a pty ends them with \\r\\n)."""
    lines = output.replace(b"\r", b"").split(b"\n")[:-1]
    return [int(line) for line in lines if line.strip().isdigit()]


async def counting(engine: Engine, make_bundle, id: str) -> None:
    await engine.containers.create(id, make_bundle(["sh", "-c", COUNTER]))
    await engine.tasks.run(id)
    await read_until(engine.tasks.io(id).stream(), b"3\n")


async def next_number(engine: Engine, id: str) -> int:
    """The first number the task prints (from the start of its current output)."""
    io = engine.tasks.io(id)
    stream = io.stream()
    while not numbers(io.backlog()):
        await asyncio.wait_for(stream.__anext__(), TIMEOUT)
    return numbers(io.backlog())[0]


def runtime_status(engine: Engine, id: str) -> str:
    """The runtime's own word on container ``id``; "gone" once it removed it."""
    root = engine.root / engine.runtime_name
    out = subprocess.run(
        [engine.runtime_name, "--root", str(root), "state", id], capture_output=True, text=True
    )
    return str(json.loads(out.stdout)["status"]) if out.returncode == 0 else "gone"


async def test_a_counter_restored_goes_on_from_its_count(
    engine: Engine, criu: str, make_bundle, tmp: Path
) -> None:
    await counting(engine, make_bundle, "ck")
    sub = engine.subscribe(topics=[events.TASK_CHECKPOINTED])
    await engine.tasks.checkpoint("ck", tmp / "ckpt", exit=True)
    assert drain(sub)[0].detail["path"] == str(tmp / "ckpt")
    await engine.tasks.wait("ck")
    stopped_at = numbers(engine.tasks.io("ck").backlog())[-1]
    await engine.tasks.delete("ck")

    info = await engine.tasks.restore("ck", tmp / "ckpt")
    assert info.status == "running" and info.pid > 0
    assert await next_number(engine, "ck") == stopped_at + 1
    await stop(engine, "ck")

    # The container keeps a record of it (its task came and went), until it is deleted.
    (record,) = engine.containers.checkpoints("ck")
    assert record.path == tmp / "ckpt" and record.exited
    assert record.size_bytes == sum(f.stat().st_size for f in record.path.iterdir())
    await engine.containers.delete("ck")
    await engine.containers.create("ck", make_bundle(["true"]))
    assert engine.containers.checkpoints("ck") == []


async def test_leave_running_goes_on_and_exit_stops(
    engine: Engine, criu: str, make_bundle, tmp: Path
) -> None:
    await counting(engine, make_bundle, "ck")
    await engine.tasks.checkpoint("ck", tmp / "running")
    assert (await engine.tasks.state("ck")).status == "running"
    io = engine.tasks.io("ck")
    seen = numbers(io.backlog())[-1]
    await read_until(io.stream(), f"\n{seen + 5}\n".encode())  # still counting

    await engine.tasks.checkpoint("ck", tmp / "exit", exit=True)
    exited = await asyncio.wait_for(engine.tasks.wait("ck"), TIMEOUT)
    assert exited.exit_status != 0  # CRIU kills it once dumped
    assert (await engine.tasks.state("ck")).status == "stopped"
    assert runtime_status(engine, "ck") in ("stopped", "gone")  # runc removes it at once
    await engine.tasks.delete("ck")


async def test_a_paused_task_checkpointed_stays_paused(
    engine: Engine, criu: str, make_bundle, tmp: Path
) -> None:
    await counting(engine, make_bundle, "ck")
    await engine.tasks.pause("ck")
    await engine.tasks.checkpoint("ck", tmp / "ckpt")
    assert (await engine.tasks.state("ck")).status == "paused"
    assert runtime_status(engine, "ck") == "paused"
    paused_at = numbers(engine.tasks.io("ck").read_now())[-1]

    # Restored into a new container from the same bundle, while the old one stays paused:
    # the copy goes on from the count, the original has not moved.
    bundle = engine.containers.get("ck").bundle
    await engine.containers.create("copy", bundle)
    info = await engine.tasks.restore("copy", tmp / "ckpt")
    assert info.status == "running"
    assert await next_number(engine, "copy") == paused_at + 1
    assert numbers(engine.tasks.io("ck").read_now())[-1] == paused_at
    assert runtime_status(engine, "ck") == "paused"
    stream = engine.tasks.io("ck").stream()  # before it prints again
    await engine.tasks.resume("ck")
    await read_until(stream, f"\n{paused_at + 2}\n".encode())
    await stop(engine, "copy")
    await stop(engine, "ck")


async def test_restore_into_the_same_id_needs_its_task_gone(
    engine: Engine, criu: str, make_bundle, tmp: Path
) -> None:
    await counting(engine, make_bundle, "ck")
    await engine.tasks.checkpoint("ck", tmp / "ckpt")
    with pytest.raises(errors.AlreadyExists):
        await engine.tasks.restore("ck", tmp / "ckpt")
    with pytest.raises(errors.NotFound):
        await engine.tasks.restore("nobody", tmp / "ckpt")
    await stop(engine, "ck")
    await engine.tasks.restore("ck", tmp / "ckpt")
    assert (await engine.tasks.state("ck")).status == "running"
    await stop(engine, "ck")


async def test_pre_dump_then_checkpoint_on_it(
    engine: Engine, criu: str, make_bundle, tmp: Path
) -> None:
    await counting(engine, make_bundle, "ck")
    tracked = subprocess.run([criu, "check", "--feature", "mem_dirty_track"], capture_output=True)
    if tracked.returncode != 0:
        # This kernel has no soft-dirty bits (CONFIG_MEM_SOFT_DIRTY): said, not a riddle.
        with pytest.raises(errors.RuntimeFailure, match="memory dirty tracking"):
            await engine.tasks.checkpoint("ck", tmp / "pre", pre_dump=True)
        assert not (tmp / "pre").exists()
        assert (await engine.tasks.state("ck")).status == "running"
        await stop(engine, "ck")
        return
    await engine.tasks.checkpoint("ck", tmp / "pre", pre_dump=True)
    assert (await engine.tasks.state("ck")).status == "running"
    await engine.tasks.checkpoint("ck", tmp / "full", exit=True, parent=tmp / "pre")
    await engine.tasks.wait("ck")
    stopped_at = numbers(engine.tasks.io("ck").backlog())[-1]
    await engine.tasks.delete("ck")
    await engine.tasks.restore("ck", tmp / "full")
    assert await next_number(engine, "ck") == stopped_at + 1
    await stop(engine, "ck")


async def test_socket_and_lock_options_go_through(
    engine: Engine, criu: str, make_bundle, tmp: Path
) -> None:
    await counting(engine, make_bundle, "ck")
    flags = {"tcp_established": True, "unix_sockets": True, "file_locks": True}
    work = tmp / "work"
    await engine.tasks.checkpoint("ck", tmp / "ckpt", exit=True, work_path=work, **flags)
    assert (work / "dump.log").exists()
    await engine.tasks.wait("ck")
    await engine.tasks.delete("ck")
    await engine.tasks.restore("ck", tmp / "ckpt", **flags)
    assert (await engine.tasks.state("ck")).status == "running"
    await stop(engine, "ck")


async def test_a_terminal_task_comes_back_with_its_console(
    engine: Engine, criu: str, make_bundle, tmp: Path
) -> None:
    await engine.containers.create("tty", make_bundle(["sh"], terminal=True))
    await engine.tasks.run("tty")
    io = engine.tasks.io("tty")
    io.write(b"x=41; echo ready$((x-40))\n")
    await read_until(io.stream(), b"ready1")
    await engine.tasks.checkpoint("tty", tmp / "ckpt", exit=True)
    await engine.tasks.wait("tty")
    await engine.tasks.delete("tty")

    await engine.tasks.restore("tty", tmp / "ckpt")
    io = engine.tasks.io("tty")
    assert io.terminal
    await engine.tasks.resize_pty("tty", 100, 30)
    stream = io.stream()
    io.write(b"stty size; echo got$((x+1))\n")
    out = await read_until(stream, b"got42")  # its shell variable came back with it
    assert b"30 100" in out
    await stop(engine, "tty")


async def test_a_runtime_without_criu_says_so(engine: Engine, make_bundle, tmp: Path) -> None:
    if not runtime_lacks_criu(engine.runtime_name):
        pytest.skip(f"{engine.runtime_name} here has CRIU: the success path is tested instead")
    await counting(engine, make_bundle, "ck")
    with pytest.raises(errors.RuntimeFailure, match="built without CRIU support"):
        await engine.tasks.checkpoint("ck", tmp / "ckpt")
    assert not (tmp / "ckpt").exists()
    assert (await engine.tasks.state("ck")).status == "running"
    await stop(engine, "ck")
    (tmp / "image").mkdir()
    (tmp / "image" / "inventory.img").touch()  # the runtime says no before reading it
    with pytest.raises(errors.RuntimeFailure, match=r"^restore of task 'ck' failed: .*CRIU"):
        await engine.tasks.restore("ck", tmp / "image")
    with pytest.raises(errors.NotFound):
        await engine.tasks.state("ck")


# -- a CRIU that cannot work ---------------------------------------------------------------


@pytest.fixture
async def crippled(criu: str, runtime_name: str, tmp: Path) -> AsyncIterator[Engine]:
    """An engine whose CRIU cannot work (:func:`crippled_criu`)."""
    bad = crippled_criu(criu, tmp)
    async with Engine(root=tmp / "bad-root", runtime=runtime_name, criu=bad) as e:
        assert e.criu == str(bad)
        yield e
    assert_nothing_left(runtime_name, tmp / "bad-root" / runtime_name)


async def test_a_failed_dump_names_the_line_that_failed_it(
    crippled: Engine, make_bundle, tmp: Path
) -> None:
    await counting(crippled, make_bundle, "ck")
    sub = crippled.subscribe()
    with pytest.raises(errors.RuntimeFailure) as info:
        await crippled.tasks.checkpoint("ck", tmp / "ckpt")
    message = str(info.value)
    assert message.startswith("checkpoint of task 'ck' failed: Error (criu/")
    assert "Locking network failed" in message and "RLIMIT" not in message
    log = Path(message.rsplit("criu log: ", 1)[1].rstrip(")"))
    assert log.name == "dump.log" and "Dumping FAILED" in log.read_text()
    assert (await crippled.tasks.state("ck")).status == "running"
    assert [e for e in drain(sub) if e.topic == events.TASK_CHECKPOINTED] == []
    assert not (tmp / "ckpt").exists()  # the image directory it made is gone again
    await stop(crippled, "ck")


async def test_a_failed_restore_names_the_line_that_failed_it(
    engine: Engine, crippled: Engine, make_bundle, tmp: Path
) -> None:
    await counting(engine, make_bundle, "ck")
    await engine.tasks.checkpoint("ck", tmp / "ckpt")
    await stop(engine, "ck")
    await crippled.containers.create("ck", engine.containers.get("ck").bundle)
    with pytest.raises(errors.RuntimeFailure) as info:
        await crippled.tasks.restore("ck", tmp / "ckpt")
    message = str(info.value)
    assert message.startswith("restore of task 'ck' failed: Error (criu/")
    assert "RLIMIT" not in message
    log = Path(message.rsplit("criu log: ", 1)[1].rstrip(")"))
    assert log.name == "restore.log" and "Restoring FAILED" in log.read_text()
    with pytest.raises(errors.NotFound):
        await crippled.tasks.state("ck")


async def test_a_criu_that_fails_at_once_is_reported(
    runtime_name: str, make_bundle, tmp: Path
) -> None:
    # Works where no CRIU does: a stand-in that fails as CRIU does when it cannot start.
    if runtime_lacks_criu(runtime_name):
        pytest.skip(f"{runtime_name} here is built without CRIU (its error is tested)")
    fake = tmp / "fake" / "criu"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'Error (criu/crtools.c:1): cannot work' >&2\nexit 1\n")
    fake.chmod(0o755)
    async with Engine(root=tmp / "root", runtime=runtime_name, criu=fake) as e:
        await counting(e, make_bundle, "ck")
        with pytest.raises(errors.RuntimeFailure, match=r"^checkpoint of task 'ck' failed: "):
            await e.tasks.checkpoint("ck", tmp / "ckpt")
        assert (await e.tasks.state("ck")).status == "running"
        await stop(e, "ck")
    assert_nothing_left(runtime_name, tmp / "root" / runtime_name)


# -- arguments --------------------------------------------------------------------------------


async def test_bad_checkpoint_arguments_are_refused(engine: Engine, make_bundle, tmp: Path) -> None:
    await counting(engine, make_bundle, "ck")
    with pytest.raises(errors.InvalidArgument, match="absolute"):
        await engine.tasks.checkpoint("ck", "relative/dir")
    with pytest.raises(errors.InvalidArgument, match="no checkpoint"):
        await engine.tasks.restore("ck", "/nonexistent")
    with pytest.raises(errors.InvalidArgument, match="pre-dump"):
        await engine.tasks.checkpoint("ck", tmp / "x", exit=True, pre_dump=True)
    with pytest.raises(errors.InvalidArgument, match="parent checkpoint"):
        await engine.tasks.checkpoint("ck", tmp / "x", parent="/nonexistent")
    with pytest.raises(errors.InvalidArgument, match="unknown namespace 'net'"):
        await engine.tasks.checkpoint("ck", tmp / "x", empty_namespaces=["net"])
    assert not Path(tmp / "x").exists()
    with pytest.raises(errors.InvalidArgument, match="criu"):
        Engine(criu="/nonexistent/criu")
    await stop(engine, "ck")


def test_options_build_the_runtime_command_line() -> None:
    opts = CheckpointOpts(
        Path("/i"),
        Path("/w"),
        leave_running=False,
        parent_path=Path("/p"),
        tcp_established=True,
        ext_unix_sockets=True,
        file_locks=True,
        shell_job=True,
        empty_namespaces=("network",),
    )
    assert opts.args() == [
        "checkpoint",
        "--image-path",
        "/i",
        "--work-path",
        "/w",
        "--parent-path",
        "/p",
        "--tcp-established",
        "--ext-unix-sk",
        "--file-locks",
        "--shell-job",
        "--empty-ns",
        "network",
    ]
    assert "--leave-running" in CheckpointOpts(Path("/i"), Path("/w")).args()
    pre = CheckpointOpts(Path("/i"), Path("/w"), pre_dump=True).args()
    assert "--pre-dump" in pre and "--leave-running" not in pre
    with pytest.raises(errors.InvalidArgument, match="unknown namespace 'net'"):
        CheckpointOpts(Path("/i"), Path("/w"), empty_namespaces=("net",)).args()
    restore = RestoreOpts(
        pid_file=Path("/pid"),
        log=Path("/log"),
        bundle=Path("/b"),
        image_path=Path("/i"),
        work_path=Path("/w"),
        console_socket=Path("/s"),
    ).args()
    assert restore[:2] == ["restore", "--detach"] and "--console-socket" in restore


def test_each_runtime_is_given_its_criu() -> None:
    argv = ["/usr/sbin/runc", "--root", "/r", "checkpoint", "x"]
    assert runtime_argv(argv, "runc", "/p/criu")[:3] == ["/usr/sbin/runc", "--criu", "/p/criu"]
    assert runtime_argv(argv, "runc", None) == argv
    # crun links libcriu, which runs the "criu" it finds on PATH.
    wrapped = runtime_argv(["/usr/bin/crun", "checkpoint"], "crun", "/p/bin/criu")
    assert wrapped[0] == "/usr/bin/env" and wrapped[1].startswith("PATH=/p/bin:")
    assert wrapped[2:] == ["/usr/bin/crun", "checkpoint"]
    with pytest.raises(errors.InvalidArgument, match="by the name 'criu'"):
        runtime_argv(["/usr/bin/crun"], "crun", "/p/criu-4")


def test_the_failed_line_is_the_one_that_led_to_failed(tmp: Path) -> None:
    log = tmp / "dump.log"
    log.write_text(
        "(00.01) Error (criu/util.c:1533): rlimit: Can't setup RLIMIT_NOFILE for self\n"
        "(00.02) Dumping task (pid: 7)\n"
        'Error (criu/util.c:641): execvp("iptables-restore", ...) failed: No such file\n'
        "(00.03) Error (criu/util.c:656): exited, status=1\n"
        "(00.04) Error (criu/net.c:3282): net: Locking network failed\n"
        'Error (criu/util.c:641): execvp("iptables-restore", ...) failed: No such file\n'
        "(00.05) Unfreezing tasks into 1\n"
        "(00.06) Error (criu/cr-dump.c:2111): Dumping FAILED.\n"
    )
    assert failed_line(log, "Dumping FAILED.") == (
        "Error (criu/net.c:3282): net: Locking network failed "
        '(first error: execvp("iptables-restore", ...) failed: No such file)'
    )
    log.write_text("(00.01) Restoring\n(00.02) Restoring FAILED.\n")
    assert failed_line(log, "Restoring FAILED.") == "Restoring"
    assert failed_line(tmp / "missing.log", "Dumping FAILED.") is None


def test_the_default_criu_is_setup_s_then_path() -> None:
    found = find_criu()
    installed = Path("/var/lib/shimdeck/criu/bin/criu")
    assert found == (str(installed) if installed.exists() else shutil.which("criu"))
