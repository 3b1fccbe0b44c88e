"""Faults: each ends in a clear error or a correct state, and nothing is lost or left."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime import Engine, errors, events
from tests.conftest import assert_nothing_left
from tests.engine.helpers import next_event


def wrapper(tmp: Path, runtime: str, on_create: str) -> str:
    """A runtime binary that behaves as ``on_create`` says when asked to create."""
    real = shutil.which(runtime)
    path = tmp / f"faulty-{runtime}"
    path.write_text(
        "#!/bin/sh\n"
        'for a in "$@"; do [ "$a" = create ] && { ' + on_create + "; }; done\n"
        f'exec {real} "$@"\n'
    )
    path.chmod(0o755)
    return str(path)


async def test_a_container_killed_from_outside(engine: Engine, make_bundle) -> None:
    await engine.containers.create("victim", make_bundle(["sleep", "1000"]))
    info = await engine.tasks.create("victim")
    await engine.tasks.start("victim")
    sub = engine.subscribe(topics=[events.TASK_EXIT])
    os.kill(info.pid, signal.SIGKILL)
    ev = await next_event(sub, lambda e: e.container_id == "victim")
    assert ev.exit_status == 137
    assert (await engine.tasks.state("victim")).status == "stopped"
    await engine.tasks.delete("victim")


@pytest.mark.parametrize(
    ("on_create", "said"),
    [
        ("kill -9 $$", "exit status 137"),
        ("echo 'no space left on device' >&2; exit 1", "no space left on device"),
    ],
    ids=["killed", "failing"],
)
async def test_a_runtime_dying_mid_create(
    tmp, runtime_name, make_bundle, on_create: str, said: str
) -> None:
    binary = wrapper(tmp, runtime_name, on_create)
    async with Engine(root=tmp / "root", runtime=binary) as e:
        await e.containers.create("doomed", make_bundle(["sleep", "1000"]))
        with pytest.raises(errors.RuntimeFailure, match=said):
            await e.tasks.create("doomed")
        assert e.tasks.list() == []
        assert not (e.root / "tasks" / "doomed").exists()
        # Nothing lost: the container is still there and a task can be made once it works.
        assert e.containers.get("doomed").id == "doomed"
    assert_nothing_left(runtime_name, tmp / "root" / os.path.basename(binary))


async def test_a_runtime_dying_after_it_created(tmp, runtime_name, make_bundle) -> None:
    real = shutil.which(runtime_name)
    # The container exists in the runtime, but the command reports failure.
    binary = wrapper(tmp, runtime_name, f'{real} "$@"; exit 1')
    async with Engine(root=tmp / "root", runtime=binary) as e:
        await e.containers.create("half", make_bundle(["sleep", "1000"]))
        with pytest.raises(errors.RuntimeFailure):
            await e.tasks.create("half")
        assert e.tasks.list() == []
    assert_nothing_left(runtime_name, tmp / "root" / os.path.basename(binary))


async def test_the_bundle_deleted_under_a_running_task(tmp, engine: Engine, rootfs) -> None:
    from runtime import create_bundle

    bundle = create_bundle(tmp / "gone", ["sleep", "1000"], rootfs=rootfs)
    await engine.containers.create("orphaned", bundle)
    await engine.tasks.create("orphaned")
    await engine.tasks.start("orphaned")
    shutil.rmtree(bundle)
    await engine.tasks.exec("orphaned", "still", ["true"])
    await engine.tasks.start("orphaned", "still")
    assert (await engine.tasks.wait("orphaned", "still")).exit_status == 0
    await engine.tasks.pause("orphaned")
    await engine.tasks.resume("orphaned")
    await engine.tasks.kill("orphaned", signal.SIGKILL)
    assert (await engine.tasks.wait("orphaned")).exit_status == 137
    await engine.tasks.delete("orphaned")
    with pytest.raises(errors.InvalidArgument, match="no config.json"):
        await engine.tasks.create("orphaned")
    await engine.containers.delete("orphaned")


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    subprocess.run(["mount", "--bind", str(path), str(path)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(path)], check=True)
        yield
    finally:
        subprocess.run(["umount", str(path)], check=True)


async def test_a_read_only_state_root(engine: Engine, make_bundle) -> None:
    await engine.containers.create("before", make_bundle(["sleep", "1000"]))
    await engine.tasks.create("before")
    await engine.tasks.start("before")
    await engine.containers.create("during", make_bundle(["sleep", "1000"]))
    state_root = engine.root / engine.runtime_name
    with read_only(state_root):
        with pytest.raises(
            errors.RuntimeFailure, match="read-only file system|cannot create state directory"
        ):
            await engine.tasks.create("during")
        assert engine.tasks.get("during") is None
        # What runs keeps running and can be signalled.
        await engine.tasks.kill("before", signal.SIGKILL)
        assert (await engine.tasks.wait("before")).exit_status == 137
        with pytest.raises(errors.RuntimeFailure):
            await engine.tasks.delete("before")
        assert (await engine.tasks.state("before")).status == "stopped"
    # Once writable again, nothing was lost: the delete goes through.
    assert (await engine.tasks.delete("before")).exit_status == 137
    await engine.tasks.create("during")
    await engine.tasks.delete("during")


async def test_what_a_dying_runtime_prints_is_told_for_ttys_too(
    tmp, runtime_name, make_bundle
) -> None:
    binary = wrapper(tmp, runtime_name, "echo 'panic: runtime error' >&2; exit 2")
    async with Engine(root=tmp / "root", runtime=binary) as e:
        await e.containers.create("tty", make_bundle(["sh"], terminal=True))
        with pytest.raises(errors.RuntimeFailure, match="panic: runtime error"):
            await e.tasks.create("tty")
