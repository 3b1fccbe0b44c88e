"""Record the session the screenshots and snapshot tests replay (needs root and runc).

    python -m tui.sessions.record [OUT]      # default: tui/sessions/demo.jsonl

It runs ``shimdeck demo``'s setup against a real engine with a recorder attached, then
does what a user would: prints colours in the shell, opens execs, lets ``crash`` crash,
pauses ``counter``, tries a checkpoint (criu fails here; its reason is recorded) and a
pause of a stopped task. Pty sizes match the console pane at 80x24 so the replayed
console looks as it did live.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from runtime import Engine, errors

from .. import demo
from ..backend.base import Backend
from ..backend.live import LiveBackend
from ..backend.recording import Recorder, RecordingBackend
from . import DEMO_SESSION
from .driver import Driver

#: The console pane at 80x24: the whole width, every row but the pane's bar.
PANE = (80, 23)

COLORS_SCRIPT = r"""#!/bin/sh
# What the console pane keeps: attributes, 16 colours, 256 colours, true colour.
printf '\033[1mbold\033[0m \033[3mitalic\033[0m \033[4munderline\033[0m '
printf '\033[7mreverse\033[0m \033[9mstrike\033[0m \033[1;3;4mall three\033[0m\n'
for i in 0 1 2 3 4 5 6 7; do printf '\033[3%sm fg%s \033[0m' $i $i; done; echo
for i in 0 1 2 3 4 5 6 7; do printf '\033[9%sm fg%s \033[0m' $i $((i+8)); done; echo
for i in 0 1 2 3 4 5 6 7; do printf '\033[4%s;30m bg%s \033[0m' $i $i; done; echo
for i in 0 1 2 3 4 5 6 7; do printf '\033[10%s;30m bg%s \033[0m' $i $((i+8)); done; echo
i=16; while [ $i -lt 232 ]; do
  printf '\033[48;5;%sm  ' $i; i=$((i+1))
  [ $(( (i-16) % 36 )) -eq 0 ] && printf '\033[0m\n'
done
i=0; while [ $i -lt 80 ]; do
  printf '\033[48;2;%s;%s;%sm ' $((255-i*3)) $((i*3)) 160; i=$((i+1))
done; printf '\033[0m\n'
"""


async def record(out: Path) -> None:
    work = Path(tempfile.mkdtemp(prefix="sd-rec-"))
    try:
        async with Engine(root=work / "root", runtime="runc") as engine:
            live = LiveBackend(engine, bundles=work / "bundles")
            rootfs = await live.ensure_rootfs()
            script = rootfs / "bin" / "colors"
            script.write_text(COLORS_SCRIPT)
            script.chmod(0o755)
            recorder = Recorder(out, runtime="runc", start=datetime.now(UTC))
            backend = RecordingBackend(live, recorder)
            try:
                async with Driver(backend) as driver:
                    await _session(driver, work)
            finally:
                await backend.close()
                await demo.teardown(live)
    finally:
        shutil.rmtree(work, ignore_errors=True)


async def _session(driver: Driver, work: Path) -> None:
    backend: Backend = driver.backend
    await demo.setup(backend)
    for id in ("shell", "top"):
        await backend.console(id).resize(*PANE)
    backend.set_stats_targets(["shell", "top", "counter", "crash"])
    shell = backend.console("shell")
    await driver.wait_for(lambda: b"# " in shell.backlog())
    shell.write(b"clear; colors; ls /\r")
    await asyncio.sleep(1.0)
    await backend.exec("top", "ps-1", ["ps"], terminal=False)
    await backend.exec(
        "shell", "exec-1", ["sh", "-c", "echo hello from an exec; sleep 60"], terminal=True
    )
    await driver.wait_for(lambda: driver.status("crash") == "stopped")
    await asyncio.sleep(2.5)  # a few more stats samples and counter lines
    await backend.pause("counter")
    for action, call in (
        ("checkpoint", backend.checkpoint("top", str(work / "checkpoints" / "top"))),
        ("pause", backend.pause("crash")),
    ):
        try:
            await call
        except errors.Error as e:
            print(f"recorded the failure of {action}: {e}", file=sys.stderr)
    await asyncio.sleep(1.2)
    await backend.kill("shell", signal.SIGTERM, exec_id="exec-1")
    await driver.wait_for(lambda: driver.status("shell", "exec-1") in ("stopped", "gone"))


def main() -> None:
    if os.geteuid() != 0:
        sys.exit("tui.sessions.record: needs root (it runs real containers with runc)")
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else DEMO_SESSION
    asyncio.run(record(out))
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
