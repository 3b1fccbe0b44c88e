"""The UI on containerd where it differs from the engine's: namespaces (N), the header
through a containerd restart, the IMAGE column, uptimes and exec commands containerd does
not report, the execs pane's ListPids, and a checkpoint CRIU cannot make. From the keyboard,
on the private containerd (tests/containerd/daemon.py)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.widgets import Checkbox, Input

from runtime import errors
from tests.containerd.daemon import Daemon
from tests.engine.helpers import crippled_criu, working_criu
from tui.app import ShimdeckApp
from tui.backend.base import CommandSource, Status
from tui.backend.containerd.backend import DISCONNECTED, ContainerdBackend
from tui.backend.containerd.client import Client
from tui.backend.containerd.spec import exec_process
from tui.backend.recording import Recorder, RecordingBackend
from tui.backend.replay import ReplayBackend
from tui.dialogs import CheckpointDialog, ExecDialog, NamespacePicker, RestoreDialog
from tui.screens.main import MainScreen
from tui.widgets.details import TextBox
from tui.widgets.tables import ContainersTable, ExecsTable

from .conftest import on_screen, type_text, wait_for
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
            await wait_for(pilot, lambda: on_screen(app, NamespacePicker), what="picker")
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
            await wait_for(pilot, lambda: on_screen(app, NamespacePicker), what="picker")
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
            await wait_for(pilot, lambda: on_screen(app, MainScreen))
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


@pytest.fixture
def criu() -> str:
    criu = working_criu()
    if criu is None:
        pytest.skip("no CRIU here passes 'criu check': run scripts/setup-host")
    return criu


COUNTER = ("sh", "-c", "i=0; while :; do i=$((i+1)); echo $i; sleep 0.05; done")


def counted(backend: ContainerdBackend, id: str) -> list[int]:
    return [int(n) for n in backend.console(id).backlog().split()]


async def test_checkpoint_then_restore_from_the_keyboard(
    on_containerd: ContainerdBackend, criu: str, tmp: Path
) -> None:
    """c then R, as on the engine: the checkpoint is listed; R restores it into a new
    container while the task runs, and into the same one once it stopped; each counts on
    from where the checkpoint was, not from 1."""
    backend = on_containerd
    await backend.create("ck", CommandSource(COUNTER), terminal=False, labels={"app": "ck"})
    await backend.start("ck")
    app = ShimdeckApp(backend)
    try:
        async with app.run_test(size=(120, 40), notifications=True) as pilot:
            await wait_for(pilot, lambda: len(counted(backend, "ck")) >= 10, what="counting")
            await select(app, pilot, "ck")
            await pilot.press("c")
            app.screen.query_one("#path", Input).value = str(tmp / "ckpt")
            app.screen.query_one("#exit", Checkbox).value = True
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: notifications(app), timeout=60, what="the checkpoint")
            assert notifications(app) == [f"Checkpoint of ck written to {tmp / 'ckpt'}"]
            app.clear_notifications()
            await wait_for(pilot, lambda: status(app, "ck") == Status.STOPPED, what="stopped")
            await wait_for(pilot, lambda: app.model.rows["ck"].checkpoints, what="listed")
            (made,) = app.model.rows["ck"].checkpoints
            assert made.path == tmp / "ckpt" and made.exited and made.size_bytes > 0
            # In the details pane's six lines, with the image, runtime and snapshotter.
            details = app.screen.query_one("#details-text", TextBox)
            await wait_for(pilot, lambda: "ckpts" in details.text.plain, what="shown")
            assert str(tmp / "ckpt") in details.text.plain
            assert len(details.text.plain.rstrip("\n").splitlines()) <= 6
            at_checkpoint = counted(backend, "ck")[-1]

            await pilot.press("R")  # its task stopped: the same container
            dialog = app.screen
            assert isinstance(dialog, RestoreDialog)
            assert not dialog.query_one("#new", Checkbox).value
            await pilot.press("enter")
            await wait_for(pilot, lambda: status(app, "ck") == Status.RUNNING, what="restored")
            await wait_for(pilot, lambda: notifications(app), what="the restore's note")
            assert notifications(app) == [f"ck restored from {tmp / 'ckpt'}"]
            await wait_for(
                pilot, lambda: counted(backend, "ck")[-1] > at_checkpoint + 5, what="counting on"
            )
            after = counted(backend, "ck")
            assert after[after.index(at_checkpoint) + 1] == at_checkpoint + 1, after

            await pilot.press("R")  # running: a new container, made as ck was
            dialog = app.screen
            assert isinstance(dialog, RestoreDialog)
            assert dialog.query_one("#new", Checkbox).value
            assert dialog.query_one("#name", Input).value == "ck-restored"
            await pilot.press("enter")
            await wait_for(
                pilot, lambda: status(app, "ck-restored") == Status.RUNNING, what="the copy"
            )
            copy = backend.container("ck-restored")
            assert copy is not None and copy.labels == {"app": "ck"}
            await wait_for(
                pilot, lambda: len(counted(backend, "ck-restored")) >= 3, what="the copy counts"
            )
            assert counted(backend, "ck-restored")[0] == at_checkpoint + 1
            assert status(app, "ck") == Status.RUNNING
    finally:
        for id in ("ck", "ck-restored"):
            if backend.running(id):
                await backend.kill(id, signal.SIGKILL, all=True)
                await backend.client.wait(id)
            with contextlib.suppress(errors.NotFound):
                await backend.delete(id)


async def test_a_tty_task_is_not_restored_but_told(
    on_containerd: ContainerdBackend, criu: str, tmp: Path
) -> None:
    """containerd 1.6's runc shim waits forever for the console of a restored tty task (runc
    1.1 sends none): refused at once with why, never a hung Tasks.Start, nothing made."""
    backend = on_containerd
    await backend.create("sh1", CommandSource(("sh",)), terminal=True, labels={})
    await backend.start("sh1")
    try:
        await backend.checkpoint("sh1", str(tmp / "ckpt"))  # a shell job: dumps fine
        assert backend.running("sh1")
        for new_id in ("", "sh1-copy"):
            with pytest.raises(
                errors.FailedPrecondition, match="cannot restore 'sh1': it has a tty"
            ):
                await backend.restore("sh1", str(tmp / "ckpt"), new_id=new_id)
        assert backend.container("sh1-copy") is None
    finally:
        await backend.kill("sh1", signal.SIGKILL, all=True)
        await backend.client.wait("sh1")
        await backend.delete("sh1")


@pytest.fixture
async def crippled(containerd: Daemon, criu: str, tmp: Path) -> AsyncIterator[ContainerdBackend]:
    """A backend whose CRIU cannot work (:func:`crippled_criu`)."""
    bad = crippled_criu(criu, tmp)
    client = await Client.connect(str(containerd.socket), containerd.namespace)
    backend = await ContainerdBackend.open(client, io_dir=tmp / "io", criu=str(bad))
    try:
        yield backend
    finally:
        await backend.close()
        await client.close()


async def test_checkpoint_failure_is_one_clear_line(crippled: ContainerdBackend, tmp: Path) -> None:
    """c where the shim's CRIU cannot dump: the engine's kind of failure, one line naming
    the task and CRIU's reason, with the log the shim left on this host."""
    backend = crippled
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
            assert message.startswith("checkpoint of task 'ck' failed: Error (criu/"), message
            assert "Locking network failed" in message and "RLIMIT" not in message
            assert "\n" not in message.strip() and "Traceback" not in message
            log = re.search(r"\(criu log: (\S+)\)", message)
            assert log is not None and Path(log.group(1)).is_file(), message
            assert status(app, "ck") == Status.RUNNING
            # What the failed dump wrote there is gone with it: no half a checkpoint.
            assert not (tmp / "ck-image").exists()
            assert app.model.rows["ck"].checkpoints == []
    finally:
        await backend.kill("ck", signal.SIGKILL, all=True)
        await backend.client.wait("ck")
        await backend.delete("ck")


async def test_a_failed_restore_names_criu_reason_and_leaves_no_copy(
    on_containerd: ContainerdBackend, crippled: ContainerdBackend, tmp: Path
) -> None:
    backend = on_containerd
    await backend.create("ck", CommandSource(COUNTER), terminal=False, labels={})
    await backend.start("ck")
    try:
        await backend.checkpoint("ck", str(tmp / "ckpt"), exit=True)
        await backend.client.wait("ck")
        await crippled.refresh("ck")
        with pytest.raises(errors.RuntimeFailure) as info:
            await crippled.restore("ck", str(tmp / "ckpt"), new_id="ck-copy")
        message = str(info.value)
        assert message.startswith("restore of 'ck-copy' failed: Error (criu/"), message
        assert "\n" not in message and "RLIMIT" not in message
        log = re.search(r"\(criu log: (\S+)\)", message)
        assert log is not None and "Restoring FAILED" in Path(log.group(1)).read_text()
        assert crippled.container("ck-copy") is None
        assert "ck-copy" not in {c.id for c in await backend.client.containers()}
        assert not (crippled.io_dir / "ck-copy").exists()
    finally:
        await backend.refresh("ck")
        if backend.running("ck"):
            await backend.kill("ck", signal.SIGKILL, all=True)
            await backend.client.wait("ck")
        await backend.delete("ck")
