"""``schedstudio [NETWORK]``: the desktop studio."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys

import schedcore

NO_DISPLAY = """\
schedstudio: there is no display to open a window on (neither DISPLAY nor WAYLAND_DISPLAY is
set, and QT_QPA_PLATFORM does not name another platform).
  - on a machine without a screen, run it under a virtual one:  xvfb-run schedstudio
  - to render the window to a picture only:  schedstudio --screenshot window.png
  - to cook without a window:  schedcore cook NETWORK
"""


# what the studio imports beyond the engine: the [studio] extra (module, distribution)
STUDIO_NEEDS = [("PySide6", "PySide6-Essentials"), ("pygments", "pygments"),
                ("qtconsole", "qtconsole"), ("ipykernel", "ipykernel")]


def missing_studio() -> str | None:
    """What to install when this is an engine-only install (``pip install schedstudio``)."""
    missing = [dist for module, dist in STUDIO_NEEDS if importlib.util.find_spec(module) is None]
    if not missing:
        return None
    return (f"schedstudio: the studio needs {', '.join(missing)}, not installed here (this "
            f"install has the engine only). Install the studio with:\n"
            f"  pip install 'schedstudio[studio]'\n"
            f"Without it, `schedcore cook NETWORK` cooks headless.\n")


def display_problem() -> str | None:
    """Why Qt could not open a window here, before Qt aborts with a cryptic message."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return NO_DISPLAY


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="schedstudio",
        description="The schedstudio desktop studio: a TOP network, its scheduler nodes and "
                    "the Python Scheduler's callbacks as code.")
    top.add_argument("network", nargs="?",
                     help="a network file (*.top.json); default: your copy of the example "
                          "(made in your data folder the first time)")
    top.add_argument("--version", action="version",
                     version=f"schedstudio {schedcore.__version__}")
    top.add_argument("--screenshot", metavar="FILE",
                     help="open the window, render it to this PNG file and exit (needs no "
                          "display)")
    top.add_argument("--self-test", action="store_true",
                     help="check this install: open the bundled example offscreen, cook it "
                          "with the Local Scheduler, run a line in the Python Shell; exit 0 "
                          "only when all of that worked")
    top.add_argument("--cook", action="store_true",
                     help="cook the network as the window opens; with --screenshot, render "
                          "the window after the cook and exit with its status (0: every item "
                          "cooked)")
    return top


def run_as_python(argv: list[str]) -> int:
    """The packaged studio standing in for Python, for jobs on a machine without one:
    ``schedstudio SCRIPT.py ARGS...`` or ``schedstudio -c CODE ARGS...``."""
    import runpy
    if argv[0] == "-c":
        sys.argv = ["-c", *argv[2:]]
        exec(compile(argv[1], "<string>", "exec"), {"__name__": "__main__"})
    else:
        sys.argv = list(argv)
        sys.path.insert(0, os.path.dirname(os.path.abspath(argv[0])))
        runpy.run_path(argv[0], run_name="__main__")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if getattr(sys, "frozen", False) and argv and (argv[0] == "-c" or argv[0].endswith(".py")):
        try:
            return run_as_python(argv)
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    args = parser().parse_args(argv)
    missing = missing_studio()
    if missing:
        sys.stderr.write(missing)
        return 2
    if args.self_test:
        from .selftest import self_test
        return self_test()
    if args.screenshot and display_problem():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a picture needs no screen
    problem = display_problem()
    if problem:
        sys.stderr.write(problem)
        return 2
    os.environ.setdefault("QT_API", "pyside6")
    from PySide6.QtWidgets import QApplication

    from schedcore.errors import SchedcoreError

    from . import style
    from .about import icon
    from .window import open_window

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("schedstudio")
    app.setDesktopFileName("schedstudio")  # Wayland finds the icon by the .desktop file
    app.setWindowIcon(icon())
    style.apply(app)
    try:
        window = open_window(args.network or user_example())
    except SchedcoreError as exc:
        sys.stderr.write(f"schedstudio: {exc}\n")
        return 2
    window.show()
    if args.cook:
        if not window.cook():
            return 1
        if args.screenshot:
            status = []
            window.bridge.cookFinished.connect(lambda result: (status.append(result.ok),
                                                               app.quit()))
            app.exec()
            saved = save_screenshot(window, args.screenshot)
            window.document.dirty = False
            window.close()
            return 0 if saved and status == [True] else 1
    elif args.screenshot:
        return 0 if save_screenshot(window, args.screenshot) else 1
    return app.exec()


def user_example() -> str | None:
    """The user's own copy of the example (cooking writes beside it), or None to open the
    installed one when the copy cannot be made."""
    from schedcore import examples
    try:
        return str(examples.user_copy())
    except OSError as exc:
        sys.stderr.write(f"schedstudio: cannot copy the example to {examples.user_folder()}: "
                         f"{exc.strerror or exc}\n")
        return None


def save_screenshot(window, path: str) -> bool:
    from PySide6.QtWidgets import QApplication
    for _ in range(3):  # let layouts settle
        QApplication.processEvents()
    ok = window.grab().save(path)
    if not ok:
        sys.stderr.write(f"schedstudio: cannot write the screenshot {path}\n")
    return ok


if __name__ == "__main__":
    sys.exit(main())
