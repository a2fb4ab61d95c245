"""Dask scheduler overhead: 400 ``true`` items cooked with ``daskscheduler`` against raw
``client.submit(subprocess.call, ["true"])`` of the same commands, gathered, on the same
LocalCluster (2 worker processes of 1 thread) in the same run.

The baseline is what Dask itself costs per task plus the process start; the ratio (cook time
/ baseline time) says what the scheduler adds around it: the engine, the client's callbacks
and events, the item's log file. Target: <= 1.2. A second baseline also gives each command a
log file of its own, as every item has (on some disks creating a file costs a good part of a
process start). The cook is timed twice: until its last item finished, and until
``Engine.run`` returned (the end of the cook also stops the result server). Each round runs
every side once, in turns of order, so that noise on a shared machine hits every side alike;
the ratios are the medians of the rounds' ratios. The cluster is warmed up first (worker
imports, the watchdog processes).

Two clusters: the default one, whose scheduler runs in the cook's own process (as the
LocalCluster a cook without ``dask_address`` makes: the laptop case), and with ``--separate``
a ``dask scheduler`` and ``dask worker`` processes of their own (a farm's case), where the
baselines are ``client.map`` of the same commands too.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cloudpickle
from distributed import Client, LocalCluster

from schedcore import network as network_file
from schedcore.engine import Engine
from schedcore.events import ItemStateChanged

if __name__ != "__main__":  # workers cannot import this file: send its functions by value
    cloudpickle.register_pickle_by_value(sys.modules[__name__])


def network(folder: Path, count: int, address: str):
    folder.mkdir(exist_ok=True)
    path = folder / "true.top.json"
    path.write_text(json.dumps({
        "format": "schedcore-network", "version": 1,
        "schedulers": [{"name": "dask", "type": "daskscheduler",
                        "parms": {"dask_address": address}}],
        "nodes": [{"name": "gen", "type": "genericgenerator", "inputs": [],
                   "parms": {"itemcount": count, "command": "true"}}]}))
    return network_file.load(path)


def scheduler_run(net, count: int) -> tuple[float, float]:
    """Seconds until the last item finished, and until the cook returned."""
    engine = Engine(net, journal=False)
    last = [0.0]

    def watch(event):
        if isinstance(event, ItemStateChanged) and event.new.is_final:
            last[0] = time.perf_counter()

    engine.events.subscribe(watch)
    started = time.perf_counter()
    result = engine.run()
    elapsed = time.perf_counter() - started
    assert result.ok and len(result.items) == count, result.errors
    return last[0] - started, elapsed


def baseline_run(client: Client, count: int) -> float:
    started = time.perf_counter()
    futures = [client.submit(subprocess.call, ["true"], pure=False) for _ in range(count)]
    codes = client.gather(futures)
    elapsed = time.perf_counter() - started
    assert codes == [0] * count
    return elapsed


def map_run(client: Client, count: int) -> float:
    """The same commands submitted at once (one message for all)."""
    started = time.perf_counter()
    futures = client.map(subprocess.call, [["true"]] * count, pure=False)
    codes = client.gather(futures)
    elapsed = time.perf_counter() - started
    assert codes == [0] * count
    return elapsed


def call_with_log(log_path: str) -> int:
    """The baseline's command with its output in a log file of its own."""
    with open(log_path, "ab", buffering=0) as log:
        return subprocess.call(["true"], stdout=log, stderr=subprocess.STDOUT)


def baseline_with_logs_run(client: Client, count: int, folder: Path) -> float:
    folder.mkdir()
    started = time.perf_counter()
    futures = [client.submit(call_with_log, str(folder / f"job{n}.log"), pure=False)
               for n in range(count)]
    codes = client.gather(futures)
    elapsed = time.perf_counter() - started
    assert codes == [0] * count
    return elapsed


SIDES = ["baseline", "baseline with log files", "daskscheduler", "map"]


@contextlib.contextmanager
def in_process_cluster():
    """The default cluster: its scheduler in this (the cook's) process."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        yield cluster.scheduler_address


@contextlib.contextmanager
def separate_cluster(folder: Path):
    """``dask scheduler`` and two ``dask worker`` processes of 1 thread each."""
    dask = Path(sys.executable).with_name("dask")
    info = folder / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", info], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        while not info.exists():
            time.sleep(0.05)
        address = json.loads(info.read_text())["address"]
        procs += [subprocess.Popen([dask, "worker", address, "--nthreads", "1",
                                    "--no-dashboard"], env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL) for _ in range(2)]
        with Client(address) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(30)


def main(count: int = 400, rounds: int = 5, separate: bool = False) -> dict:
    done, ours, base, logged, mapped = [], [], [], [], []
    with tempfile.TemporaryDirectory() as folder, \
            (separate_cluster(Path(folder)) if separate else in_process_cluster()) as address, \
            Client(address) as client:
        scheduler_run(network(Path(folder, "warm").resolve(), 20, address), 20)
        baseline_run(client, 20)
        map_run(client, 20)
        baseline_with_logs_run(client, 20, Path(folder, "warm-logs"))
        for n in range(rounds):
            # a fresh folder each round: every log file is a new file, as in a cook
            net = network(Path(folder, f"cook{n}").resolve(), count, address)
            for side in SIDES[n % 4:] + SIDES[:n % 4]:  # each side in each place in turn
                if side == "baseline":
                    base.append(baseline_run(client, count))
                elif side == "map":
                    mapped.append(map_run(client, count))
                elif side == "baseline with log files":
                    logged.append(baseline_with_logs_run(client, count,
                                                         Path(folder, f"logs{n}")))
                else:
                    items_s, cook_s = scheduler_run(net, count)
                    done.append(items_s)
                    ours.append(cook_s)

    def median_ratio(times: list[float], baselines: list[float]) -> float:
        # round by round: a busy spell of the machine slows both sides of a round alike
        return round(statistics.median(t / b for t, b in zip(times, baselines, strict=True)),
                     2)

    done_s, base_s = statistics.median(done), statistics.median(base)
    return {"benchmark": "dask scheduler overhead", "items": count, "workers": 2,
            "cluster": "separate processes" if separate else "scheduler in the cook's process",
            "load_average": round(os.getloadavg()[0], 2),
            "rounds": rounds, "items_done_s": round(done_s, 2),
            "cook_returned_s": round(statistics.median(ours), 2),
            "baseline_s": round(base_s, 2),
            "baseline_with_log_files_s": round(statistics.median(logged), 2),
            "items_per_s": round(count / done_s),
            "baseline_items_per_s": round(count / base_s),
            "overhead_ms_per_item": round((done_s - base_s) / count * 1000, 2),
            "ratio": median_ratio(done, base),
            "ratio_range": [round(min(t / b for t, b in zip(done, base, strict=True)), 2),
                            round(max(t / b for t, b in zip(done, base, strict=True)), 2)],
            "ratio_to_client_map": median_ratio(done, mapped),
            "ratio_to_baseline_with_log_files": median_ratio(done, logged),
            "ratio_cook_returned": median_ratio(ours, base), "target": "<= 1.2"}


if __name__ == "__main__":
    args = [arg for arg in sys.argv[1:] if arg != "--separate"]
    count = int(args[0]) if args else 400
    print(json.dumps(main(count, separate="--separate" in sys.argv), indent=1))
