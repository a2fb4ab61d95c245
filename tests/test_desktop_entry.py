"""packaging/install-desktop-entry.sh, run for real from a folder whose name holds every
character the Desktop Entry Specification treats specially: the Exec line it writes reads
back, by the specification's own rules, to the real path of that folder's schedstudio."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

STRING_ESCAPES = {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}
QUOTED_ESCAPES = set('"`$\\')
FIELD_CODES = set("fFuUdDnNickvm")


def unescape_string(value: str) -> str:
    """The value of a key of type string: \\s \\n \\t \\r \\\\ undone."""
    out, chars = [], iter(value)
    for c in chars:
        if c == "\\":
            nxt = next(chars)
            assert nxt in STRING_ESCAPES, f"\\{nxt} is no escape of a desktop file string"
            out.append(STRING_ESCAPES[nxt])
        else:
            out.append(c)
    return "".join(out)


def exec_arguments(exec_value: str) -> list[str]:
    """The Exec value (already string-unescaped) split into arguments: double-quoted
    arguments with \\" \\` \\$ \\\\ undone, field codes dropped, %% a literal %."""
    args: list[str] = []
    i, n = 0, len(exec_value)
    while i < n:
        if exec_value[i] == " ":
            i += 1
            continue
        arg, field_code_only = [], False
        if exec_value[i] == '"':
            i += 1
            while exec_value[i] != '"':
                if exec_value[i] == "\\":
                    assert exec_value[i + 1] in QUOTED_ESCAPES, exec_value[i:i + 2]
                    i += 1
                else:
                    assert exec_value[i] not in "`$", f"bare {exec_value[i]} inside quotes"
                arg.append(exec_value[i])
                i += 1
            i += 1
            assert i == n or exec_value[i] == " ", "a quoted argument ends at a space"
        else:
            while i < n and exec_value[i] != " ":
                assert exec_value[i] not in '"\'\\<>~|&;$*?#()`', (
                    f"{exec_value[i]!r} outside quotes (reserved by the specification)")
                arg.append(exec_value[i])
                i += 1
            field_code_only = len(arg) == 2 and arg[0] == "%" and arg[1] in FIELD_CODES
        if not field_code_only:
            args.append(_expand_percent("".join(arg)))
    return args


def _expand_percent(arg: str) -> str:
    out, i = [], 0
    while i < len(arg):
        if arg[i] == "%":
            assert arg[i + 1] == "%", f"field code %{arg[i + 1]} inside an argument"
            i += 1
        out.append(arg[i])
        i += 1
    return "".join(out)


def install(folder: Path, data: Path) -> str:
    folder.mkdir(parents=True)
    shutil.copy(ROOT / "packaging" / "install-desktop-entry.sh", folder)
    shutil.copy(ROOT / "resources" / "schedstudio.desktop", folder)
    shutil.copy(ROOT / "resources" / "schedstudio.png", folder)
    studio = folder / "schedstudio"
    studio.write_text(f"#!{sys.executable}\nimport sys\nprint(sys.argv[0])\n")
    studio.chmod(0o755)
    env = {**os.environ, "XDG_DATA_HOME": str(data)}
    done = subprocess.run(["sh", str(folder / "install-desktop-entry.sh")], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return (data / "applications" / "schedstudio.desktop").read_text(encoding="utf-8")


NAMES = [
    "plain",
    "a & b",
    "spaces  and\ttab",
    "quotes \"double\" and 'single'",
    "dollar $HOME and `tick`",
    "percent %f %% 100%",
    "back\\slash \\\\ and \\n",
    "all & \" ' $x ` % \\ ; | < > ~ * ? # ( )",
]


@pytest.mark.parametrize("name", NAMES)
def test_exec_line_reads_back_to_the_real_path_of_schedstudio(tmp_path, name):
    folder = tmp_path / "unpacked" / name
    entry = install(folder, tmp_path / "data")
    lines = entry.splitlines()
    execs = [line for line in lines if line.startswith("Exec=")]
    assert len(execs) == 1, entry
    args = exec_arguments(unescape_string(execs[0][len("Exec="):]))
    assert args == [str((folder / "schedstudio").resolve())]
    # the rest of the entry as it was, and the icon installed
    source = (ROOT / "resources" / "schedstudio.desktop").read_text().splitlines()
    assert [line for line in lines if not line.startswith("Exec=")] == [
        line for line in source if not line.startswith("Exec=")]
    assert (tmp_path / "data" / "icons/hicolor/256x256/apps/schedstudio.png").is_file()
    # and the path it names is the studio that runs
    ran = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0 and Path(ran.stdout.strip()).samefile(folder / "schedstudio")


def test_the_spec_parser_here_reads_a_known_entry():
    # the specification's own example: four backslashes for one inside a quoted argument
    assert exec_arguments(unescape_string(r'"/a b/\\\\c \\"d\\" \\$e" %f')) == ['/a b/\\c "d" $e']
