"""Local Scheduler throughput: 2,000 ``true`` items on 2 slots, against a
``ThreadPoolExecutor(2)`` running ``subprocess.run(["true"])`` in the same run.

Process start is the physical limit; the ratio (scheduler throughput / baseline throughput)
says how much of it the scheduler keeps. Target: >= 0.9. A second baseline does the same work
the scheduler must do for each item beyond the process: create its own log file for stdout and
stderr (on some disks creating a file costs a good part of a process start). Runs alternate so
that noise on a shared machine hits every side alike; medians are compared.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from schedcore import network as network_file
from schedcore.engine import Engine


def network(folder: Path, count: int):
    folder.mkdir(exist_ok=True)
    path = folder / "true.top.json"
    path.write_text(json.dumps({
        "format": "schedcore-network", "version": 1,
        "schedulers": [{"name": "local", "type": "localscheduler",
                        "parms": {"maxprocs": 2}}],
        "nodes": [{"name": "gen", "type": "genericgenerator", "inputs": [],
                   "parms": {"itemcount": count, "command": "true"}}]}))
    return network_file.load(path)


def scheduler_run(net, count: int) -> float:
    started = time.perf_counter()
    result = Engine(net).run()
    elapsed = time.perf_counter() - started
    assert result.ok and len(result.items) == count
    return count / elapsed


def baseline_run(count: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        codes = list(pool.map(lambda _: subprocess.run(["true"]).returncode, range(count)))
    elapsed = time.perf_counter() - started
    assert codes == [0] * count
    return count / elapsed


def baseline_with_logs_run(count: int, folder: Path) -> float:
    def job(n: int) -> int:
        with open(folder / f"job{n}.log", "ab", buffering=0) as log:
            return subprocess.run(["true"], stdout=log, stderr=subprocess.STDOUT).returncode

    folder.mkdir()
    started = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        codes = list(pool.map(job, range(count)))
    elapsed = time.perf_counter() - started
    assert codes == [0] * count
    return count / elapsed


def main(count: int = 2000, rounds: int = 3) -> dict:
    ours, base, logged = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        for n in range(rounds):
            # a fresh folder each round: every log file is a new file, as in a real cook
            net = network(Path(folder, f"cook{n}").resolve(), count)
            base.append(baseline_run(count))
            logged.append(baseline_with_logs_run(count, Path(folder, f"logs{n}")))
            ours.append(scheduler_run(net, count))
    ours_rate = statistics.median(ours)
    return {"benchmark": "local scheduler throughput", "items": count, "slots": 2,
            "scheduler_items_per_s": round(ours_rate),
            "baseline_items_per_s": round(statistics.median(base)),
            "baseline_with_log_files_items_per_s": round(statistics.median(logged)),
            "ratio": round(ours_rate / statistics.median(base), 2),
            "ratio_to_baseline_with_log_files": round(ours_rate / statistics.median(logged), 2),
            "target": ">= 0.9"}


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    print(json.dumps(main(count), indent=1))
