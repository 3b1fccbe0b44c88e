"""The user's settings: ``$XDG_CONFIG_HOME/shimdeck/config.toml``, or ``--config PATH``.

::

    theme = "nord"            # any Textual theme; chosen in the command palette, saved here
    scrollback = 10000        # lines each console keeps
    [keymap]                  # binding id = key(s), comma separated
    "main.create" = "C"
    "app.help" = "f1,h"

A missing file is the defaults. Anything else wrong with it (not TOML, an unknown key, a bad
value, a key bound twice) is a :class:`ConfigError` naming the file, the key and the problem,
so that shimdeck never starts with settings the user did not mean.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import tempfile
import tomllib
import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import tomlkit
import tomlkit.exceptions
from textual.binding import Binding
from textual.keys import Keys, _character_to_key
from textual.theme import BUILTIN_THEMES

DEFAULT_SCROLLBACK = 10_000
#: More than this is almost surely a typo (each line costs memory in every console).
MAX_SCROLLBACK = 1_000_000

_MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})
_NAMED_KEYS = frozenset(k.value for k in Keys if not k.value.startswith("<"))
_CHARACTER_KEYS = frozenset(_character_to_key(chr(c)) for c in range(0x21, 0x7F))


class ConfigError(Exception):
    """A config file shimdeck will not start with: one line, file, key and problem."""


@dataclass(frozen=True)
class Config:
    """What the config file sets; the defaults when there is none."""

    #: A Textual theme name, or None for Textual's default.
    theme: str | None = None
    #: Lines of scrollback each console keeps.
    scrollback: int = DEFAULT_SCROLLBACK
    #: Binding id -> keys (Textual's long names, comma separated), for ``App.set_keymap``.
    keymap: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    #: The file a theme chosen in the UI is saved to; None saves nowhere (tests, replays
    #: made from code).
    path: Path | None = None


def default_path(environ: Mapping[str, str] = os.environ) -> Path:
    """``$XDG_CONFIG_HOME/shimdeck/config.toml``; ``~/.config`` when that is unset, empty
    or relative (the XDG spec says to ignore a relative one)."""
    base = environ.get("XDG_CONFIG_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".config"
    return root / "shimdeck" / "config.toml"


def load(
    path: Path, scopes: Mapping[str, Sequence[Binding]], *, unused: Collection[str] = ()
) -> Config:
    """Read and check ``path``. ``scopes`` lists, per place keys are looked up together (a
    screen with the app and its focused widgets), every binding there: a keymap may only
    name their ids, and may not give two of them one key in a scope. ``unused``: ids of
    bindings this run's backend never offers (the engine has no namespaces), whose keys a
    keymap may give to others (a disabled binding lets its key through)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config(path=path)
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) else "not UTF-8 text"
        raise ConfigError(f"{path}: cannot read: {reason}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    return _parse(path, data, scopes, unused)


def _parse(
    path: Path,
    data: dict[str, Any],
    scopes: Mapping[str, Sequence[Binding]],
    unused: Collection[str],
) -> Config:
    def problem(key: str, what: str) -> ConfigError:
        return ConfigError(f"{path}: {key}: {what}")

    known = {"theme", "scrollback", "keymap"}
    for key in data:
        if key not in known:
            raise problem(key, f"unknown key (known: {', '.join(sorted(known))})")
    theme = data.get("theme")
    if theme is not None and (not isinstance(theme, str) or theme not in BUILTIN_THEMES):
        raise problem("theme", f"{theme!r} is not a theme (themes: {', '.join(BUILTIN_THEMES)})")
    scrollback = data.get("scrollback", DEFAULT_SCROLLBACK)
    if (
        not isinstance(scrollback, int)
        or isinstance(scrollback, bool)
        or not 0 <= scrollback <= MAX_SCROLLBACK
    ):
        raise problem(
            "scrollback", f"{scrollback!r} is not a number of lines from 0 to {MAX_SCROLLBACK:,}"
        )
    raw_keymap = data.get("keymap", {})
    if not isinstance(raw_keymap, dict):
        raise problem("keymap", "must be a table of binding id = key(s)")
    keymap: dict[str, str] = {}
    ids = {b.id for bindings in scopes.values() for b in bindings if b.id}
    for binding_id, keys in _flatten(raw_keymap):
        where = f"keymap.{binding_id}"
        if binding_id not in ids:
            near = difflib.get_close_matches(binding_id, ids, n=1)
            hint = f"did you mean {near[0]}?" if near else "the README lists them"
            raise problem(where, f"unknown binding id ({hint})")
        if not isinstance(keys, str) or not keys.strip():
            raise problem(where, f'{keys!r} is not a key (a string such as "ctrl+n")')
        try:
            keymap[binding_id] = ",".join(normalize_key(k) for k in keys.split(","))
        except ValueError as e:
            raise problem(where, str(e)) from None
    in_use = {
        name: [b for b in bindings if b.id not in unused] for name, bindings in scopes.items()
    }
    for binding_id, key, other in _clashes(keymap, in_use):
        raise problem(f"keymap.{binding_id}", f"{key!r} is bound twice (also to {other})")
    return Config(theme=theme, scrollback=scrollback, keymap=MappingProxyType(keymap), path=path)


def _flatten(table: dict[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    """``main.create = "C"`` unquoted is TOML for a table ``main`` holding ``create``: the
    same binding id as ``"main.create" = "C"``."""
    for key, value in table.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def normalize_key(key: str) -> str:
    """A key as written by a user ("ctrl+]", "?") in Textual's long form
    ("ctrl+right_square_bracket", "question_mark"); ValueError if it names no key."""
    key = key.strip()
    *mods, base = key.split("+")
    if not base:
        raise ValueError(f"{key!r} is not a key (the + key is written plus)")
    for mod in mods:
        if mod not in _MODIFIERS:
            raise ValueError(
                f"{key!r}: {mod!r} is not a modifier ({', '.join(sorted(_MODIFIERS))})"
            )
    if len(base) == 1:
        base = _character_to_key(base)
    elif base not in _NAMED_KEYS and base not in _CHARACTER_KEYS and not _is_char_name(base):
        raise ValueError(f"{key!r} is not a key")
    return "+".join([*mods, base])


def _is_char_name(name: str) -> bool:
    try:
        unicodedata.lookup(name.replace("_", " "))
    except KeyError:
        return False
    return True


def _clashes(
    keymap: Mapping[str, str], scopes: Mapping[str, Sequence[Binding]]
) -> Iterable[tuple[str, str, str]]:
    """(binding id, key, the other binding) for each key a remapped binding shares with
    another binding in one scope. Clashes among the defaults alone are Textual's (ctrl+c
    is both copy and quit help) and not the user's doing."""
    for bindings in scopes.values():
        owners: dict[str, list[Binding]] = {}
        for binding in bindings:
            keys = keymap.get(binding.id or "", binding.key)
            for key in keys.split(","):
                owners.setdefault(key, []).append(binding)
        for key, holders in owners.items():
            distinct = {(b.id, b.action) for b in holders}
            remapped = [b for b in holders if b.id in keymap]
            if len(distinct) > 1 and remapped:
                first = remapped[0]
                other = next(b for b in holders if (b.id, b.action) != (first.id, first.action))
                yield first.id or "", key, other.id or other.action


def save_theme(path: Path, theme: str) -> None:
    """Set ``theme`` in the file at ``path``, keeping everything else in it as it was
    (comments too), atomically: the file is whole before and after, never half written."""
    try:
        doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        doc = tomlkit.document()
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) else "not UTF-8 text"
        raise ConfigError(f"{path}: cannot read: {reason}") from None
    except tomlkit.exceptions.ParseError as e:
        # Edited since shimdeck read it: leave the user's file alone.
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    # tomlkit puts a new top-level key before the first table, where it belongs.
    doc["theme"] = theme
    try:
        _write_atomically(path, tomlkit.dumps(doc))
    except OSError as e:
        raise ConfigError(f"{path}: cannot write: {e.strerror}") from None


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
