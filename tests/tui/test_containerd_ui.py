"""The UI on containerd where it differs from the engine's: namespaces (N), the header
through a containerd restart, the IMAGE column, uptimes and exec commands containerd does
not report, the execs pane's ListPids, and a checkpoint CRIU cannot make. From the keyboard,
on the private containerd (tests/containerd/daemon.py)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import signal
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.widgets import Checkbox, Input

from runtime import errors
from tests.containerd.daemon import Daemon
from tui.app import ShimdeckApp
from tui.backend.base import CommandSource, Status
from tui.backend.containerd.backend import DISCONNECTED, ContainerdBackend
from tui.backend.containerd.client import Client
from tui.backend.containerd.spec import exec_process
from tui.backend.recording import Recorder, RecordingBackend
from tui.backend.replay import ReplayBackend
from tui.dialogs import CheckpointDialog, ExecDialog, NamespacePicker
from tui.screens.main import MainScreen
from tui.widgets.tables import ContainersTable, ExecsTable

from .conftest import type_text, wait_for
from .test_live import notifications, select, status


def cell(table: ContainersTable | ExecsTable, key: str, column: str) -> str:
    """The text of one cell, by row key and column key."""
    columns = [k for k, _ in table.columns]
    return table.get_row(key)[columns.index(column)].plain


async def bare_container(client: Client, id: str) -> None:
    """A container needs neither an image nor a snapshot (no task: containerd can halt)."""
    await client.create_container(
        id, image="none", spec={"ociVersion": "1.0.2"}, snapshot_key="", snapshotter=""
    )


async def test_n_switches_namespace(on_containerd: ContainerdBackend, containerd: Daemon) -> None:
    """N lists the namespaces with their counts; choosing one shows its rows (none of the
    old one's) and the header names it."""
    other = f"{containerd.namespace}-other"
    client = on_containerd.client
    await client.create_namespace(other)
    there = client.in_namespace(other)
    # Images are per namespace: the other one has none.
    await bare_container(there, "elsewhere")
    await on_containerd.create("here", CommandSource(("true",)), terminal=False, labels={})
    app = ShimdeckApp(on_containerd)
    try:
        async with app.run_test(size=(120, 40), notifications=True) as pilot:
            await wait_for(pilot, lambda: "here" in app.model.rows, what="this namespace's row")
            assert f"[{containerd.namespace}]" in app.sub_title
            await pilot.press("N")
            await wait_for(pilot, lambda: isinstance(app.screen, NamespacePicker), what="picker")
            picker = app.screen
            assert isinstance(picker, NamespacePicker)
            assert (other, 1) in picker.namespaces and (
                containerd.namespace,
                1,
            ) in picker.namespaces
            await type_text(pilot, "-other")
            await pilot.press("enter")
            await wait_for(pilot, lambda: "elsewhere" in app.model.rows, what="the other's row")
            assert "here" not in app.model.rows
            await wait_for(pilot, lambda: f"[{other}]" in app.sub_title, what="the header")
            table = app.screen.query_one(ContainersTable)
            await wait_for(pilot, lambda: table.row_keys() == ["elsewhere"], what="repainted")
            assert notifications(app) == []
    finally:
        await there.delete_container("elsewhere")
        await client.delete_namespace(other)
        await on_containerd.switch_namespace(containerd.namespace)
        await on_containerd.delete("here")


async def test_a_recorded_namespace_switch_replays(
    on_containerd: ContainerdBackend, containerd: Daemon, tmp: Path
) -> None:
    """N while recording: the replay, too, ends showing the other namespace's rows under a
    header that names it, and none of the first namespace's."""
    other = f"{containerd.namespace}-rec"
    client = on_containerd.client
    await client.create_namespace(other)
    await bare_container(client.in_namespace(other), "there")
    await bare_container(client, "here")
    session = tmp / "switch.jsonl"
    recorder = Recorder(
        session,
        runtime="containerd",
        start=datetime.now(UTC),
        info=on_containerd.info,
        capabilities=on_containerd.capabilities,
    )
    app = ShimdeckApp(RecordingBackend(on_containerd, recorder))
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: "here" in app.model.rows, what="the first row")
            await pilot.press("N")
            await wait_for(pilot, lambda: isinstance(app.screen, NamespacePicker), what="picker")
            await type_text(pilot, "-rec")
            await pilot.press("enter")
            await wait_for(pilot, lambda: set(app.model.rows) == {"there"}, what="switched")
        replay = ReplayBackend(session, instant=True)
        replayed = ShimdeckApp(replay)
        async with replayed.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: replayed.replay_ended, what="the replay's end")
            assert set(replayed.model.rows) == {"there"}
            assert f"[{other}]" in replayed.sub_title
            assert f"[{containerd.namespace}]" not in replayed.sub_title
    finally:
        await client.delete_container("here")
        await on_containerd.switch_namespace(containerd.namespace)
        await client.in_namespace(other).delete_container("there")
        await client.delete_namespace(other)


async def test_a_namespace_containerd_lacks_says_so(containerd: Daemon, tmp: Path) -> None:
    """-n with a namespace containerd does not have: not a silent empty view. The pane says
    so; an existing empty namespace keeps the usual hint."""
    missing = f"{containerd.namespace}-nosuch"
    client = await Client.connect(str(containerd.socket), missing)
    backend = await ContainerdBackend.open(client, io_dir=tmp / "io")
    app = ShimdeckApp(backend)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            table = app.screen.query_one(ContainersTable)
            await pilot.pause()
            hint = table.render_line(1).text
            assert f"containerd has no namespace '{missing}'" in hint and "N picks one" in hint
            assert not await client.has_namespace(missing)  # looking made none
            await client.create_namespace(missing)
            await backend.switch_namespace(containerd.namespace)
            await backend.switch_namespace(missing)
            await wait_for(pilot, lambda: table.empty_text == table.EMPTY, what="the usual hint")
    finally:
        await backend.close()
        with contextlib.suppress(errors.NotFound):
            await client.delete_namespace(missing)
        await client.close()


@pytest.fixture
async def on_spare(spare: Daemon, tmp: Path) -> AsyncIterator[ContainerdBackend]:
    client = await Client.connect(str(spare.socket), spare.namespace)
    backend = await ContainerdBackend.open(client, io_dir=tmp / "io")
    try:
        yield backend
    finally:
        await backend.close()
        await client.close()


async def test_reconnect_after_a_restart(on_spare: ContainerdBackend, spare: Daemon) -> None:
    """containerd stopped: the header says "disconnected, retrying"; started again (with a
    container removed while nobody watched): the rows are containerd's, none stale."""
    client = on_spare.client
    await bare_container(client, "kept")
    await bare_container(client, "gone")
    app = ShimdeckApp(on_spare)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await wait_for(pilot, lambda: {"kept", "gone"} <= app.model.rows.keys(), what="rows")
        await asyncio.to_thread(spare.halt)
        await wait_for(pilot, lambda: DISCONNECTED in app.sub_title, what="disconnected")
        assert not app.model.connected
        # Blocking on purpose: the backend cannot reconnect before "gone" is gone, so only
        # the resync can tell the UI (no event of its removal ever reaches it).
        spare.start()
        spare.ctr("containers", "rm", "gone")
        await wait_for(pilot, lambda: app.model.connected, what="reconnected")
        await wait_for(pilot, lambda: "gone" not in app.model.rows, what="the stale row gone")
        assert DISCONNECTED not in app.sub_title and f"[{spare.namespace}]" in app.sub_title
        assert "kept" in app.model.rows
        table = app.screen.query_one(ContainersTable)
        await wait_for(pilot, lambda: table.row_keys() == ["kept"], what="the table repainted")
        # (Its creation, after the backend subscribed at open, is an event the UI saw.)
        assert not any(
            e.container_id == "gone" and e.topic == "/containers/delete"
            for _, e in app.model.events
        )
        # Events flow again after the resync.
        await bare_container(client, "after")
        await wait_for(pilot, lambda: "after" in app.model.rows, what="a new row")
    for id in ("kept", "after"):
        await client.delete_container(id)


async def test_image_uptime_and_exec_commands(
    on_containerd: ContainerdBackend, containerd: Daemon
) -> None:
    """The IMAGE column; uptimes of a task started before shimdeck watched (from /proc) and
    of one started from the UI (its TaskStart); exec commands in the execs pane: one an
    earlier client started (ListPids on selection), one from e, one that someone else adds
    while the task is selected (its exec event refreshes the pane)."""
    backend = on_containerd
    client = backend.client
    assert containerd.image is not None
    await backend.create("early", CommandSource(("sleep", "300")), terminal=False, labels={})
    await backend.start("early")  # nobody follows events yet: no TaskStart is seen
    record = await client.container("early")
    await client.exec("early", "before", exec_process(record.spec, ["sleep", "201"]))
    await client.start("early", "before")
    await backend.create("late", CommandSource(("sleep", "300")), terminal=False, labels={})
    app = ShimdeckApp(backend)
    try:
        async with app.run_test(size=(140, 40), notifications=True) as pilot:
            table = app.screen.query_one(ContainersTable)
            await wait_for(pilot, lambda: "late" in table.row_keys(), what="rows")
            assert cell(table, "early", "image") == containerd.image.name
            await select(app, pilot, "late")
            await pilot.press("s")
            await wait_for(pilot, lambda: status(app, "late") == Status.RUNNING, what="running")
            for id in ("early", "late"):
                await wait_for(
                    pilot, lambda id=id: cell(table, id, "uptime") != "-", what=f"{id} uptime"
                )
                task = app.model.rows[id].task
                assert task is not None and task.started_at is not None
                assert 0 <= (backend.now() - task.started_at).total_seconds() < 120

            execs = app.screen.query_one(ExecsTable)
            await select(app, pilot, "early")
            await wait_for(pilot, lambda: "before" in execs.row_keys(), what="ListPids' exec")
            assert cell(execs, "before", "command") == "sleep 201"

            await pilot.press("e")
            dialog = app.screen
            assert isinstance(dialog, ExecDialog)
            dialog.query_one("#command", Input).value = "sleep 202"
            dialog.query_one("#tty", Checkbox).value = False
            dialog.query_one("#attach", Checkbox).value = False
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
            await wait_for(
                pilot, lambda: len(app.model.rows["early"].execs) == 2, what="e's exec in"
            )
            exec_id = next(
                e.exec_id for e in app.model.rows["early"].execs if e.exec_id != "before"
            )
            await wait_for(pilot, lambda: exec_id in execs.row_keys(), what="e's exec")
            assert cell(execs, exec_id, "command") == "sleep 202"

            await client.exec("early", "outside", exec_process(record.spec, ["sleep", "203"]))
            await client.start("early", "outside")
            await wait_for(pilot, lambda: "outside" in execs.row_keys(), what="the added exec")
            await wait_for(
                pilot, lambda: cell(execs, "outside", "command") == "sleep 203", what="command"
            )
            assert notifications(app) == []
    finally:
        for id in ("early", "late"):
            await backend.kill(id, signal.SIGKILL, all=True)
            await client.wait(id)
            await backend.delete(id)


async def test_checkpoint_failure_is_one_clear_line(
    on_containerd: ContainerdBackend, tmp: Path
) -> None:
    """c where containerd's shim cannot CRIU-dump: the engine's kind of failure, one line
    naming the task and CRIU's reason (with its log where the shim left one)."""
    criu = shutil.which("criu")  # containerd's shim runs the criu on PATH
    if criu is not None and subprocess.run([criu, "check"], capture_output=True).returncode == 0:
        pytest.skip("this host's criu can dump: there is no failure to show")
    backend = on_containerd
    await backend.create("ck", CommandSource(("sleep", "300")), terminal=False, labels={})
    await backend.start("ck")
    app = ShimdeckApp(backend)
    try:
        async with app.run_test(size=(120, 40), notifications=True) as pilot:
            await wait_for(pilot, lambda: status(app, "ck") == Status.RUNNING, what="running")
            await select(app, pilot, "ck")
            await pilot.press("c")
            dialog = app.screen
            assert isinstance(dialog, CheckpointDialog)
            dialog.query_one("#path", Input).value = str(tmp / "ck-image")
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: notifications(app), what="the failure")
            (message,) = notifications(app)
            assert "checkpoint of task 'ck' failed: " in message
            assert "\n" not in message.strip() and "Traceback" not in message
            # The shim keeps CRIU's log beside the bundle, on this host: its path is named.
            log = re.search(r"\(criu log: (\S+)\)", message)
            assert log is not None and Path(log.group(1)).is_file(), message
            assert status(app, "ck") == Status.RUNNING
            # What the failed dump wrote there is gone with it: no half a checkpoint.
            assert not (tmp / "ck-image").exists()
    finally:
        await backend.kill("ck", signal.SIGKILL, all=True)
        await backend.client.wait("ck")
        await backend.delete("ck")
