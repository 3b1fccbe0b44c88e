"""The main screen: containers, execs of the selected task, details, events.

It repaints from the app's model on a timer when the model changed (never per event), and
turns keys into backend actions run as workers; an engine error becomes a notification.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Header, Input

from runtime import errors

from ..backend.base import Capability, CommandSource, ImageSource, Source, Status
from ..backend.merged import MergedConsole
from ..dialogs import (
    CheckpointDialog,
    CheckpointRequest,
    ConfirmDialog,
    CreateDialog,
    CreateRequest,
    ExecDialog,
    ExecRequest,
    KillDialog,
    LabelsDialog,
    NamespacePicker,
    RestoreDialog,
    RestoreRequest,
)
from ..failures import notify_failure
from ..model import Row
from ..text import safe_text, visible
from ..widgets.details import DetailsPane
from ..widgets.eventlog import EventsTable
from ..widgets.filterbox import FilterBox
from ..widgets.linetable import LineTable
from ..widgets.pods import PodColumns, hide_sandboxes, pod_kind
from ..widgets.tables import ContainersTable, ExecsTable
from .console import ConsoleScreen

if TYPE_CHECKING:
    from ..app import ShimdeckApp

#: Every action of the main screen: (key, action, footer label, palette help).
ACTIONS: list[tuple[str, str, str, str]] = [
    ("n", "create", "New", "Create a container from a template or a command"),
    ("s", "start", "Start", "Start the selected task (or exec); re-run it if it stopped"),
    ("p", "pause", "Pause", "Pause or resume the selected task"),
    ("k", "kill", "Kill", "Send a signal to the selected task or exec"),
    ("d", "delete", "Del", "Delete the selected container (or exec)"),
    ("e", "exec", "Exec", "Run a process in the selected task"),
    ("a", "attach", "Attach", "Open the console of the selected task or exec"),
    (
        "L",
        "logs",
        "Logs",
        "Merged logs of the selected container, or of every container the filter shows",
    ),
    ("c", "checkpoint", "Ckpt", "Checkpoint the selected task with CRIU"),
    ("R", "restore", "Restore", "Restore the selected container from a checkpoint"),
    ("l", "labels", "Labels", "Edit the labels of the selected container"),
    ("N", "namespaces", "Namespace", "Switch to another containerd namespace"),
    ("slash", "filter", "Filter", "Filter the focused pane (containers or events)"),
    ("o", "sort", "Sort", "Sort containers by the next column (O reverses)"),
    ("question_mark", "help", "Help", "Show the keys"),
    ("q", "quit", "Quit", "Quit shimdeck"),
]


#: On a Kubernetes node only (while CRI rows exist): the pods' sandboxes, shown or hidden.
SANDBOXES: tuple[str, str, str, str] = (
    "H",
    "toggle_sandboxes",
    "Sandboxes",
    "Show or hide the pods' sandbox (pause) containers (on a Kubernetes node)",
)


def binding_id(action: str) -> str:
    """The id a keymap names the main screen's binding for ``action`` by."""
    return f"main.{action}"


_KEY_NAMES = {"slash": "/", "question_mark": "?"}


def action_keys(key: str, action: str, keymap: Mapping[str, str]) -> str:
    """The key(s) for one of ACTIONS as the user sees them, the keymap's if it moved it."""
    keys = keymap.get(binding_id(action), key).split(",")
    return ", ".join(_KEY_NAMES.get(k, k) for k in keys)


#: The capability each of the screen's actions needs of the backend.
NEEDS: dict[str, Capability] = {
    "create": Capability.CREATE,
    "start": Capability.START,
    "pause": Capability.PAUSE,
    "kill": Capability.KILL,
    "delete": Capability.DELETE,
    "exec": Capability.EXEC,
    "attach": Capability.ATTACH,
    "logs": Capability.ATTACH,
    "checkpoint": Capability.CHECKPOINT,
    "restore": Capability.RESTORE,
    "labels": Capability.LABELS,
    "namespaces": Capability.NAMESPACES,
}

#: Actions shown (footer, help) only where the backend has them: the engine's screens
#: stay as they were before the backend could do them.
ONLY_WHERE_ABLE = frozenset({"namespaces"})


class MainScreen(Screen[None]):
    BINDINGS: ClassVar[list[Any]] = [
        *(
            # The slash is a priority binding so that it moves the focus before the keys
            # typed right after it are handed to the widget that had it.
            Binding(
                key,
                f"screen.{action}",
                label,
                show=action not in ("sort", "restore", "logs", "namespaces"),
                priority=key == "slash",
                id=binding_id(action),
            )
            for key, action, label, _ in ACTIONS
            if action not in ("quit", "help")
        ),
        Binding("question_mark", "app.help", "Help", id=binding_id("help")),
        Binding("q", "app.quit", "Quit", id=binding_id("quit")),
        Binding(
            SANDBOXES[0],
            # Not "screen.": under a dialog that names the dialog, which would show it.
            SANDBOXES[1],
            SANDBOXES[2],
            id=binding_id(SANDBOXES[1]),
        ),
        Binding("O", "screen.sort_reverse", "Reverse sort", show=False, id="main.sort_reverse"),
        Binding(
            "escape", "screen.clear_filter", "Clear filter", show=False, id="main.clear_filter"
        ),
    ]

    #: How often a changed model is repainted, at most.
    REPAINT: ClassVar[float] = 0.1

    app: ShimdeckApp

    def __init__(self) -> None:
        super().__init__()
        self._version = -1
        #: When the panes last followed the model (monotonic), and a repaint already due.
        self._painted_at = 0.0
        self._repaint_due = False
        self._filter = ""
        self._filter_target = "containers"
        self._shown: list[Row] = []
        #: What listed the rows last (:meth:`_shape_now`), and each row's facts then.
        self._shape: tuple[object, ...] = ()
        self._kept_facts: dict[str, tuple[object, ...]] = {}
        self._full_repaint = True
        self._title = ""
        self._now: datetime | None = None
        self._pod_columns = PodColumns()
        #: Whether some container is a pod's (a Kubernetes node): the sandbox toggle shows.
        self._pods = False
        self._show_sandboxes = False
        #: Containers whose start is in flight, and the exec to attach to once it is done:
        #: ``s`` then ``a`` typed faster than a start attaches instead of "has no task".
        self._starting: dict[str, str | None] = {}
        #: The container whose execs the backend was last told the execs pane shows.
        self._execs_of: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="top"):
            # No select-on-focus: it would eat the first keys typed right after the slash.
            yield FilterBox(
                placeholder="filter containers by id or label",
                id="filter",
                compact=True,
                select_on_focus=False,
            )
            yield ContainersTable(column_hook=self._pod_columns, id="containers")
        with Horizontal(id="middle"):
            yield ExecsTable(id="execs")
            yield DetailsPane(id="details")
        yield EventsTable(id="events")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        backend = self.app.backend
        self.query_one(ContainersTable).show_images = Capability.IMAGES in backend.capabilities
        self.query_one("#execs").border_title = "execs"
        self.query_one("#details").border_title = "details"
        self.query_one("#events").border_title = "events"
        self.query_one("#filter").display = False
        self.set_interval(self.REPAINT, self._repaint_if_changed)
        # Uptimes move with the clock, and stats samples come, even when nothing else does.
        self.set_interval(1.0, self._tick)
        self.repaint(full=True)
        self.query_one("#containers").focus()

    # -- painting -------------------------------------------------------------------------

    def _repaint_if_changed(self) -> None:
        # Not while model_changed's repaint is due: both at once repainted up to twice in
        # REPAINT under a stream of events.
        if self._version != self.app.model.version and not self._repaint_due:
            self.repaint()

    def model_changed(self) -> None:
        """The model took an update: repaint at once after a quiet spell (an event shows in
        the next frame, not up to REPAINT later), else REPAINT after the last repaint, so
        that a burst of events shares one repaint."""
        if self._repaint_due:
            return
        self._repaint_due = True
        wait = self._painted_at + self.REPAINT - time.monotonic()
        if wait > 0:
            self.set_timer(wait, self._repaint_when_due)
        else:  # (Textual's timers cannot wait 0 s)
            self.call_later(self._repaint_when_due)

    def _repaint_when_due(self) -> None:
        self._repaint_due = False
        if self._version != self.app.model.version:
            self.repaint()

    @property
    def _visible(self) -> bool:
        """False while a full screen (the console pane) covers this one."""
        return self.is_current or isinstance(self.app.screen, ModalScreen)

    def on_screen_suspend(self) -> None:
        # Covered, it stops following the model: all of it is painted again on return
        # (not on the first resume, which follows the mount's full paint at once).
        self._full_repaint = True

    def on_screen_resume(self) -> None:
        self.repaint()

    def _tick(self) -> None:
        self.repaint(clock=True)

    def repaint(self, full: bool = False, *, clock: bool = False) -> None:
        """Sync every pane with the model (only what changed, unless ``full``).

        Uptimes are computed against a clock read once a second (``clock``), and stats
        samples shown then too, so that every row in view changes at once, in one repaint
        of the table a second, not in ten.
        """
        if not self._visible:
            return
        model = self.app.model
        if clock or full or self._full_repaint or self._now is None:
            self._now = self.app.backend.now()
            clock = True
        now = self._now
        self._version = model.version
        self._painted_at = time.monotonic()
        changed = model.take_changed(stats=clock)
        table = self.query_one(ContainersTable)
        if clock:
            changed |= set(table.visible_keys())
        if full or self._full_repaint:
            self._full_repaint = False
            self._list(None, now)
        elif not self._listed_as_was(changed, now, clock):
            self._list(changed, now)
        if not self._shown:
            # Rows hidden, not missing: "press n to create one" would mislead.
            if model.rows and self._filter:
                note = visible(f"no container matches {self._filter!r}: escape clears the filter")
            elif model.rows:
                note = "only pod sandboxes here: H shows them"
            else:
                note = self.app.backend.empty_note() or table.EMPTY
            if note != table.empty_text:
                table.empty_text = note
                table.refresh()
        # Stats only of the rows in view and the selected one: each costs cgroup reads.
        row = self.selected_row()
        targets = set(table.visible_keys(margin=0)) | ({row.id} if row else set())
        self.app.backend.set_stats_targets(
            id for id in targets if id in model.rows and model.rows[id].running
        )
        self._show_execs_of(row)
        self.query_one(DetailsPane).show(row, now)
        self.query_one(EventsTable).sync_events(model.events)

    def _facts(self, rows: Iterable[Row], now: datetime) -> dict[str, tuple[object, ...]]:
        """What decides whether and where each row is listed and how the title counts it."""
        table = self.query_one(ContainersTable)
        sort_key, needle = table.sort_key(), self._filter
        return {
            r.id: (
                not needle or r.matches(needle),
                pod_kind(r),
                bool(r.container.image),
                r.status,
                sort_key(r, now),
            )
            for r in rows
        }

    def _listed_as_was(self, changed: set[str], now: datetime, clock: bool) -> bool:
        """Show the rows in ``changed`` anew, in place, if that is all that changed: no row
        came or went, neither the filter, the sort nor the sandbox toggle moved, no sort by
        a column the clock moves at a clock repaint, and no changed row is listed, placed
        or counted otherwise. Listing every row again at each repaint was most of the UI's
        time at 2,000 containers and hundreds of events a second."""
        model, table = self.app.model, self.query_one(ContainersTable)
        if self._shape != self._shape_now() or (clock and table.sort_column in table.CLOCKED):
            return False
        rows = [row for id in changed if (row := model.rows.get(id)) is not None]
        if len(rows) != len(changed):
            return False  # gone (its removal moved membership too)
        facts = self._facts(rows, now)
        if any(self._kept_facts.get(id) != fact for id, fact in facts.items()):
            return False
        table.update(rows, now)
        return True

    def _shape_now(self) -> tuple[object, ...]:
        table = self.query_one(ContainersTable)
        membership = self.app.model.membership
        return (membership, self._filter, self._show_sandboxes, *table.sort_state())

    def _list(self, changed: set[str] | None, now: datetime) -> None:
        """List the rows the filter and the sandbox toggle let through, sorted, and title
        the pane (``changed``: the rows to show anew; None, every row)."""
        model, table = self.app.model, self.query_one(ContainersTable)
        self._kept_facts = facts = self._facts(model.rows.values(), now)
        self._shape = self._shape_now()
        rows = [r for r in model.rows.values() if facts[r.id][0]]
        pods = self._pod_columns.shown(rows)
        if pods != self._pods:
            self._pods = pods
            self.refresh_bindings()  # the sandbox toggle shows only on a node
        listed = hide_sandboxes(rows, self._show_sandboxes) if pods else rows
        hidden = len(rows) - len(listed)
        rows = self._shown = listed
        table.sync(rows, now, changed)
        # The pane's top border is its only border: the filter shows in the title.
        running = sum(1 for r in rows if r.status == Status.RUNNING)
        title = (
            f"containers · {len(rows)} of {len(model.rows)} · filter: {self._filter}"
            if self._filter
            else f"containers · {len(rows)} · {running} running"
        )
        if hidden:
            title += f" · {hidden} sandbox{'es' if hidden != 1 else ''} hidden"
        if title != self._title:
            self._title = title
            table.border_title = safe_text(title)

    def _show_execs_of(self, row: Row | None) -> None:
        id = row.id if row else None
        if id != self._execs_of:
            self._execs_of = id
            self.app.backend.watch_execs(id)
        self.query_one(ExecsTable).sync(row.execs if row else [])

    def on_text_selected(self) -> None:
        """Text selected with the mouse (events, details) is copied at once (OSC 52)."""
        text = self.get_selected_text()
        if text:
            self.app.copy_to_clipboard(text)
            self.notify(f"{len(text):,} characters copied to the clipboard", timeout=2)

    @on(LineTable.RowHighlighted, "#containers")
    def _selection_moved(self) -> None:
        row = self.selected_row()
        self._show_execs_of(row)
        self.query_one(DetailsPane).show(row, self.app.backend.now())

    @on(LineTable.RowSelected, "#containers")
    def _row_chosen(self) -> None:
        self.action_attach()

    @on(LineTable.RowSelected, "#execs")
    def _exec_chosen(self) -> None:
        self.action_attach()

    @on(LineTable.HeaderSelected, "#containers")
    def _header_clicked(self, event: LineTable.HeaderSelected) -> None:
        self.query_one(ContainersTable).set_sort(event.column)
        self.repaint()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == SANDBOXES[1]:
            return self._pods  # False: not in the footer at all off a node
        need = NEEDS.get(action)
        if need is not None and need not in self.app.backend.capabilities:
            return None  # shown disabled: this backend cannot, whatever is selected
        return True

    def confirm_first(self, action: str, id: str, then: Callable[[], object]) -> None:
        """With CONFIRM_DESTRUCTIVE, ask (the backend's question) before ``then``."""
        backend = self.app.backend
        if Capability.CONFIRM_DESTRUCTIVE not in backend.capabilities:
            then()
            return
        question = backend.confirm_text(id, action)
        if question is None:
            then()  # not one the backend asks about (a node's plain containers)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                then()

        self.app.push_screen(ConfirmDialog(id, question, verb=action.capitalize()), answered)

    # -- selection ------------------------------------------------------------------------

    def selected_row(self) -> Row | None:
        key = self.query_one(ContainersTable).selected_key
        return self.app.model.rows.get(key) if key else None

    def selected_exec(self) -> str:
        """The exec id when the execs pane has focus and a row, else "" (the init)."""
        table = self.query_one(ExecsTable)
        if table.has_focus and table.selected_key:
            return table.selected_key
        return ""

    def _target(self, need_task: bool = True) -> tuple[Row, str] | None:
        row = self.selected_row()
        if row is None:
            self.notify("No container selected: press n to create one", severity="warning")
            return None
        if need_task and row.task is None:
            self.notify(
                visible(f"Container {row.id!r} has no task: press s to start it"),
                severity="warning",
                markup=False,
            )
            return None
        return row, self.selected_exec()

    @staticmethod
    def describe(id: str, exec_id: str) -> str:
        return f"{id} / {exec_id}" if exec_id else id

    # -- running actions --------------------------------------------------------------------

    def run_backend(
        self, what: str, job: Callable[[], Awaitable[Any]], then: Callable[[], None] | None = None
    ) -> None:
        """Run a backend call as a worker; errors become notifications, never crashes."""

        async def work() -> None:
            try:
                await job()
            except Exception as e:  # the UI must survive anything an action does
                notify_failure(self.app, what, e)
                return
            if then is not None:
                then()

        self.run_worker(work(), group="actions", exit_on_error=False)

    # -- actions --------------------------------------------------------------------------

    def action_create(self) -> None:
        backend = self.app.backend

        def done(req: CreateRequest | None) -> None:
            if req is not None and req.start:
                self.run_backend(f"start {req.id}", lambda: backend.start(req.id))

        def source(req: CreateRequest) -> Source:
            return ImageSource(req.image, req.args) if req.image else CommandSource(req.args)

        images = backend.images if Capability.IMAGES in backend.capabilities else None
        dialog = CreateDialog(self.app.model.rows, images=images).on_submit(
            lambda req: backend.create(
                req.id, source(req), terminal=req.terminal, labels=req.labels
            ),
            lambda req: f"create {req.id}",
        )
        self.app.push_screen(dialog, done)

    def action_start(self) -> None:
        target = self._target(need_task=False)
        if not target:
            return
        (row, exec_id) = target
        self._starting.setdefault(row.id, None)

        async def start() -> None:
            try:
                await self.app.backend.start(row.id, exec_id)
            finally:
                attach_to = self._starting.pop(row.id, None)
            if attach_to is not None:
                self.app.attach(row.id, attach_to)

        self.run_backend(f"start {self.describe(row.id, exec_id)}", start)

    def action_pause(self) -> None:
        target = self._target()
        if not target:
            return
        row = target[0]
        if row.status in (Status.PAUSED, Status.PAUSING):
            self.run_backend(f"resume {row.id}", lambda: self.app.backend.resume(row.id))
        else:
            self.confirm_first(
                "pause",
                row.id,
                lambda: self.run_backend(f"pause {row.id}", lambda: self.app.backend.pause(row.id)),
            )

    def action_kill(self) -> None:
        target = self._target()
        if not target:
            return
        row, exec_id = target
        subject = self.describe(row.id, exec_id)
        dialog = KillDialog(subject, exec=bool(exec_id)).on_submit(
            lambda req: self.app.backend.kill(row.id, req.signal, all=req.all, exec_id=exec_id),
            lambda req: f"kill {subject} with {signal.Signals(req.signal).name}",
        )
        if exec_id:
            self.app.push_screen(dialog)  # an exec is ours, not the kubelet's: no question
        else:
            self.confirm_first("kill", row.id, lambda: self.app.push_screen(dialog))

    def action_delete(self) -> None:
        target = self._target(need_task=False)
        if not target:
            return
        row, exec_id = target
        if exec_id:
            question = f"Delete exec {exec_id!r} of task {row.id!r}?"
        elif row.running:
            question = (
                f"Container {row.id!r} has a {row.status} task: the engine refuses to delete "
                "it until it has been killed (k)."
            )
        elif row.task is not None:
            question = f"Delete container {row.id!r} and its {row.status} task?"
        else:
            question = f"Delete container {row.id!r}?"
        backend = self.app.backend
        # An exec, or a running task (refused anyway), keeps the question above.
        if Capability.CONFIRM_DESTRUCTIVE in backend.capabilities and not (exec_id or row.running):
            question = backend.confirm_text(row.id, "delete") or question
        subject = self.describe(row.id, exec_id)
        dialog = ConfirmDialog(subject, question).on_submit(
            lambda yes: self.app.backend.delete(row.id, exec_id), lambda yes: f"delete {subject}"
        )
        self.app.push_screen(dialog)

    def action_exec(self) -> None:
        target = self._target()
        if not target:
            return
        row = target[0]

        def done(req: ExecRequest | None) -> None:
            if req is not None and req.attach:
                self.app.attach(row.id, req.exec_id)

        dialog = ExecDialog(row.id, (e.exec_id for e in row.execs)).on_submit(
            lambda req: self.app.backend.exec(row.id, req.exec_id, req.args, terminal=req.terminal),
            lambda req: f"exec {req.exec_id} in {row.id}",
        )
        self.app.push_screen(dialog, done)

    def action_attach(self) -> None:
        row = self.selected_row()
        if row is not None and row.task is None and row.id in self._starting:
            self._starting[row.id] = self.selected_exec()
            return
        target = self._target()
        if target:
            self.app.attach(target[0].id, target[1])

    def action_logs(self) -> None:
        """Merged logs: every container the filter shows (with a filter), else the
        selected one; only those with a task have output."""
        rows = self._shown if self._filter else [r for r in [self.selected_row()] if r]
        sources = []
        why = "No container with output: press s to start one"
        for row in rows:
            if row.task is None:
                continue
            try:
                sources.append((row.id, self.app.backend.console(row.id)))
            except errors.Error as e:
                why = str(e)  # no output to read (containerd), or its task went meanwhile
        if not sources:
            self.notify(visible(why), severity="warning", markup=False)
            return
        console = MergedConsole(sources)
        title = ", ".join(console.ids)
        if len(title) > 60:
            title = f"{len(sources)} containers"
        self.app.push_screen(ConsoleScreen(console, console.ids[0], title=title))

    def action_checkpoint(self) -> None:
        target = self._target()
        if not target:
            return
        row = target[0]

        def done(req: CheckpointRequest | None) -> None:
            if req is not None:
                self.app.notify(
                    visible(f"Checkpoint of {row.id} written to {req.path}"), markup=False
                )

        dialog = CheckpointDialog(row.id).on_submit(
            lambda req: self.app.backend.checkpoint(row.id, req.path, exit=req.exit),
            lambda req: f"checkpoint {row.id}",
        )
        self.app.push_screen(dialog, done)

    def action_restore(self) -> None:
        target = self._target(need_task=False)
        if not target:
            return
        row = target[0]
        if not row.checkpoints:
            self.notify(
                visible(f"{row.id!r} has no checkpoints: press c to make one"),
                severity="warning",
                markup=False,
            )
            return

        def done(req: RestoreRequest | None) -> None:
            if req is not None:
                into = req.new_id or row.id
                self.app.notify(visible(f"{into} restored from {req.path}"), markup=False)

        dialog = RestoreDialog(
            row.id,
            row.checkpoints,
            running=row.task is not None and row.task.status != "stopped",
            taken=self.app.model.rows,
        ).on_submit(
            lambda req: self.app.backend.restore(row.id, req.path, new_id=req.new_id),
            lambda req: f"restore {req.new_id or row.id}",
        )
        self.app.push_screen(dialog, done)

    def action_labels(self) -> None:
        target = self._target(need_task=False)
        if not target:
            return
        row = target[0]
        dialog = LabelsDialog(row.id, dict(row.container.labels)).on_submit(
            lambda labels: self.app.backend.set_labels(row.id, labels),
            lambda labels: f"labels of {row.id}",
        )
        self.app.push_screen(dialog)

    def action_toggle_sandboxes(self) -> None:
        self._show_sandboxes = not self._show_sandboxes
        self.repaint(full=True)

    def action_namespaces(self) -> None:
        """N: the namespaces with their container counts; the chosen one is watched."""
        backend = self.app.backend

        async def pick() -> None:
            listed = await backend.namespaces()
            current = backend.info.namespace

            def chosen(namespace: str | None) -> None:
                if namespace is not None and namespace != current:
                    self.run_backend(
                        f"switch to namespace {namespace}",
                        lambda: backend.switch_namespace(namespace),
                        self._namespace_switched,
                    )

            self.app.push_screen(NamespacePicker(listed, current), chosen)

        self.run_backend("list namespaces", pick)

    def _namespace_switched(self) -> None:
        self.app.show_backend_info()
        self.query_one(ContainersTable).move_cursor(row=0)

    def action_sort(self) -> None:
        self.query_one(ContainersTable).cycle_sort()
        self.repaint()

    def action_sort_reverse(self) -> None:
        table = self.query_one(ContainersTable)
        table.set_sort(table.sort_column, not table.sort_reverse)
        self.repaint()

    # -- filtering ----------------------------------------------------------------------------

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if box.has_focus:
            box.insert_text_at_cursor("/")  # a slash typed into the filter itself
            return
        events = self.query_one(EventsTable)
        self._filter_target = "events" if events.has_focus else "containers"
        box.placeholder = (
            "filter events by topic, id or detail"
            if self._filter_target == "events"
            else "filter containers by id or label"
        )
        box.value = self._filter if self._filter_target == "containers" else events.filter_text
        box.display = True
        # Focus now, not on the next message (as focus() does): keys typed right after the
        # slash are already queued and must reach the box, not the bindings.
        self.set_focus(box)

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._apply_filter(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        box = self.query_one("#filter", Input)
        box.display = bool(event.value)
        target = "#events" if self._filter_target == "events" else "#containers"
        self.query_one(target).focus()

    def _apply_filter(self, text: str) -> None:
        if self._filter_target == "events":
            events = self.query_one(EventsTable)
            events.filter_text = text
            events.border_title = safe_text(f"events · filter: {text}" if text else "events")
            events.sync_events(self.app.model.events, rebuild=True)
        else:
            self._filter = text
            self.repaint()

    def action_clear_filter(self) -> None:
        """Escape: drop both filters and hide the filter box."""
        box = self.query_one("#filter", Input)
        events = self.query_one(EventsTable)
        if box.display or self._filter or events.filter_text:
            box.value = ""
            for target in ("events", "containers"):
                self._filter_target = target
                self._apply_filter("")
            box.display = False
            self.query_one("#containers").focus()
