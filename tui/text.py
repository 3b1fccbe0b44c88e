"""Text from users and containers, made safe to show.

Labels, commands, paths, event details, error messages and captured output may hold
anything: Rich markup (``[red]``), terminal escapes, other control characters, bidi
overrides, lone surrogates (undecodable bytes). Shown as they are, markup would be
interpreted by the UI and escapes by the user's terminal. So every such string goes
through :func:`visible` (or :func:`safe_text`, which also marks what it replaced), and is
handed to widgets as ``rich.text.Text``, never as markup.

Control characters become caret notation, as ``cat -v`` writes them: ESC is ``^[``, DEL
``^?``, C1 controls ``M-^[``-style; format characters that reorder or hide text become
``<U+202E>``; lone surrogates become U+FFFD.
"""

from __future__ import annotations

import codecs
import re
import time
from collections.abc import Sequence

from rich.text import Text

#: Marks what :func:`safe_text` replaced, so that ``^[`` typed as two characters and an
#: escape character made visible can be told apart.
REPLACED_STYLE = "reverse"

# C0, DEL, C1; lone surrogates; bidi embeddings, overrides and isolates, LRM/RLM/ALM;
# line and paragraph separators; zero-width space and BOM (they hide text).
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\ud800-\udfff\u061c\u200b\u200e\u200f\u2028\u2029"
    "\u202a-\u202e\u2066-\u2069\ufeff]"
)


def _replacement(char: str) -> str:
    code = ord(char)
    if code < 0x20:
        return "^" + chr(code + 0x40)
    if code == 0x7F:
        return "^?"
    if code <= 0x9F:
        return "M-^" + chr(code - 0x80 + 0x40)
    if 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    return f"<U+{code:04X}>"


def visible(value: object) -> str:
    """``str(value)`` with every unsafe character replaced by a visible stand-in."""
    text = str(value)
    return _UNSAFE.sub(lambda m: _replacement(m.group()), text)


def safe_text(value: object, style: str = "", **kwargs: object) -> Text:
    """A ``Text`` of ``value`` (never markup), unsafe characters visible and marked."""
    raw = str(value)
    if _UNSAFE.search(raw) is None:  # nearly always: one Text, no appends
        return Text(raw, style=style, **kwargs)  # type: ignore[arg-type]
    out = Text(style=style, **kwargs)  # type: ignore[arg-type]
    pos = 0
    for match in _UNSAFE.finditer(raw):
        if match.start() > pos:
            out.append(raw[pos : match.start()])
        out.append(_replacement(match.group()), style=REPLACED_STYLE)
        pos = match.end()
    if pos < len(raw):
        out.append(raw[pos:])
    return out


def replace_unsafe(text: str, replacement: str) -> str:
    """``text`` with every unsafe character replaced by ``replacement``."""
    return _UNSAFE.sub(replacement, text)


def is_safe(text: str) -> bool:
    """True if nothing in ``text`` would need replacing (tests)."""
    return _UNSAFE.search(text) is None


class LogFilter:
    """Output of a process without a terminal, made safe text for a terminal pane.

    Such output is a log, not a screen: its bytes are decoded as UTF-8 (invalid sequences
    become U+FFFD), CR LF becomes LF, colours and attributes (SGR, ``ESC [ ... m``) are
    kept unless ``sgr`` is False (the raw view), and every other control character (the
    ESC of any other sequence included, so no such sequence reaches the pane's emulator)
    is made visible as in :func:`visible`, in reverse video. Line feeds and tabs are kept.
    With ``stamps``, each line starts with the time its first byte was read, in grey
    (pyte has no dim).

    The raw view (``sgr`` False) shows every byte that is not text the way ``cat -v``
    does, in reverse video: ``^[`` for ESC (SGR included), ``^M`` for every CR (a CR LF's
    too), ``^?``, ``M-^[`` for a C1 control; a byte that is not UTF-8 as hex (``\\xff``),
    where the normal view shows U+FFFD. A line that starts with one of ``prefixes`` (text
    the UI put there, such as merged logs' coloured container ids) keeps it as it is in
    the raw view too: only the process's bytes are shown raw.
    """

    _UNSAFE = re.compile(_UNSAFE.pattern.replace("\x00-\x1f", "\x00-\x08\x0b-\x1f"))
    #: SGR with a bounded parameter list: anything longer is shown, not obeyed.
    _SGR = re.compile(r"(\x1b\[[0-9;:]{0,64}m)")
    _PARTIAL_SGR = re.compile(r"\x1b(\[[0-9;:]{0,64})?$")
    _LINE = re.compile("(\n)")

    def __init__(
        self, *, sgr: bool = True, stamps: bool = False, prefixes: Sequence[str] = ()
    ) -> None:
        # Undecodable bytes become lone surrogates (U+DC80-U+DCFF): shown as U+FFFD, or
        # as their hex in the raw view.
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
        self._cr = False
        self.sgr = sgr
        self.stamps = stamps
        self.prefixes = tuple(prefixes) if not sgr else ()
        self._carry = ""
        self._line_start = True
        #: SGR sequences in effect since the last reset: restored after a timestamp.
        self._state: list[str] = []

    def __call__(self, data: bytes, stamp: float | None = None) -> bytes:
        text = self._carry + self._decoder.decode(data)
        self._carry = ""
        out: list[str] = []
        if not self.sgr:  # raw: every CR shown, none folded into its LF
            self._text(text, stamp, out)
            return "".join(out).encode("utf-8")
        if self._cr:
            text = "\r" + text
        self._cr = text.endswith("\r")
        if self._cr:
            text = text[:-1]  # it may be the CR of a CR LF split between two reads
        text = text.replace("\r\n", "\n")
        if self.sgr:
            partial = self._PARTIAL_SGR.search(text, max(0, len(text) - 70))
            if partial:  # the rest of this SGR comes with the next read
                self._carry, text = text[partial.start() :], text[: partial.start()]
        pieces = self._SGR.split(text) if self.sgr else [text]
        for i, piece in enumerate(pieces):
            if i % 2:
                out.append(piece)
                self._remember(piece)
            elif piece:
                self._text(piece, stamp, out)
        return "".join(out).encode("utf-8")

    def _remember(self, sgr: str) -> None:
        if sgr in ("\x1b[m", "\x1b[0m"):
            self._state.clear()
        elif len(self._state) < 16:
            self._state.append(sgr)

    def _text(self, text: str, stamp: float | None, out: list[str]) -> None:
        for part in self._LINE.split(text) if self.stamps or self.prefixes else [text]:
            if part == "\n":
                out.append(part)
                self._line_start = True
                continue
            if not part:
                continue
            if self.stamps and self._line_start:
                out.append(f"\x1b[0;90m{stamp_text(stamp)}\x1b[0m " + "".join(self._state))
            if self._line_start:
                prefix = next((p for p in self.prefixes if part.startswith(p)), "")
                out.append(prefix)
                part = part[len(prefix) :]
            self._line_start = part.endswith("\n")
            out.append(self._UNSAFE.sub(self._shown, part))

    def _shown(self, match: re.Match[str]) -> str:
        char = match.group()
        if "\udc80" <= char <= "\udcff":  # a byte that was not UTF-8
            shown = f"\\x{ord(char) - 0xDC00:02x}" if not self.sgr else "\ufffd"
        else:
            shown = _replacement(char)
        return f"\x1b[7m{shown}\x1b[27m"


def stamp_text(stamp: float | None) -> str:
    """A read time as the log pane shows it: local ``HH:MM:SS.mmm``."""
    if stamp is None:
        return " " * 12
    local = time.localtime(stamp)
    return time.strftime("%H:%M:%S", local) + f".{int(stamp * 1000) % 1000:03d}"
