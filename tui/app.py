"""The shimdeck app: a backend's updates in, a model kept from them, screens out."""

from __future__ import annotations

import asyncio
import gc
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any, ClassVar

from textual import events
from textual.app import App
from textual.binding import Binding
from textual.driver import Driver
from textual.message import Message
from textual.message_pump import MessagePump
from textual.screen import Screen
from textual.theme import Theme
from textual.timer import Timer
from textual.widget import Widget

from runtime import errors

from .backend import Backend
from .backend.base import BackendInfo, ConnectionChanged, Resynced, StatsSampled, Update
from .commands import ActionsProvider
from .config import Config, ConfigError, save_theme
from .driver import prompt_driver
from .failures import notify_failure
from .model import Model
from .screens import ConsoleScreen, HelpScreen, MainScreen
from .text import visible
from .widgets import stripcycles

#: Actions the app binds at high priority that a console pane must pass to the process.
_PASSED_TO_CONSOLE = {"quit", "command_palette"}


def header_line(info: BackendInfo) -> str:
    """The header's subtitle: which backend, where, and which namespace (a replay: as the
    recorded backend's header was, where the session says)."""
    if info.recorded is not None:
        return header_line(info.recorded)
    backend = info.runtime if info.kind != "containerd" else f"containerd {info.version}"
    # The namespace before the socket: at 80 columns the path is what gets cut.
    if info.namespace:
        backend += f" [{info.namespace}]"
    return visible(" · ".join(p for p in (backend, info.address) if p))


class KeyBarrier(Message):
    """Follows a key along the focus chain: when it reaches the app, the key was handled."""

    def __init__(self, token: int) -> None:
        super().__init__()
        self.token = token


class KeyQueue:
    """Hands keys (and pastes) to the app one at a time, each once the last has settled.

    Textual forwards every queued key to the focused widget at once, and a key's bindings
    run only when it has bubbled back up; so keys typed faster than a frame after one that
    opens a dialog, moves the focus or leaves a pane went to the old focus (``na`` ran
    "new" then "attach"; ``/flood<enter>a`` typed the ``a`` into the filter). Here, after
    each key a barrier message follows it along the focus chain; when the barrier comes
    back with the screen and focus unchanged (at least twice, so that messages the key's
    handlers posted, and a new screen's mount and focus, have run), the next key goes.
    Textual 8.2.8 offers nothing that gives this guarantee: docs/design.md says what was
    tried, and tests/tui/test_typeahead.py fails without it.
    """

    #: Round trips of the barrier after a key, at least (see above) and at most.
    MIN_ROUNDS = 2
    MAX_ROUNDS = 12
    #: A barrier that does not come back (its widget was removed) is resent after this.
    RESEND = 0.05
    #: Give up waiting for a key to settle after this long.
    GIVE_UP = 1.0

    def __init__(self, app: ShimdeckApp) -> None:
        self._app = app
        self._held: deque[events.Event] = deque()
        self._token = 0
        self._busy = False
        self._rounds = 0
        self._seen: tuple[Screen[Any] | None, Widget | None] = (None, None)
        self._since = 0.0
        self._timer: Timer | None = None

    def __len__(self) -> int:
        return len(self._held)

    async def put(self, event: events.Event) -> None:
        self._held.append(event)
        if not self._busy:
            await self._next()

    async def _next(self) -> None:
        app = self._app
        while self._held and not self._busy:
            event = self._held.popleft()
            before = self._state()
            await app.dispatch_input(event)
            screen, focused = self._state()
            if (
                event.is_forwarded
                and (screen, focused) == before
                and getattr(focused, "KEYS_SETTLE_AT_ONCE", False)
            ):
                continue  # a terminal pane: every key goes to the process, in order
            self._busy = True
            self._rounds = 0
            self._since = app._loop_time()
            self._seen = self._state()
            self._send()

    def _state(self) -> tuple[Screen[Any] | None, Widget | None]:
        stack = self._app.screen_stack
        return (stack[-1], stack[-1].focused) if stack else (None, None)

    def _send(self) -> None:
        app = self._app
        self._token += 1
        screen, focused = self._state()
        target: MessagePump = focused or screen or app
        if not target.post_message(KeyBarrier(self._token)):
            app.post_message(KeyBarrier(self._token))
        if self._timer is None:
            self._timer = app.set_interval(self.RESEND, self._check, name="key-queue")

    async def barrier(self, message: KeyBarrier) -> None:
        if not self._busy or message.token != self._token:
            return  # a barrier that was resent meanwhile
        self._rounds += 1
        state = self._state()
        settled = state == self._seen and self._rounds >= self.MIN_ROUNDS
        self._seen = state
        if settled or self._rounds >= self.MAX_ROUNDS:
            await self._settled()
        else:
            self._send()

    async def _check(self) -> None:
        if not self._busy:
            return
        if self._app._loop_time() - self._since > self.GIVE_UP:
            await self._settled()
        else:
            self._send()  # the barrier may have been lost with a removed widget

    async def _settled(self) -> None:
        self._busy = False
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        await self._next()


class ShimdeckApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "shimdeck"
    COMMANDS = App.COMMANDS | {ActionsProvider}
    #: Middle-generation passes between two full passes of the cyclic collector (Python's
    #: default is 10). See on_mount and docs/design.md.
    GC_FULL_PASS_EVERY: ClassVar[int] = 100
    BINDINGS: ClassVar[list[Any]] = [
        Binding("f1", "help", "Help", show=False, id="app.help"),
        # Textual's own, given ids so that a keymap can move them.
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="app.quit"),
        Binding(
            App.COMMAND_PALETTE_BINDING,
            "command_palette",
            "palette",
            show=False,
            key_display=App.COMMAND_PALETTE_DISPLAY,
            priority=True,
            id="app.command_palette",
        ),
    ]
    #: Taller terminals give the execs, details and events panes more rows.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]  # noqa: RUF012
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # noqa: RUF012

    def __init__(
        self,
        backend: Backend,
        *,
        setup: Callable[[Backend], Awaitable[None]] | None = None,
        config: Config | None = None,
    ) -> None:
        super().__init__()
        #: The user's settings (read-only; a theme chosen in the UI replaces it).
        self.config = config or Config()
        if self.config.theme:
            self.theme = self.config.theme
        if self.config.keymap:
            self.set_keymap(dict(self.config.keymap))
        self.backend = backend
        self.model = Model()
        self._setup = setup
        #: True once a replay delivered everything (always True for a live engine).
        self.replay_ended = backend.info.kind != "replay"
        self.sub_title = header_line(backend.info)
        self.keys = KeyQueue(self)
        self._frozen_rows = 0
        #: Textual's default when the config names none: not a choice to save.
        self._theme_at_start = self.theme
        self._key_listeners: list[Callable[[], None]] = []
        self._frame_listeners: list[Callable[[], None]] = []

    @property
    def scrollback(self) -> int:
        """Lines of scrollback each console keeps (``scrollback`` in the config file)."""
        return self.config.scrollback

    def export_screenshot(self, *, title: str | None = None, simplify: bool = False) -> str:
        """Textual's SVG, with ``xml:space="preserve"``: without it, renderers that treat
        the no-break spaces Rich writes as collapsible (librsvg) drop the leading spaces of
        each styled run, so cells run together ("runningpid") and columns shift."""
        svg = super().export_screenshot(title=title, simplify=simplify)
        return svg.replace("<svg ", '<svg xml:space="preserve" ', 1)

    def get_driver_class(self) -> type[Driver]:
        # Keys reach the app a loop turn sooner (see the module): felt during a flood.
        return prompt_driver(super().get_driver_class())

    def get_default_screen(self) -> MainScreen:
        return MainScreen()

    def on_mount(self) -> None:
        # Painted lines are no longer cyclic garbage (see the module): most of what the
        # collector's full passes had to find during a flood.
        stripcycles.install()
        # With that, a full pass finds next to nothing (0 objects, where 3,000 to 8,000
        # before) yet still walks the heap every ~10 young passes: one every 100 instead.
        young, middle, _ = gc.get_threshold()
        gc.set_threshold(young, middle, self.GC_FULL_PASS_EVERY)
        # What exists once the app is up (Textual, the engine, the first rows) lives as long
        # as the app: keep it out of the cyclic collector's full passes, which otherwise
        # walk all of it and held the loop for up to ~80 ms at a time.
        # Again when many rows came since (a big batch of containers), checked every 5 s.
        self.theme_changed_signal.subscribe(self, self._save_theme)
        self.call_after_refresh(self._freeze)
        self.set_interval(5.0, self._freeze_if_grown)
        # Taken now, not in the worker: the first listing is in before the first paint.
        updates = self.backend.updates()
        self.run_worker(self._follow(updates), group="updates", exit_on_error=False)
        if self._setup is not None:
            self.run_worker(self._run_setup(self._setup), group="setup", exit_on_error=False)

    def _save_theme(self, theme: Theme) -> None:
        """A theme chosen in the command palette is the user's theme from now on."""
        path = self.config.path
        if path is None or theme.name == (self.config.theme or self._theme_at_start):
            return
        try:
            save_theme(path, theme.name)
        except ConfigError as e:
            notify_failure(self, "saving the theme", e)
            return
        self.config = replace(self.config, theme=theme.name)

    def _freeze(self) -> None:
        gc.freeze()
        self._frozen_rows = len(self.model.rows)

    def _freeze_if_grown(self) -> None:
        if len(self.model.rows) >= self._frozen_rows + 100:
            self._freeze()

    async def _run_setup(self, setup: Callable[[Backend], Awaitable[None]]) -> None:
        try:
            await setup(self.backend)
        except Exception as e:
            notify_failure(self, "setup", e, timeout=15)

    # -- hooks: benchmarks time the UI from these (bench/ui.py), never from its insides --------

    def add_key_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` as each key from the terminal reaches the app, before it is
        dispatched; returns its remover."""
        self._key_listeners.append(listener)
        return lambda: self._key_listeners.remove(listener)

    def add_frame_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` after each frame is written to the terminal; returns its
        remover."""
        self._frame_listeners.append(listener)
        return lambda: self._frame_listeners.remove(listener)

    def post_display_hook(self) -> None:
        # Textual calls this right after it wrote a frame to the driver.
        for listener in list(self._frame_listeners):
            listener()

    # -- input ------------------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.Paste) and not event.is_forwarded:
            if isinstance(event, events.Key):
                for listener in list(self._key_listeners):
                    listener()
            await self.keys.put(event)
        else:
            await super().on_event(event)

    async def dispatch_input(self, event: events.Event) -> None:
        """What Textual does with a key or paste: priority bindings, else the focus."""
        await super().on_event(event)

    async def _on_key_barrier(self, message: KeyBarrier) -> None:
        await self.keys.barrier(message)

    def _loop_time(self) -> float:
        return asyncio.get_running_loop().time()

    # -- backend updates ----------------------------------------------------------------------

    async def _follow(self, updates: AsyncIterator[Update]) -> None:
        """The one consumer of the backend's updates: the model takes each, the header
        shows the connection. The updates end only where a replay ends."""
        try:
            async for update in updates:
                self.model.apply(update)
                if not isinstance(update, StatsSampled) and self.screen_stack:
                    main = self.screen_stack[0]
                    if isinstance(main, MainScreen):
                        main.model_changed()
                if isinstance(update, ConnectionChanged | Resynced):
                    # A resync may follow a namespace switch: the header names the new one.
                    self.show_backend_info()
        except Exception as e:  # a broken backend must not leave the UI silently frozen
            notify_failure(self, "following the backend", e, timeout=15)
            return
        self.replay_ended = True

    def show_backend_info(self) -> None:
        """The header: the backend, where, the namespace, and a broken connection."""
        model = self.model
        # A broken connection first: it must show at 80 columns, where the end is cut.
        broken = "" if model.connected else f"{model.connection_detail} · "
        self.sub_title = broken + header_line(self.backend.info)

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
            notify_failure(self, "attach", e)
            return
        self.push_screen(ConsoleScreen(console, id, exec_id))
