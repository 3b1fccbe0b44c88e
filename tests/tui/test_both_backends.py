"""The UI's behaviour where it is the same on the in-process engine and on containerd:
each test runs once on each (the ``any_backend`` fixture), from the keyboard."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from textual.widgets import Checkbox, Input, Select, TextArea

from runtime import errors, events
from tui.app import ShimdeckApp
from tui.backend.base import ACTIONS, Backend, Capability, CommandSource, Status
from tui.backend.recording import Recorder, RecordingBackend
from tui.backend.replay import ReplayBackend
from tui.dialogs import ConfirmDialog, CreateDialog, ExecDialog, KillDialog, LabelsDialog
from tui.screens.console import ConsoleScreen
from tui.screens.main import MainScreen
from tui.widgets.tables import ContainersTable, ExecsTable
from tui.widgets.terminal import TerminalView

from .conftest import on_screen, type_text, wait_for

if TYPE_CHECKING:
    from tests.containerd.daemon import Daemon
    from tui.backend.containerd.backend import ContainerdBackend
from .test_live import console_view, notifications, select, status


def screen_text(view: TerminalView) -> str:
    return "\n".join(view.display_lines())


async def test_lifecycle_keys(any_backend: Backend) -> None:
    """n, s, a, e, l, p, k, d: one container's whole life, the same on either backend."""
    app = ShimdeckApp(any_backend)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("n")
        dialog = app.screen
        assert isinstance(dialog, CreateDialog)
        dialog.query_one("#name", Input).value = "web"
        dialog.query_one("#command", Input).value = "sh"
        dialog.query_one("#tty", Checkbox).value = True
        dialog.query_one("#labels", Input).value = "tier=front"
        dialog.query_one("#start", Checkbox).value = False
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: status(app, "web") == Status.NONE, what="web created")
        assert app.model.rows["web"].container.labels == {"tier": "front"}

        await select(app, pilot, "web")
        await pilot.press("s")
        await wait_for(pilot, lambda: status(app, "web") == Status.RUNNING, what="web running")

        await pilot.press("a")
        view = await console_view(app, pilot)
        await wait_for(pilot, lambda: "#" in screen_text(view), what="a prompt")
        await type_text(pilot, "echo hi-$((6*7))\r")
        await wait_for(pilot, lambda: "hi-42" in screen_text(view), what="the shell's answer")
        await pilot.press("ctrl+right_square_bracket")
        await wait_for(pilot, lambda: on_screen(app, MainScreen))

        await select(app, pilot, "web")
        await pilot.press("e")
        exec_dialog = app.screen
        assert isinstance(exec_dialog, ExecDialog)
        exec_dialog.query_one("#command", Input).value = "echo from-exec"
        exec_dialog.query_one("#tty", Checkbox).value = False
        await pilot.press("ctrl+s")
        view = await console_view(app, pilot)
        await wait_for(pilot, lambda: "from-exec" in screen_text(view), what="the exec's output")
        await wait_for(
            pilot,
            lambda: any(e.exit_status == 0 for e in app.model.rows["web"].execs),
            what="the exec's exit",
        )
        await pilot.press("ctrl+right_square_bracket")
        await wait_for(pilot, lambda: on_screen(app, MainScreen))

        # d on the execs pane deletes the exec (containerd 1.6 publishes no event for it).
        await select(app, pilot, "web")
        app.screen.query_one(ExecsTable).focus()
        await pilot.press("d", "y")
        await wait_for(pilot, lambda: app.model.rows["web"].execs == [], what="the exec deleted")
        app.screen.query_one(ContainersTable).focus()

        await select(app, pilot, "web")
        await pilot.press("l")
        labels = app.screen
        assert isinstance(labels, LabelsDialog)
        labels.query_one(TextArea).text = "tier=back\nowner=bob"
        await pilot.press("ctrl+s")
        await wait_for(
            pilot,
            lambda: app.model.rows["web"].container.labels == {"tier": "back", "owner": "bob"},
            what="the new labels",
        )

        await select(app, pilot, "web")
        await pilot.press("p")
        await wait_for(pilot, lambda: status(app, "web") == Status.PAUSED, what="paused")
        await pilot.press("p")
        await wait_for(pilot, lambda: status(app, "web") == Status.RUNNING, what="resumed")

        await pilot.press("k")
        assert isinstance(app.screen, KillDialog)
        await pilot.press("down", "enter")  # SIGKILL
        await wait_for(pilot, lambda: status(app, "web") == Status.STOPPED, what="killed")
        task = app.model.rows["web"].task
        assert task is not None and task.exit_status == 137

        lifecycle = {
            events.CONTAINER_CREATE,
            events.TASK_CREATE,
            events.TASK_START,
            events.TASK_PAUSED,
            events.TASK_RESUMED,
        }
        topics = [
            e.topic
            for _, e in app.model.events
            if e.container_id == "web"
            and (e.topic in lifecycle or e.topic == events.TASK_EXIT)
            and not e.exec_id
        ]
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
        assert not isinstance(app.screen, ConsoleScreen)
        assert notifications(app) == []


async def test_confirm_destructive_asks_the_backends_question_first(any_backend: Backend) -> None:
    """Where a backend declares CONFIRM_DESTRUCTIVE (a Kubernetes node), pause, kill and
    delete ask first, in the words of ``confirm_text``; no answer, no action."""
    asked: list[tuple[str, str]] = []

    def confirm_text(id: str, action: str) -> str:
        asked.append((id, action))
        return f"{id} belongs to pod shop/web-1: {action} it behind the kubelet's back?"

    any_backend.capabilities = ACTIONS | {Capability.CONFIRM_DESTRUCTIVE}
    any_backend.confirm_text = confirm_text  # type: ignore[method-assign]
    await any_backend.create("pod", CommandSource(("sleep", "60")), terminal=False, labels={})
    await any_backend.start("pod")
    app = ShimdeckApp(any_backend)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await wait_for(pilot, lambda: status(app, "pod") == Status.RUNNING, what="pod running")
        await select(app, pilot, "pod")
        await pilot.press("p")
        await wait_for(pilot, lambda: on_screen(app, ConfirmDialog), what="a question")
        assert "pod shop/web-1: pause it" in app.screen.question  # type: ignore[attr-defined]
        await pilot.press("n")
        await wait_for(pilot, lambda: on_screen(app, MainScreen))
        assert status(app, "pod") == Status.RUNNING

        await pilot.press("k")
        await wait_for(pilot, lambda: on_screen(app, ConfirmDialog), what="a question")
        await pilot.press("y")
        await wait_for(pilot, lambda: on_screen(app, KillDialog), what="the kill dialog")
        await pilot.press("down", "enter")  # SIGKILL
        await wait_for(pilot, lambda: status(app, "pod") == Status.STOPPED, what="killed")

        await pilot.press("d")
        await wait_for(pilot, lambda: on_screen(app, ConfirmDialog), what="a question")
        assert "delete it behind" in app.screen.question  # type: ignore[attr-defined]
        await pilot.press("y")
        await wait_for(pilot, lambda: "pod" not in app.model.rows, what="pod deleted")
        assert asked == [("pod", "pause"), ("pod", "kill"), ("pod", "delete")]
        assert notifications(app) == []


async def test_a_recording_of_either_backend_replays_to_the_same_state(
    any_backend: Backend, tmp: Path
) -> None:
    """RecordingBackend wraps any backend: what the UI saw replays the same, output too."""
    path = tmp / "session.jsonl"
    recorder = Recorder(path, runtime=any_backend.info.runtime, start=datetime.now(UTC))
    recording = RecordingBackend(any_backend, recorder)
    app = ShimdeckApp(recording)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        script = "echo recorded-$((6*7)); sleep 60"
        await recording.create("rec", ("sh", "-c", script), terminal=False, labels={"k": "v"})
        await recording.start("rec")
        await recording.create("gone", ("sh", "-c", "exit 3"), terminal=False, labels={})
        await recording.start("gone")
        await wait_for(pilot, lambda: status(app, "gone") == Status.STOPPED, what="gone exits")
        with pytest.raises(errors.Error):
            await recording.delete("rec")  # refused while running: recorded
        await recording.kill("rec", 9)
        await wait_for(pilot, lambda: status(app, "rec") == Status.STOPPED, what="rec killed")
        await recording.delete("gone")
        await wait_for(pilot, lambda: "gone" not in app.model.rows, what="gone deleted")
        seen = {
            id: (r.status, r.task.exit_status if r.task else None, dict(r.container.labels))
            for id, r in app.model.rows.items()
        }
        assert seen == {"rec": (Status.STOPPED, 137, {"k": "v"})}
    await recording.close()
    replay = ShimdeckApp(ReplayBackend(path, instant=True))
    async with replay.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: replay.replay_ended)
        state = {
            id: (r.status, r.task.exit_status if r.task else None, dict(r.container.labels))
            for id, r in replay.model.rows.items()
        }
        assert state == seen
        assert b"recorded-42" in replay.backend.console("rec").backlog()
    with pytest.raises(errors.RuntimeFailure):
        await ReplayBackend(path).delete("rec")  # fails again as it failed live
    await any_backend.delete("rec")


async def test_n_on_containerd_creates_from_an_image_of_the_store(
    on_containerd: ContainerdBackend, containerd: Daemon
) -> None:
    """Where the backend runs images (Capability.IMAGES), the create dialog lists them."""
    assert containerd.image is not None
    app = ShimdeckApp(on_containerd)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("n")
        dialog = app.screen
        assert isinstance(dialog, CreateDialog)
        image = dialog.query_one("#image", Select)
        await wait_for(pilot, lambda: image.value == containerd.image.name, what="the images")
        dialog.query_one("#name", Input).value = "img"
        dialog.query_one("#command", Input).value = "sleep 60"
        dialog.query_one("#tty", Checkbox).value = False
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: status(app, "img") == Status.RUNNING, what="img running")
        assert app.model.rows["img"].container.image == containerd.image.name
        await on_containerd.kill("img", 9)
        await wait_for(pilot, lambda: status(app, "img") == Status.STOPPED, what="img killed")
        await on_containerd.delete("img")
        await wait_for(pilot, lambda: "img" not in app.model.rows, what="img deleted")
        assert notifications(app) == []
