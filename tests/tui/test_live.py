"""The app against a real engine on runc, driven with Pilot like a user would."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, TextArea

from runtime import Engine, events
from tests.conftest import runtime_list
from tui.app import ShimdeckApp
from tui.backend.base import Backend, CommandSource
from tui.backend.live import LiveBackend
from tui.backend.recording import Recorder, RecordingBackend
from tui.backend.replay import ReplayBackend
from tui.dialogs import CreateDialog, ExecDialog, KillDialog, LabelsDialog, RestoreDialog
from tui.screens.console import ConsoleScreen
from tui.screens.main import MainScreen
from tui.templates import TEMPLATES
from tui.widgets.details import TextBox
from tui.widgets.tables import ContainersTable, ExecsTable
from tui.widgets.terminal import TerminalView

from ..engine.helpers import working_criu
from .conftest import burst, on_screen, type_text, wait_for


def status(app: ShimdeckApp, id: str) -> str | None:
    row = app.model.rows.get(id)
    return row.status if row else None


async def make(backend: Backend, id: str, template: str, start: bool = True) -> None:
    t = TEMPLATES[template]
    await backend.create(id, CommandSource(t.args), terminal=t.terminal, labels={"test": "yes"})
    if start:
        await backend.start(id)


async def select(app: ShimdeckApp, pilot: Pilot[None], id: str) -> None:
    table = app.screen.query_one(ContainersTable)
    await wait_for(pilot, lambda: id in table.row_keys(), what=id)
    table.move_cursor(row=table.get_row_index(id))
    table.focus()


async def loop_lag(samples: int) -> float:
    """The worst lateness of a 10 ms sleep: how long the loop was busy at a stretch."""
    worst = 0.0
    for _ in range(samples):
        started = time.monotonic()
        await asyncio.sleep(0.01)
        worst = max(worst, time.monotonic() - started - 0.01)
    return worst


async def frame_latency(app: ShimdeckApp) -> float:
    """Seconds from asking for a repaint to the end of the next screen refresh."""
    done = asyncio.Event()
    started = time.monotonic()
    app.screen.refresh()
    app.call_after_refresh(done.set)
    await asyncio.wait_for(done.wait(), 10)
    return time.monotonic() - started


async def console_view(app: ShimdeckApp, pilot: Pilot[None]) -> TerminalView:
    """The console pane's terminal, once the console screen is up."""
    await wait_for(
        pilot,
        lambda: on_screen(app, ConsoleScreen) and app.screen.query(TerminalView),
        what="the console pane",
    )
    return app.screen.query_one(TerminalView)


def notifications(app: ShimdeckApp) -> list[str]:
    return [n.message for n in app._notifications]


async def test_lifecycle_from_the_keyboard(live: LiveBackend) -> None:
    app = ShimdeckApp(live)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("n")
        dialog = app.screen
        assert isinstance(dialog, CreateDialog)
        dialog.query_one("#name", Input).value = "web"
        dialog.query_one("#command", Input).value = "sh -c 'while true; do sleep 1; done'"
        dialog.query_one("#tty", Checkbox).value = False
        dialog.query_one("#labels", Input).value = "tier=front, owner=[red]bob[/red]"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: status(app, "web") == "running", what="web running")
        assert live.container("web").labels == {"tier": "front", "owner": "[red]bob[/red]"}
        await select(app, pilot, "web")
        await pilot.press("p")
        await wait_for(pilot, lambda: status(app, "web") == "paused")
        await pilot.press("p")
        await wait_for(pilot, lambda: status(app, "web") == "running")
        await pilot.press("k")
        assert isinstance(app.screen, KillDialog)
        await pilot.press("down", "enter")  # SIGKILL
        await wait_for(pilot, lambda: status(app, "web") == "stopped")
        assert app.model.rows["web"].task.exit_status == 137
        topics = [e.topic for _, e in app.model.events if e.container_id == "web"]
        assert topics == [
            events.CONTAINER_CREATE,
            events.TASK_CREATE,
            events.TASK_START,
            events.TASK_PAUSED,
            events.TASK_RESUMED,
            events.TASK_EXIT,
        ]
        await pilot.press("d", "y")
        await wait_for(pilot, lambda: "web" not in app.model.rows, what="web deleted")
        assert live.containers() == []
        assert notifications(app) == []


async def test_attach_sizes_the_pty_to_the_pane(live: LiveBackend) -> None:
    await make(live, "sh1", "shell")
    app = ShimdeckApp(live)
    async with app.run_test(size=(90, 30)) as pilot:
        await select(app, pilot, "sh1")
        await pilot.press("a")
        view = await console_view(app, pilot)
        text = lambda: "\n".join(view.display_lines())  # noqa: E731
        await wait_for(pilot, lambda: "# " in text(), what="a prompt")
        await type_text(pilot, "stty size\r")
        await wait_for(pilot, lambda: "29 90" in text(), what="stty size 29 90")
        await pilot.resize_terminal(70, 20)
        await wait_for(pilot, lambda: view.screen_buffer.columns == 70)
        await type_text(pilot, "clear; stty size\r")
        await wait_for(pilot, lambda: "19 70" in text(), what="stty size 19 70")
        await pilot.press("ctrl+right_square_bracket")
        assert isinstance(app.screen, MainScreen)
        assert status(app, "sh1") == "running"  # leaving is not stopping


async def test_a_typed_before_the_start_is_done_attaches_once_it_is(live: LiveBackend) -> None:
    await make(live, "sh1", "shell", start=False)
    app = ShimdeckApp(live)
    async with app.run_test(size=(90, 30), notifications=True) as pilot:
        await select(app, pilot, "sh1")
        burst(app, ["s", "a"])  # a arrives while runc is still starting it
        view = await console_view(app, pilot)
        await wait_for(pilot, lambda: "# " in "\n".join(view.display_lines()), what="a prompt")
        assert notifications(app) == []


async def test_exec_without_a_tty_shows_its_output(live: LiveBackend) -> None:
    await make(live, "box", "counter")
    app = ShimdeckApp(live)
    async with app.run_test(size=(100, 30)) as pilot:
        await select(app, pilot, "box")
        await pilot.press("e")
        dialog = app.screen
        assert isinstance(dialog, ExecDialog)
        dialog.query_one("#command", Input).value = "echo hello-from-exec"
        dialog.query_one("#tty", Checkbox).value = False
        await pilot.press("ctrl+s")
        view = await console_view(app, pilot)
        await wait_for(pilot, lambda: "hello-from-exec" in "\n".join(view.display_lines()))
        await wait_for(
            pilot,
            lambda: any(
                e.exec_id == "exec-1" and e.exit_status == 0 for e in app.model.rows["box"].execs
            ),
        )
        await pilot.press("ctrl+right_square_bracket")
        execs = app.screen.query_one(ExecsTable)
        assert execs.row_keys() == ["exec-1"]


async def test_engine_errors_are_notifications(live: LiveBackend) -> None:
    await make(live, "idle", "counter", start=False)
    await live.engine.tasks.create("idle")
    app = ShimdeckApp(live)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await select(app, pilot, "idle")
        await pilot.press("p")
        await wait_for(pilot, lambda: notifications(app), what="a notification")
        assert notifications(app) == ["cannot pause task 'idle' in created state"]
        assert isinstance(app.screen, MainScreen)


async def test_checkpoint_then_restore_from_the_keyboard(live: LiveBackend, tmp: Path) -> None:
    if working_criu() is None:
        pytest.skip("no CRIU here passes 'criu check': run scripts/setup-host")
    await make(live, "ck", "counter")
    app = ShimdeckApp(live)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await select(app, pilot, "ck")
        await pilot.press("R")  # nothing to restore yet
        await wait_for(pilot, lambda: notifications(app), what="a notification")
        assert notifications(app) == ["'ck' has no checkpoints: press c to make one"]
        app.clear_notifications()

        await pilot.press("c")
        app.screen.query_one("#path", Input).value = str(tmp / "ckpt")
        await pilot.press("enter")
        await wait_for(pilot, lambda: notifications(app), timeout=60, what="the checkpoint")
        assert notifications(app) == [f"Checkpoint of ck written to {tmp / 'ckpt'}"]
        details = app.screen.query_one("#details-text", TextBox)
        await wait_for(pilot, lambda: "ckpts" in details.text.plain, what="the checkpoint listed")
        assert str(tmp / "ckpt") in details.text.plain

        # The task still runs: the dialog offers a new container, named already.
        await pilot.press("R")
        dialog = app.screen
        assert isinstance(dialog, RestoreDialog)
        assert dialog.query_one("#new", Checkbox).value
        assert dialog.query_one("#name", Input).value == "ck-restored"
        await pilot.press("enter")
        await wait_for(pilot, lambda: status(app, "ck-restored") == "running", what="the copy")
        assert live.container("ck-restored").bundle == live.container("ck").bundle
        assert status(app, "ck") == "running"
        assert "ck-restored" in live.created  # so a demo removes it on quit

        # Into the same container, once its task stopped.
        await live.kill("ck", 9)
        await wait_for(pilot, lambda: status(app, "ck") == "stopped")
        await pilot.press("R")
        dialog = app.screen
        assert isinstance(dialog, RestoreDialog)
        dialog.query_one("#new", Checkbox).value = False
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: status(app, "ck") == "running", what="ck restored")
        # Deleting the copy keeps the bundle the original still uses.
        await live.remove("ck-restored")
        assert (live.container("ck").bundle / "config.json").exists()


async def test_a_restored_shell_s_console_reattaches(live: LiveBackend, tmp: Path) -> None:
    if working_criu() is None:
        pytest.skip("no CRIU here passes 'criu check': run scripts/setup-host")
    await make(live, "sh1", "shell")
    app = ShimdeckApp(live)
    async with app.run_test(size=(90, 30), notifications=True) as pilot:
        await select(app, pilot, "sh1")
        await pilot.press("a")
        view = await console_view(app, pilot)
        await wait_for(pilot, lambda: "# " in "\n".join(view.display_lines()), what="a prompt")
        await type_text(pilot, "x=41\r")
        await pilot.press("ctrl+right_square_bracket")
        await live.checkpoint("sh1", str(tmp / "ckpt"), exit=True)
        await wait_for(pilot, lambda: status(app, "sh1") == "stopped", what="sh1 stopped")
        await wait_for(pilot, lambda: app.model.rows["sh1"].checkpoints, what="the record")

        await pilot.press("R")
        dialog = app.screen
        assert isinstance(dialog, RestoreDialog)
        assert not dialog.query_one("#new", Checkbox).value  # its task is gone: the same one
        await pilot.press("enter")
        await wait_for(pilot, lambda: status(app, "sh1") == "running", what="sh1 restored")
        await pilot.press("a")
        view = await console_view(app, pilot)
        text = lambda: "\n".join(view.display_lines())  # noqa: E731
        await type_text(pilot, "clear; echo got$((x+1)); stty size\r")
        await wait_for(pilot, lambda: "got42" in text(), what="the shell's own variable")
        await wait_for(pilot, lambda: "29 90" in text(), what="the pane's size")
        await pilot.press("ctrl+right_square_bracket")
        assert notifications(app) == [f"sh1 restored from {tmp / 'ckpt'}"]


async def test_checkpoint_failure_names_criu_reason(
    need_runc: None, tmp: Path, rootfs: Path
) -> None:
    fake = tmp / "fake" / "criu"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexit 1\n")  # a CRIU that cannot even start
    fake.chmod(0o755)
    async with Engine(root=tmp / "root", runtime="runc", criu=fake) as engine:
        live = LiveBackend(engine, bundles=tmp / "bundles", rootfs=rootfs)
        await make(live, "ck", "counter")
        app = ShimdeckApp(live)
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            await select(app, pilot, "ck")
            await pilot.press("c")
            app.screen.query_one("#path", Input).value = str(tmp / "ckpt")
            await pilot.press("enter")
            await wait_for(pilot, lambda: notifications(app), timeout=60, what="criu's answer")
            (message,) = notifications(app)
            assert message.startswith("checkpoint of task 'ck' failed: runc checkpoint failed: ")
        await live.close()
        await live.remove("ck")
    assert runtime_list("runc", tmp / "root" / "runc") == []


async def test_labels_edit_keeps_markup_as_text(live: LiveBackend) -> None:
    await make(live, "lab", "counter", start=False)
    app = ShimdeckApp(live)
    async with app.run_test(size=(100, 30)) as pilot:
        await select(app, pilot, "lab")
        await pilot.press("l")
        dialog = app.screen
        assert isinstance(dialog, LabelsDialog)
        dialog.query_one(TextArea).text = "tier=back\nnote=[b]bold?[/b]\n"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.model.rows["lab"].container.labels.get("tier") == "back")
        table = app.screen.query_one(ContainersTable)
        await wait_for(pilot, lambda: "[b]bold?[/b]" in table.get_row("lab")[-1].plain)


async def test_a_flood_does_not_freeze_the_ui(live: LiveBackend) -> None:
    await make(live, "flood", "flood")
    app = ShimdeckApp(live)
    async with app.run_test(size=(80, 24)) as pilot:
        await select(app, pilot, "flood")
        await pilot.press("a")
        view = await console_view(app, pilot)
        await wait_for(
            pilot, lambda: view.stats.fed > 4 * 1024 * 1024, timeout=30, what="4 MB of flood"
        )
        # The loop is never held for long, and the screen keeps being repainted.
        lag = await loop_lag(samples=40)
        frames = [await frame_latency(app) for _ in range(10)]
        print(
            f"flood: fed {view.stats.fed} B, skipped {view.stats.skipped} B, "
            f"loop lag {lag * 1000:.0f} ms, frame {max(frames) * 1000:.0f} ms"
        )
        assert lag < 0.25, f"the event loop was held {lag:.2f}s under the flood"
        assert max(frames) < 0.5, f"a repaint took {max(frames):.2f}s under the flood"
        await pilot.press("ctrl+right_square_bracket")
        await live.kill("flood", 9, all=True)
        await wait_for(pilot, lambda: status(app, "flood") == "stopped")
        # What a terminal shows after the flood: its last lines, whole.
        app.push_screen(ConsoleScreen(live.console("flood"), "flood"))
        view = await console_view(app, pilot)
        await view.wait_idle(timeout=30)
        lines = [line.rstrip() for line in view.display_lines()]
        full = "flood: the quick brown fox jumps over the lazy dog"
        body = [line for line in lines if line]
        assert len(body) >= len(lines) - 2
        assert all(line == full for line in body[:-1]), body[-3:]


async def test_a_recorded_session_replays_to_the_same_state(live: LiveBackend, tmp: Path) -> None:
    path = tmp / "session.jsonl"
    recorder = Recorder(path, runtime="runc", start=datetime.now(UTC))
    recording = RecordingBackend(live, recorder)
    app = ShimdeckApp(recording)
    async with app.run_test(size=(100, 30)) as pilot:
        await make(recording, "rec", "shell")
        await make(recording, "gone", "crash")
        live.engine.tasks.io("rec").write(b"echo recorded-$((6*7))\r")
        await wait_for(pilot, lambda: b"recorded-42" in live.engine.tasks.io("rec").backlog())
        await live.engine.tasks.wait("gone")
        await wait_for(pilot, lambda: status(app, "gone") == "stopped")
        live_state = {
            id: (r.status, r.task.exit_status if r.task else None)
            for id, r in app.model.rows.items()
        }
    await recording.close()
    replay = ShimdeckApp(ReplayBackend(path, instant=True))
    async with replay.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: replay.replay_ended)
        await pilot.pause()
        state = {
            id: (r.status, r.task.exit_status if r.task else None)
            for id, r in replay.model.rows.items()
        }
        assert state == live_state
        console = replay.backend.console("rec")
        assert b"recorded-42" in console.backlog()


async def test_an_error_caused_by_the_input_keeps_the_dialog_open(live: LiveBackend) -> None:
    await make(live, "lab2", "counter", start=False)
    app = ShimdeckApp(live)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await pilot.press("n")
        dialog = app.screen
        assert isinstance(dialog, CreateDialog)
        dialog.query_one("#name", Input).value = "taken"
        dialog.query_one("#labels", Input).value = "k=v"
        await make(live, "taken", "counter", start=False)  # meanwhile, elsewhere
        await pilot.press("ctrl+s")
        error = dialog.query_one("#error")
        await wait_for(pilot, lambda: "already exists" in str(error.render()), what="the error")
        assert app.screen is dialog  # still open, with what was typed
        assert dialog.query_one("#name", Input).value == "taken"
        assert notifications(app) == []
        await pilot.press("escape")
        await select(app, pilot, "lab2")
        await pilot.press("l")
        labels = app.screen
        assert isinstance(labels, LabelsDialog)
        labels.query_one(TextArea).text = "big=" + "x" * 5000
        await pilot.press("ctrl+s")
        error = labels.query_one("#error")
        await wait_for(pilot, lambda: "limit is 4096" in str(error.render()), what="the error")
        assert app.screen is labels
        assert labels.query_one(TextArea).text.startswith("big=xxx")
        assert live.container("lab2").labels == {"test": "yes"}
