"""``shimdeck --containerd`` from the command line: each way of failing is one line, exit 1."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from tui.app import header_line
from tui.backend.containerd import backend
from tui.backend.containerd.backend import ContainerdBackend
from tui.backend.containerd.client import Client
from tui.backend.replay import ReplayBackend

from .daemon import Daemon

ROOT = Path(__file__).parents[2]
SHIMDECK = [sys.executable, "-m", "tui"]


async def shimdeck(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Exit status and stderr of the real CLI (asynchronously: a test may serve a socket)."""
    process = await asyncio.create_subprocess_exec(
        *SHIMDECK,
        *args,
        cwd=ROOT,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        # The user's own config.toml (a bad one stops every command) is not this test's.
        env={**os.environ, "XDG_CONFIG_HOME": "/nonexistent", **(env or {})},
    )
    async with asyncio.timeout(60):
        _, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, err.decode()


def one_line(status: int, stderr: str) -> str:
    assert status == 1, stderr
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    assert stderr.startswith("shimdeck: containerd")
    return stderr.strip()


async def test_no_socket(tmp: Path) -> None:
    path = tmp / "nope.sock"
    line = one_line(*await shimdeck("--containerd", "-a", str(path)))
    assert line == (
        f"shimdeck: containerd: no socket at {path} (is containerd running? set -a/--address)"
    )


async def test_address_from_the_environment(tmp: Path) -> None:
    path = tmp / "file"
    path.write_text("not a socket")
    line = one_line(*await shimdeck("--containerd", env={"CONTAINERD_ADDRESS": str(path)}))
    assert line == f"shimdeck: containerd: {path} is not a socket"


async def test_nothing_listens(tmp: Path) -> None:
    path = tmp / "dead.sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    s.close()
    assert "nothing listens on" in one_line(*await shimdeck("--containerd", "-a", str(path)))


async def test_a_socket_that_is_not_grpc(tmp: Path) -> None:
    path = tmp / "http.sock"

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        await writer.drain()
        writer.close()

    async with await asyncio.start_unix_server(answer, str(path)):
        line = one_line(*await shimdeck("--containerd", "-a", f"unix://{path}"))
    assert f"{path} does not answer as containerd" in line


def test_permission_denied(containerd: Daemon) -> None:
    # The interpreter lives under /root (0700) here, so setpriv cannot start it as nobody:
    # start the real CLI as root with every module of tui imported (a clone in a 0700 temp
    # dir is unreadable to nobody, and the CLI imports lazily), then drop to nobody.
    script = (
        "import importlib, os, pkgutil, sys\n"
        "import tui\n"
        "for m in pkgutil.walk_packages(tui.__path__, 'tui.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "os.setgroups([]); os.setgid(65534); os.setuid(65534)\n"
        f"tui.cli.main(['--containerd', '-a', {str(containerd.socket)!r}])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "XDG_CONFIG_HOME": "/nonexistent"},
    )
    assert one_line(done.returncode, done.stderr) == (
        f"shimdeck: containerd: permission denied on {containerd.socket} (run as root or with sudo)"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-a", "/x.sock"], "-a/--address: only with --containerd"),
        (["-n", "moby"], "-n/--namespace: only with --containerd"),
        (["--containerd", "--keep"], "--keep: for the in-process engine, not --containerd"),
    ],
)
async def test_usage_errors(args: list[str], message: str) -> None:
    status, stderr = await shimdeck(*args)
    assert status == 2 and "Traceback" not in stderr
    assert stderr.startswith("usage: shimdeck") and f"shimdeck: error: {message}" in stderr


@pytest.fixture
def default_io_dir() -> Iterator[Path]:
    """The CLI's own io directory (it has no option for it); the test's namespace, unique
    to this session, keeps what it makes apart. Removed after, with parents it made."""
    chain = (*reversed(backend.default_io_dir().parents), backend.default_io_dir())
    made = [p for p in chain if not p.exists()]
    yield backend.default_io_dir()
    for p in reversed(made):
        shutil.rmtree(p, ignore_errors=True)


async def test_the_ui_on_containerd_then_the_quit_note(
    client: Client, containerd: Daemon, new_id: str, default_io_dir: Path, tmp: Path
) -> None:
    """The real CLI in a real terminal: the UI lists the namespace's container; quit leaves
    its tty task running and names it on stderr; --record wrote the session."""
    io_dir = default_io_dir
    first = await ContainerdBackend.open(client, io_dir=io_dir)
    await first.create(new_id, ["sh"], terminal=True, labels={})
    await first.start(new_id)
    await first.close()
    record = tmp / "session.jsonl"
    env = dict(os.environ, TERM="xterm-256color", XDG_CONFIG_HOME="/nonexistent")
    address = ["-a", str(containerd.socket), "-n", client.namespace]
    try:
        child = pexpect.spawn(
            sys.executable,
            ["-m", "tui", "--containerd", *address, "--record", str(record)],
            cwd=str(ROOT),
            dimensions=(30, 120),
            env=env,
            timeout=30,
        )
        raw = await asyncio.to_thread(_until, child, new_id.encode())
        child.send("q")
        raw += await asyncio.to_thread(_until, child, None)
        child.close()
        assert child.exitstatus == 0, raw[-2000:]
        assert b"tty process(es) keep running" in raw and new_id.encode() in raw
        kinds = [json.loads(line)["kind"] for line in record.read_text().splitlines()]
        assert kinds[0] == "header" and "state" in kinds
        replay = ReplayBackend(record, instant=True)
        replay.updates()  # an instant replay applies every record at once
        assert [c.id for c in replay.containers()] == [new_id]
        # The replay's header is the one the live UI showed.
        assert header_line(replay.info) == header_line(first.info)
        assert f"[{client.namespace}]" in header_line(replay.info)
        assert replay.task(new_id) is not None and replay.task(new_id).status == "running"
        await replay.close()
    finally:
        await client.kill(new_id, signal.SIGKILL, all=True)
        await client.wait(new_id)
        second = await ContainerdBackend.open(client, io_dir=io_dir)
        await second.delete(new_id)
        await second.close()
        second.io_dir.rmdir()
        second.io_dir.parent.rmdir()


def _until(child: pexpect.spawn, needle: bytes | None, timeout: float = 30) -> bytes:
    """Raw output until ``needle`` shows (None: until the end)."""
    seen = b""
    deadline = time.monotonic() + timeout
    while needle is None or needle not in seen:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {needle!r}; got {seen[-2000:]!r}")
        try:
            seen += child.read_nonblocking(65536, timeout=0.2)
        except pexpect.TIMEOUT:
            continue
        except pexpect.EOF:
            if needle is None:
                return seen
            raise AssertionError(f"the UI ended before {needle!r}: {seen[-2000:]!r}") from None
    return seen
