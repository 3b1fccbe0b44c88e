"""shimdeck's engine: containerd's shim task service, in process, over runc or crun.

Imports nothing from the UI (a test checks it imports with no Textual installed).
"""

from . import errors, events
from .bundle import create_bundle
from .engine import Engine, default_root
from .types import Checkpoint, Container, Event, ExitInfo, Stats, TaskInfo

__all__ = [
    "Checkpoint",
    "Container",
    "Engine",
    "Event",
    "ExitInfo",
    "Stats",
    "TaskInfo",
    "create_bundle",
    "default_root",
    "errors",
    "events",
]
