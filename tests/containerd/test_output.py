"""Attaching to a process shimdeck did not start: its FIFOs if they exist here, else a
registered log locator's file (the CRI's), else a note saying where the output goes."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from runtime import errors
from tui.backend.containerd import cio
from tui.backend.containerd.backend import ContainerdBackend
from tui.backend.containerd.client import Client
from tui.backend.containerd.output import register_log_locator, where_output_goes
from tui.backend.containerd.records import ContainerRecord, ProcessRecord

from .daemon import Daemon
from .helpers import make_container, remove_container

POD_LOG = "io.kubernetes.test/log"


def pod_log(container: ContainerRecord, exec_id: str) -> Path | None:
    """Stands in for the CRI console's locator (which derives it from the CRI's labels)."""
    path = container.labels.get(POD_LOG)
    return Path(path) if path and not exec_id else None


async def test_fifos_gone_then_a_locator_then_a_note(
    client: Client, containerd: Daemon, new_id: str, io_dir: Path
) -> None:
    log = io_dir / "pod.log"
    log.write_bytes(b"from the pod's log\n")
    record, mounts = await make_container(
        client, containerd, new_id, ["sh"], terminal=True, labels={POD_LOG: str(log)}
    )
    # Another client's FIFOs: made, handed to the task, then gone from this host's view.
    io = cio.FifoIO.create(io_dir / "other", new_id)
    await client.create_task(new_id, rootfs=mounts, stdin=io.stdin, stdout=io.stdout, terminal=True)
    io.connected()
    backend = await ContainerdBackend.open(client, io_dir=io_dir / "shimdeck")
    try:
        task = await client.task(new_id)
        assert where_output_goes(task, record).kind == "fifos"
        io.remove()  # unlinks both: the shim keeps its open ends

        unregister = register_log_locator(pod_log)
        try:
            source = where_output_goes(task, record)
            assert (source.kind, source.path) == ("log", log)
            console = backend.console(new_id)
            assert not console.terminal and console.backlog() == b"from the pod's log\n"
            console.close()
        finally:
            unregister()

        source = where_output_goes(task, record)
        assert source.kind == "none" and io.stdout in source.note
        assert "not a FIFO on this host" in source.note
        with pytest.raises(errors.FailedPrecondition, match="not a FIFO on this host"):
            backend.console(new_id)
    finally:
        await backend.close()
        await client.kill(new_id, signal.SIGKILL, all=True)
        await client.wait(new_id)
        await remove_container(client, new_id)


def test_notes_for_stdio_shimdeck_cannot_open() -> None:
    driver = ProcessRecord("c", "", 1, "running", stdout="binary:///usr/bin/nerdctl?x=1")
    assert where_output_goes(driver, None).note == (
        "c's output goes to the logging program /usr/bin/nerdctl (binary://)"
    )
    silent = ProcessRecord("c", "e1", 1, "running")
    assert where_output_goes(silent, None).note == (
        "exec e1 was started without any output to read"
    )
