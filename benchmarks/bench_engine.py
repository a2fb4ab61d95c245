"""Engine overhead: 100,000 items whose onSchedule returns CookSucceeded at once.

Measures the time and the memory per item of generating, scheduling and finishing items,
with no process start in the way: what the scheduler itself costs, with the cook journal on
(as every cook has it; WAL as on a local disk, and the rollback journal of a network
filesystem) and off. Target: <= 30 us and <= 1 KB per item. The baseline in the same run is
a plain loop that makes as many bare WorkItem objects, so the ratio says what the cook adds
around the item itself.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from schedcore import network as network_file
from schedcore.engine import Engine
from schedcore.journal import MODE_VAR
from schedcore.results import ScheduleResult
from schedcore.schedulers import Scheduler
from schedcore.workitem import WorkItem


class Instant(Scheduler):
    type_name = "instant"

    def onSchedule(self, work_item):
        return ScheduleResult.CookSucceeded


def network(folder: Path, count: int):
    path = folder / "bench.top.json"
    path.write_text(json.dumps({"format": "schedcore-network", "version": 1, "nodes": [
        {"name": "gen", "type": "genericgenerator", "inputs": [],
         "parms": {"itemcount": count, "command": "true @pdg_index"}}]}))
    return network_file.load(path)


def cook(net, journal: bool = True) -> tuple[float, int]:
    gc.collect()
    engine = Engine(net, scheduler=Instant("instant", {"pdg_maxitems": -1}), journal=journal)
    started = time.perf_counter()
    result = engine.run()
    elapsed = time.perf_counter() - started
    assert result.ok and len(result.items) == len(engine.items)
    return elapsed, len(result.items)


def memory(net) -> int:
    gc.collect()
    tracemalloc.start()
    engine = Engine(net, scheduler=Instant("instant", {"pdg_maxitems": -1}))
    engine.run()
    current, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del engine
    return current


def baseline(count: int) -> float:
    started = time.perf_counter()
    items = [WorkItem(i, "gen", i) for i in range(count)]
    elapsed = time.perf_counter() - started
    del items
    return elapsed


def cooks(net, mode: str, times: int = 3) -> list[float]:
    """Cook times with the journal in ``mode`` (wal, or rollback as on NFS)."""
    os.environ[MODE_VAR] = mode
    try:
        return [cook(net)[0] for _ in range(times)]
    finally:
        del os.environ[MODE_VAR]


def main(count: int = 100_000) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        net = network(Path(folder), count)
        runs = cooks(net, "wal")
        rollback_runs = cooks(net, "rollback")
        bare_runs = [cook(net, journal=False)[0] for _ in range(3)]
        bare = min(baseline(count) for _ in range(3))
        held = memory(network(Path(folder), count // 10)) / (count // 10)
    best = min(runs)
    return {"benchmark": "engine overhead", "items": count,
            "us_per_item": round(best / count * 1e6, 2),
            "us_per_item_without_journal": round(min(bare_runs) / count * 1e6, 2),
            "us_per_item_rollback_journal": round(min(rollback_runs) / count * 1e6, 2),
            "bytes_per_item": round(held),
            "bare_workitem_us": round(bare / count * 1e6, 2),
            "ratio_to_bare_workitem": round(best / bare, 1),
            "targets": "<= 30 us and <= 1024 bytes per item"}


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    print(json.dumps(main(count), indent=1))
