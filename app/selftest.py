"""``schedstudio --self-test``: is this install whole? Opens the bundled example offscreen,
cooks it with the Local Scheduler, runs a line in the Python Shell; 0 only when all worked."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from schedcore import examples


def self_test() -> int:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ.setdefault("QT_API", "pyside6")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from .window import open_window

    app = QApplication.instance() or QApplication([sys.argv[0]])
    checks: list[tuple[str, bool, str]] = []
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "examples"
        examples.copy_to(copy)  # the install's own folder may be read-only
        window = open_window(str(copy / examples.DEFAULT))
        window.show()
        checks.append(("the window opens on the example", window.isVisible(),
                       window.windowTitle()))
        outcome = []
        window.bridge.cookFinished.connect(lambda result: (outcome.append(result), app.quit()))
        QTimer.singleShot(180_000, app.quit)  # a cook that hangs fails the test
        window.bridge.start(window.document.network, scheduler="localscheduler")
        app.exec()
        result = outcome[0] if outcome else None
        checks.append(("the example cooks with the Local Scheduler",
                       bool(result and result.ok),
                       f"{dict(result.counts)}" if result else "no result in 3 minutes"))
        shell = window.shell.shell
        shell.run_cell("answer = len(items)")
        answer = shell.user_ns.get("answer")
        checks.append(("the Python Shell runs a line on the live objects",
                       result is not None and answer == len(result.items),
                       f"len(items) = {answer}"))
        window.document.dirty = False
        window.close()
    for name, ok, detail in checks:
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
    passed = all(ok for _name, ok, _detail in checks)
    print("self-test passed" if passed else "self-test FAILED")
    return 0 if passed else 1
