"""``schedstudio [NETWORK]``: the desktop studio.

``SCHEDSTUDIO_EXIT_WHEN_SHOWN=1`` in the environment makes the studio print ``shown`` and exit
(status 0) as soon as its window is first exposed: how ``benchmarks/bench_startup.py`` times
the start of the studio as a person sees it, from the command to the window on screen."""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

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


# what Qt's xcb platform plugin loads that a minimal Linux often lacks:
# library -> (Debian/Ubuntu package, Fedora/RHEL package)
XCB_PACKAGES = {
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libSM.so.6": ("libsm6", "libSM"),
    "libICE.so.6": ("libice6", "libICE"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
}
XCB_PACKAGES.update({  # the X extensions' libraries: one package each on Debian, one on Fedora
    f"libxcb-{ext}.so.{major}": (f"libxcb-{ext}{major}", "libxcb")
    for ext, major in (("randr", 0), ("shape", 0), ("xinerama", 0), ("xfixes", 0), ("sync", 1),
                       ("shm", 0), ("render", 0), ("xkb", 1), ("glx", 0), ("xinput", 0))})


def display_problem() -> str | None:
    """Why Qt could not open a window here, before Qt aborts with a cryptic message."""
    if not sys.platform.startswith("linux"):
        return None
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith("xcb"):
        return None  # offscreen, wayland, vnc...: Qt's own business
    x11, wayland = os.environ.get("DISPLAY"), os.environ.get("WAYLAND_DISPLAY")
    if not x11 and (platform or not wayland):
        return NO_DISPLAY
    if x11 and (platform or not wayland):  # Qt will load its xcb plugin
        return xcb_problem()
    return None


def xcb_plugin() -> Path | None:
    """Qt's xcb platform plugin in this install of PySide6, when it is where wheels put it."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.origin:
        return None
    plugin = Path(spec.origin).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.is_file() else None


def _ldd(plugin: Path) -> str:
    try:
        return subprocess.run(["ldd", str(plugin)], capture_output=True, text=True,
                              timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return ""  # no ldd (or it failed): Qt says what it can


def xcb_problem() -> str | None:
    """The libraries the xcb plugin needs that this machine lacks, and where to get them:
    Qt itself only aborts with "could not load the Qt platform plugin"."""
    plugin = xcb_plugin()
    if plugin is None:
        return None
    missing = [line.split("=>")[0].strip() for line in _ldd(plugin).splitlines()
               if "=> not found" in line]
    if not missing:
        return None
    known = [XCB_PACKAGES[name] for name in missing if name in XCB_PACKAGES]
    unknown = [name for name in missing if name not in XCB_PACKAGES]
    lines = [f"schedstudio: Qt cannot open a window on the X display {os.environ.get('DISPLAY')}"
             f": its xcb platform plugin needs libraries this machine lacks:",
             f"  {', '.join(missing)}"]
    if known:
        debian = " ".join(dict.fromkeys(p[0] for p in known))
        fedora = " ".join(dict.fromkeys(p[1] for p in known))
        lines += ["Install them:", f"  Debian, Ubuntu:  sudo apt install {debian}",
                  f"  Fedora, RHEL:    sudo dnf install {fedora}"]
    if unknown:
        lines.append(f"  (find the package of {', '.join(unknown)} with `apt-file search NAME` "
                     f"or `dnf provides '*/NAME'`)")
    lines += ["Meanwhile:  schedstudio --screenshot window.png renders the window without a "
              "display; schedcore cook NETWORK cooks headless.", ""]
    return "\n".join(lines)


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
    if args.self_test or args.screenshot:
        from .settings import use_throwaway_settings
        use_throwaway_settings()
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
    with collector_paused():
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
        show_errors_in_problems()
        scan_types_after_first_paint(window)
    if os.environ.get(EXIT_WHEN_SHOWN):
        exit_when_shown(window)
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


def show_errors_in_problems() -> None:
    """An exception no code of the studio caught (in a slot, an event handler) is shown in
    the Problems of the window in front, with its traceback, besides stderr: never silent,
    and the studio goes on."""
    import traceback

    from PySide6.QtWidgets import QApplication

    from .window import MainWindow

    previous = sys.excepthook

    def hook(kind, exc, tb) -> None:
        previous(kind, exc, tb)
        windows = [w for w in QApplication.topLevelWidgets()
                   if isinstance(w, MainWindow) and w.isVisible()]
        active = QApplication.activeWindow()
        window = active if isinstance(active, MainWindow) else next(iter(windows), None)
        if window is not None:
            window.internal_error("".join(traceback.format_exception(kind, exc, tb)))

    sys.excepthook = hook


@contextlib.contextmanager
def collector_paused():
    """No garbage collection while the window is built, then what was built is set aside
    (``gc.freeze``): it lives as long as the studio.

    Start-up makes some 40,000 objects that stay (modules, classes, Qt's enums, the panels)
    and next to no garbage (a few hundred objects: argparse's and the enum machinery's
    leftovers, no Qt object, no file). The collector's passes over them cost tens of
    milliseconds before the first paint, and as much again in the passes of the
    interpreter's exit; frozen, they are passed over, and what the studio makes later is
    collected as before. When the collector is off already, it is left as it is."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


EXIT_WHEN_SHOWN = "SCHEDSTUDIO_EXIT_WHEN_SHOWN"


def when_first_exposed(window, job) -> None:
    """Call ``job()`` when ``window`` is first exposed, before it is drawn (a timer of 0 ms
    started then runs after the first paint)."""
    from PySide6.QtCore import QEvent, QObject

    class Exposed(QObject):
        def eventFilter(self, watched, event) -> bool:
            if event.type() == QEvent.Type.Expose and watched.isExposed():
                watched.removeEventFilter(self)
                job()
            return False

    handle = window.windowHandle()
    handle.installEventFilter(Exposed(handle))


def exit_when_shown(window) -> None:
    """Print "shown" and quit the event loop when ``window`` is first exposed (drawn)."""
    from PySide6.QtWidgets import QApplication

    def shown() -> None:
        print("shown", flush=True)
        QApplication.exit(0)

    when_first_exposed(window, shown)


def scan_types_after_first_paint(window) -> None:
    """The scheduler types of the entry points and the types folders, loaded once the window
    is on screen: the example and most networks name built-in types only, which need no
    scan, and the TAB menu, the Types menu or a cook have it done by then (or do it)."""
    from PySide6.QtCore import QTimer

    from schedcore import registry

    when_first_exposed(window, lambda: QTimer.singleShot(0, registry.default().scan))


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
