"""Kubernetes nodes: CRI identity from labels, the CRI log format, and a faked pod.

There is no kubelet here: the pod is two containers made with the labels and spec
annotations containerd's CRI plugin sets, in this session's namespace, and its log directory
is laid out as the kubelet's under a temp dir, written by a stand-in for the CRI's log
writer (``crilogwriter``) that also rotates it as the kubelet does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from runtime import Container, errors
from tui.backend.containerd import cio, cri
from tui.backend.containerd.client import Client
from tui.backend.containerd.criconsole import CriLogConsole, console_for
from tui.backend.containerd.crilog import (
    MAX_LINE,
    MAX_PENDING,
    STDERR_OFF,
    STDERR_ON,
    CriDecoder,
    LogTail,
    parse_line,
)
from tui.backend.containerd.spec import container_spec
from tui.model import Row
from tui.widgets import pods

from .daemon import SNAPSHOTTER, Daemon
from .helpers import remove_container

ROOT = Path(__file__).parents[2]


def stamp(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


# -- the format ----------------------------------------------------------------------------


def test_parse_full_partial_and_stderr_lines() -> None:
    line = parse_line(b"2025-12-02T00:17:09.669794202Z stdout F hello world")
    assert (line.stream, line.partial, line.text) == ("stdout", False, b"hello world")
    assert line.time == stamp("2025-12-02T00:17:09.669794Z")
    part = parse_line(b"2025-12-02T01:17:09.5+01:00 stderr P  two  spaces ")
    assert (part.stream, part.partial, part.text) == ("stderr", True, b" two  spaces ")
    assert part.time == stamp("2025-12-02T00:17:09.5Z")
    # An empty line is a full line with no text; extra tags after ':' are allowed.
    assert parse_line(b"2025-12-02T00:17:09Z stdout F").text == b""
    assert not parse_line(b"2025-12-02T00:17:09Z stdout F:x y").partial


@pytest.mark.parametrize("fraction", ["", ".1", ".12345", ".1234567", ".123456789"])
def test_go_trims_fraction_zeros_and_may_write_a_local_zone(fraction: str) -> None:
    # Go's RFC3339Nano drops trailing zeros (and the dot); containerd stamps local time.
    utc = parse_line(f"2025-12-02T00:17:09{fraction}Z stdout F x".encode()).time
    local = parse_line(f"2025-12-01T17:17:09{fraction}-07:00 stdout F x".encode()).time
    assert utc == local == stamp(f"2025-12-02T00:17:09{fraction[:7]}Z")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not a cri line",
        b"2025-12-02T00:17:09Z stdlog F wrong stream",
        b"2025-12-02T00:17:09Z stdout X wrong tag",
        b"yesterday stdout F a bad time",
        b"2025-12-02T00:17:09 stdout F no zone",
        b"\xff\xfe stdout F binary time",
    ],
)
def test_bad_lines_are_kept_whole(raw: bytes) -> None:
    line = parse_line(raw)
    assert line.bad and line.text == raw


def test_decoder_joins_pieces_per_stream_and_marks_stderr() -> None:
    decoder = CriDecoder()
    out = decoder.feed(
        b"2025-12-02T00:00:01Z stdout P abc\n"
        b"2025-12-02T00:00:02Z stderr F oops\n"
        b"2025-12-02T00:00:03Z stdout P def\n"
        b"2025-12-02T00:00:04Z stdout F ghi\n"
        b"garbage in the middle\n"
        b"2025-12-02T00:00:05Z stdout F spl"
    )
    assert out == [
        (stamp("2025-12-02T00:00:02Z"), STDERR_ON + b"oops" + STDERR_OFF + b"\n"),
        (stamp("2025-12-02T00:00:04Z"), b"abcdefghi\n"),
        # A bad line is shown as written, at the time of the line before it.
        (stamp("2025-12-02T00:00:04Z"), b"garbage in the middle\n"),
    ]
    # The rest of a line the writer had not finished comes with the next read.
    assert decoder.feed(b"it\n") == [(stamp("2025-12-02T00:00:05Z"), b"split\n")]
    # A line that never ends is not held without bound.
    piece = b"x" * (MAX_PENDING // 4)
    held = [decoder.feed(b"2025-12-02T00:00:05Z stdout P %s\n" % piece) for _ in range(4)]
    assert held[:3] == [[], [], []] and held[3] == [(stamp("2025-12-02T00:00:05Z"), piece * 4)]
    # Nor is a file without newlines (no CRI log): it is shown as it is.
    assert CriDecoder().feed(b"z" * (MAX_LINE + 1)) == [
        (pytest.approx(time.time(), abs=60), b"z" * (MAX_LINE + 1) + b"\n")
    ]
    decoder.feed(b"2025-12-02T00:00:06Z stdout P never ended")
    assert decoder.flush() == [(stamp("2025-12-02T00:00:06Z"), b"never ended\n")]
    assert decoder.flush() == []


def test_tail_waits_for_the_file_and_follows_a_truncation(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    tail = LogTail(path)
    assert tail.backlog() == b"" and tail.read() == b""
    path.write_bytes(b"one\n")
    assert tail.read() == b"one\n"
    path.write_bytes(b"")  # copytruncate: the same file, emptied
    assert tail.read() == b""
    with path.open("ab") as f:
        f.write(b"two\n")
    assert tail.read() == b"two\n"
    tail.close()
    # A directory where the log should be is no log (nor a crash).
    odd = LogTail(tmp_path / "dir.log")
    (tmp_path / "dir.log").mkdir()
    assert odd.backlog() == b"" and odd.read() == b""


def test_rotation_loses_nothing_the_runtime_writes_before_it_switches(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    old = path.open("ab", buffering=0)
    old.write(b"a\n")
    tail = LogTail(path)
    assert tail.read() == b"a\n"
    path.rename(tmp_path / "0.log.20251202-000000")
    old.write(b"b\n")  # the kubelet renamed it; the runtime has not reopened yet
    assert tail.read() == b"b\n"
    new = path.open("ab", buffering=0)  # the runtime reopens: a new 0.log...
    assert tail.read() == b""  # ...which the tail now reads, keeping the old one
    old.write(b"c\n")  # ...but writes to the old one until it switches
    assert tail.read() == b"c\n"
    old.close()
    new.write(b"d\n")
    assert tail.read() == b"d\n"
    new.write(b"e\n")
    assert tail.read() == b"e\n"
    tail.close()
    new.close()


def test_backlog_is_bounded_and_starts_at_a_whole_line(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    (tmp_path / "0.log.20251202-000000").write_bytes(b"".join(b"old %d\n" % i for i in range(100)))
    path.write_bytes(b"".join(b"new %d\n" % i for i in range(10)))
    tail = LogTail(path)
    data = tail.backlog(limit=100)
    assert len(data) <= 100 and data.endswith(b"new 9\n")
    assert data.startswith(b"old ") and data.split(b"\n")[0] in {b"old %d" % i for i in range(100)}
    assert b"new 0\nnew 1\n" in data
    tail.close()


async def test_close_ends_the_stream_and_a_sandbox_has_no_console(tmp_path: Path) -> None:
    console = CriLogConsole(tmp_path / "0.log", interval=0.01)
    assert console.stamped_backlog() == [] and console.log_files() == [tmp_path / "0.log"]
    stream = console.stream_stamped()
    waiting = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)
    console.close()
    with pytest.raises(StopAsyncIteration):
        async with asyncio.timeout(10):
            await waiting
    sandbox = cri.identify({cri.KIND: "sandbox", **POD})
    assert sandbox is not None
    with pytest.raises(errors.NotFound, match="no log of its own"):
        console_for(sandbox)


# -- identity ------------------------------------------------------------------------------

POD = {cri.POD_NAMESPACE: "shop", cri.POD_NAME: "web-7d9f", cri.POD_UID: "u-1234"}


def test_identity_from_labels_and_annotations(tmp_path: Path) -> None:
    assert cri.identify({"app": "x"}) is None
    assert cri.identify({cri.KIND: "something-else", **POD}) is None
    sandbox = cri.identify(
        {cri.KIND: "sandbox", **POD},
        {cri.SANDBOX_ID: "sb1", cri.SANDBOX_LOG_DIRECTORY: str(tmp_path / "pod")},
    )
    assert sandbox is not None and sandbox.is_sandbox and sandbox.name == "(sandbox)"
    assert sandbox.pod == "shop/web-7d9f" and sandbox.sandbox_id == "sb1"
    app = cri.identify({cri.KIND: "container", cri.CONTAINER_NAME: "nginx", **POD})
    assert app is not None and not app.is_sandbox and app.name == "nginx"
    assert app.restart_count is None and app.sandbox_id == ""
    # Without the sandbox's record, the kubelet's layout; with it, what the sandbox says.
    assert cri.log_path(app, root=tmp_path) == tmp_path / "shop_web-7d9f_u-1234/nginx/0.log"
    (tmp_path / "pod" / "nginx").mkdir(parents=True)
    for n in (0, 2, 10):
        (tmp_path / "pod" / "nginx" / f"{n}.log").touch()
    (tmp_path / "pod" / "nginx" / "3.log.20251202-001709").touch()
    assert cri.log_path(app, sandbox) == tmp_path / "pod/nginx/10.log"
    counted = cri.identify(
        {cri.KIND: "container", cri.CONTAINER_NAME: "nginx", **POD}, {cri.RESTART_COUNT: "2"}
    )
    assert counted is not None and cri.log_path(counted, sandbox).name == "2.log"
    with pytest.raises(ValueError, match="no log of its own"):
        cri.log_path(sandbox)
    with pytest.raises(ValueError, match="lacks a namespace, name or uid"):
        cri.log_path(cri.CriIdentity("shop", "web", "", "nginx", False))


def test_questions_name_the_pod() -> None:
    app = {cri.KIND: "container", cri.CONTAINER_NAME: "nginx", **POD}
    sandbox = {cri.KIND: "sandbox", **POD}
    assert pods.kill_question({}, signal.SIGTERM) is None
    assert pods.kill_question(app, signal.SIGTERM, exec_id="e1") is None
    assert pods.kill_question(app, signal.SIGTERM) == (
        "stop nginx of pod shop/web-7d9f with SIGTERM? "
        "The kubelet will restart it (as the pod's restartPolicy says)"
    )
    assert (pods.kill_question(app, signal.SIGUSR1, all=True) or "").startswith(
        "send SIGUSR1 to every process of nginx of pod shop/web-7d9f?"
    )
    assert "the sandbox of pod shop/web-7d9f" in (pods.kill_question(sandbox, 9) or "")
    assert pods.pause_question({}) is None
    assert (pods.pause_question(app) or "").startswith("pause nginx of pod shop/web-7d9f?")
    assert pods.delete_question({}) is None
    assert (pods.delete_question(app) or "").startswith(
        "delete nginx of pod shop/web-7d9f behind the kubelet's back? The kubelet will create"
    )
    assert "new sandbox" in (pods.delete_question(sandbox) or "")


# -- a faked pod on the private containerd ------------------------------------------------


class Writer:
    """The stand-in CRI log writer, one command at a time."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    @contextlib.asynccontextmanager
    async def run(cls, path: Path) -> AsyncIterator[Writer]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.containerd.crilogwriter",
            str(path),
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            yield cls(process)
        finally:
            if process.returncode is None:
                process.kill()
            await process.wait()

    async def do(self, op: str, **fields: str) -> str:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps({"op": op, **fields}).encode() + b"\n")
        await self.process.stdin.drain()
        async with asyncio.timeout(10):
            return (await self.process.stdout.readline()).decode().strip()

    async def line(self, text: str, stream: str = "stdout", tag: str = "F") -> float:
        return stamp(await self.do("line", stream=stream, tag=tag, text=text))

    async def end(self) -> None:
        assert self.process.stdin
        self.process.stdin.close()
        async with asyncio.timeout(10):
            assert await self.process.wait() == 0


async def make_pod_container(
    client: Client,
    daemon: Daemon,
    id: str,
    labels: dict[str, str],
    annotations: dict[str, str],
    io_dir: Path,
) -> None:
    """A container as the CRI makes one (labels, spec annotations), its task running."""
    assert daemon.image is not None
    spec = container_spec(client.namespace, id, ["sleep", "600"])
    spec["annotations"] = annotations
    async with client.lease() as leased:
        mounts = await leased.prepare_snapshot(id, daemon.image.chain_id, snapshotter=SNAPSHOTTER)
        await leased.create_container(
            id,
            image=daemon.image.name,
            spec=spec,
            snapshot_key=id,
            snapshotter=SNAPSHOTTER,
            labels=labels,
        )
    log = cio.log_io(io_dir, id)
    await client.create_task(id, rootfs=mounts, stdout=log.stdout, stderr=log.stderr)
    await client.start(id)


async def remove_pod_container(client: Client, id: str) -> None:
    with contextlib.suppress(errors.NotFound):
        await client.kill(id, signal.SIGKILL, all=True)
        await client.wait(id)
    await remove_container(client, id)


async def collect_until(
    stream: AsyncIterator[list[tuple[float, bytes]]], seen: list[tuple[float, bytes]], want: int
) -> None:
    async with asyncio.timeout(10):
        while len(seen) < want:
            seen.extend(await anext(stream))


async def test_faked_pod(
    client: Client, containerd: Daemon, new_id: str, io_dir: Path, tmp_path: Path
) -> None:
    pod_dir = tmp_path / "pods" / "shop_web-7d9f_u-1234"
    sandbox_id, app_id = f"{new_id}-sandbox", f"{new_id}-app"
    sandbox_labels = {cri.KIND: "sandbox", **POD}
    app_labels = {cri.KIND: "container", cri.CONTAINER_NAME: "nginx", **POD}
    try:
        await make_pod_container(
            client,
            containerd,
            sandbox_id,
            sandbox_labels,
            {
                cri.SANDBOX_ID: sandbox_id,
                cri.SANDBOX_LOG_DIRECTORY: str(pod_dir),
                "io.kubernetes.cri.container-type": "sandbox",
            },
            io_dir,
        )
        await make_pod_container(
            client,
            containerd,
            app_id,
            app_labels,
            {
                cri.SANDBOX_ID: sandbox_id,
                cri.ANNOTATED_CONTAINER_NAME: "nginx",
                "io.kubernetes.cri.container-type": "container",
            },
            io_dir,
        )
        plain_id = f"{new_id}-plain"
        await make_pod_container(client, containerd, plain_id, {"app": "x"}, {}, io_dir)

        # Identity, as the UI reads it back from containerd.
        records = {r.id: r for r in await client.containers()}
        who = {id: cri.identify_spec(r.labels, r.spec) for id, r in records.items()}
        assert who[plain_id] is None
        sandbox, app = who[sandbox_id], who[app_id]
        assert sandbox is not None and sandbox.is_sandbox and sandbox.pod == "shop/web-7d9f"
        assert app is not None and app.name == "nginx" and app.sandbox_id == sandbox_id
        sandbox_of_app = who[app.sandbox_id]
        # The kubelet restarted nginx once: attempt 0's log stays, attempt 1's is live.
        (pod_dir / "nginx").mkdir(parents=True)
        (pod_dir / "nginx" / "0.log").write_bytes(b"2025-12-02T00:00:00Z stdout F attempt 0\n")
        log = pod_dir / "nginx" / "1.log"
        log.touch()  # the runtime makes it as the container starts
        assert cri.log_path(app, sandbox_of_app) == log

        # The rows: pod and name columns, sandboxes hidden unless asked for.
        rows = [
            Row(Container(r.id, Path("/"), r.runtime, r.labels))
            for r in sorted(records.values(), key=lambda r: r.id)
        ]
        assert [r.id for r in pods.hide_sandboxes(rows)] == [app_id, plain_id]
        assert len(pods.hide_sandboxes(rows, show_sandboxes=True)) == 3
        columns = pods.PodColumns()
        assert columns.shown(rows) and not columns.shown(rows[1:2])
        cells = {r.id: tuple(c.plain for c in columns.cells(r)) for r in rows}
        assert cells == {
            app_id: ("shop/web-7d9f", "nginx"),
            plain_id: ("-", "-"),
            sandbox_id: ("shop/web-7d9f", "(sandbox)"),
        }
        assert "nginx of pod shop/web-7d9f" in (pods.kill_question(app_labels, 15) or "")

        async with Writer.run(log) as writer:
            # Before the attach: the backlog, with the CRI's times.
            t1 = await writer.line("first")
            await writer.line("long ", tag="P")
            t2 = await writer.line("line")
            t3 = await writer.line("warning", stream="stderr")
            await writer.do("raw", text="not cri at all")
            running = True
            console = CriLogConsole(log.parent, running=lambda: running)
            assert console.path == log
            with pytest.raises(errors.FailedPrecondition, match="read-only; use exec"):
                console.write(b"x")
            assert console.stamped_backlog() == [
                (t1, b"first\n"),
                (t2, b"long line\n"),
                (t3, STDERR_ON + b"warning" + STDERR_OFF + b"\n"),
                (t3, b"not cri at all\n"),
            ]
            stream = console.stream_stamped()
            seen: list[tuple[float, bytes]] = []
            # Live: each line shows while the writer is still running.
            t4 = await writer.line("live one")
            await collect_until(stream, seen, 1)
            assert seen == [(t4, b"live one\n")]
            # The kubelet rotates: rename, a last line into the old file, reopen, go on.
            await writer.do("rename")
            t5 = await writer.line("into the renamed file")
            await writer.do("reopen")
            t6 = await writer.line("into the new file")
            await collect_until(stream, seen, 3)
            # Pieces join per stream, whatever the other stream writes in between.
            await writer.line("tail ", stream="stderr", tag="P")
            t7 = await writer.line("between")
            t8 = await writer.line("end", stream="stderr")
            await collect_until(stream, seen, 5)
            # A line still open when the output ends is shown as it is.
            t9 = await writer.line("unfinished", tag="P")
            await writer.end()
            running = False
            async with asyncio.timeout(10):
                seen += [piece async for batch in stream for piece in batch]
        assert seen == [
            (t4, b"live one\n"),
            (t5, b"into the renamed file\n"),
            (t6, b"into the new file\n"),
            (t7, b"between\n"),
            (t8, STDERR_ON + b"tail end" + STDERR_OFF + b"\n"),
            (t9, b"unfinished\n"),
        ]
        rotated = console.log_files()
        assert len(rotated) == 2 and rotated[-1] == log
        assert rotated[0].name.startswith("1.log.") and b"renamed" in rotated[0].read_bytes()
        # A new console on the rotated log: the backlog reaches into the renamed file.
        again = CriLogConsole(log)
        assert [data for _, data in again.stamped_backlog()] == [
            b"first\n",
            b"long line\n",
            STDERR_ON + b"warning" + STDERR_OFF + b"\n",
            b"not cri at all\n",
            # The open piece waits for its end (a stream from here would carry it on).
            *(data for _, data in seen[:-1]),
        ]
        again.close()
    finally:
        for id in (f"{new_id}-app", f"{new_id}-sandbox", f"{new_id}-plain"):
            with contextlib.suppress(errors.NotFound):
                await remove_pod_container(client, id)
