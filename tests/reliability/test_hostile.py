"""Hostile input: generated ids, labels, args and specs get a clear error or work; nothing
outside the engine's root is touched, nothing is left behind, no shell ever sees user input."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
from collections.abc import Awaitable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime import Engine, create_bundle, errors
from runtime.ids import MAX_LENGTH
from tests.conftest import assert_nothing_left

T = TypeVar("T")
VALID_ID = re.compile(r"^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$")
FAST = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
SLOW = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


class Runner:
    """One engine on its own loop, for hypothesis' synchronous examples."""

    def __init__(self, root: Path, runtime: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.engine = Engine(root=root, runtime=runtime)
        self.run(self.engine.open())

    def run(self, aw: Awaitable[T]) -> T:
        return self.loop.run_until_complete(aw)

    def close(self) -> None:
        self.run(self.engine.close())
        self.loop.close()


@pytest.fixture
def runner(tmp: Path, runtime_name: str) -> Iterator[Runner]:
    r = Runner(tmp / "root", runtime_name)
    try:
        yield r
    finally:
        r.close()
    assert_nothing_left(runtime_name, tmp / "root" / runtime_name)


def _outside(tmp: Path) -> set[str]:
    """What stands beside the engine's root (a '../x' id would land here)."""
    return set(os.listdir(tmp))


ids = st.one_of(
    st.text(max_size=90),
    st.from_regex(VALID_ID, fullmatch=True),
    st.sampled_from(["..", "../x", "a/../b", ".", "a\0b", "-a", "a-", "a" * (MAX_LENGTH + 1)]),
)


@FAST
@given(cid=ids)
def test_generated_container_ids(runner: Runner, tmp: Path, make_bundle, cid: str) -> None:
    bundle = make_bundle(["true"])
    before = _outside(tmp)
    valid = bool(VALID_ID.match(cid)) and len(cid) <= MAX_LENGTH
    try:
        runner.run(runner.engine.containers.create(cid, bundle))
    except errors.InvalidArgument as e:
        assert not valid, f"{cid!r} refused: {e}"
        assert repr(cid)[:20] in str(e) or "empty" in str(e) or "string" in str(e)
    else:
        assert valid, f"{cid!r} accepted"
        runner.run(runner.engine.containers.delete(cid))
    assert _outside(tmp) - before <= {bundle.name}


labels = st.dictionaries(st.text(max_size=40), st.text(max_size=200), max_size=8)


@FAST
@given(lab=labels)
def test_generated_labels_round_trip_or_are_refused(runner: Runner, make_bundle, lab) -> None:
    e = runner.engine
    try:
        c = runner.run(e.containers.create("lab", make_bundle(["true"]), labels=lab))
    except errors.InvalidArgument as err:
        assert "label" in str(err)
        assert any(not k or "\0" in k + v for k, v in lab.items())
        return
    try:
        assert c.labels == lab
        # What SQLite gives back after a restart is the same text, markup and escapes included.
        runner.run(e.close())
        runner.run(e.open())
        assert e.containers.get("lab").labels == lab
    finally:
        runner.run(e.containers.delete("lab"))


@SLOW
@given(args=st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=5))
def test_generated_exec_args_reach_the_process_literally(runner: Runner, make_bundle, args) -> None:
    e = runner.engine
    if any("\0" in a for a in args):
        with pytest.raises(errors.InvalidArgument):
            create_bundle(make_bundle(["true"]).parent / "nul", args)
        return
    runner.run(_exec_echo(e, make_bundle, args))


async def _exec_echo(e: Engine, make_bundle: Any, args: list[str]) -> None:
    await e.containers.create("lit", make_bundle(["sleep", "1000"]))
    await e.tasks.create("lit")
    await e.tasks.start("lit")
    try:
        # Each argument is printed on a line of its own by the container's printf: no shell
        # on our side sees them, so '$(...)', ';' and quotes arrive as they were.
        await e.tasks.exec("lit", "p", ["printf", "%s\\n", *args])
        await e.tasks.start("lit", "p")
        await e.tasks.wait("lit", "p")
        io = e.tasks.io("lit", "p")
        await io.drain(5)
        printed = io.backlog().decode("utf-8", errors="surrogateescape")
        assert printed == "".join(a + "\n" for a in args).replace("\r\n", "\n") or _has_escape(args)
    finally:
        await e.tasks.kill("lit", signal.SIGKILL)
        await e.tasks.wait("lit")
        await e.tasks.delete("lit")
        await e.containers.delete("lit")


def _has_escape(args: list[str]) -> bool:
    # printf %s prints bytes as given; only a terminal would transform them, and this is a pipe.
    return any(ord(c) < 32 for a in args for c in a)


spec_patches = st.fixed_dictionaries(
    {},
    optional={
        "args": st.one_of(
            st.none(),
            st.just([]),
            st.lists(st.text(max_size=10), max_size=3),
            st.integers(),
            st.text(max_size=5),
        ),
        "terminal": st.one_of(st.booleans(), st.text(max_size=3), st.integers()),
        "cwd": st.one_of(st.just("/"), st.just("relative"), st.just("/no/such"), st.integers()),
        "env": st.one_of(st.lists(st.text(max_size=10), max_size=3), st.text(max_size=5)),
        "user": st.one_of(st.just({"uid": 0, "gid": 0}), st.just({"uid": "x"}), st.just(None)),
    },
)


@SLOW
@given(patch=spec_patches, drop_process=st.booleans())
def test_generated_specs_work_or_fail_clearly(
    runner: Runner, make_bundle, tmp: Path, patch: dict[str, Any], drop_process: bool
) -> None:
    bundle = make_bundle(["true"])
    spec = json.loads((bundle / "config.json").read_text())
    if drop_process:
        del spec["process"]
    else:
        spec["process"].update(patch)
    (bundle / "config.json").write_text(json.dumps(spec))
    e = runner.engine
    runner.run(e.containers.create("spec", bundle))
    try:
        runner.run(_create_start_delete(e))
    except errors.Error as err:
        assert str(err)  # a message, not a traceback
    finally:
        leftover = e.tasks.get("spec")
        if leftover is not None:
            runner.run(_cleanup(e))
        runner.run(e.containers.delete("spec"))
    assert leftover is None
    assert not (e.root / "tasks" / "spec").exists()


async def _cleanup(e: Engine) -> None:
    if (await e.tasks.state("spec")).status != "stopped":
        await e.tasks.kill("spec", signal.SIGKILL)
        await e.tasks.wait("spec")
    await e.tasks.delete("spec")


async def _create_start_delete(e: Engine) -> None:
    await e.tasks.create("spec")
    try:
        await e.tasks.start("spec")
        await asyncio.wait_for(e.tasks.wait("spec"), 10)
    finally:
        if (await e.tasks.state("spec")).status not in ("stopped", "created"):
            await e.tasks.kill("spec", signal.SIGKILL)
            await e.tasks.wait("spec")
        await e.tasks.delete("spec")


async def test_oversized_inputs(engine: Engine, make_bundle, tmp: Path) -> None:
    with pytest.raises(errors.InvalidArgument, match="limit is 76"):
        await engine.containers.create("x" * 10_000, make_bundle(["true"]))
    with pytest.raises(errors.InvalidArgument, match="the limit is 4096"):
        await engine.containers.create("big", make_bundle(["true"]), labels={"k": "v" * 1_000_000})
    await engine.containers.create("cat", make_bundle(["cat"]))
    await engine.tasks.create("cat")
    await engine.tasks.start("cat")
    io = engine.tasks.io("cat")
    io.write(b"x" * 10_000_000)  # queued, never blocks the engine; cat echoes it back
    await engine.tasks.close_io("cat")
    assert (await asyncio.wait_for(engine.tasks.wait("cat"), 60)).exit_status == 0
    await engine.tasks.delete("cat")


async def test_paths_with_dotdot(engine: Engine, make_bundle, tmp: Path) -> None:
    await engine.containers.create("p", make_bundle(["sleep", "1000"]))
    await engine.tasks.create("p")
    await engine.tasks.start("p")
    with pytest.raises(errors.InvalidArgument, match="no '..'"):
        await engine.tasks.checkpoint("p", str(tmp / ".." / "elsewhere"))
    for bad in ("../p", "p/../q"):
        with pytest.raises(errors.InvalidArgument):
            await engine.tasks.exec("p", bad, ["true"])
    await engine.tasks.kill("p", signal.SIGKILL)
    await engine.tasks.wait("p")
    await engine.tasks.delete("p")


def test_no_shell_is_ever_invoked_by_the_engine() -> None:
    src = Path(__file__).parents[2] / "runtime"
    for path in src.glob("*.py"):
        text = path.read_text()
        for needle in ("shell=True", "os.system(", "os.popen(", "create_subprocess_shell"):
            assert needle not in text, f"{path.name} uses {needle}"
