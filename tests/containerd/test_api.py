"""The typed wrappers over a real containerd: namespaces, containers, images, snapshots,
task listings, metrics, checkpoints, and attaching to a task ``ctr`` started."""

from __future__ import annotations

import asyncio
import shutil
import signal
from pathlib import Path

import pytest

from runtime import errors
from tui.backend.containerd import cio, schema
from tui.backend.containerd.client import Client
from tui.backend.containerd.events import decode
from tui.backend.containerd.records import GO_ZERO_SECONDS
from tui.backend.containerd.spec import exec_process

from .daemon import SNAPSHOTTER, Daemon
from .helpers import make_container, next_event, remove_container


async def start_task(client: Client, daemon: Daemon, id: str, io_dir: Path, args: list[str]):
    record, mounts = await make_container(client, daemon, id, args)
    log = cio.log_io(io_dir, id)
    pid = await client.create_task(id, rootfs=mounts, stdout=log.stdout, stderr=log.stderr)
    await client.start(id)
    return record, pid


async def stop_and_remove(client: Client, id: str) -> None:
    await client.kill(id, signal.SIGKILL, all=True)
    await client.wait(id)
    await remove_container(client, id)


async def test_namespaces_count_their_containers(client: Client, containerd: Daemon, new_id):
    other = f"{containerd.namespace}-empty"
    await client.create_namespace(other, {"purpose": "test"})
    try:
        await make_container(client, containerd, new_id, ["true"])
        by_name = {n.name: n for n in await client.namespaces()}
        assert by_name[containerd.namespace].containers == 1
        assert by_name[other].containers == 0 and by_name[other].labels == {"purpose": "test"}
        assert await client.in_namespace(other).containers() == []
        await remove_container(client, new_id)
    finally:
        await client.delete_namespace(other)


async def test_containers_list_get_and_labels(client: Client, containerd: Daemon, new_id):
    record, _ = await make_container(
        client, containerd, new_id, ["sh", "-c", "exit 0"], labels={"a": "1", "b": "2"}
    )
    try:
        assert record.image == containerd.image.name and record.snapshot_key == new_id
        assert record.runtime == "io.containerd.runc.v2" and record.snapshotter == SNAPSHOTTER
        assert record.created_at is not None and not record.terminal
        got = await client.container(new_id)
        assert got.args == ("sh", "-c", "exit 0") and got.labels == {"a": "1", "b": "2"}
        assert [c.id for c in await client.containers()] == [new_id]
        assert await client.containers("labels.a==2") == []
        merged = await client.update_labels(new_id, {"b": "", "c": "3"}, replace=False)
        assert merged.labels == {"a": "1", "c": "3"}
        replaced = await client.update_labels(new_id, {"z": "9"})
        assert replaced.labels == {"z": "9"}
        assert replaced.updated_at is not None and replaced.updated_at > record.updated_at
    finally:
        await remove_container(client, new_id)


async def test_images_and_snapshots(client: Client, containerd: Daemon, new_id):
    (image,) = await client.images()
    assert image.name == containerd.image.name
    assert image.target_media_type == "application/vnd.oci.image.manifest.v1+json"
    assert image.target_digest.startswith("sha256:") and image.target_size > 0
    async with client.lease() as leased:
        mounts = await leased.prepare_snapshot(
            new_id, containerd.image.chain_id, snapshotter=SNAPSHOTTER
        )
        assert mounts[0].type == "overlay"
        assert any(o.startswith("lowerdir=") for o in mounts[0].options)
        assert await leased.snapshot_mounts(new_id, snapshotter=SNAPSHOTTER) == mounts
        assert new_id in await leased.snapshots(snapshotter=SNAPSHOTTER)
        with pytest.raises(errors.AlreadyExists):
            await leased.prepare_snapshot(
                new_id, containerd.image.chain_id, snapshotter=SNAPSHOTTER
            )
        await leased.remove_snapshot(new_id, snapshotter=SNAPSHOTTER)
    with pytest.raises(errors.NotFound):
        await client.remove_snapshot(new_id, snapshotter=SNAPSHOTTER)


async def test_task_listing_and_metrics(client: Client, containerd: Daemon, new_id, io_dir):
    record, pid = await start_task(client, containerd, new_id, io_dir, ["sleep", "60"])
    try:
        await client.exec(new_id, "x", exec_process(record.spec, ["sleep", "30"]))
        exec_pid = await client.start(new_id, "x")
        (task,) = await client.tasks()
        assert (task.container_id, task.exec_id, task.pid) == (new_id, "", pid)
        assert task.status == "running" and task.exit_status is None and task.exited_at is None
        got = await client.task(new_id)
        assert cio.logged_to(got.stdout) == (io_dir / f"{new_id}.log").resolve()
        # runc's own helpers (exec's runc init) may still be in the cgroup for a moment.
        async with asyncio.timeout(10):
            while (stats := (await client.metrics([new_id, "no-such-task"]))[new_id]).pids > 2:
                await asyncio.sleep(0.05)
        assert stats.pids == 2
        assert stats.memory_bytes > 0 and stats.cpu_seconds > 0
        assert await client.metrics([]) == {}
        assert sorted((p.pid, p.exec_id) for p in await client.pids(new_id)) == sorted(
            [(pid, ""), (exec_pid, "x")]
        )
        assert (await client.task(new_id, "x")).exec_id == "x"
    finally:
        await stop_and_remove(client, new_id)


async def test_checkpoint(client: Client, containerd: Daemon, new_id, io_dir, tmp: Path):
    """CRIU dumps a task when it can; where it cannot, the failure names what failed."""
    await start_task(client, containerd, new_id, io_dir, ["sleep", "60"])
    sub = client.subscribe()
    await sub.synced()
    try:
        try:
            await client.checkpoint(new_id, str(tmp / "image"), exit=True)
        except errors.RuntimeFailure as e:
            assert "criu" in str(e).lower() or "checkpoint" in str(e).lower()
            assert (await client.task(new_id)).status == "running"
        else:
            event = await next_event(sub, lambda e: e.topic == "/tasks/checkpointed")
            assert event.container_id == new_id
            assert any((tmp / "image").iterdir())
    finally:
        sub.close()
        await stop_and_remove(client, new_id)


async def test_attach_to_a_task_ctr_started(client: Client, containerd: Daemon, new_id):
    containerd.ctr(
        "run", "-d", "--snapshotter", SNAPSHOTTER, containerd.image.name, new_id,
        "sh", "-c", "echo started; cat; echo bye >&2",
    )  # fmt: skip
    task = await client.task(new_id)
    fifo_dir = Path(task.stdout).parent
    try:
        io = cio.FifoIO.reopen(task.stdin, task.stdout, task.stderr)
        stream = io.stream()
        io.write(b"ping\n")
        seen = b""
        async with asyncio.timeout(10):
            async for chunk in stream:
                seen += chunk
                if b"ping" in seen:
                    break
        io.close_stdin()
        await client.close_io(new_id)
        assert (await client.wait(new_id)).exit_status == 0
        async with asyncio.timeout(10):
            async for chunk in stream:
                seen += chunk
        # ctr may have read "started" before it exited, or left it in the FIFO for us.
        assert seen in (b"ping\nbye\n", b"started\nping\nbye\n")
        io.close()
        await remove_container(client, new_id)
    finally:
        # ctr -d leaves its FIFOs behind: remove them with the task.
        shutil.rmtree(fifo_dir, ignore_errors=True)


def test_envelope_decoding_traps() -> None:
    envelope_cls = schema.message("containerd.services.events.v1.Envelope")
    exit_cls = schema.message("containerd.events.TaskExit")

    def envelope(payload, seconds: int):
        return envelope_cls(
            namespace="ns", topic="/tasks/exit", timestamp={"seconds": 5},
            event=schema.pack(payload),
        )  # fmt: skip

    init = decode(
        envelope(exit_cls(container_id="c", id="c", pid=7, exit_status=1,
                          exited_at={"seconds": GO_ZERO_SECONDS}), 5)
    )  # fmt: skip
    assert init.namespace == "ns" and init.event.exec_id == "" and init.event.exited_at is None
    assert (init.event.pid, init.event.exit_status) == (7, 1)
    exec_exit = decode(envelope(exit_cls(container_id="c", id="e1", exited_at={"seconds": 9}), 5))
    assert exec_exit.event.exec_id == "e1" and exec_exit.event.exited_at.timestamp() == 9
    packed = schema.pack(exit_cls())
    assert packed.type_url == "containerd.events.TaskExit"
    unknown = envelope_cls(topic="/x/y", event={"type_url": "nobody.Knows", "value": b""})
    assert decode(unknown).event.detail == {"type": "nobody.Knows"}


async def test_subscription_sees_its_namespace_only(client: Client, containerd: Daemon, new_id):
    other = client.in_namespace(f"{containerd.namespace}-other")
    await client.create_namespace(other.namespace)
    mine, theirs = client.subscribe(), other.subscribe()
    try:
        await mine.synced()
        await theirs.synced()
        await other.create_container(new_id, image="", spec={}, snapshot_key="", snapshotter="")
        await other.delete_container(new_id)
        # A later marker of our own namespace arrives after anything published before it.
        mine_seen = await drain_until_synced(mine)
        assert all(e.namespace == containerd.namespace for e in mine_seen)
        assert [e.event.container_id for e in mine_seen] == []
        event = await next_event(theirs, lambda e: e.topic == "/containers/delete")
        assert event.container_id == new_id
    finally:
        mine.close()
        theirs.close()
        await client.delete_namespace(other.namespace)


async def drain_until_synced(sub):
    """Everything the stream delivered before a fresh sync marker came back."""
    await sub.synced()
    seen = list(sub._early)
    sub._early.clear()
    return seen


async def test_image_summaries_for_the_create_dialog(client: Client, containerd: Daemon):
    (summary,) = await client.image_summaries()
    assert summary.name == containerd.image.name and summary.created_at is not None
    # The one layer (busybox and its links, uncompressed) and the config, as ctr counts.
    listed = containerd.ctr("images", "ls").stdout.splitlines()[1].split()
    value, unit = float(listed[3]), listed[4]
    scale = {"KiB": 1 << 10, "MiB": 1 << 20}[unit]
    assert summary.size is not None and abs(summary.size / scale - value) < 0.1
