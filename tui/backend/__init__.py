"""Backends: the UI's view of an engine (live) or of a recorded session (replay)."""

from .base import Backend, Console
from .recording import Recorder, SessionFormatError

__all__ = ["Backend", "Console", "Recorder", "SessionFormatError"]
