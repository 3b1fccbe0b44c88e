"""``ctrl+s`` in the console pane: save the whole output to a file the user names.

The file is written next to its final name and renamed into place, so a failure (a full
disk, a directory that is not there, no permission) leaves an existing file as it was, and
is shown in the dialog, which stays open with the path typed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from textual.widget import Widget
from textual.widgets import Input

from runtime import errors

from .base import Dialog, field_input


class SaveDialog(Dialog[str]):
    TITLE = "Save output"
    OK_LABEL = "Save"

    def __init__(self, subject: str, default: str) -> None:
        super().__init__(subject)
        self._default = default

    def fields(self) -> Iterable[tuple[str, Widget]]:
        yield "file", field_input(self._default, id="path")

    def build(self) -> str:
        path = self.query_one("#path", Input).value.strip()
        if not path:
            raise ValueError("file: where should the output go?")
        return str(Path(path).expanduser())


def write_file(path: str, parts: Iterable[bytes]) -> None:
    """Write ``parts`` to ``path`` atomically; an OSError becomes ``InvalidArgument`` (an
    input error: the dialog shows it and stays open)."""
    target = Path(path)
    if target.is_dir():
        raise errors.InvalidArgument(f"{path} is a directory: name a file")
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as e:
        raise errors.InvalidArgument(f"cannot write {path}: {e.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                out.write(part)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise errors.InvalidArgument(f"cannot write {path}: {e.strerror}") from None


async def save(path: str, parts: Iterable[bytes]) -> None:
    await asyncio.to_thread(write_file, path, list(parts))
