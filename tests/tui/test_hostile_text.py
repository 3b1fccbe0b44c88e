"""Text from users and containers is shown as text: Rich markup, terminal escapes, other
control characters, bidi overrides and invalid UTF-8 are never interpreted by the UI or
passed to the user's terminal (issue 5)."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.text import Text

from runtime import Event, TaskInfo, errors
from tui.app import ShimdeckApp
from tui.backend.base import Container
from tui.backend.recording import Recorder
from tui.backend.replay import ReplayBackend
from tui.model import Row
from tui.scenarios import select, settle
from tui.screens.console import ConsoleScreen
from tui.text import LogFilter, is_safe, safe_text, visible
from tui.widgets.details import DetailsPane, TextBox
from tui.widgets.eventlog import EventsTable
from tui.widgets.tables import ContainersTable, ExecsTable, event_cells
from tui.widgets.terminal import TerminalView

from .conftest import on_screen, wait_for

#: Everything: controls, C1, surrogates (undecodable bytes), bidi, markup.
ANY_TEXT = st.lists(
    st.one_of(
        st.text(st.characters(codec=None, categories=None), max_size=6),
        st.sampled_from(["[red]", "[/red]", "[bold]", "\x1b[2J", "\x9b", "\u202e", "\r"]),
    ),
    max_size=8,
).map("".join)
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def unsafe_chars(text: str) -> list[str]:
    return [c for c in text if unicodedata.category(c) in ("Cc", "Cs")]


@given(ANY_TEXT)
def test_visible_leaves_nothing_a_terminal_would_act_on(value: str) -> None:
    shown = visible(value)
    assert is_safe(shown) and not unsafe_chars(shown)
    assert safe_text(value).plain == shown
    if is_safe(value):
        assert shown == value  # markup and ordinary text pass unchanged
    assert visible("\x1b[31m[red]x") == "^[[31m[red]x"


@settings(max_examples=200)
@given(key=ANY_TEXT.filter(bool), value=ANY_TEXT)
def test_label_values_show_as_text_in_every_cell(key: str, value: str) -> None:
    labels = {key: value, "plain": "[bold]not markup[/bold]"}
    container = Container("box", "runc", labels, bundle=Path("/b"))
    task = TaskInfo("box", 7, "running", Path("/b"), args=("sh", "-c", value or "x"))
    row = Row(container, task)
    cells = ContainersTable.cells(row, NOW)
    events = event_cells(Event("/containers/create", "box", NOW, detail=labels))
    for cell in (*cells, *events):
        assert isinstance(cell, Text)
        assert is_safe(cell.plain), repr(cell.plain)
    shown = cells[-1].plain
    assert visible(value) in shown and "[bold]not markup[/bold]" in shown
    assert visible(value) in events[-1].plain


@given(st.binary(max_size=200), st.integers(0, 200))
def test_output_without_a_tty_is_plain_text(data: bytes, cut: int) -> None:
    log = LogFilter()
    out = (log(data[:cut]) + log(data[cut:])).decode("utf-8")
    # What remains: text, LF, tab, and colours (SGR, the program's and the filter's own
    # reverse-video marks): no other sequence.
    text = re.sub(r"\x1b\[[0-9;:]*m", "", out)
    assert not [c for c in text if c not in "\n\t" and unicodedata.category(c) == "Cc"]
    assert not [c for c in text if unicodedata.category(c) == "Cs"]


@given(st.binary(max_size=200), st.integers(0, 200))
def test_the_raw_view_of_output_is_plain_text_with_no_colour_obeyed(data: bytes, cut: int) -> None:
    log = LogFilter(sgr=False)
    out = (log(data[:cut]) + log(data[cut:])).decode("utf-8")
    # Only the filter's own reverse-video marks are left as sequences.
    text = re.sub(r"\x1b\[(7|27)m", "", out)
    assert not [c for c in text if c not in "\n\t" and unicodedata.category(c) in ("Cc", "Cs")]


def test_the_raw_view_writes_bytes_as_cat_v_does_and_undecodable_ones_in_hex() -> None:
    log = LogFilter(sgr=False)
    out = log(b"\x1b[31mred\x1b[0m\x07\r\n\x7f \xc2\x9b \xff\xe2\x80 \xe2\x80\xae\tx\n")
    marks = re.sub(r"\x1b\[7m(.*?)\x1b\[27m", r"<\1>", out.decode())
    assert marks == "<^[>[31mred<^[>[0m<^G><^M>\n<^?> <M-^[> <\\xff><\\xe2><\\x80> <<U+202E>>\tx\n"
    # The normal view obeys the colour and shows an undecodable byte as U+FFFD.
    assert LogFilter()(b"\x1b[31mred\xff\r\n") == "\x1b[31mred\x1b[7m\ufffd\x1b[27m\n".encode()


HOSTILE = "[red]red?[/red] \x1b]0;pwned\x07\x1b[2Jgone \x9b31m \u202eevil \udc80 tab\there"


def hostile_session(path: Path) -> None:
    """A recording whose every user- and container-controlled string is hostile."""
    rec = Recorder(path, runtime="runc", start=NOW)
    labels = {"note": HOSTILE, "[b]key": "v\x1b[5m"}
    args = ("sh", "-c", f"echo '{HOSTILE}'")
    container = Container("evil", "runc", labels, bundle=Path(f"/bundles/evil\x1b[7m{HOSTILE}"))
    task = TaskInfo("evil", 42, "running", container.bundle, args=args, started_at=NOW)
    exe = TaskInfo("evil", 43, "running", container.bundle, "x1", args=("cat", HOSTILE))
    rec.state("evil", container, task, [exe])
    rec.event(Event("/containers/create", "evil", NOW, detail=labels))
    rec.event(Event("/tasks/exec-added", "evil", NOW, exec_id="x1", detail={"cmd": HOSTILE}))
    rec.output("evil", "", b"line one\n\x1b[2J\x1b[Hhidden?\rfake prompt$ \xff\xfe\xc2\x9b\n")
    rec.error("pause", "evil", f"cannot pause: runc said {HOSTILE}")
    rec.close()


def strips_are_safe(widget: TerminalView | EventsTable | ContainersTable | TextBox) -> str:
    """The text of every line the widget paints, checked for unsafe characters."""
    lines = []
    for y in range(widget.size.height):
        text = "".join(seg.text for seg in widget.render_line(y))
        assert is_safe(text), f"{type(widget).__name__} line {y}: {text!r}"
        lines.append(text)
    return "\n".join(lines)


async def test_a_hostile_replay_shows_everything_as_text(tmp_path: Path) -> None:
    path = tmp_path / "hostile.jsonl"
    hostile_session(path)
    app = ShimdeckApp(ReplayBackend(path, instant=True))
    async with app.run_test(size=(200, 40), notifications=True) as pilot:
        await settle(pilot)
        await select(pilot, "evil")
        screen = app.screen
        table = screen.query_one(ContainersTable)
        painted = strips_are_safe(table)
        assert "[red]red?[/red] ^[]0;pwned^G^[[2Jgone M-^[31m <U+202E>evil \ufffd" in painted
        details = screen.query_one(DetailsPane)
        text = details.query_one("#details-text", TextBox)
        assert "echo '[red]red?[/red] ^[]0;pwned" in text.text.plain
        assert "/bundles/evil^[[7m[red]" in text.text.plain
        events = strips_are_safe(screen.query_one(EventsTable))
        assert "cmd=[red]red?[/red] ^[]0;pwned^G" in events
        execs = screen.query_one(ExecsTable)
        assert "cat [red]red?[/red] ^[]0;pwned^G" in strips_are_safe(execs)  # type: ignore[arg-type]
        # An engine error quoting user input: shown as text in the notification.
        await pilot.press("p")
        await app.workers.wait_for_complete()
        await wait_for(pilot, lambda: app._notifications, what="a notification")
        (note,) = app._notifications
        assert note.message == f"cannot pause: runc said {visible(HOSTILE)}"
        assert not note.markup and is_safe(note.message)
        # Output of a process without a tty: a log, escapes shown, not acted on.
        await pilot.press("a")
        await wait_for(pilot, lambda: on_screen(app, ConsoleScreen))
        view = app.screen.query_one(TerminalView)
        await view.wait_idle()
        await pilot.pause()
        lines = [line.rstrip() for line in view.display_lines()]
        assert lines[:3] == ["line one", "^[[2J^[[Hhidden?^Mfake prompt$ \ufffd\ufffdM-^[", ""]
        strips_are_safe(view)


def test_replayed_errors_keep_their_text(tmp_path: Path) -> None:
    path = tmp_path / "hostile.jsonl"
    hostile_session(path)
    backend = ReplayBackend(path, instant=True)
    try:
        import asyncio

        asyncio.run(backend.pause("evil"))
    except errors.RuntimeFailure as e:
        assert HOSTILE in str(e)  # the UI makes it visible, the backend keeps it whole
