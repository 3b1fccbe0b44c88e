"""Record the session of the log views' screenshots (needs root and runc).

    python -m tui.sessions.record_logs [OUT]    # default: tui/sessions/logs.jsonl

Three containers without a tty write coloured log lines (one also writes a screen clear,
which a log shows as text) for a few seconds, so that the replay has scrollback to search
and to merge, with the times the engine read each line.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from runtime import Engine

from .. import demo
from ..backend.base import CommandSource
from ..backend.live import LiveBackend
from ..backend.recording import Recorder, RecordingBackend
from . import LOGS_SESSION
from .driver import Driver

_LOOP = "i=0; while [ $i -lt {n} ]; do i=$((i+1)); {body}; sleep {pause}; done; sleep 600"

SERVICES: dict[str, str] = {
    "web": _LOOP.format(
        n=90,
        pause=0.03,
        body=(
            "case $((i % 7)) in "
            "0) printf '\\033[1;31mERROR\\033[0m GET /api/items/%s 500 upstream timed out\\n' $i;; "
            "3) printf '\\033[33mWARN \\033[0m GET /slow/%s 200 in 1.%ss\\n' $i $i;; "
            "*) printf '\\033[32mINFO \\033[0m GET /static/app.%s.js 200\\n' $i;; esac; "
            "[ $i -eq 40 ] && printf 'this line clears the screen: "
            "\\033[2J\\033[H (shown, not obeyed)\\n'"
        ),
    ),
    "db": _LOOP.format(
        n=40,
        pause=0.07,
        body=(
            "case $((i % 5)) in "
            "0) printf '\\033[36mcheckpoint\\033[0m wrote %s buffers\\n' $((i*13));; "
            "*) printf 'query \\033[1m#%s\\033[0m took %s ms\\n' $i $((i % 9 + 1));; esac"
        ),
    ),
    "worker": _LOOP.format(
        n=30,
        pause=0.09,
        body=(
            "case $((i % 6)) in "
            "0) printf '\\033[31mjob %s failed\\033[0m: error: retrying\\n' $i;; "
            "*) printf 'job %s \\033[32mdone\\033[0m\\n' $i;; esac"
        ),
    ),
}


async def record(out: Path) -> None:
    work = Path(tempfile.mkdtemp(prefix="sd-rec-"))
    try:
        async with Engine(root=work / "root", runtime="runc") as engine:
            live = LiveBackend(engine, bundles=work / "bundles")
            recorder = Recorder(out, runtime="runc", start=datetime.now(UTC))
            backend = RecordingBackend(live, recorder)
            try:
                async with Driver(backend):
                    for id, script in SERVICES.items():
                        labels = {"app": "shop", "logs": "yes"}
                        source = CommandSource(("sh", "-c", script))
                        await backend.create(id, source, terminal=False, labels=labels)
                    for id in SERVICES:
                        await backend.start(id)
                    await asyncio.sleep(4.0)
            finally:
                await backend.close()
                await demo.teardown(live)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    if os.geteuid() != 0:
        sys.exit("tui.sessions.record_logs: needs root (it runs real containers with runc)")
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else LOGS_SESSION
    asyncio.run(record(out))
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
