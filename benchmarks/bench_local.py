"""Local Scheduler throughput: 2,000 ``true`` items on 2 slots, against a
``ThreadPoolExecutor(2)`` running ``subprocess.run(["true"])`` in the same run.

Process start is the physical limit; the ratio (scheduler throughput / baseline throughput)
says how much of it the scheduler keeps. Target: >= 0.95. A second baseline does the same work
the scheduler must do for each item beyond the process: create its own log file for stdout and
stderr (on some disks creating a file costs a good part of a process start). Runs alternate so
that noise on a shared machine hits every side alike; medians are compared. Each side's CPU
time in this process (not its children) per item is measured too: on 2 cores the parent's CPU
per item is what throughput follows once the processes themselves are paid for.
"""

from __future__ import annotations

import json
import os
import resource
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


def cpu_seconds() -> float:
    """CPU time of this process (every thread; not its children)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(count: int, work) -> tuple[float, float]:
    """Items per second of ``work()``, and this process's CPU microseconds per item."""
    cpu, started = cpu_seconds(), time.perf_counter()
    work()
    elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    return count / elapsed, cpu / count * 1e6


def scheduler_run(net, count: int) -> tuple[float, float]:
    def cook():
        result = Engine(net).run()
        assert result.ok and len(result.items) == count

    return timed(count, cook)


def baseline_run(count: int) -> tuple[float, float]:
    def pool_run():
        with ThreadPoolExecutor(2) as pool:
            codes = list(pool.map(lambda _: subprocess.run(["true"]).returncode,
                                  range(count)))
        assert codes == [0] * count

    return timed(count, pool_run)


def baseline_with_logs_run(count: int, folder: Path) -> tuple[float, float]:
    def job(n: int) -> int:
        with open(folder / f"job{n}.log", "ab", buffering=0) as log:
            return subprocess.run(["true"], stdout=log, stderr=subprocess.STDOUT).returncode

    def pool_run():
        with ThreadPoolExecutor(2) as pool:
            codes = list(pool.map(job, range(count)))
        assert codes == [0] * count

    folder.mkdir()
    return timed(count, pool_run)


def main(count: int = 2000, rounds: int = 5) -> dict:
    ours, base, logged = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        for n in range(rounds):
            # a fresh folder each round: every log file is a new file, as in a real cook
            net = network(Path(folder, f"cook{n}").resolve(), count)
            sides = ["baseline", "logged", "scheduler"]
            for side in sides[n % 3:] + sides[:n % 3]:  # each side in each place in turn
                if side == "baseline":
                    base.append(baseline_run(count))
                elif side == "logged":
                    logged.append(baseline_with_logs_run(count, Path(folder, f"logs{n}")))
                else:
                    ours.append(scheduler_run(net, count))

    def ratios(baseline):  # round by round: a busy spell slows both sides of a round alike
        values = sorted(o[0] / b[0] for o, b in zip(ours, baseline, strict=True))
        return round(statistics.median(values), 2), [round(values[0], 2), round(values[-1], 2)]

    def median(runs, at):
        return round(statistics.median(run[at] for run in runs))

    ratio, spread = ratios(base)
    logged_ratio, logged_spread = ratios(logged)
    return {"benchmark": "local scheduler throughput", "items": count, "slots": 2,
            "rounds": rounds, "load_average": round(os.getloadavg()[0], 2),
            "scheduler_items_per_s": median(ours, 0),
            "baseline_items_per_s": median(base, 0),
            "baseline_with_log_files_items_per_s": median(logged, 0),
            "ratio": ratio, "ratio_range": spread,
            "ratio_to_baseline_with_log_files": logged_ratio,
            "ratio_to_baseline_with_log_files_range": logged_spread,
            "parent_cpu_us_per_item": median(ours, 1),
            "baseline_parent_cpu_us_per_item": median(base, 1),
            "baseline_with_log_files_parent_cpu_us_per_item": median(logged, 1),
            "target": ">= 0.95"}


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    print(json.dumps(main(count), indent=1))
