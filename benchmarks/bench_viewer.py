"""The studio stays responsive while a big cook streams in: 100,000 work items and 10,000 state
changes a second reach the real window (offscreen) through the engine's events.

A reporter thread plays jobs: for 5,000 items a second it reports the start and the success
(10,000 state changes a second) to a real engine, whose events reach the window through its
bridge. A 10 ms timer on the GUI thread measures how late each of its ticks comes: that lateness
is the event-loop stall a person would feel. Baseline, in the same run: the same window idle.
Target: 99th percentile stall <= 50 ms.

The cook runs three times, each in a new window, the Cook Viewer showing: its items table
without the timeline's record (as before the timeline: ``bare``), its items table (the
timeline's record follows the cook unseen: ``table``), and its timeline (which follows the
cook, fitting it as it grows: ``timeline``); the stalls of the last two are given as ratios
to the bare table's, with the GUI thread's CPU during the cook (``gui_cpu_seconds``: the
steadier figure on a busy machine). ``--rounds N`` runs N such turns, the sides taking
turns to go first (each ratio is the median of the rounds'); ``--table-only`` runs the
table's alone.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from schedcore.results import ScheduleResult
from schedcore.schedulers import Scheduler
from schedstudio.document import Document
from schedstudio.window import MainWindow

ITEMS = 100_000
RATE = 5_000  # items a second, each two state changes (start, success)
TICK_MS = 10


class Remote(Scheduler):
    """Every item is 'submitted' at once; the reporter thread plays their jobs."""

    type_name = "remote"

    def __init__(self):
        super().__init__("remote", {"pdg_maxitems": -1})
        self.submitted = threading.Event()
        self.count = 0

    def onSchedule(self, work_item):
        self.count += 1
        if self.count == ITEMS:
            self.submitted.set()
        return ScheduleResult.Succeeded


def report(scheduler: Remote, first_id: int) -> None:
    scheduler.submitted.wait(120)
    started = time.perf_counter()
    for n in range(ITEMS):
        item_id = first_id + n
        scheduler.workItemStartCook(item_id)
        scheduler.workItemSucceeded(item_id, -1, 0.01)
        if n % 500 == 499:  # keep to RATE items a second
            delay = started + (n + 1) / RATE - time.perf_counter()
            if delay > 0:
                time.sleep(delay)


def lateness(app: QApplication, seconds: float, until=None) -> list[float]:
    """Milliseconds each 10 ms tick came late, for ``seconds`` or until ``until()``. A loop
    of its own: ``QApplication.quit()`` would close the window being measured (Qt 6)."""
    late: list[float] = []
    loop = QEventLoop()
    clock = QElapsedTimer()
    clock.start()
    last = [clock.elapsed()]
    deadline = time.monotonic() + seconds

    def tick() -> None:
        now = clock.elapsed()
        late.append(max(0.0, now - last[0] - TICK_MS))
        last[0] = now
        if time.monotonic() > deadline or (until is not None and until()):
            loop.quit()

    timer = QTimer(interval=TICK_MS)
    timer.timeout.connect(tick)
    timer.start()
    loop.exec()
    timer.stop()
    return late


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def cook_in_window(app: QApplication, path: Path, tab: str) -> dict:
    """One cook of the big network in a new window, the Cook Viewer showing ``tab``."""
    window = MainWindow(Document.open(path))
    window.resize(1280, 800)
    window.show()
    viewer = window.viewer
    visible = []  # the Cook Viewer seen while the cook runs: the stalls include its paints
    if tab == "timeline":
        viewer.show_timeline()
    elif tab == "bare":  # nothing recorded for a timeline: the viewer as it was without one
        window.bridge.itemsChanged.disconnect(viewer._timeline_changed)
    idle = lateness(app, 3.0)
    scheduler = Remote()
    started = time.perf_counter()
    gui_cpu = time.thread_time()  # the GUI thread's CPU: steadier than stalls when busy
    engine = window.bridge.start(window.document.network, scheduler=scheduler)
    reporter = threading.Thread(target=report, args=(scheduler, 1), daemon=True)
    reporter.start()
    busy = lateness(app, 120.0, until=lambda: visible.append(viewer.isVisible()) or (
        engine.result is not None and not window.bridge.cooking))
    app.processEvents()
    elapsed = time.perf_counter() - started
    gui_cpu = time.thread_time() - gui_cpu
    reporter.join(30)
    figures = {"cook_seconds": round(elapsed, 1), "gui_cpu_seconds": round(gui_cpu, 2),
               "rows_shown": len(viewer.model.rows),
               "items_cooked_in_viewer":
                   window.bridge.counts.get("big", {}).get("CookedSuccess", 0),
               "bars": len(viewer.spans.lanes), "lanes": len(viewer.spans.lanes.rows),
               "viewer_shown": all(visible),
               "idle_p99_ms": round(percentile(idle, 0.99), 1),
               "cook_p50_ms": round(statistics.median(busy), 1),
               "cook_p99_ms": round(percentile(busy, 0.99), 1),
               "cook_max_ms": round(max(busy), 1)}
    window.document.dirty = False
    window.close()
    window.deleteLater()
    app.processEvents()
    return figures


def ratios(table: dict, shown: dict) -> dict:
    return {"p99_ratio": round(shown["cook_p99_ms"] / max(table["cook_p99_ms"], 0.1), 2),
            "max_ratio": round(shown["cook_max_ms"] / max(table["cook_max_ms"], 0.1), 2),
            "gui_cpu_ratio": round(shown["gui_cpu_seconds"] / table["gui_cpu_seconds"], 2)}


def main(timeline: bool = True, rounds: int = 1) -> dict:
    """The table's cook (and the others'): ``rounds`` turns of them, the sides taking turns
    to go first, so that the machine's other work hits them alike."""
    app = QApplication.instance() or QApplication([])
    sides = ("bare", "table", "timeline") if timeline else ("table",)
    runs: list[dict] = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.top.json"
        path.write_text(json.dumps({"format": "schedcore-network", "nodes": [
            {"name": "big", "type": "genericgenerator", "inputs": [],
             "parms": {"itemcount": ITEMS, "command": "x"}}]}))
        for turn in range(rounds if timeline else 1):
            order = sides[turn % len(sides):] + sides[:turn % len(sides)]
            runs.append({side: cook_in_window(app, path, side) for side in order})
    table = runs[0]["table"]
    result = {"benchmark": "studio event-loop stall", "items": ITEMS,
              "state_changes_per_s": 2 * RATE,
              **{k: v for k, v in table.items() if k not in ("bars", "lanes")},
              "target": "p99 <= 50 ms"}
    if timeline:
        result["bare"] = runs[0]["bare"]
        result["timeline"] = runs[0]["timeline"]
        for side in ("table", "timeline"):
            each = [ratios(run["bare"], run[side]) for run in runs]
            result[f"{side}_vs_bare"] = {key: round(statistics.median(r[key] for r in each), 2)
                                         for key in ("p99_ratio", "max_ratio",
                                                     "gui_cpu_ratio")}
        if rounds > 1:
            result["rounds"] = [{side: (run[side]["cook_p99_ms"], run[side]["cook_max_ms"],
                                        run[side]["gui_cpu_seconds"])
                                 for side in sides} for run in runs]
    return result


if __name__ == "__main__":
    args = sys.argv[1:]
    count = int(args[args.index("--rounds") + 1]) if "--rounds" in args else 1
    print(json.dumps(main(timeline="--table-only" not in args, rounds=count), indent=1))
