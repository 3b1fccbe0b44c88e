"""Connecting: every way of not reaching a usable containerd is one clear line."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest

from runtime import errors
from tui.backend.containerd import schema
from tui.backend.containerd.client import VERSION, Client, socket_path

from .daemon import Daemon


async def connect_error(address: str) -> str:
    with pytest.raises(errors.Unavailable) as caught:
        await Client.connect(address, "default", timeout=3)
    line = str(caught.value)
    assert "\n" not in line and line.startswith("containerd")
    return line


async def test_connects_and_reports_version(containerd: Daemon) -> None:
    async with await Client.connect(f"unix://{containerd.socket}", containerd.namespace) as c:
        assert c.version.version.startswith(("1.", "v1.", "2.", "v2."))
        assert c.namespace == containerd.namespace
        assert c.path == str(containerd.socket)


async def test_missing_socket(tmp: Path) -> None:
    path = tmp / "nope.sock"
    assert await connect_error(str(path)) == (
        f"containerd: no socket at {path} (is containerd running? set -a/--address)"
    )


async def test_not_a_socket(tmp: Path) -> None:
    path = tmp / "file"
    path.write_text("x")
    assert await connect_error(str(path)) == f"containerd: {path} is not a socket"


async def test_nothing_listens(tmp: Path) -> None:
    path = tmp / "dead.sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    s.close()
    assert "nothing listens on" in await connect_error(str(path))


async def test_not_grpc(tmp: Path) -> None:
    path = tmp / "http.sock"

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_unix_server(answer, str(path))
    async with server:
        assert "does not answer as containerd" in await connect_error(str(path))


async def grpc_server(
    path: Path, handlers: dict[str, grpc.RpcMethodHandler]
) -> AsyncIterator[None]:
    server = grpc.aio.server()
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(VERSION, handlers)])
    server.add_insecure_port(f"unix:{path}")
    await server.start()
    try:
        yield
    finally:
        await server.stop(None)


def version_handler(version: str) -> grpc.RpcMethodHandler:
    _, request, response, _ = schema.method(VERSION, "Version")

    async def reply(req: Any, context: Any) -> Any:
        return response(version=version, revision="x")

    return grpc.unary_unary_rpc_method_handler(
        reply,
        request_deserializer=request.FromString,
        response_serializer=response.SerializeToString,
    )


async def test_grpc_but_not_containerd(tmp: Path) -> None:
    path = tmp / "other.sock"
    async for _ in grpc_server(path, {}):
        assert await connect_error(str(path)) == (
            f"containerd: {path} is not containerd (it has no Version service)"
        )


@pytest.mark.parametrize("version", ["0.2.9", "v2.0.0"])
async def test_version_without_the_v1_api(tmp: Path, version: str) -> None:
    # 0.2 predates the v1 API; the fake "v2.0.0" serves Version but no v1 Namespaces.
    path = tmp / "old.sock"
    async for _ in grpc_server(path, {"Version": version_handler(version)}):
        assert await connect_error(str(path)) == (
            f"containerd {version} at {path} does not serve the v1 API shimdeck needs"
        )


def test_permission_denied(containerd: Daemon) -> None:
    # containerd's socket (in a 0700 directory) is root's: an unprivileged user is refused.
    script = (
        "import asyncio, os, sys\n"
        "from runtime import errors\n"
        "from tui.backend.containerd.client import Client\n"
        "os.setgid(65534); os.setuid(65534)\n"
        "try:\n"
        f"    asyncio.run(Client.connect({str(containerd.socket)!r}))\n"
        "except errors.Unavailable as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=Path(__file__).parents[2],
    )
    assert out.stdout.strip() == (
        f"containerd: permission denied on {containerd.socket} (run as root or with sudo)"
    ), out.stderr


def test_socket_path_forms() -> None:
    assert socket_path("unix:///run/c.sock") == "/run/c.sock"
    assert socket_path("unix:/run/c.sock") == "/run/c.sock"
    assert socket_path("/run/c.sock") == "/run/c.sock"
