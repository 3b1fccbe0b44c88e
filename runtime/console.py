"""Receiving a pty master from the runtime's ``--console-socket``.

runc and crun connect to the socket while creating a terminal process and send the master
side of its pty with SCM_RIGHTS. One fresh socket per process, in the engine's private
directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from pathlib import Path

from . import errors

#: sun_path is 108 bytes including the NUL.
MAX_SOCKET_PATH = 107


class ConsoleSocket:
    def __init__(self, path: Path) -> None:
        if len(os.fsencode(path)) > MAX_SOCKET_PATH:
            raise errors.InvalidArgument(
                f"console socket path {path} is too long for a unix socket"
            )
        self.path = path
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            self._sock.bind(str(path))
            os.chmod(path, 0o600)
            self._sock.listen(1)
        except OSError:
            self.close()
            raise
        self._sock.setblocking(False)

    async def receive_master(self) -> int:
        """Accept the runtime's connection and return the pty master fd it sends."""
        loop = asyncio.get_running_loop()
        conn, _ = await loop.sock_accept(self._sock)
        with conn:
            conn.setblocking(False)
            while True:
                try:
                    _, fds, _, _ = socket.recv_fds(conn, 4096, 1)
                except BlockingIOError:
                    readable: asyncio.Future[None] = loop.create_future()
                    loop.add_reader(conn.fileno(), readable.set_result, None)
                    try:
                        await readable
                    finally:
                        loop.remove_reader(conn.fileno())
                    continue
                break
        if not fds:
            raise errors.RuntimeFailure("the runtime closed the console socket without a pty")
        for extra in fds[1:]:
            os.close(extra)
        os.set_inheritable(fds[0], False)
        return fds[0]

    def close(self) -> None:
        self._sock.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
