"""Keys become the bytes xterm would send."""

from __future__ import annotations

import pytest

from tui.widgets.keys import encode_key


@pytest.mark.parametrize(
    ("key", "character", "expected"),
    [
        ("a", "a", b"a"),
        ("A", "A", b"A"),
        ("space", " ", b" "),
        ("enter", None, b"\r"),
        ("enter", "\r", b"\r"),
        ("tab", "\t", b"\t"),
        ("shift+tab", None, b"\x1b[Z"),
        ("escape", "\x1b", b"\x1b"),
        ("backspace", "\x7f", b"\x7f"),
        ("backspace", "\x08", b"\x08"),
        ("backspace", None, b"\x7f"),
        ("ctrl+a", None, b"\x01"),
        ("ctrl+c", "\x03", b"\x03"),
        ("ctrl+z", None, b"\x1a"),
        ("ctrl+backslash", None, b"\x1c"),
        ("ctrl+at", None, b"\x00"),
        ("alt+x", "x", b"\x1bx"),
        ("alt+ctrl+a", None, b"\x1b\x01"),
        ("up", None, b"\x1b[A"),
        ("down", None, b"\x1b[B"),
        ("right", None, b"\x1b[C"),
        ("left", None, b"\x1b[D"),
        ("home", None, b"\x1b[H"),
        ("end", None, b"\x1b[F"),
        ("shift+up", None, b"\x1b[1;2A"),
        ("alt+left", None, b"\x1b[1;3D"),
        ("ctrl+right", None, b"\x1b[1;5C"),
        ("ctrl+shift+home", None, b"\x1b[1;6H"),
        ("pageup", None, b"\x1b[5~"),
        ("pagedown", None, b"\x1b[6~"),
        ("ctrl+pagedown", None, b"\x1b[6;5~"),
        ("insert", None, b"\x1b[2~"),
        ("delete", None, b"\x1b[3~"),
        ("f1", None, b"\x1bOP"),
        ("f4", None, b"\x1bOS"),
        ("shift+f1", None, b"\x1b[1;2P"),
        ("f5", None, b"\x1b[15~"),
        ("f12", None, b"\x1b[24~"),
        ("ctrl+f5", None, b"\x1b[15;5~"),
        ("exclamation_mark", None, b"!"),
        ("exclamation_mark", "!", b"!"),
        ("é", "é", "é".encode()),
    ],
)
def test_encode_key(key: str, character: str | None, expected: bytes) -> None:
    assert encode_key(key, character) == expected


def test_application_cursor_mode_uses_ss3() -> None:
    assert encode_key("up", None, app_cursor=True) == b"\x1bOA"
    # Modified keys keep the CSI form in either mode.
    assert encode_key("shift+up", None, app_cursor=True) == b"\x1b[1;2A"
