"""The command lines the options objects build (every other test runs them for real)."""

from __future__ import annotations

from pathlib import Path

from runtime.opts import CreateOpts, ExecOpts

P, L = Path("/s/init.pid"), Path("/s/runtime.log")


def test_create_and_run_detach() -> None:
    opts = CreateOpts(pid_file=P, log=L, bundle=Path("/b"))
    assert opts.args() == ["create", "--pid-file", "/s/init.pid", "--bundle", "/b"]
    run = CreateOpts(pid_file=P, log=L, bundle=Path("/b"), start=True, console_socket=Path("/c"))
    assert run.args() == [
        *("run", "--detach", "--pid-file", "/s/init.pid"),
        *("--console-socket", "/c", "--bundle", "/b"),
    ]


def test_exec_detach() -> None:
    opts = ExecOpts(pid_file=P, log=L, process_file=Path("/s/exec-e.json"))
    assert opts.args() == [
        *("exec", "--detach", "--pid-file", "/s/init.pid", "--process", "/s/exec-e.json")
    ]
