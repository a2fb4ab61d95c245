"""Start-up time as a person sees it, as ratios to baselines measured in the same run.

- The command: ``schedcore --version`` and ``schedcore --help`` against ``python -c pass``
  (the same interpreter). Target: each at most 3x.
- The studio: ``schedstudio NETWORK`` (the example it opens with no argument) from the command
  to its window first exposed, against a bare PySide6 QMainWindow script started and stopped
  the same way. Target: at most 2x. Both run on Qt's offscreen platform unless
  ``QT_QPA_PLATFORM`` says otherwise; the studio exits when shown through
  ``SCHEDSTUDIO_EXIT_WHEN_SHOWN`` (see ``schedstudio.main``). Two figures: to the end of the
  process (``studio_ratio``: the start, and the exit that follows at once), and to the line
  each prints as its window is first exposed (``studio_shown_ratio``: what a person waits for).

Each command runs as a new process, the commands alternating, many times; the figure is the
median. Byte-code caches are written first (an installed package has them), and every process
gets fresh settings and data folders, so nothing a user left changes what is measured.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from schedcore import examples

REPEATS = int(os.environ.get("BENCH_STARTUP_REPEATS", "21"))
CLI_TARGET, STUDIO_TARGET = 3.0, 2.0

BARE_WINDOW = """\
import sys
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QMainWindow


class Exposed(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Expose and watched.isExposed():
            print("shown", flush=True)
            QApplication.exit(0)
        return False


app = QApplication(sys.argv)
window = QMainWindow()
window.resize(1400, 840)
window.show()
handle = window.windowHandle()
handle.installEventFilter(Exposed(handle))
sys.exit(app.exec())
"""


def command(name: str, module: str) -> list[str]:
    """The installed console script beside this Python, as a user runs it, else ``-m``."""
    script = Path(sys.executable).parent / name
    return [str(script)] if script.is_file() else [sys.executable, "-m", module]


def environment(folder: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env.update(QT_API="pyside6", SCHEDSTUDIO_EXIT_WHEN_SHOWN="1",
               XDG_CONFIG_HOME=str(folder / "config"), XDG_DATA_HOME=str(folder / "data"),
               XDG_CACHE_HOME=str(folder / "cache"), IPYTHONDIR=str(folder / "ipython"))
    return env


def once(argv: list[str], env: dict, shown: bool) -> tuple[float, float]:
    """Seconds from the start to the process's end, and to its "shown" line (its window
    first exposed; the end again for a command without a window)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as errors, subprocess.Popen(
            argv, env=env, stdout=subprocess.PIPE, stderr=errors, text=True) as process:
        seen = None
        while shown and seen is None:
            line = process.stdout.readline()
            if not line:
                break
            if line.strip() == "shown":
                seen = time.perf_counter() - started
        process.communicate(timeout=120)
        elapsed = time.perf_counter() - started
        if process.returncode != 0 or (shown and seen is None):
            errors.seek(0)
            raise RuntimeError(f"{' '.join(argv)} failed ({process.returncode}): "
                               f"{errors.read()[-2000:]}")
    return elapsed, seen if seen is not None else elapsed


def medians(commands: dict[str, tuple[list[str], bool]],
            env: dict) -> tuple[dict[str, float], dict[str, float]]:
    """Median seconds of each command to its end and to its window shown, run alternately
    ``REPEATS`` times after a warm-up."""
    for argv, shown in commands.values():  # warm-up: byte-code caches, the disk cache
        once(argv, env, shown)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(REPEATS):
        for name, (argv, shown) in commands.items():
            times[name].append(once(argv, env, shown))
    return ({name: statistics.median(t[0] for t in values) for name, values in times.items()},
            {name: statistics.median(t[1] for t in values) for name, values in times.items()})


def main() -> dict:
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        env = environment(folder)
        schedcore = command("schedcore", "schedcore")
        cli, _ = medians({"python -c pass": ([sys.executable, "-c", "pass"], False),
                       "schedcore --version": ([*schedcore, "--version"], False),
                       "schedcore --help": ([*schedcore, "--help"], False)}, env)
        network = folder / "examples" / examples.DEFAULT
        examples.copy_to(network.parent)
        bare = folder / "bare_window.py"
        bare.write_text(BARE_WINDOW)
        studio, shown = medians({"bare window": ([sys.executable, str(bare)], True),
                          "schedstudio": ([*command("schedstudio", "schedstudio.main"),
                                           str(network)], True)}, env)
        shutil.rmtree(folder / "examples", ignore_errors=True)
    ms = {name: round(1000 * seconds, 1) for name, seconds in {**cli, **studio}.items()}
    return {"benchmark": "start-up", "repeats": REPEATS, "median_ms": ms,
            "median_to_shown_ms": {name: round(1000 * seconds, 1)
                                   for name, seconds in shown.items()},
            "cli_version_ratio": round(cli["schedcore --version"] / cli["python -c pass"], 2),
            "cli_help_ratio": round(cli["schedcore --help"] / cli["python -c pass"], 2),
            "studio_ratio": round(studio["schedstudio"] / studio["bare window"], 2),
            "studio_shown_ratio": round(shown["schedstudio"] / shown["bare window"], 2),
            "target": f"cli <= {CLI_TARGET:g}x python -c pass; studio <= {STUDIO_TARGET:g}x "
                      f"a bare PySide6 window"}


if __name__ == "__main__":
    print(json.dumps(main(), indent=1))
