"""Fixtures shared by every test: real runtimes, private roots, and leak checks."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
import pytest

from runtime import Engine, create_bundle

if TYPE_CHECKING:
    from tests.containerd.daemon import Daemon

RUNTIMES = ["runc", "crun"]


def runtime_usable(name: str) -> str | None:
    """None when ``name`` can run containers here, else why not."""
    if shutil.which(name) is None:
        return f"{name} is not installed"
    if os.geteuid() != 0:
        return "the engine tests need root"
    return None


@pytest.fixture(scope="session")
def rootfs() -> Iterator[Path]:
    """One busybox rootfs shared (read-only) by every bundle of the session."""
    d = Path(tempfile.mkdtemp(prefix="sd-rootfs-"))
    try:
        create_bundle(d / "seed", ["true"])
        yield d / "seed" / "rootfs"
    finally:
        shutil.rmtree(d)


@pytest.fixture
def tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A short private directory (unix socket paths must stay under 108 bytes)."""
    d = Path(tempfile.mkdtemp(prefix="sd-"))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def make_bundle(tmp: Path, rootfs: Path) -> Callable[..., Path]:
    counter = iter(range(1_000_000))

    def make(args: list[str], **kw: object) -> Path:
        return create_bundle(tmp / f"b{next(counter)}", args, rootfs=rootfs, **kw)  # type: ignore[arg-type]

    return make


@pytest.fixture(params=RUNTIMES)
def runtime_name(request: pytest.FixtureRequest) -> str:
    why = runtime_usable(request.param)
    if why:
        pytest.skip(why)
    return str(request.param)


@pytest.fixture
async def engine(tmp: Path, runtime_name: str) -> AsyncIterator[Engine]:
    async with Engine(root=tmp / "root", runtime=runtime_name) as e:
        yield e
    assert_nothing_left(runtime_name, tmp / "root" / runtime_name)


def assert_nothing_left(runtime: str, state_root: Path) -> None:
    """Fail on containers left in the runtime, after removing them so the machine stays clean."""
    leftover = runtime_list(runtime, state_root)
    for id in leftover:
        subprocess.run([runtime, "--root", str(state_root), "delete", "--force", id])
    assert leftover == [], f"containers left in the runtime: {leftover}"


def runtime_list(runtime: str, state_root: Path) -> list[str]:
    if not state_root.exists():
        return []
    out = subprocess.run(
        [runtime, "--root", str(state_root), "list", "-q"], capture_output=True, text=True
    )
    return out.stdout.split()


@pytest.fixture(autouse=True)
def no_zombies() -> Iterator[None]:
    yield
    zombies = [p.pid for p in psutil.Process().children() if p.status() == psutil.STATUS_ZOMBIE]
    assert zombies == [], f"zombie children left: {zombies}"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--soak", action="store_true", help="run the reliability suite 10x longer")


@pytest.fixture(scope="session")
def containerd() -> Iterator[Daemon]:
    """One private containerd for the session (tests/containerd/daemon.py), shared by the
    containerd tests and the UI tests that run on both backends."""
    from tests.containerd import daemon as daemon_module

    reason = daemon_module.unavailable()
    if reason:
        pytest.skip(reason)
    d = daemon_module.start()
    try:
        yield d
    finally:
        leftovers = d.stop()
    assert not leftovers, f"left behind by the containerd tests: {leftovers}"


@pytest.fixture
def spare() -> Iterator[Daemon]:
    """A containerd of this test's own (no image): stopping or restarting it disturbs no
    other test."""
    from tests.containerd import daemon as daemon_module

    reason = daemon_module.unavailable()
    if reason:
        pytest.skip(reason)
    d = daemon_module.Daemon(
        Path(tempfile.mkdtemp(prefix="sdspare-")), f"shimdeck-spare-{os.getpid()}"
    )
    try:
        d.start()
        yield d
    finally:
        leftovers = d.stop()
    assert not leftovers, leftovers
