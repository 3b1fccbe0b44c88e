"""A Kubernetes node in the UI (issue 8), from the keyboard: a faked pod on the private
containerd (the labels, spec annotations and log layout the CRI uses; no kubelet here).

The pod's sandbox is hidden until ``H``, its rows name the pod, ``a`` tails the kubelet's
log of the container live, and kill, pause and delete ask first, naming the pod; a
container the CRI did not make is acted on without a question, as anywhere.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from rich.console import Console
from rich.table import Table
from textual.widgets import Checkbox, Input, Static

from runtime import errors
from tests.containerd.test_cri import POD, Writer, make_pod_container, remove_pod_container
from tui.app import ShimdeckApp
from tui.backend.base import Status
from tui.backend.containerd import cri
from tui.dialogs import ConfirmDialog, ExecDialog, KillDialog
from tui.screens.help import HelpScreen
from tui.screens.main import MainScreen
from tui.widgets.tables import ContainersTable
from tui.widgets.terminal import TerminalView

from .conftest import on_screen, wait_for
from .test_live import console_view, notifications, select, status

if TYPE_CHECKING:
    from tests.containerd.daemon import Daemon
    from tui.backend.containerd.backend import ContainerdBackend

SANDBOX, APP, PLAIN = "pod-sandbox", "pod-app", "plain"


@dataclass
class Pod:
    backend: ContainerdBackend
    #: The log the CRI writes for the app container (attempt 0).
    log: Path


@pytest.fixture
async def pod(
    on_containerd: ContainerdBackend, containerd: Daemon, tmp: Path
) -> AsyncIterator[Pod]:
    """A pod (sandbox + an nginx container) and a plain container, their tasks running."""
    client = on_containerd.client
    pod_dir = tmp / "pods" / "shop_web-7d9f_u-1234"
    (pod_dir / "nginx").mkdir(parents=True)
    log = pod_dir / "nginx" / "0.log"
    log.touch()  # the runtime makes it as the container starts
    io_dir = tmp / "cri-io"
    sandbox_notes = {cri.SANDBOX_ID: SANDBOX, cri.SANDBOX_LOG_DIRECTORY: str(pod_dir)}
    app_notes = {cri.SANDBOX_ID: SANDBOX, cri.ANNOTATED_CONTAINER_NAME: "nginx"}
    try:
        await make_pod_container(
            client, containerd, SANDBOX, {cri.KIND: "sandbox", **POD}, sandbox_notes, io_dir
        )
        app_labels = {cri.KIND: "container", cri.CONTAINER_NAME: "nginx", **POD}
        await make_pod_container(client, containerd, APP, app_labels, app_notes, io_dir)
        await make_pod_container(client, containerd, PLAIN, {"app": "x"}, {}, io_dir)
        yield Pod(on_containerd, log)
    finally:
        for id in (APP, SANDBOX, PLAIN):
            with contextlib.suppress(errors.NotFound):
                await remove_pod_container(client, id)


def cells(table: ContainersTable, id: str, n: int = 3) -> list[str]:
    return [c.plain for c in table.get_row(id)[:n]]


def help_text(screen: object) -> str:
    """The help's table of keys, as text."""
    assert isinstance(screen, HelpScreen)
    console = Console(width=200, file=io.StringIO(), record=True)
    for static in screen.query(Static):
        if isinstance(static.content, Table):
            console.print(static.content)
    return console.export_text()


def line_colour(view: TerminalView, text: str) -> str:
    """The foreground colour of the first character of the screen line showing ``text``."""
    screen = view.emulator.screen
    for y, shown in enumerate(screen.display):
        if text in shown:
            return str(screen.buffer[y][shown.index(text)].fg)
    raise AssertionError(f"{text!r} is not on the screen")


async def test_a_pod_from_the_keyboard(pod: Pod) -> None:
    app = ShimdeckApp(pod.backend)
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        table = app.screen.query_one(ContainersTable)
        await wait_for(
            pilot,
            lambda: all(status(app, id) == Status.RUNNING for id in (SANDBOX, APP, PLAIN)),
            what="the pod running",
        )
        main = app.screen
        assert isinstance(main, MainScreen)

        # The sandbox is hidden (and counted); the rows name their pod and container.
        await wait_for(pilot, lambda: set(table.row_keys()) == {APP, PLAIN}, what="rows")
        assert "1 sandbox hidden" in str(table.border_title)
        assert [key for key, _ in table.columns][:3] == ["id", "pod", "name"]
        assert cells(table, APP) == [APP, "shop/web-7d9f", "nginx"]
        assert cells(table, PLAIN) == [PLAIN, "-", "-"]
        # The toggle is in the footer here (off a node it is not: the snapshots show that).
        assert main.active_bindings["H"].binding.action == "toggle_sandboxes"
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: on_screen(app, HelpScreen), what="the help")
        assert "sandbox (pause) containers" in help_text(app.screen)
        await pilot.press("escape")
        await wait_for(pilot, lambda: on_screen(app, MainScreen), what="main screen")

        await pilot.press("H")
        await wait_for(pilot, lambda: SANDBOX in table.row_keys(), what="the sandbox shown")
        assert cells(table, SANDBOX) == [SANDBOX, "shop/web-7d9f", "(sandbox)"]
        assert "hidden" not in str(table.border_title)
        await pilot.press("H")
        await wait_for(pilot, lambda: SANDBOX not in table.row_keys(), what="hidden again")
        assert "1 sandbox hidden" in str(table.border_title)

        # a: the kubelet's log of nginx, live, stderr in its own colour.
        async with Writer.run(pod.log) as writer:
            await writer.line("before the attach")
            await select(app, pilot, APP)
            await pilot.press("a")
            view = await console_view(app, pilot)
            shown = lambda: "\n".join(view.display_lines())  # noqa: E731
            await wait_for(pilot, lambda: "before the attach" in shown(), what="the backlog")
            await writer.line("written while attached")
            await wait_for(pilot, lambda: "written while attached" in shown(), what="live")
            await writer.line("a warning", stream="stderr")
            await wait_for(pilot, lambda: "a warning" in shown(), what="stderr")
            assert line_colour(view, "a warning") == "red"
            assert line_colour(view, "written while attached") == "default"
            await writer.end()
        await pilot.press("ctrl+right_square_bracket")
        await wait_for(pilot, lambda: on_screen(app, MainScreen), what="main screen")

        # e: an exec is the backend's own, as anywhere (its output, not the kubelet's log).
        await select(app, pilot, APP)
        await pilot.press("e")
        exec_dialog = app.screen
        assert isinstance(exec_dialog, ExecDialog)
        exec_dialog.query_one("#command", Input).value = "echo from-exec"
        exec_dialog.query_one("#tty", Checkbox).value = False
        await pilot.press("ctrl+s")
        view = await console_view(app, pilot)
        await wait_for(pilot, lambda: "from-exec" in shown(), what="the exec's output")
        assert "before the attach" not in shown()
        await pilot.press("ctrl+right_square_bracket")
        await wait_for(pilot, lambda: on_screen(app, MainScreen), what="main screen")

        async def asked(key: str) -> ConfirmDialog:
            await select(app, pilot, APP)
            await pilot.press(key)
            await wait_for(pilot, lambda: on_screen(app, ConfirmDialog), what="a question")
            dialog = app.screen
            assert isinstance(dialog, ConfirmDialog)
            assert "nginx of pod shop/web-7d9f" in dialog.question
            return dialog

        async def back() -> None:
            await wait_for(pilot, lambda: on_screen(app, MainScreen), what="main screen")

        # p: asks; "no" leaves it running, "yes" pauses; resuming asks nothing.
        dialog = await asked("p")
        assert dialog.question.startswith("pause nginx of pod shop/web-7d9f?")
        assert dialog.hint == "y/enter: pause   n/escape: don't pause"
        await pilot.press("n")
        await back()
        assert status(app, APP) == Status.RUNNING
        await asked("p")
        await pilot.press("y")
        await wait_for(pilot, lambda: status(app, APP) == Status.PAUSED, what="paused")
        await pilot.press("p")
        await wait_for(pilot, lambda: status(app, APP) == Status.RUNNING, what="resumed")
        assert not isinstance(app.screen, ConfirmDialog)

        # k: asks before the signal is chosen; "no" sends nothing.
        dialog = await asked("k")
        assert "kubelet will restart it" in dialog.question
        await pilot.press("n")
        await back()
        assert status(app, APP) == Status.RUNNING
        await asked("k")
        await pilot.press("y")
        await wait_for(pilot, lambda: on_screen(app, KillDialog), what="the kill dialog")
        await pilot.press("down", "enter")  # SIGKILL
        await wait_for(pilot, lambda: status(app, APP) == Status.STOPPED, what="killed")

        # d: asks, naming the pod; "no" keeps it, "yes" deletes it.
        dialog = await asked("d")
        assert "behind the kubelet's back" in dialog.question
        await pilot.press("n")
        await back()
        assert APP in app.model.rows
        await asked("d")
        await pilot.press("y")
        await wait_for(pilot, lambda: APP not in app.model.rows, what="deleted")

        # A container the CRI did not make: the kill dialog at once, as anywhere.
        await select(app, pilot, PLAIN)
        await pilot.press("k")
        await wait_for(pilot, lambda: on_screen(app, KillDialog), what="the kill dialog")
        await pilot.press("escape")
        await back()
        assert status(app, PLAIN) == Status.RUNNING
        assert notifications(app) == []
