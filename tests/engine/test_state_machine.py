"""Illegal operations are refused with the state named, and never reach the runtime binary."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from runtime import Engine, errors


@pytest.fixture
def logging_runtime(tmp: Path, runtime_name: str) -> tuple[str, Path]:
    """A wrapper of the real runtime that records each subcommand it is asked to run."""
    log = tmp / "calls.log"
    wrapper = tmp / f"logged-{runtime_name}"
    real = shutil.which(runtime_name)
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {real} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper), log


async def test_illegal_operations_name_the_state(tmp, logging_runtime, make_bundle) -> None:
    binary, log = logging_runtime
    async with Engine(root=tmp / "root", runtime=binary) as e:
        await e.containers.create("sm", make_bundle(["sleep", "100"]))
        await e.tasks.create("sm")
        calls_before = log.read_text()
        for op in (e.tasks.pause, e.tasks.resume):
            with pytest.raises(errors.FailedPrecondition, match="in created state"):
                await op("sm")
        with pytest.raises(errors.FailedPrecondition, match="checkpoint task 'sm' in created"):
            await e.tasks.checkpoint("sm", tmp / "ckpt")
        await e.tasks.start("sm")
        with pytest.raises(errors.FailedPrecondition, match="cannot start task 'sm' in running"):
            await e.tasks.start("sm")
        with pytest.raises(errors.FailedPrecondition, match="cannot delete task 'sm' in running"):
            await e.tasks.delete("sm")
        with pytest.raises(errors.FailedPrecondition, match="resume .* in running state"):
            await e.tasks.resume("sm")
        await e.tasks.pause("sm")
        with pytest.raises(errors.FailedPrecondition, match="in paused state"):
            await e.tasks.delete("sm")
        with pytest.raises(errors.FailedPrecondition, match="in paused state"):
            await e.tasks.pause("sm")
        await e.tasks.resume("sm")
        await e.tasks.kill("sm", signal.SIGKILL)
        await e.tasks.wait("sm")
        for op in (e.tasks.start, e.tasks.pause, e.tasks.resume):
            with pytest.raises(errors.FailedPrecondition, match="in stopped state"):
                await op("sm")
        with pytest.raises(errors.NotFound, match="already exited"):
            await e.tasks.kill("sm", signal.SIGTERM)
        refused = {"start", "delete", "resume", "pause", "checkpoint"}
        new_calls = log.read_text()[len(calls_before) :].splitlines()
        ops = [c.split()[2] if c.startswith("--root") else c.split()[0] for c in new_calls]
        # Only the legal calls reached the runtime: start, pause, resume, kill (once each).
        assert ops.count("start") == 1 and ops.count("pause") == 1 and ops.count("resume") == 1
        assert "delete" not in ops and "checkpoint" not in ops, (refused, ops)
        await e.tasks.delete("sm")
        with pytest.raises(errors.NotFound):
            await e.tasks.delete("sm")
        with pytest.raises(errors.NotFound):
            await e.tasks.kill("sm", signal.SIGKILL)


@pytest.mark.parametrize(
    "bad", ["", "../x", "a/b", "x\0y", "a" * 77, "-lead", "trail.", "dou..ble", "sp ace", 7]
)
async def test_invalid_ids_are_refused_before_anything_is_touched(engine: Engine, bad, tmp) -> None:
    before = sorted(os.listdir(engine.root / "tasks"))
    with pytest.raises(errors.InvalidArgument):
        await engine.containers.create(bad, tmp)
    with pytest.raises(errors.InvalidArgument):
        await engine.tasks.create(bad)
    with pytest.raises(errors.InvalidArgument):
        await engine.tasks.kill(bad, signal.SIGKILL)
    assert sorted(os.listdir(engine.root / "tasks")) == before
    assert engine.containers.list() == []


async def test_longest_valid_id_works(engine: Engine, make_bundle) -> None:
    cid = "a" * 76
    await engine.containers.create(cid, make_bundle(["true"]))
    await engine.tasks.create(cid)
    await engine.tasks.start(cid)
    assert (await engine.tasks.wait(cid)).exit_status == 0
    await engine.tasks.delete(cid)


async def test_bad_requests_are_clear(engine: Engine, make_bundle, tmp) -> None:
    with pytest.raises(errors.InvalidArgument, match="has no config.json"):
        await engine.containers.create("nob", tmp)
    with pytest.raises(errors.NotFound, match="container 'ghost' not found"):
        await engine.tasks.create("ghost")
    with pytest.raises(errors.NotFound, match="task 'ghost' not found"):
        await engine.tasks.start("ghost")
    await engine.containers.create("dup", make_bundle(["sleep", "100"]))
    with pytest.raises(errors.AlreadyExists):
        await engine.containers.create("dup", make_bundle(["true"]))
    with pytest.raises(errors.InvalidArgument, match="label .k.: keys and values must be strings"):
        await engine.containers.create("lab", make_bundle(["true"]), labels={"k": 1})  # type: ignore[dict-item]
    await engine.tasks.create("dup")
    with pytest.raises(errors.AlreadyExists):
        await engine.tasks.create("dup")
    with pytest.raises(errors.FailedPrecondition, match="has a task"):
        await engine.containers.delete("dup")
    with pytest.raises(errors.InvalidArgument, match="signal"):
        await engine.tasks.kill("dup", 0)
    with pytest.raises(errors.InvalidArgument, match="signal"):
        await engine.tasks.kill("dup", "SIGNOPE")
    await engine.tasks.delete("dup")


async def test_a_runtime_failure_carries_its_stderr_and_leaves_nothing(
    engine: Engine, make_bundle
) -> None:
    await engine.containers.create("nosuch", make_bundle(["/no/such/binary"]))
    with pytest.raises(errors.Error) as info:
        await engine.tasks.create("nosuch")
        await engine.tasks.start("nosuch")
    assert "no such file" in str(info.value).lower() or "not found" in str(info.value).lower()
    if engine.tasks.get("nosuch") is not None:  # crun fails at start, runc at create
        await engine.tasks.delete("nosuch")
    assert not (engine.root / "tasks" / "nosuch").exists()
