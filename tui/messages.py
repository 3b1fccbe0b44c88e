"""App-level messages: what the backend tells the UI."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from runtime import Event, Stats


@dataclass
class EngineEvent(Message):
    """One engine event (a ``/events/lagged`` event means: resync from state)."""

    event: Event


@dataclass
class StatsSample(Message):
    """Resource use of task ``id``, sampled at ``stats.timestamp``."""

    id: str
    stats: Stats


@dataclass
class ReplayEnded(Message):
    """A replayed session has delivered its last record."""
