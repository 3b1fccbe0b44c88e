"""The settings file: read with tomllib, checked before the UI starts, the theme saved back."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from textual.command import CommandPalette
from textual.widgets import Input

from tui import config
from tui.app import ShimdeckApp
from tui.backend.replay import ReplayBackend
from tui.bindings import CONTAINERD_ONLY, scopes
from tui.config import Config, ConfigError
from tui.dialogs import CreateDialog
from tui.scenarios import console_ready, select, settle
from tui.screens.help import HelpScreen, help_table
from tui.screens.main import MainScreen
from tui.sessions import DEMO_SESSION
from tui.widgets.terminal import TerminalView

from .conftest import on_screen, type_text, wait_for

SHIMDECK = [sys.executable, "-m", "tui"]


def load(path: Path, text: str) -> Config:
    path.write_text(text)
    return config.load(path, scopes())


def test_a_missing_file_is_the_defaults(tmp_path: Path) -> None:
    got = config.load(tmp_path / "none.toml", scopes())
    assert got == Config(path=tmp_path / "none.toml")
    assert (got.theme, got.scrollback, dict(got.keymap)) == (None, 10_000, {})


def test_every_setting_is_read(tmp_path: Path) -> None:
    got = load(
        tmp_path / "c.toml",
        'theme = "nord"\nscrollback = 500\n[keymap]\n"main.create" = "C"\n'
        '"app.help" = "f1, h"\n"main.attach" = "ctrl+]"\n',
    )
    assert (got.theme, got.scrollback) == ("nord", 500)
    assert dict(got.keymap) == {
        "main.create": "C",
        "app.help": "f1,h",
        "main.attach": "ctrl+right_square_bracket",
    }
    with pytest.raises(AttributeError):
        got.scrollback = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("theme = \nscrollback = 1", "not valid TOML", "line 1"),
        ("colour = 1", "colour", "unknown key"),
        ('theme = "neon"', "theme", "'neon' is not a theme"),
        ("theme = 3", "theme", "3 is not a theme"),
        ("scrollback = -1", "scrollback", "-1 is not a number of lines"),
        ('scrollback = "many"', "scrollback", "'many' is not a number of lines"),
        ("scrollback = true", "scrollback", "True is not a number of lines"),
        ("scrollback = 10_000_000", "scrollback", "from 0 to 1,000,000"),
        ("keymap = 1", "keymap", "must be a table"),
        ('[keymap]\n"main.craete" = "x"', "keymap.main.craete", "did you mean main.create?"),
        ('[keymap]\n"main.create" = 1', "keymap.main.create", "1 is not a key"),
        ('[keymap]\n"main.create" = "ctrl+bogus"', "keymap.main.create", "is not a key"),
        ('[keymap]\n"main.create" = "hyp+x"', "keymap.main.create", "'hyp' is not a modifier"),
        ('[keymap]\n"main.create" = "s"', "keymap.main.create", "'s' is bound twice"),
        ('[keymap]\n"main.create" = "up"', "keymap.main.create", "'up' is bound twice"),
        (
            '[keymap]\n"main.create" = "x"\n"main.start" = "x"',
            "keymap.main.",
            "'x' is bound twice",
        ),
        ('[keymap]\n"dialog.cancel" = "ctrl+q"', "keymap.dialog.cancel", "bound twice"),
        ('[keymap]\n"console.search" = "ctrl+s"', "keymap.console.search", "bound twice"),
        ('[keymap]\n"search.regex" = "ctrl+t"', "keymap.search.regex", "bound twice"),
    ],
)
def test_a_bad_file_is_one_clear_error(tmp_path: Path, text: str, key: str, problem: str) -> None:
    path = tmp_path / "c.toml"
    with pytest.raises(ConfigError) as caught:
        load(path, text)
    message = str(caught.value)
    assert message.startswith(f"{path}: {key}"), message
    assert problem in message and "\n" not in message


def test_binding_ids_may_be_written_as_dotted_keys(tmp_path: Path) -> None:
    got = load(tmp_path / "c.toml", '[keymap]\nmain.create = "C"\n[keymap.dialog]\ncancel = "q"\n')
    assert dict(got.keymap) == {"main.create": "C", "dialog.cancel": "q"}


def test_saving_a_theme_where_there_is_no_file_yet_makes_it(tmp_path: Path) -> None:
    path = tmp_path / "new" / "shimdeck" / "config.toml"
    config.save_theme(path, "nord")
    assert path.read_text() == 'theme = "nord"\n'
    assert config.load(path, scopes()).theme == "nord"


def test_keys_moved_away_free_their_old_key(tmp_path: Path) -> None:
    # s is start's until start moves: then create may have it, in the same scope.
    got = load(tmp_path / "c.toml", '[keymap]\n"main.create" = "s"\n"main.start" = "S"\n')
    assert dict(got.keymap) == {"main.create": "s", "main.start": "S"}
    # The same key in two scopes (a dialog and the main screen) is no clash.
    load(tmp_path / "c.toml", '[keymap]\n"dialog.cancel" = "x"\n"main.create" = "x"\n')


def test_the_default_path_follows_xdg() -> None:
    home = Path.home()
    assert config.default_path({}) == home / ".config/shimdeck/config.toml"
    assert config.default_path({"XDG_CONFIG_HOME": ""}) == home / ".config/shimdeck/config.toml"
    assert config.default_path({"XDG_CONFIG_HOME": "rel"}) == home / ".config/shimdeck/config.toml"
    assert config.default_path({"XDG_CONFIG_HOME": "/x"}) == Path("/x/shimdeck/config.toml")


def run(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "xdg"), **(env or {})}
    return subprocess.run(
        [*SHIMDECK, *args], capture_output=True, text=True, timeout=60, env=environ
    )


@pytest.mark.parametrize("where", ["--config", "xdg", "demo --config", "replay --config"])
def test_the_cli_stops_on_a_bad_file_with_one_line(tmp_path: Path, where: str) -> None:
    if where == "xdg":
        path = tmp_path / "xdg" / "shimdeck" / "config.toml"
        path.parent.mkdir(parents=True)
        args: list[str] = []
    else:
        path = tmp_path / "mine.toml"
        command, flag = where.split() if " " in where else ("", where)
        args = [*([command] if command else []), flag, str(path)]
        if command == "replay":
            args.append(str(DEMO_SESSION))
    path.write_text('[keymap]\n"main.create" = "s"\n')
    done = run(tmp_path, *args)
    assert done.returncode == 1
    assert done.stderr == (
        f"shimdeck: {path}: keymap.main.create: 's' is bound twice (also to main.start)\n"
    )
    assert done.stdout == ""


def test_the_cli_reports_an_unreadable_file(tmp_path: Path) -> None:
    done = run(tmp_path, "--config", str(tmp_path))
    assert (done.returncode, done.stderr) == (
        1,
        f"shimdeck: {tmp_path}: cannot read: Is a directory\n",
    )


def app_with(cfg: Config) -> ShimdeckApp:
    return ShimdeckApp(ReplayBackend(DEMO_SESSION, instant=True, as_recorded=True), config=cfg)


async def test_the_keymap_moves_keys_and_the_help_shows_them(tmp_path: Path) -> None:
    cfg = load(tmp_path / "c.toml", '[keymap]\n"main.create" = "C"\n"main.help" = "h"\n')
    app = app_with(cfg)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("n")  # no longer "new"
        await pilot.press("h")
        await wait_for(pilot, lambda: on_screen(app, HelpScreen), what="help")
        console = Console(width=120, record=True, file=io.StringIO())
        console.print(help_table(app.config.keymap))
        lines = console.export_text().splitlines()
        assert any(line.startswith("C ") and "Create a container" in line for line in lines)
        assert any(line.startswith("h ") and "Show the keys" in line for line in lines)
        await pilot.press("escape")
        await wait_for(pilot, lambda: on_screen(app, MainScreen))
        await pilot.press("C")
        await wait_for(pilot, lambda: on_screen(app, CreateDialog), what="the dialog")


async def test_keys_only_containerd_uses_are_free_elsewhere(tmp_path: Path) -> None:
    """N (namespaces) and H (a node's sandboxes) exist on containerd only: a keymap may give
    them to other bindings for the engine and replays, and N then does what it was given;
    on containerd, where N is taken, the same file is refused naming both."""
    text = '[keymap]\n"main.create" = "N"\n"main.labels" = "H"\n'
    path = tmp_path / "c.toml"
    path.write_text(text)
    cfg = config.load(path, scopes(), unused=CONTAINERD_ONLY)
    with pytest.raises(ConfigError, match=r"'N' is bound twice \(also to main.namespaces\)"):
        config.load(path, scopes())
    done = run(tmp_path, "--containerd", "--config", str(path), "-a", str(tmp_path / "none"))
    assert (done.returncode, done.stderr.count("\n")) == (1, 1)
    assert "keymap.main.create: 'N' is bound twice (also to main.namespaces)" in done.stderr
    app = app_with(cfg)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("N")  # the engine's replay has no namespaces: N is create's
        await wait_for(pilot, lambda: on_screen(app, CreateDialog), what="the dialog")


async def test_a_theme_chosen_in_the_palette_is_saved(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    original = '# mine\nscrollback = 500  # lines\n\n[keymap]\n"main.create" = "C"\n'
    cfg = load(path, original)
    path.chmod(0o600)
    app = app_with(cfg)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.search_themes()
        await wait_for(pilot, lambda: on_screen(app, CommandPalette), what="palette")
        await type_text(pilot, "dracula")
        await wait_for(pilot, lambda: app.screen.query_one(Input).value == "dracula")
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: app.config.theme == "dracula", what="the theme saved")
    assert path.read_text() == original.replace("# lines\n", '# lines\ntheme = "dracula"\n')
    assert path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml"]  # no temp file left
    again = config.load(path, scopes())
    assert again.theme == "dracula" and dict(again.keymap) == {"main.create": "C"}
    # The next start uses it.
    app = app_with(again)
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.theme == "dracula"


async def test_a_theme_that_cannot_be_saved_is_told(tmp_path: Path) -> None:
    path = tmp_path / "dir" / "c.toml"
    path.parent.mkdir()
    path.write_text("scrollback = 5\n")
    path.parent.chmod(0o500)
    if os.access(path.parent, os.W_OK):
        path.parent.chmod(0o700)
        path = tmp_path / "file" / "c.toml"  # root writes anywhere: a parent that is a file
        path.parent.write_text("")
    try:
        app = app_with(Config(scrollback=5, path=path))
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            await settle(pilot)
            app.theme = "nord"
            await wait_for(pilot, lambda: app._notifications, what="the failure")
            (note,) = app._notifications
            assert note.title == "saving the theme failed"
            assert str(path) in note.message
            assert app.theme == "nord" and app.config.theme is None
    finally:
        (tmp_path / "dir").chmod(0o700)
    if path.parent.is_dir():
        assert path.read_text() == "scrollback = 5\n"


async def test_the_configured_scrollback_is_what_a_console_keeps() -> None:
    app = app_with(Config(scrollback=7))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await select(pilot, "top")
        await pilot.press("a")
        await console_ready(pilot)
        view = app.screen.query_one(TerminalView)
        assert view.emulator.screen.history.maxlen == 7


def test_the_console_and_its_search_bar_keys_can_be_remapped(tmp_path: Path) -> None:
    keymap = '"console.leave" = "f10"\n"console.search" = "f3"\n"search.regex" = "f4"\n'
    got = load(tmp_path / "c.toml", "[keymap]\n" + keymap)
    assert dict(got.keymap) == {
        "console.leave": "f10",
        "console.search": "f3",
        "search.regex": "f4",
    }


async def test_a_remapped_console_key_leaves_the_console(tmp_path: Path) -> None:
    app = app_with(load(tmp_path / "c.toml", '[keymap]\n"console.leave" = "f10"\n'))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await select(pilot, "top")
        await pilot.press("a")
        await console_ready(pilot)
        await pilot.press("f10")
        await wait_for(pilot, lambda: on_screen(app, MainScreen), what="main screen")
