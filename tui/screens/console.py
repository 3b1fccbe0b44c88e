"""The console pane: a process's terminal (or captured output), full width.

It feeds the engine's backlog and then the live stream into a :class:`TerminalView`;
keys and paste go to the process, the pane's size goes to its pty. The UI keeps only a few
keys (priority bindings): ctrl+] leaves the pane (the process goes on), ctrl+f searches,
ctrl+s saves the output, and the pane's shifted scroll keys. In a pane without a tty, the
plain keys are the UI's: scrolling, ``n``/``N`` for the next and previous match.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Static

from runtime import errors

from ..backend import Console
from ..backend.merged import MergedConsole
from ..dialogs.save import SaveDialog, save
from ..text import safe_text, visible
from ..widgets.searchbar import SearchBar
from ..widgets.tables import status_text
from ..widgets.terminal import LEAVE_KEY, TerminalView

if TYPE_CHECKING:
    from ..app import ShimdeckApp


class ConsoleScreen(Screen[None]):
    BINDINGS: ClassVar[list[Any]] = [
        Binding(
            LEAVE_KEY,
            "leave",
            "Leave console",
            priority=True,
            key_display="ctrl+]",
            id="console.leave",
        ),
        Binding("ctrl+f", "search", "Search", priority=True, id="console.search"),
        Binding("ctrl+s", "save", "Save output", priority=True, id="console.save"),
        Binding(
            "n",
            "search_step(-1)",
            "Older match",
            show=False,
            priority=True,
            id="console.older_match",
        ),
        Binding(
            "N",
            "search_step(1)",
            "Newer match",
            show=False,
            priority=True,
            id="console.newer_match",
        ),
        Binding("escape", "close_search", "Close search", show=False, id="console.close_search"),
        # A log (no tty): how it is shown.
        Binding("r", "log_view('raw')", "Raw", show=False, priority=True, id="console.raw"),
        Binding("t", "log_view('stamps')", "Times", show=False, priority=True, id="console.times"),
        Binding("w", "log_view('wrap')", "Wrap", show=False, priority=True, id="console.wrap"),
        Binding("f", "follow", "Follow", show=False, priority=True, id="console.follow"),
    ]

    app: ShimdeckApp

    def __init__(
        self, console: Console, id: str, exec_id: str = "", *, title: str | None = None
    ) -> None:
        super().__init__()
        self.console = console
        self.task_id = id
        self.exec_id = exec_id
        #: Shown in the bar instead of the task and its status (merged logs).
        self.title_text = title
        self._ended = False
        self._input_error = ""
        self._version = -1

    def compose(self) -> ComposeResult:
        yield Static(id="console-bar")
        # Docked at the bottom; yielded after the pane so that the pane mounts first.
        search = SearchBar(id="search")
        view = TerminalView(terminal=self.console.terminal, id="terminal")
        if isinstance(self.console, MergedConsole):
            view.line_prefixes = tuple(self.console.prefixes)
        size = self.console.size
        if size is None:
            yield view
            yield search
            return
        # A recording has the size it was made at: show it at that size, framed and
        # centred, rather than in a corner of a pane of another size.
        columns, lines = size
        view.styles.width = columns
        view.styles.height = lines
        # Composed in a with block, not passed to the frame's constructor: the pane is then
        # mounted before this screen's on_mount looks for it.
        with Center(id="terminal-frame"), Vertical(id="terminal-box") as frame:
            frame.styles.width = columns + 2
            frame.styles.height = lines + 2
            frame.border_title = f"recorded at {columns}x{lines}"
            yield view
        yield search

    @property
    def terminal(self) -> TerminalView:
        return self.query_one(TerminalView)

    def on_mount(self) -> None:
        view = self.terminal
        view.sink = self._send
        # Backlog and stream are taken together: no output is lost or shown twice.
        for stamp, data in self.console.stamped_backlog():
            view.feed(data, stamp)
        stream = self.console.stream_stamped()
        self.run_worker(self._pump(stream), group="console", exit_on_error=False)
        view.focus()
        self.set_interval(0.25, self._refresh_bar)
        self._refresh_bar(force=True)

    async def _pump(self, stream: Any) -> None:
        try:
            async for pieces in stream:
                view = self.terminal
                for stamp, data in pieces:
                    view.feed(data, stamp)
        finally:
            self._ended = True
            self._refresh_bar(force=True)

    def _status(self) -> tuple[str, int | None]:
        model = self.app.model
        row = model.rows.get(self.task_id)
        if row is None:
            return "deleted", None
        info = row.task
        if self.exec_id:
            info = next((e for e in row.execs if e.exec_id == self.exec_id), None)
        if info is None:
            return "deleted", None
        return info.status, info.exit_status

    def _refresh_bar(self, force: bool = False) -> None:
        if not force and self._version == self.app.model.version:
            return
        self._version = self.app.model.version
        status, exit_status = self._status()
        view = self.terminal
        if self.title_text is not None:
            bar = Text(" logs ", style="bold reverse")
            bar.append(" ")
            bar.append_text(safe_text(self.title_text, "bold"))
            exit_status = None
        else:
            bar = Text(" console ", style="bold reverse")
            bar.append(" ")
            bar.append_text(safe_text(self.task_id, "bold"))
            if self.exec_id:
                bar.append_text(safe_text(f" / {self.exec_id}", "bold"))
            bar.append("  ")
            bar.append_text(status_text(status, exit_status))
        if exit_status is not None:
            bar.append(f" (exit {exit_status})")
        screen = view.screen_buffer
        # At 80 columns the long hints would be cut off.
        narrow = self.app.size.width < 120
        if self.console.terminal:
            bar.append(f"  tty {screen.columns}x{screen.lines}", style="dim")
        else:
            bar.append("  output only (no tty)", style="dim")
            shown = [
                name
                for name, on_ in (
                    ("raw", view.log_raw),
                    ("times", view.log_stamps),
                    ("no wrap", not view.log_wrap),
                    ("held", not view.live),
                )
                if on_
            ]
            if shown:
                bar.append("  " + ", ".join(shown), style="bold")
            if not narrow:
                bar.append("  r raw · t times · w wrap · f follow", style="dim")
        if self._ended:
            bar.append(f"  {self.console.end_note}", style="yellow")
        if self._input_error:
            bar.append_text(safe_text(f"  {self._input_error}", "red"))
        keys = (
            "^] leave ^f find ^s save" if narrow else "ctrl+] leaves · ctrl+f search · ctrl+s save"
        )
        bar.append(f"   {keys}", style="dim")
        self.query_one("#console-bar", Static).update(bar)

    @on(TerminalView.Input)
    def _input(self, message: TerminalView.Input) -> None:
        self._send(message.data)

    def _send(self, data: bytes) -> None:
        try:
            self.console.write(data)
        except errors.Error as e:
            # Shown once in the bar, not a notification per key.
            if not self._input_error:
                self._input_error = str(e)
                self._refresh_bar(force=True)

    @on(TerminalView.Resized)
    def _resized(self, message: TerminalView.Resized) -> None:
        self._refresh_bar(force=True)
        if not self.console.terminal:
            return

        async def resize() -> None:
            # Refused once the process has exited, when its pty size no longer matters.
            with contextlib.suppress(errors.Error):
                await self.console.resize(message.width, message.height)

        self.run_worker(resize(), group="resize", exclusive=True, exit_on_error=False)

    def action_leave(self) -> None:
        self.console.close()
        self.dismiss(None)

    # -- search -------------------------------------------------------------------------------

    @property
    def search_bar(self) -> SearchBar:
        return self.query_one(SearchBar)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "search_step":
            # n and N are the process's keys in a tty pane, and the search box's while typing.
            return (
                not self.console.terminal
                and bool(self.terminal.search_state.pattern)
                and self.focused is self.terminal
            )
        if action in ("log_view", "follow"):
            return not self.console.terminal and self.focused is self.terminal
        if action == "close_search":
            return self.search_bar.is_open or not self.terminal.live
        return True

    def action_log_view(self, what: str) -> None:
        view = self.terminal
        if what == "raw":
            view.set_log_view(raw=not view.log_raw)
        elif what == "stamps":
            view.set_log_view(stamps=not view.log_stamps)
        else:
            view.set_log_view(wrap=not view.log_wrap)
        self._refresh_bar(force=True)

    def action_follow(self) -> None:
        self.terminal.toggle_follow()

    def action_search(self) -> None:
        self.search_bar.open()

    def action_search_step(self, delta: int) -> None:
        self._show_count(self.terminal.search_step(delta))

    def action_close_search(self) -> None:
        """Escape: close the search bar and return to live."""
        self.search_bar.close()
        view = self.terminal
        view.clear_search()
        view.go_live()
        self.set_focus(view)

    def _show_count(self, state: Any) -> None:
        self.search_bar.show_count(state.count_text(), error=bool(state.error))

    @on(SearchBar.Changed)
    def _search_changed(self, message: SearchBar.Changed) -> None:
        state = self.terminal.search(message.pattern, regex=message.regex, case=message.case)
        self._show_count(state)

    @on(SearchBar.Step)
    def _search_step(self, message: SearchBar.Step) -> None:
        self.action_search_step(message.delta)

    @on(SearchBar.Closed)
    def _search_closed(self) -> None:
        self.action_close_search()

    @on(SearchBar.CopyMatch)
    def _copy_match(self) -> None:
        view = self.terminal
        match = view.search_state.current_match
        if match is None:
            return
        n, start, end = match
        self.app.copy_to_clipboard(view.emulator.text(n)[start:end])
        self.notify("match copied to the clipboard", timeout=2)

    @on(TerminalView.Scrolled)
    def _scrolled(self) -> None:
        self._refresh_bar(force=True)

    # -- copy and save ----------------------------------------------------------------------

    def on_text_selected(self) -> None:
        """A mouse selection is copied as soon as it is made (OSC 52), as in xterm."""
        text = self.get_selected_text()
        if text:
            self.app.copy_to_clipboard(text)
            self.notify(f"{len(text):,} characters copied to the clipboard", timeout=2)

    def output_parts(self) -> list[bytes]:
        """The whole output: the process's log file(s) without a tty, else scrollback
        and screen as plain text."""
        paths = [] if self.console.terminal else self.console.log_files()
        if paths:
            return [p.read_bytes() for p in paths if p.exists()]
        return [self.terminal.emulator.all_text().encode()]

    def action_save(self) -> None:
        name = f"{self.task_id}-{self.exec_id}" if self.exec_id else self.task_id
        dialog = SaveDialog(self.task_id, f"./{name}-output.txt").on_submit(
            lambda path: save(path, self.output_parts()), lambda path: f"save to {path}"
        )

        def done(path: str | None) -> None:
            if path:
                self.notify(visible(f"output saved to {path}"), markup=False)

        self.app.push_screen(dialog, done)
