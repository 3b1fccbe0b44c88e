"""Recorded sessions shipped with shimdeck: the screenshots and snapshot tests replay them.

Regenerate with ``python -m tui.sessions.record`` (root and runc needed).
"""

from pathlib import Path

DEMO_SESSION = Path(__file__).with_name("demo.jsonl")
