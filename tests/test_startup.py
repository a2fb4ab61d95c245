"""Start-up loads what it uses: ``schedcore --version`` and ``--help`` neither the engine nor
rich, a cook without Dask no Dask, the studio's window no panel that is not shown. What each
loads is read from ``sys.modules`` of a new process (the time it takes is a benchmark's
business: benchmarks/bench_startup.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

import schedcore

from .conftest import EXAMPLES, ROOT

HEAVY = ("distributed", "dask", "asyncio", "rich", "importlib.metadata")


def loaded(code: str, env: dict | None = None) -> dict:
    """Run ``code`` in a new Python; it prints a JSON object as its last line."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


MODULES_OF = """
import json, sys
def of(names):
    return sorted(m for m in sys.modules if any(m == n or m.startswith(n + ".") for n in names))
"""


def test_importing_the_command_loads_neither_the_engine_nor_rich_nor_dask():
    found = loaded(MODULES_OF + f"import schedcore.cli\nprint(json.dumps(of({HEAVY!r})))")
    assert found == []


def test_version_and_help_load_nothing_heavy():
    code = MODULES_OF + f"""
import contextlib, io
from schedcore.cli import main
out = {{}}
for argv in (["--version"], ["--help"]):
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            main(argv)
        except SystemExit:
            pass
    out[" ".join(argv)] = of({HEAVY!r} + ("schedcore.engine", "schedcore.check"))
print(json.dumps(out))
"""
    assert loaded(code) == {"--version": [], "--help": []}


def test_the_version_is_pyprojects():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    if "version" in project:
        assert schedcore.__version__ == project["version"]
    else:  # read from the package by the build
        assert "version" in project.get("dynamic", [])
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", schedcore.__version__)


def test_a_cook_with_the_local_scheduler_loads_no_dask(tmp_path):
    shutil.copytree(EXAMPLES, tmp_path / "ex")
    network = tmp_path / "ex" / "wedge_summary.top.json"
    code = MODULES_OF + f"""
import contextlib, io
from schedcore.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    status = main(["cook", {str(network)!r}, "--json", "--scheduler", "localscheduler"])
print(json.dumps({{"status": status, "loaded": of(("distributed", "dask", "asyncio"))}}))
"""
    assert loaded(code) == {"status": 0, "loaded": []}


def test_the_built_in_types_are_listed_without_loading_dask():
    code = MODULES_OF + """
from schedcore import registry
types = {t.name: t.label for t in registry.default().types.values()}
print(json.dumps({"types": types, "loaded": of(("distributed", "dask", "asyncio"))}))
"""
    found = loaded(code)
    assert found["loaded"] == []
    assert {"localscheduler", "pythonscheduler", "daskscheduler"} <= set(found["types"])
    assert found["types"]["daskscheduler"] == "Dask Scheduler"


def test_the_studio_window_imports_a_panel_when_it_is_first_shown(tmp_path):
    pytest.importorskip("PySide6")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_API": "pyside6",
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data"),
           "IPYTHONDIR": str(tmp_path / "ipython")}
    code = MODULES_OF + f"""
LATER = ("qtconsole", "ipykernel", "schedcore.check", "schedstudio.check",
         "schedstudio.submitted", "schedstudio.editor.source", "importlib.metadata",
         "schedstudio.cookview.timeline", "schedstudio.cookview.chart")
out = {{}}
import schedstudio.window
out["imported"] = of(LATER)
from PySide6.QtWidgets import QApplication
app = QApplication([])
window = schedstudio.window.open_window({str(EXAMPLES / "wedge_summary.top.json")!r})
window.show()
for _ in range(5):
    app.processEvents()
out["shown"] = of(LATER)
window.check_dock.raise_()
for _ in range(5):
    app.processEvents()
out["check shown"] = of(("schedcore.check", "schedstudio.check"))
out["check panel"] = window.check_dock.widget() is window.check_panel
window.document.dirty = False
window.close()
print(json.dumps(out))
"""
    found = loaded(code, env)
    assert found["imported"] == [] and found["shown"] == []
    assert "schedcore.check" in found["check shown"] and found["check panel"]


def test_a_network_of_built_in_types_loads_without_the_registry_scan():
    """Built-ins win a name clash, so a network that names built-in types only is checked
    without the scan of entry points and types folders; the scan, done later, gives what an
    eager one gives."""
    code = MODULES_OF + f"""
from schedcore import network, registry
network.load({str(EXAMPLES / "wedge_summary.top.json")!r})
out = {{"scanned": registry.default().scanned, "loaded": of(("importlib.metadata",))}}
lazy = registry.default()
eager = registry.Registry()
out["same"] = ({{n: (t.label, t.origin) for n, t in lazy.types.items()}}
               == {{n: (t.label, t.origin) for n, t in eager.types.items()}}
               and [str(f) for f in lazy.failures] == [str(f) for f in eager.failures])
out["scanned after"] = lazy.scanned
print(json.dumps(out))
"""
    assert loaded(code) == {"scanned": False, "loaded": [], "same": True,
                            "scanned after": True}


def test_the_studio_scans_the_scheduler_types_after_its_first_paint(tmp_path):
    pytest.importorskip("PySide6")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_API": "pyside6",
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data"),
           "IPYTHONDIR": str(tmp_path / "ipython"), "SCHEDSTUDIO_EXIT_WHEN_SHOWN": "1"}
    code = MODULES_OF + f"""
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from schedcore import registry
from schedstudio import main as studio
out = {{}}

def at_first_paint(window):
    def exposed():
        out["scanned when shown"] = registry.default().scanned
        out["loaded when shown"] = of(("importlib.metadata",))
        QTimer.singleShot(500, QApplication.quit)
    studio.when_first_exposed(window, exposed)
    window.document.dirty = False

studio.exit_when_shown = at_first_paint
out["status"] = studio.main([{str(EXAMPLES / "wedge_summary.top.json")!r}])
out["scanned later"] = registry.default().scanned
import gc
out["collector on"] = gc.isenabled()
print(json.dumps(out))
"""
    found = loaded(code, env)
    assert found == {"scanned when shown": False, "loaded when shown": [], "status": 0,
                     "scanned later": True, "collector on": True}
