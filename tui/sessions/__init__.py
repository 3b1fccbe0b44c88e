"""Recorded sessions shipped with shimdeck: the screenshots and snapshot tests replay them.

Regenerate with ``python -m tui.sessions.record`` (root and runc needed).
"""

from pathlib import Path

DEMO_SESSION = Path(__file__).with_name("demo.jsonl")
#: Three containers without a tty writing coloured logs (``python -m tui.sessions.record_logs``).
LOGS_SESSION = Path(__file__).with_name("logs.jsonl")
#: A containerd's namespace ``default`` (``python -m tui.sessions.record_containerd``).
CONTAINERD_SESSION = Path(__file__).with_name("containerd.jsonl")
