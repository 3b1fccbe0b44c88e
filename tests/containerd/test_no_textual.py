"""The containerd client must stay usable without the UI: nothing in it imports Textual."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]

PROBE = """
import sys, types
# Bypass tui/backend/__init__.py, which imports today's Textual-bound seam.
for name, path in (("tui", "tui"), ("tui.backend", "tui/backend")):
    module = types.ModuleType(name)
    module.__path__ = [path]
    sys.modules[name] = module
from tui.backend.containerd import cio, client, cri, crilog, criquestions, events, fifos, output
from tui.backend.containerd import records
from tui.backend.containerd import schema, spec, status, watch
schema.pool()
print(sorted(m for m in sys.modules if m.split(".")[0] == "textual"))
"""


def test_client_imports_no_textual() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
