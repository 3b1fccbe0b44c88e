"""Full screens: main, console pane, help."""

from .console import ConsoleScreen
from .help import HelpScreen
from .main import MainScreen

__all__ = ["ConsoleScreen", "HelpScreen", "MainScreen"]
