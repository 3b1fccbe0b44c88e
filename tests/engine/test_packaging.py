"""The engine stands alone: it imports and runs with no Textual; bundles are well formed."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from runtime import create_bundle, errors

NO_TEXTUAL = """
import sys
sys.modules["textual"] = None  # any import of textual now fails
import runtime, runtime.engine, runtime.tasks, runtime.bundle
ui = [m for m, mod in sys.modules.items() if mod and m.startswith(("textual", "tui", "rich"))]
assert not ui, ui
print("ok")
"""


def test_runtime_imports_without_textual() -> None:
    out = subprocess.run([sys.executable, "-c", NO_TEXTUAL], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_bundle_is_shaped_like_runc_spec(tmp) -> None:
    b = create_bundle(tmp / "b", ["sh", "-c", "echo hi"], terminal=True, env={"A": "1"}, cwd="/tmp")
    spec = json.loads((b / "config.json").read_text())
    assert spec["process"]["args"] == ["sh", "-c", "echo hi"]
    assert spec["process"]["terminal"] is True
    assert "A=1" in spec["process"]["env"] and spec["process"]["cwd"] == "/tmp"
    assert {ns["type"] for ns in spec["linux"]["namespaces"]} >= {"pid", "mount", "network"}
    assert (b / "rootfs" / "bin" / "busybox").is_file()
    assert (b / "rootfs" / "bin" / "sh").is_symlink()


@pytest.mark.parametrize(
    ("args", "kw", "match"),
    [
        ([], {}, "non-empty"),
        ("sh", {}, "non-empty list"),
        (["sh", ""], {}, "non-empty string"),
        (["sh"], {"cwd": "rel"}, "absolute"),
        (["sh"], {"rootfs": "/no/such/dir"}, "not a directory"),
    ],
)
def test_bad_bundle_arguments_are_named(tmp, args, kw, match) -> None:
    with pytest.raises(errors.InvalidArgument, match=match):
        create_bundle(tmp / "b", args, **kw)


def test_missing_busybox_is_named(tmp, monkeypatch) -> None:
    import runtime.bundle as bundle

    monkeypatch.setattr(bundle.os.path, "isfile", lambda p: False)
    monkeypatch.setattr(bundle.shutil, "which", lambda name: None)
    with pytest.raises(errors.Unavailable, match="busybox-static"):
        create_bundle(tmp / "b", ["sh"])
