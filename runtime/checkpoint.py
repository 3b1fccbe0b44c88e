"""Checkpoint and restore with CRIU: which CRIU, the runtime's options, and CRIU's reasons.

Their options objects, ``CheckpointOpts`` and ``RestoreOpts``, are in ``opts``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from . import errors

#: Where ``scripts/setup-criu`` installs a CRIU when the system's fails ``criu check``.
SETUP_PREFIX = Path(os.environ.get("SHIMDECK_CRIU_PREFIX", "/var/lib/shimdeck/criu"))


def find_criu(criu: str | os.PathLike[str] | None = None) -> str | None:
    """The CRIU to use: ``criu`` if given, else the one setup installed, else ``criu`` on PATH.

    None when there is none; checkpoints then fail with the runtime's own reason.
    """
    if criu is not None:
        path = os.path.abspath(criu)
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise errors.InvalidArgument(f"criu {str(criu)!r} is not an executable file")
        return path
    installed = SETUP_PREFIX / "bin" / "criu"
    if os.access(installed, os.X_OK):
        return str(installed)
    return shutil.which("criu")


def images_size(path: Path) -> int:
    """Bytes of the images a checkpoint wrote under ``path``."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def runtime_argv(argv: Sequence[str], runtime: str, criu: str | None) -> list[str]:
    """``argv`` (a runtime command line) made to use ``criu``.

    runc takes ``--criu PATH``. crun has no such flag: it links libcriu, which starts the
    ``criu`` it finds on PATH, so the binary's directory goes first on crun's PATH.
    """
    if criu is None:
        return list(argv)
    if runtime == "crun":
        if os.path.basename(criu) != "criu":
            raise errors.InvalidArgument(
                f"crun finds CRIU on PATH by the name 'criu', so it cannot use {criu}"
            )
        path = os.path.dirname(criu) + os.pathsep + os.environ.get("PATH", os.defpath)
        return ["/usr/bin/env", f"PATH={path}", *argv]
    return [argv[0], "--criu", criu, *argv[1:]]


#: Errors CRIU logs and goes on from: it cannot raise its own fd limit without
#: CAP_SYS_RESOURCE; a helper it ran exited non-zero (the helper's own error comes before).
_NOT_THE_REASON = re.compile(r"Can't setup RLIMIT_NOFILE|exited, status=\d+$")


def failed_line(log: Path, marker: str) -> str | None:
    """Why CRIU gave up, from its ``log``: the error that led to ``marker``.

    ``marker`` is "Dumping FAILED." or "Restoring FAILED.". That is the last error before it
    (CRIU reports a failure up its call chain, so the last says what it was doing), skipping
    warnings and the retries of its clean-up; with the first error, the cause, when another.
    None when the log holds no error.
    """
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return None
    failed = next((i for i, line in enumerate(lines) if marker in line), None)
    found: list[str] = []
    for line in lines[:failed]:  # all of them when CRIU failed before it began (no marker)
        at = line.find("Error (")
        if at < 0:
            continue
        error = line[at:].strip()
        said = error.split("): ", 1)[-1]
        if _NOT_THE_REASON.search(said) or any(e.endswith(said) for e in found):
            continue
        found.append(error)
    if not found:
        if failed is None:
            return None
        before = [line.strip() for line in lines[:failed] if line.strip()]
        return _without_timestamp(before[-1]) if before else None
    last, first = found[-1], found[0]
    if first == last:
        return last
    return f"{last} (first error: {first.split('): ', 1)[-1]})"


def _without_timestamp(line: str) -> str:
    # "(00.012345) Unfreezing tasks" -> "Unfreezing tasks"
    text = line.strip()
    if text.startswith("(") and ")" in text:
        text = text[text.index(")") + 1 :].strip()
    return text


#: What the runtime says when it could not even ask CRIU, and what a user can do about it.
_BEFORE_CRIU = {
    "unknown command": "this runtime was built without CRIU support",
    # runc asks CRIU for memory dirty tracking before a pre-dump.
    "CRIU is missing features": "a pre-dump needs the kernel's memory dirty tracking: "
    "'criu check --feature mem_dirty_track' says it is off",
}


def criu_failure(
    action: str, what: str, e: errors.RuntimeFailure, logs: Sequence[Path]
) -> errors.RuntimeFailure:
    """The error of a failed ``action`` ("checkpoint"/"restore") a user can act on.

    CRIU's own reason and where its log is, when a log of ``logs`` holds one; else why the
    runtime could not even try (crun built without CRIU...).
    """
    marker = "Dumping FAILED." if action == "checkpoint" else "Restoring FAILED."
    for log in logs:
        line = failed_line(log, marker)
        if line is not None:
            reason = f"{line} (criu log: {log})"
            break
    else:
        said = re.findall(r'msg="((?:[^"\\]|\\.)*)"', str(e))  # runc's logfmt
        # "runc checkpoint failed: time=... level=error msg=..." -> "runc checkpoint failed: ..."
        reason = f"{str(e).split(': ', 1)[0]}: {said[-1]}" if said else str(e)
        hint = next((h for text, h in _BEFORE_CRIU.items() if text in e.stderr), None)
        if hint is not None:
            reason = f"{reason} ({hint})"
    return errors.RuntimeFailure(
        f"{action} of {what} failed: {reason}", command=e.command, stderr=e.stderr
    )
