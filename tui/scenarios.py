"""Named screens over a recorded session: what the screenshots show and snapshots check.

Each scenario builds an app on an instant replay (a frozen clock, no sleeps) and drives it
with Pilot to one screen. ``tui.screenshots`` and ``tests/tui/test_snapshots.py`` use the
same list, so the README's pictures are the screens the tests hold still.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from textual.pilot import Pilot

from .app import ShimdeckApp
from .backend.replay import ReplayBackend
from .screens.console import ConsoleScreen
from .screens.main import MainScreen
from .sessions import CONTAINERD_SESSION, DEMO_SESSION, LOGS_SESSION
from .widgets.tables import ContainersTable
from .widgets.terminal import TerminalView

#: Safety net for waiting on the app; a replay settles in a few frames.
SETTLE_FRAMES = 500


async def settle(pilot: Pilot[None]) -> None:
    """Wait until the replay is applied and every pane is painted from it."""
    app = pilot.app
    assert isinstance(app, ShimdeckApp)
    for _ in range(SETTLE_FRAMES):
        if app.replay_ended:
            break
        await pilot.pause()
    else:
        raise TimeoutError("the replay did not finish")
    await pilot.pause()
    screen = app.screen
    if isinstance(screen, MainScreen):
        screen.repaint()
    await pilot.pause()


async def select(pilot: Pilot[None], id: str) -> None:
    """Put the containers table's cursor on container ``id``."""
    screen = pilot.app.screen
    assert isinstance(screen, MainScreen)
    table = screen.query_one(ContainersTable)
    table.move_cursor(row=table.get_row_index(id), animate=False)
    await pilot.pause()


async def console_ready(pilot: Pilot[None]) -> None:
    """Wait until the console pane has parsed and painted its output."""
    for _ in range(SETTLE_FRAMES):
        if isinstance(pilot.app.screen, ConsoleScreen):
            break
        await pilot.pause()
    view = pilot.app.screen.query_one(TerminalView)
    await pilot.pause()
    await view.wait_idle()
    await pilot.pause()


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    #: Container to select before pressing keys.
    select: str | None = None
    press: tuple[str, ...] = ()
    #: Wait for the console pane after the keys.
    console: bool = False
    session: Path = field(default=DEMO_SESSION)

    def app(self) -> ShimdeckApp:
        # The UI as it was live: a replay's own actions would all be disabled.
        return ShimdeckApp(ReplayBackend(self.session, instant=True, as_recorded=True))

    def run_before(self) -> Callable[[Pilot[None]], Awaitable[None]]:
        async def run(pilot: Pilot[None]) -> None:
            await settle(pilot)
            if self.select:
                await select(pilot, self.select)
            if self.press:
                await pilot.press(*self.press)
                await pilot.pause()
                # An action's outcome (a notification) comes from a worker.
                await pilot.app.workers.wait_for_complete()
                await pilot.pause()
            if self.console:
                await console_ready(pilot)
            await pilot.pause()

        return run


SCENARIOS: list[Scenario] = [
    Scenario("main", "The main screen: containers, execs, details, events", select="shell"),
    Scenario("main-paused", "A paused task with its CPU and memory sparklines", select="counter"),
    Scenario(
        "console-colours",
        "The console pane: a shell printing colours and attributes",
        select="shell",
        press=("a",),
        console=True,
    ),
    Scenario(
        "console-top",
        "The console pane running top, a full-screen program",
        select="top",
        press=("a",),
        console=True,
    ),
    Scenario(
        "console-output",
        "The console pane on a process without a tty (captured output)",
        select="counter",
        press=("a",),
        console=True,
    ),
    Scenario("create-dialog", "n: create a container from a template or a command", press=("n",)),
    Scenario(
        "kill-dialog",
        "k: pick the signal, and whether to signal every process",
        select="top",
        press=("k",),
    ),
    Scenario("delete-dialog", "d: confirm the deletion", select="crash", press=("d",)),
    Scenario("exec-dialog", "e: run another process in the task", select="shell", press=("e",)),
    Scenario("checkpoint-dialog", "c: checkpoint into a directory", select="top", press=("c",)),
    Scenario("labels-dialog", "l: edit the labels", select="counter", press=("l",)),
    Scenario(
        "checkpoint-error",
        "An engine error as a notification: criu's reason",
        select="top",
        press=("c", "enter"),
    ),
    Scenario("filter", "/: filter the containers by id or label", press=("slash", *"worker")),
    Scenario("help", "?: the keys", press=("question_mark",)),
    Scenario(
        "log-colours",
        "A log without a tty: colours obeyed, a screen clear shown as text",
        select="web",
        press=("a",),
        console=True,
        session=LOGS_SESSION,
    ),
    Scenario(
        "log-times",
        "t: the time the engine read each line",
        select="worker",
        press=("a", "t"),
        console=True,
        session=LOGS_SESSION,
    ),
    Scenario(
        "console-scrollback",
        "shift+pageup: scrolled back; the marker counts the lines that arrive",
        select="web",
        press=("a", "shift+pageup", "shift+pageup"),
        console=True,
        session=LOGS_SESSION,
    ),
    Scenario(
        "console-search",
        "ctrl+f: every match highlighted, the current one counted",
        select="web",
        press=("a", "ctrl+f", *"error", "enter"),
        console=True,
        session=LOGS_SESSION,
    ),
    Scenario(
        "merged-logs",
        "L: the logs of every container the filter shows, by time, each id in its colour",
        press=("slash", *"shop", "enter", "L"),
        console=True,
        session=LOGS_SESSION,
    ),
    Scenario(
        "containerd",
        "On a real containerd: namespace default",
        select="shell",
        session=CONTAINERD_SESSION,
    ),
    Scenario(
        "containerd-console",
        "a on containerd: a tty task's console (FIFOs)",
        select="shell",
        press=("a",),
        console=True,
        session=CONTAINERD_SESSION,
    ),
]

SIZES: list[tuple[int, int]] = [(80, 24), (160, 48)]
