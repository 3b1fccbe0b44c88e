"""``shimdeck --containerd``: the UI over a containerd, and what to say when it cannot.

Every way of not reaching a usable containerd is one line on stderr and exit status 1
(:meth:`Client.connect` words them). Quitting leaves containerd's containers running; tty
processes that nobody will drain any more are named on stderr after the UI has gone.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from runtime import errors

from .cli import CliError, _exit_on_signals

if TYPE_CHECKING:
    from .config import Config


async def run_containerd(args: argparse.Namespace, config: Config) -> int:
    from .app import ShimdeckApp
    from .backend.base import Backend
    from .backend.containerd import fifos
    from .backend.containerd.backend import ContainerdBackend
    from .backend.containerd.client import Client
    from .backend.recording import Recorder, RecordingBackend

    try:
        client = await Client.connect(args.address, args.namespace)
    except errors.Error as e:
        raise CliError(str(e)) from None
    recorder = None
    note = ""
    try:
        try:
            containerd = await ContainerdBackend.open(client)
        except errors.Error as e:
            raise CliError(f"containerd at {client.path}: {e}") from None
        if args.record:
            try:
                # The header's line goes in the file too, so a replay shows it.
                recorder = Recorder(
                    args.record,
                    runtime="containerd",
                    start=datetime.now(UTC),
                    info=containerd.info,
                    capabilities=containerd.capabilities,
                )
            except OSError as e:
                await containerd.close()
                raise CliError(f"cannot write {args.record}: {e.strerror}") from None
        backend: Backend = (
            containerd if recorder is None else RecordingBackend(containerd, recorder)
        )
        app = ShimdeckApp(backend, config=config)
        _exit_on_signals(app)
        try:
            await app.run_async()
        finally:
            await backend.close()
            with contextlib.suppress(errors.Error):
                note = fifos.quit_note(await containerd.undrained())
    finally:
        if recorder is not None:
            recorder.close()
        await client.close()
    if note:
        print(note, file=sys.stderr)
    return app.return_code or 0
