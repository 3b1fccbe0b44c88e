"""The command line: help everywhere, and one clear line for what stops the UI starting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tui import cli

SHIMDECK = [sys.executable, "-m", "tui"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    # The user's own config.toml (a bad one stops every command) is not this test's.
    env = {**os.environ, "XDG_CONFIG_HOME": "/nonexistent"}
    return subprocess.run([*SHIMDECK, *args], capture_output=True, text=True, timeout=60, env=env)


@pytest.mark.parametrize("command", [[], ["demo"], ["replay"]])
def test_every_command_has_help(command: list[str]) -> None:
    done = run(*command, "--help")
    assert done.returncode == 0
    assert done.stdout.startswith("usage: shimdeck")
    assert done.stderr == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--runtime", "no-such-runtime"], "OCI runtime 'no-such-runtime' was not found on PATH"),
        (["--runtime", "/nonexistent/runc"], "is not an executable file"),
        (["replay", "/nonexistent.jsonl"], "cannot read /nonexistent.jsonl"),
    ],
)
def test_startup_problems_are_one_line(args: list[str], message: str) -> None:
    done = run(*args)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("shimdeck: ") and message in done.stderr


def test_a_bad_root_is_one_line(tmp_path: Path) -> None:
    if cli.os.geteuid() != 0:
        pytest.skip("checked after the privilege check, which needs root here")
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    for root, message in ((not_a_dir, "is not a directory"), ("/proc/x/y", "cannot be used")):
        done = run("--runtime", "runc", "--root", str(root), "demo")
        assert done.returncode == 1
        assert done.stderr.count("\n") == 1, done.stderr
        assert message in done.stderr


def test_a_bad_session_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text("garbage\n")
    done = run("replay", str(path))
    assert (done.returncode, done.stderr.count("\n")) == (1, 1)
    assert "not JSON" in done.stderr


def test_non_root_without_user_namespaces(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(cli, "user_namespaces_available", lambda: False)
    monkeypatch.setattr(cli, "resolve_runtime", lambda name: "runc")
    with pytest.raises(SystemExit) as exit:
        cli.main(["demo"])
    assert exit.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs root" in err


def test_no_runtime_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli.shutil, "which", lambda name: None)
    with pytest.raises(cli.CliError, match="no OCI runtime found on PATH"):
        cli.resolve_runtime(None)
