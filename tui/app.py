"""The shimdeck app: a backend in, a model kept from its messages, screens out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding

from runtime import errors

from .backend import Backend
from .commands import ActionsProvider
from .messages import EngineEvent, ReplayEnded, StatsSample
from .model import Model
from .screens import ConsoleScreen, HelpScreen, MainScreen

#: Actions the app binds at high priority that a console pane must pass to the process.
_PASSED_TO_CONSOLE = {"quit", "command_palette"}


class ShimdeckApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "shimdeck"
    COMMANDS = App.COMMANDS | {ActionsProvider}
    BINDINGS: ClassVar[list[Any]] = [Binding("f1", "help", "Help", show=False)]
    #: Taller terminals give the execs, details and events panes more rows.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]  # noqa: RUF012
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # noqa: RUF012

    def __init__(
        self,
        backend: Backend,
        *,
        setup: Callable[[Backend], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__()
        self.backend = backend
        self.model = Model()
        self._setup = setup
        #: True once a replay delivered everything (always True for a live engine).
        self.replay_ended = False
        self.sub_title = f"{backend.runtime_name} · {backend.description}"

    def get_default_screen(self) -> MainScreen:
        return MainScreen()

    def on_mount(self) -> None:
        self.model.resync(self.backend)
        self.backend.connect(self)
        if self._setup is not None:
            self.run_worker(self._run_setup(self._setup), group="setup", exit_on_error=False)

    async def _run_setup(self, setup: Callable[[Backend], Awaitable[None]]) -> None:
        try:
            await setup(self.backend)
        except errors.Error as e:
            self.notify(str(e), title="setup failed", severity="error", timeout=15, markup=False)
        except Exception as e:
            self.notify(
                f"{type(e).__name__}: {e}",
                title="setup failed",
                severity="error",
                timeout=15,
                markup=False,
            )

    # -- backend messages ---------------------------------------------------------------------

    def on_engine_event(self, message: EngineEvent) -> None:
        self.model.apply(self.backend, message.event)

    def on_stats_sample(self, message: StatsSample) -> None:
        self.model.add_stats(message.id, message.stats)

    def on_replay_ended(self, message: ReplayEnded) -> None:
        self.replay_ended = True

    # -- app actions --------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # In the console, ctrl+q and ctrl+p belong to the program (readline, vi, emacs).
        return not (action in _PASSED_TO_CONSOLE and isinstance(self.screen, ConsoleScreen))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def attach(self, id: str, exec_id: str = "") -> None:
        """Open the console pane on a task's init (or an exec)."""
        try:
            console = self.backend.console(id, exec_id)
        except errors.Error as e:
            self.notify(str(e), title="attach failed", severity="error", timeout=10, markup=False)
            return
        self.push_screen(ConsoleScreen(console, id, exec_id))
