"""``shimdeck``, ``shimdeck demo``, ``shimdeck replay FILE``.

Everything that can stop the UI from starting (no runtime, no privileges, a bad root, a
bad session file) is checked first and reported as one line on stderr, exit status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime import Engine, errors

if TYPE_CHECKING:
    from .config import Config


class CliError(Exception):
    """A problem to report as one line, without a traceback."""


def _common(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default: Any = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--runtime",
        metavar="runc|crun|PATH",
        default=default,
        help="OCI runtime to drive (default: runc, else crun, found on PATH)",
    )
    parser.add_argument(
        "--root",
        metavar="DIR",
        default=default,
        help="engine state directory (default: /run/shimdeck as root, "
        "$XDG_RUNTIME_DIR/shimdeck otherwise)",
    )
    _config_option(parser, suppress=suppress)
    parser.add_argument(
        "--record",
        metavar="FILE",
        default=default,
        help="write the session (events, states, stats, console output) to FILE "
        "for 'shimdeck replay'",
    )


def _config_option(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=argparse.SUPPRESS if suppress else None,
        help="settings file (default: $XDG_CONFIG_HOME/shimdeck/config.toml, ~/.config when unset)",
    )


def _containerd_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "containerd", "look at a containerd's containers instead (they outlive shimdeck)"
    )
    group.add_argument(
        "--containerd",
        action="store_true",
        help="use containerd's gRPC API instead of the in-process engine",
    )
    group.add_argument(
        "-a",
        "--address",
        metavar="SOCK",
        help="containerd's socket (default: $CONTAINERD_ADDRESS, else "
        "/run/containerd/containerd.sock)",
    )
    group.add_argument(
        "-n",
        "--namespace",
        metavar="NS",
        help="containerd namespace (default: $CONTAINERD_NAMESPACE, else default; "
        "docker's is moby, Kubernetes' k8s.io)",
    )


def check_containerd_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Options of one backend given to the other are usage errors, not ignored."""
    if not getattr(args, "containerd", False):
        containerd_only = {"-a/--address": "address", "-n/--namespace": "namespace"}
        given = [f for f, dest in containerd_only.items() if getattr(args, dest, None) is not None]
        if given:
            parser.error(f"{' and '.join(given)}: only with --containerd")
        return
    engine = {"--runtime": "runtime", "--root": "root", "--keep": "keep"}
    engine_only = [f for f, dest in engine.items() if getattr(args, dest, None)]
    if engine_only:
        parser.error(
            f"{', '.join(engine_only)}: for the in-process engine, not --containerd "
            "(containerd's containers are containerd's: they keep running after shimdeck)"
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shimdeck",
        description="A terminal UI for looking inside containers while they run.",
        epilog="Keys: ? in the UI. Commands: shimdeck demo, shimdeck replay FILE.",
    )
    _common(parser, suppress=False)
    parser.add_argument(
        "--keep",
        action="store_true",
        help="leave tasks running on quit (the next shimdeck adopts them)",
    )
    _containerd_options(parser)
    parser.set_defaults(func=run_ui, demo=False)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    demo = sub.add_parser(
        "demo",
        help="open the UI on demo containers (removed on quit)",
        description="Create demo containers (shell, top, counter, crash, flood) from busybox "
        "bundles and open the UI on them. Quitting removes them.",
    )
    _common(demo, suppress=True)
    demo.set_defaults(func=run_ui, demo=True, keep=False)
    replay = sub.add_parser(
        "replay",
        help="play a recorded session (no root or runtime needed)",
        description="Play a session recorded with --record in the same UI. Actions are "
        "disabled; an action that failed while recording fails the same way.",
    )
    replay.add_argument("file", metavar="FILE", help="a session file written by --record")
    _config_option(replay, suppress=True)
    replay.add_argument("--speed", type=float, default=1.0, help="playback speed (default 1)")
    replay.add_argument(
        "--instant",
        action="store_true",
        help="apply the whole session at once and show its final state",
    )
    replay.set_defaults(func=run_replay)
    return parser


def resolve_runtime(name: str | None) -> str:
    if name:
        if os.sep in name:
            if not (os.path.isfile(name) and os.access(name, os.X_OK)):
                raise CliError(f"OCI runtime {name!r} is not an executable file")
            return name
        if shutil.which(name) is None:
            raise CliError(
                f"OCI runtime {name!r} was not found on PATH (install it: apt-get install {name})"
            )
        return name
    for candidate in ("runc", "crun"):
        if shutil.which(candidate):
            return candidate
    raise CliError(
        "no OCI runtime found on PATH: install runc or crun "
        "(apt-get install runc), or pass --runtime PATH"
    )


def user_namespaces_available() -> bool:
    try:
        if int(Path("/proc/sys/user/max_user_namespaces").read_text()) <= 0:
            return False
    except (OSError, ValueError):
        return False
    clone = Path("/proc/sys/kernel/unprivileged_userns_clone")
    try:
        return not clone.exists() or clone.read_text().strip() == "1"
    except OSError:
        return False


def check_privileges() -> None:
    if os.geteuid() == 0:
        return
    if not user_namespaces_available():
        raise CliError(
            "shimdeck needs root (sudo shimdeck ...) or unprivileged user "
            "namespaces, which this system has disabled; "
            "'shimdeck replay FILE' works without either"
        )


def load_config(path: str | None, *, containerd: bool = False) -> Config:
    """The settings, checked before anything starts: a bad file is a one-line error. Keys
    only containerd's screens use are free for other bindings elsewhere."""
    from . import config
    from .bindings import CONTAINERD_ONLY, scopes

    unused = () if containerd else CONTAINERD_ONLY
    try:
        file = Path(path) if path else config.default_path()
        return config.load(file, scopes(), unused=unused)
    except config.ConfigError as e:
        raise CliError(str(e)) from None


def run_ui(args: argparse.Namespace, config: Config) -> int:
    if getattr(args, "containerd", False):
        from .containerd_cli import run_containerd

        return asyncio.run(run_containerd(args, config))
    runtime = resolve_runtime(args.runtime)
    check_privileges()
    if args.demo:
        from runtime.bundle import find_busybox

        try:
            find_busybox()
        except errors.Error as e:
            raise CliError(str(e)) from None
    return asyncio.run(_run_live(args, runtime, config))


async def _run_live(args: argparse.Namespace, runtime: str, config: Config) -> int:
    from . import demo
    from .app import ShimdeckApp
    from .backend.base import Backend
    from .backend.live import LiveBackend
    from .backend.recording import Recorder, RecordingBackend

    try:
        # Adopting also lets a demo clean up what a killed earlier demo left behind.
        engine = Engine(root=args.root, runtime=runtime, keep_tasks=bool(args.keep), adopt=True)
        await engine.open()
    except errors.Error as e:
        raise CliError(str(e)) from None
    except OSError as e:
        # The engine reports only PermissionError on its root as an engine error.
        where = e.filename or args.root or "the engine root"
        raise CliError(f"engine root {where} cannot be used: {e.strerror}") from None
    recorder = None
    try:
        if args.record:
            try:
                recorder = Recorder(
                    args.record, runtime=engine.runtime_name, start=datetime.now(UTC)
                )
            except OSError as e:
                raise CliError(f"cannot write {args.record}: {e.strerror}") from None
        if args.demo:
            # Under the root, so a demo that was killed leaves its bundles where the next
            # demo (which adopts and removes its containers) clears them.
            bundles = engine.root / "demo"
            shutil.rmtree(bundles, ignore_errors=True)
        else:
            bundles = engine.root / "bundles"
        live = LiveBackend(engine, bundles=bundles)
        if args.demo:
            try:
                await demo.clear_leftovers(live)
            except errors.Error as e:
                raise CliError(str(e)) from None
        backend: Backend = live if recorder is None else RecordingBackend(live, recorder)
        app = ShimdeckApp(backend, setup=demo.setup if args.demo else None, config=config)
        _exit_on_signals(app)
        try:
            await app.run_async()
        finally:
            await backend.close()
            if args.demo:
                with contextlib.suppress(OSError):
                    print("shimdeck: removing the demo containers...", file=sys.stderr)
                await demo.teardown(live)
    finally:
        if recorder is not None:
            recorder.close()
        await engine.close()
    return app.return_code or 0


def _exit_on_signals(app: Any) -> None:
    """SIGTERM and SIGHUP (the terminal went away) quit like q does, so cleanup runs."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, app.exit)


def run_replay(args: argparse.Namespace, config: Config) -> int:
    from .app import ShimdeckApp
    from .backend.recording import SessionFormatError
    from .backend.replay import ReplayBackend

    try:
        backend = ReplayBackend(args.file, instant=args.instant, speed=args.speed)
    except SessionFormatError as e:
        raise CliError(str(e)) from None
    app = ShimdeckApp(backend, config=config)

    async def run() -> int:
        try:
            await app.run_async()
        finally:
            await backend.close()
        return app.return_code or 0

    return asyncio.run(run())


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    check_containerd_options(parser, args)
    try:
        config = load_config(args.config, containerd=getattr(args, "containerd", False))
        code = args.func(args, config)
    except CliError as e:
        print(f"shimdeck: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(code)
