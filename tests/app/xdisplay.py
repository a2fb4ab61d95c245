"""A real X display for the tests that need one: Xvfb with the openbox window manager,
driven with real input events by xdotool, and the studio run in a subprocess on it (the
in-process tests are offscreen). The studio writes what it shows to a JSON file ten times a
second; a test waits for the state it expects there.

    from .xdisplay import xdisplay  # noqa: F401  (the fixture)

    def test_something(xdisplay, tmp_path):
        studio = xdisplay.start_studio(network, tmp_path)
        studio.wait_for(lambda s: s["window_active"])
        xdisplay.key("Tab")
        studio.wait_for(lambda s: s["tab_menu"]["visible"])

A test that wants more of the window's state passes ``hook``: a Python file whose
``state(window) -> dict`` is merged into each state written. Without Xvfb, openbox or
xdotool (``packaging/ci_display_deps.sh`` installs them), or without the libraries Qt's xcb
plugin needs, the test is skipped and says which."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

TOOLS = ("Xvfb", "openbox", "xdotool", "xprop")
SCREEN = (1280, 800)


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def missing_xcb_libraries() -> list[str]:
    """The libraries Qt's xcb platform plugin needs that this machine lacks."""
    import PySide6
    plugin = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    if not plugin.exists() or shutil.which("ldd") is None:
        return []
    out = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True).stdout
    return sorted({line.split()[0] for line in out.splitlines() if "not found" in line})


def _read_display(fd: int, folder: Path, timeout: float = 15) -> int:
    """The display number Xvfb writes to ``fd`` once it accepts clients; skips the test
    when Xvfb ends or says nothing in time."""
    import select
    with os.fdopen(fd) as pipe:
        ready, _, _ = select.select([pipe], [], [], timeout)
        text = pipe.readline().strip() if ready else ""
    if not text.isdigit():
        pytest.skip(f"Xvfb could not be started: {(folder / 'xvfb.log').read_text()[-500:]}")
    return int(text)


def _wait(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(f"{what}: not within {timeout} s")


class Studio:
    """The studio in a subprocess on the display; ``state()`` is what it last wrote."""

    def __init__(self, process: subprocess.Popen, state_file: Path, log: Path):
        self.process, self.state_file, self.log = process, state_file, log

    def state(self) -> dict:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}

    def wait_for(self, condition, timeout: float = 10, what: str = "the studio's state") -> dict:
        """The first state for which ``condition`` holds (fails with the last one seen)."""
        last = {}

        def check():
            nonlocal last
            if self.process.poll() is not None:
                raise AssertionError(f"the studio exited ({self.process.returncode}):\n"
                                     f"{self.log.read_text()[-3000:]}")
            last = self.state()
            try:
                return last if last and condition(last) else None
            except (KeyError, TypeError, IndexError):
                return None
        try:
            return _wait(check, timeout, what)
        except TimeoutError as exc:
            raise AssertionError(f"{exc}; last state: {json.dumps(last)[:3000]}") from None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


class XDisplay:
    def __init__(self, number: int, env: dict):
        self.number, self.env = number, env
        self.studios: list[Studio] = []

    def run(self, *command: str) -> str:
        done = subprocess.run(command, env=self.env, capture_output=True, text=True,
                              timeout=30)
        if done.returncode:
            raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip()}")
        return done.stdout

    # real input events, through the XTEST extension, to whatever window has them
    def key(self, *keys: str) -> None:
        self.run("xdotool", "key", "--delay", "40", *keys)

    def type(self, text: str) -> None:
        self.run("xdotool", "type", "--delay", "40", text)

    def move(self, x: int, y: int) -> None:
        self.run("xdotool", "mousemove", "--sync", str(int(x)), str(int(y)))

    def click(self, x: int, y: int, button: int = 1, times: int = 1) -> None:
        self.move(x, y)
        self.run("xdotool", "click", "--repeat", str(times), "--delay", "80", str(button))

    def screenshot(self, path: Path) -> Path:
        """The whole screen, as the person at it sees it."""
        if shutil.which("import"):
            self.run("import", "-window", "root", str(path))
        else:
            xwd = Path(str(path) + ".xwd")
            self.run("xwd", "-root", "-silent", "-out", str(xwd))
            self.run("convert", str(xwd), str(path))
            xwd.unlink()
        return path

    def start_studio(self, network: Path, folder: Path, hook: Path | None = None,
                     size: tuple[int, int] = (1024, 700)) -> Studio:
        """``schedstudio NETWORK`` on this display, with its settings in ``folder``."""
        env = dict(self.env, QT_QPA_PLATFORM="xcb", XDG_CONFIG_HOME=str(folder / "config"),
                   XDG_DATA_HOME=str(folder / "data"), IPYTHONDIR=str(folder / "ipython"))
        state_file, log = folder / "studio-state.json", folder / "studio.log"
        command = [sys.executable, __file__, str(network), str(state_file),
                   f"{size[0]}x{size[1]}"] + ([str(hook)] if hook else [])
        with open(log, "w") as out:
            process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        studio = Studio(process, state_file, log)
        self.studios.append(studio)
        return studio


def _start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    with open(log, "w") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _window_manager_running(env: dict) -> bool:
    done = subprocess.run(["xprop", "-root", "_NET_SUPPORTING_WM_CHECK"], env=env,
                          capture_output=True, text=True)
    return "window id" in done.stdout


@contextlib.contextmanager
def x_display(folder: Path, size: tuple[int, int] = SCREEN):
    """Xvfb on a free display with openbox managing it; skips the test when it cannot."""
    missing = missing_tools()
    if missing:
        pytest.skip(f"no real X display: {', '.join(missing)} not installed "
                    f"(packaging/ci_display_deps.sh installs them)")
    libraries = missing_xcb_libraries()
    if libraries:
        pytest.skip(f"Qt's xcb platform plugin cannot load: {', '.join(libraries)} missing "
                    f"(packaging/ci_display_deps.sh installs them)")
    env = {key: value for key, value in os.environ.items() if key != "WAYLAND_DISPLAY"}
    read, write = os.pipe()
    with open(folder / "xvfb.log", "w") as log:  # Xvfb picks a free display, says it when ready
        server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0",
                                   f"{size[0]}x{size[1]}x24", "-nolisten", "tcp"],
                                  env=env, stdout=log, stderr=subprocess.STDOUT,
                                  pass_fds=(write,))
    os.close(write)
    processes, display = [server], None
    try:
        number = _read_display(read, folder)
        env["DISPLAY"] = f":{number}"
        for attempt in range(3):  # on a busy machine openbox may find the display not yet
            #                           open ("Failed to open the display"): it exits, and
            #                           a new one is started
            openbox = _start(["openbox", "--sm-disable"], env, folder / "openbox.log")
            processes.append(openbox)
            _wait(lambda wm=openbox: _window_manager_running(env) or wm.poll() is not None, 30,
                  "openbox")  # slow on a busy machine
            if openbox.poll() is None:
                break
            time.sleep(0.2 * (attempt + 1))
        else:
            raise RuntimeError("openbox did not start: "
                               + (folder / "openbox.log").read_text().strip()[-500:])
        display = XDisplay(number, env)
        yield display
    finally:
        for studio in display.studios if display else []:
            studio.stop()
        for process in reversed(processes):
            _stop(process)


@pytest.fixture
def xdisplay(tmp_path):
    """A real X display with a window manager, for one test (its processes end with it)."""
    folder = tmp_path / "xdisplay"
    folder.mkdir()
    with x_display(folder) as display:
        yield display


# -- the studio's side: run as a script by start_studio --------------------------------------
def window_state(window) -> dict:
    """What the window shows, in plain data, for a test to read."""
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    def name_of(widget):
        return (widget.objectName() or type(widget).__name__) if widget is not None else ""

    def global_rect(widget, rect=None):
        rect = rect or widget.rect()
        corner = widget.mapToGlobal(rect.topLeft())
        return [corner.x(), corner.y(), rect.width(), rect.height()]

    panel, menu = window.panel, window.tab_menu
    viewport = panel.viewport()
    screen = (QGuiApplication.screenAt(window.geometry().center())
              or QGuiApplication.primaryScreen()).availableGeometry()
    points = {}
    for name, item in panel.items.items():
        center = viewport.mapToGlobal(panel.mapFromScene(item.sceneBoundingRect().topLeft()))
        points[name] = [center.x() + 40, center.y() + 16]
    net = window.document.network
    return {
        "window_active": window.isActiveWindow(),
        "active_popup": name_of(QApplication.activePopupWidget()),
        "focus": name_of(QApplication.focusWidget()),
        "tab_menu": {"visible": menu.isVisible(), "geometry": global_rect(menu),
                     "search": menu.search.text(), "entries": list(menu.entries()),
                     "current": menu.current()},
        "screen": [screen.x(), screen.y(), screen.width(), screen.height()],
        "window": global_rect(window),
        "panel": global_rect(viewport),
        "pane": global_rect(window.pane),
        "nodes": {spec.name: {"type": spec.type, "inputs": list(getattr(spec, "inputs", []))}
                  for spec in [*net.schedulers, *net.nodes]},
        "node_points": points,
        "visible_nodes": [name for name, item in panel.items.items()
                          if panel.mapToScene(viewport.rect()).boundingRect()
                          .contains(item.sceneBoundingRect().topLeft())],
        "selected": panel.selected(),
        "selected_all": panel.selected_names(),
        "undo": window.document.undo_text(),
        "zoom": panel.zoom(),
    }


def _drive(network: str, state_file: str, size: str, hook: str | None = None) -> int:
    """``schedstudio NETWORK``, writing ``window_state`` (and the hook's) to ``state_file``."""
    import runpy

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from schedstudio import main
    from schedstudio import window as window_module

    extra = runpy.run_path(hook)["state"] if hook else (lambda window: {})
    opened = []
    real_open = window_module.open_window

    def open_and_watch(path):
        window = real_open(path)
        window.resize(*(int(n) for n in size.split("x")))
        opened.append(window)
        return window

    def write():
        if opened:
            temporary = Path(state_file + ".part")
            temporary.write_text(json.dumps({**window_state(opened[0]), **extra(opened[0])}))
            temporary.replace(state_file)

    _app = QApplication([sys.argv[0]])  # kept alive: main() takes this instance
    timer = QTimer(interval=100)
    timer.timeout.connect(write)  # also lets Python see SIGTERM between Qt's events
    timer.start()
    # the test is over: the last state, then out at once (the window's own close is not
    # what is tested here, and its shell and threads take seconds to end)
    signal.signal(signal.SIGTERM, lambda *_: (write(), os._exit(0)))
    window_module.open_window = open_and_watch
    status = main.main([network])
    for window in opened:
        window.document.dirty = False
    return status


if __name__ == "__main__":
    sys.exit(_drive(*sys.argv[1:]))
