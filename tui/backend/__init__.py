"""Backends: the UI's view of an engine (live), a containerd, or a recorded session (replay).

Nothing in this package imports Textual (tests/tui/test_seam.py holds it to that)."""

from .base import (
    Backend,
    BackendInfo,
    Capability,
    CommandSource,
    ConnectionChanged,
    Console,
    Container,
    ContainerState,
    EventSeen,
    ImageSource,
    Removed,
    Resynced,
    StateChanged,
    StatsSampled,
    Status,
    Update,
)
from .recording import Recorder, RecordingBackend, SessionFormatError

__all__ = [
    "Backend",
    "BackendInfo",
    "Capability",
    "CommandSource",
    "ConnectionChanged",
    "Console",
    "Container",
    "ContainerState",
    "EventSeen",
    "ImageSource",
    "Recorder",
    "RecordingBackend",
    "Removed",
    "Resynced",
    "SessionFormatError",
    "StateChanged",
    "StatsSampled",
    "Status",
    "Update",
]
