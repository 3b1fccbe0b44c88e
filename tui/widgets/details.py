"""The details pane: what the selected container is, and CPU/memory sparklines."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Sparkline

from ..model import (
    Row,
    checkpoint_line,
    format_bytes,
    format_duration,
    format_labels,
    format_percent,
)
from ..text import safe_text
from .tables import exit_text, status_text


def _field(text: Text, name: str, value: Text | str) -> None:
    text.append(f"{name:<8} ", style="bold")
    text.append_text(value if isinstance(value, Text) else safe_text(value))
    text.append("\n")


#: Checkpoints listed, newest first (R's dialog has them all).
CHECKPOINTS_SHOWN = 3
#: Seconds of history the sparklines span: a new task's chart fills from the right.
WINDOW = 60


def _window(samples: Iterable[float]) -> list[float]:
    data = list(samples)[-WINDOW:]
    return [0.0] * (WINDOW - len(data)) + data if data else []


class TextBox(Widget):
    """Text of a fixed size, repainted only when it changes and never laid out again
    (``Static.update`` and ``Label.update`` lay the whole screen out on every call)."""

    def __init__(self, text: Text | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.text = text or Text()

    def set(self, text: Text | str) -> None:
        if isinstance(text, str):
            text = Text(text)
        if text != self.text:
            self.text = text
            self.refresh()

    def render(self) -> Text:
        return self.text


class DetailsPane(Vertical):
    """Shows one row; ``show(None)`` when nothing is selected."""

    def compose(self) -> ComposeResult:
        yield TextBox(id="details-text")
        with Horizontal(classes="spark-row"):
            yield TextBox(Text("cpu"), id="cpu-label", classes="spark-label")
            yield Sparkline([], id="cpu-spark")
        with Horizontal(classes="spark-row"):
            yield TextBox(Text("mem"), id="mem-label", classes="spark-label")
            yield Sparkline([], id="mem-spark")

    def show(self, row: Row | None, now: datetime) -> None:
        static = self.query_one("#details-text", TextBox)
        cpu = self.query_one("#cpu-spark", Sparkline)
        mem = self.query_one("#mem-spark", Sparkline)
        if row is None:
            static.set(Text("no container selected: press n to create one", style="dim"))
            _set_data(cpu, [])
            _set_data(mem, [])
            self.query_one("#cpu-label", TextBox).set("cpu")
            self.query_one("#mem-label", TextBox).set("mem")
            return
        task = row.task
        text = Text(no_wrap=True, overflow="ellipsis")
        head = safe_text(row.id, "bold")
        head.append("  ")
        head.append_text(status_text(row.status, task.exit_status if task else None))
        if task is not None and task.pid:
            head.append(f"  pid {task.pid}")
        text.append_text(head)
        text.append("\n")
        args = task.args if task is not None else ()
        _field(text, "command", " ".join(args) if args else "-")
        container = row.container
        if container.image:
            # containerd's, with the runtime (shim) and the snapshotter of its root
            # filesystem on the same line: the pane's six lines keep one for checkpoints.
            image = safe_text(container.image)
            if container.snapshotter:
                runtime = f"  runtime {container.runtime or '-'}"
                image.append_text(
                    safe_text(f"{runtime}  snapshotter {container.snapshotter}", "dim")
                )
            _field(text, "image", image)
        if container.bundle is not None:
            _field(text, "bundle", str(container.bundle))
        _field(text, "labels", format_labels(row.container.labels) or "-")
        if task is not None:
            state = Text(f"{'tty' if task.terminal else 'pipes'}  up ")
            state.append(format_duration(row.uptime(now)))
            state.append("  exit ")
            state.append_text(exit_text(task.exit_status))
            state.append(f"  execs {len(row.execs)}")
            _field(text, "state", state)
        else:
            _field(text, "state", Text("no task: press s to start", style="dim"))
        for i, c in enumerate(row.checkpoints[:CHECKPOINTS_SHOWN]):
            line = checkpoint_line(c)
            if i == CHECKPOINTS_SHOWN - 1 and len(row.checkpoints) > CHECKPOINTS_SHOWN:
                line.append(f"  (+{len(row.checkpoints) - CHECKPOINTS_SHOWN}, R lists all)")
            _field(text, "ckpts" if i == 0 else "", line)
        static.set(text)
        _set_data(cpu, _window(row.cpu))
        _set_data(mem, _window(row.memory))
        self.query_one("#cpu-label", TextBox).set(f"cpu {format_percent(row.cpu_percent):>7}")
        self.query_one("#mem-label", TextBox).set(f"mem {format_bytes(row.memory_bytes):>7}")


def _set_data(spark: Sparkline, data: list[float]) -> None:
    if spark.data != data:
        spark.data = data
