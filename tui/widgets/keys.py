"""Textual key events to the bytes an xterm sends for them.

Textual names keys ("ctrl+up", "alt+x", "f5"); a program in a pty expects what xterm would
have written. Modified keys use xterm's parameter 1 + shift + 2*alt + 4*ctrl, the form
vi, top, less and readline all understand.
"""

from __future__ import annotations

from textual.keys import key_to_character

_MODIFIER_BITS = {"shift": 1, "alt": 2, "meta": 2, "ctrl": 4}

# Keys sent as CSI <final> (or SS3 <final> in application cursor mode) when unmodified,
# CSI 1 ; <mod> <final> when modified.
_CURSOR_KEYS = {"up": "A", "down": "B", "right": "C", "left": "D", "home": "H", "end": "F"}
# F1-F4 are SS3 P..S unmodified, CSI 1 ; <mod> P..S modified.
_SS3_FKEYS = {"f1": "P", "f2": "Q", "f3": "R", "f4": "S"}
# Keys sent as CSI <n> ~ (CSI <n> ; <mod> ~ when modified).
_TILDE_KEYS = {
    "insert": 2,
    "delete": 3,
    "pageup": 5,
    "pagedown": 6,
    "f5": 15,
    "f6": 17,
    "f7": 18,
    "f8": 19,
    "f9": 20,
    "f10": 21,
    "f11": 23,
    "f12": 24,
}
_SIMPLE = {
    "enter": b"\r",
    "tab": b"\t",
    "escape": b"\x1b",
    "space": b" ",
    "newline": b"\n",
}
# ctrl + punctuation: the C0 control codes xterm sends.
_CTRL_PUNCT = {
    "at": 0x00,
    "space": 0x00,
    "left_square_bracket": 0x1B,
    "backslash": 0x1C,
    "right_square_bracket": 0x1D,
    "circumflex_accent": 0x1E,
    "underscore": 0x1F,
    "question_mark": 0x7F,
}


def split_key(key: str) -> tuple[frozenset[str], str]:
    """("ctrl+shift+up") -> ({"ctrl", "shift"}, "up")."""
    parts = key.split("+")
    # A literal "+" key is named "plus", so splitting on "+" is unambiguous.
    return frozenset(parts[:-1]), parts[-1]


def encode_key(key: str, character: str | None = None, *, app_cursor: bool = False) -> bytes:
    """The bytes for a key press, or b"" for keys a terminal has no encoding for."""
    mods, base = split_key(key)
    param = 1 + sum(_MODIFIER_BITS.get(m, 0) for m in mods)
    if base in _CURSOR_KEYS:
        final = _CURSOR_KEYS[base]
        if param > 1:
            return f"\x1b[1;{param}{final}".encode()
        return (f"\x1bO{final}" if app_cursor else f"\x1b[{final}").encode()
    if base in _SS3_FKEYS:
        final = _SS3_FKEYS[base]
        return (f"\x1b[1;{param}{final}" if param > 1 else f"\x1bO{final}").encode()
    if base in _TILDE_KEYS:
        n = _TILDE_KEYS[base]
        return (f"\x1b[{n};{param}~" if param > 1 else f"\x1b[{n}~").encode()
    prefix = b"\x1b" if mods & {"alt", "meta"} else b""
    if base == "tab" and "shift" in mods:
        return b"\x1b[Z"
    if base == "backspace":
        # Textual reports both ^H and DEL as backspace; keep what the keyboard sent.
        if character in ("\x08", "\x7f"):
            return prefix + character.encode()
        return prefix + (b"\x08" if "ctrl" in mods else b"\x7f")
    if "ctrl" in mods:
        if len(base) == 1 and base.isalpha():
            return prefix + bytes([ord(base.lower()) & 0x1F])
        if base in _CTRL_PUNCT:
            return prefix + bytes([_CTRL_PUNCT[base]])
        if base in ("enter", "tab", "escape"):
            return prefix + _SIMPLE[base]
    if base in _SIMPLE and (not character or len(character) != 1 or character == "\r"):
        return prefix + _SIMPLE[base]
    if character and (character.isprintable() or character in "\r\t\x1b"):
        return prefix + character.encode()
    if character and len(character) == 1 and ord(character) < 0x20:
        return prefix + character.encode()
    # Pilot and some terminals give only the key name ("exclamation_mark", "shift+a").
    char = key_to_character(base) if base not in ("space",) else " "
    if char:
        if "shift" in mods and char.isalpha():
            char = char.upper()
        return prefix + char.encode()
    return b""
