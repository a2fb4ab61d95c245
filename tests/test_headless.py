"""The engine runs headless: schedcore never imports Qt."""

import subprocess
import sys

MODULES = ["schedcore.cli", "schedcore.engine", "schedcore.codegen", "schedcore.registry",
           "schedcore.resultserver", "schedcore.compat", "schedcore.schedulers"]


def test_schedcore_never_imports_qt():
    code = (f"import sys\nfor name in {MODULES!r}:\n    __import__(name)\n"
            "qt = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('PySide6', 'shiboken6', 'PyQt5', 'PyQt6', 'qtpy', 'qtconsole'))\n"
            "print(qt)\nsys.exit(1 if qt else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, f"schedcore imported Qt: {done.stdout}{done.stderr}"
