"""Engine overhead as the cook grows: the per-item cost from 10,000 to 1,000,000 items.

Items whose ``onSchedule`` returns ``CookSucceeded`` at once (as in ``bench_engine.py``), with
the cook journal on (WAL), spread evenly over several ``genericgenerator`` nodes side by side
so that no node makes more than the default per-node limit (250,000 items; a cook may make
1,000,000: ``schedcore/limits.py``). Each size cooks in a fresh subprocess, after a cook of
100 items there (lazy imports, the registry's scan), and reports the cook's wall seconds
(``Engine(...)`` and ``run()``), microseconds per item and its peak RSS (``ru_maxrss`` of
the subprocess). The figure that matters is the ratio of the per-item cost at the largest
size to that at the smallest: a cook that grows linearly keeps it near 1.

Goal: ratio <= 1.2; 1,000,000 items in <= 15 s and <= 600 MB peak RSS.

    bench_engine_scale.py [--sizes 10000,100000,...] [--max N] [--nodes N] [--rounds N]
                          [--rev REF]

``--max N`` leaves out the sizes above N (``--max 300000`` on a small machine). ``--rev REF``
measures ``schedcore/`` as it was at a git revision (extracted into a temporary folder,
removed afterwards) instead of the working tree: the curve before a change.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = (10_000, 100_000, 300_000, 1_000_000)
NODES = 5  # 200,000 items each at a million
NODE_LIMIT, COOK_LIMIT = 250_000, 1_000_000  # schedcore.limits' defaults
JOURNAL_MODE_VAR = "SCHEDCORE_JOURNAL_MODE"
GOALS = {"ratio": 1.2, "seconds_at_million": 15.0, "peak_mb_at_million": 600.0}


# == the measuring side (a subprocess) ==================================================
def measure(count: int, nodes: int, root: str) -> dict:
    sys.path.insert(0, root)
    import resource

    import schedcore
    from schedcore import network as network_file
    from schedcore.engine import Engine
    from schedcore.results import ScheduleResult
    from schedcore.schedulers import Scheduler

    where = Path(schedcore.__file__).resolve().parent.parent
    if where != Path(root).resolve():
        raise SystemExit(f"imported schedcore from {where}, not from {root}")

    class Instant(Scheduler):
        type_name = "instant"

        def onSchedule(self, work_item):
            return ScheduleResult.CookSucceeded

    def load(folder: Path, items: int, parts: int):
        counts = [items // parts + (i < items % parts) for i in range(parts)]
        path = folder / f"scale{items}.top.json"
        path.write_text(json.dumps({"format": "schedcore-network", "version": 1, "nodes": [
            {"name": f"gen{i}", "type": "genericgenerator", "inputs": [],
             "parms": {"itemcount": n, "command": "true @pdg_index"}}
            for i, n in enumerate(counts)]}))
        return network_file.load(path)

    def cook(net):
        engine = Engine(net, scheduler=Instant("instant", {"pdg_maxitems": -1}), journal=True)
        return engine.run()

    with tempfile.TemporaryDirectory() as folder:
        cook(load(Path(folder), 100, 1))
        net = load(Path(folder), count, nodes)
        started = time.perf_counter()
        result = cook(net)
        elapsed = time.perf_counter() - started
        if not (result.ok and len(result.items) == count):
            errors = "; ".join(getattr(result, "errors", None) or [])
            raise SystemExit(f"the cook of {count:,} items failed or made "
                             f"{len(result.items):,}: {errors}")
        del result
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_bytes = peak if sys.platform == "darwin" else peak * 1024  # Linux says KiB
    return {"cook_s": round(elapsed, 3), "peak_mb": round(peak_bytes / 1e6, 1)}


# == the driving side ===================================================================
def run_size(count: int, nodes: int, root: Path) -> dict:
    env = dict(os.environ, **{JOURNAL_MODE_VAR: "wal"})
    started = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--measure", str(count),
                           "--nodes", str(nodes), "--root", str(root)],
                          env=env, capture_output=True, text=True)
    process = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"the cook of {count:,} items failed:\n{done.stderr[-2000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return {"items": count, **figures, "process_s": round(process, 3),
            "us_per_item": round(figures["cook_s"] / count * 1e6, 2)}


def check_limits(sizes: list[int], nodes: int) -> None:
    node_limit = int(os.environ.get("SCHEDCORE_MAX_NODE_ITEMS") or NODE_LIMIT)
    cook_limit = int(os.environ.get("SCHEDCORE_MAX_ITEMS") or COOK_LIMIT)
    for size in sizes:
        if math.ceil(size / nodes) > node_limit or size > cook_limit:
            raise SystemExit(f"{size:,} items on {nodes} nodes exceed the limits of "
                             f"{node_limit:,} items a node and {cook_limit:,} a cook: "
                             f"use more --nodes, or raise the limits")


def main(sizes=SIZES, nodes: int = NODES, rounds: int = 1, rev: str | None = None,
         show: bool = False) -> dict:
    sizes = sorted(sizes)
    check_limits(sizes, nodes)
    best: dict[int, dict] = {}
    with tempfile.TemporaryDirectory(prefix="schedcore-rev-") as folder:
        root = ROOT
        if rev:
            from bench_engine_vs_release import extract
            root = Path(folder)
            extract(rev, root)
        for number in range(rounds):
            for size in sizes if number % 2 == 0 else reversed(sizes):
                row = run_size(size, nodes, root)
                if size not in best or row["us_per_item"] < best[size]["us_per_item"]:
                    best[size] = row
                if show and rounds > 1:
                    print(f"round {number + 1}: {size:>9,} items "
                          f"{row['us_per_item']:7.2f} us/item", flush=True)
    rows = [best[size] for size in sizes]
    ratio = round(rows[-1]["us_per_item"] / rows[0]["us_per_item"], 3) if len(rows) > 1 else None
    if show:
        print(f"{'items':>10} {'nodes':>5} {'cook s':>8} {'us/item':>8} {'peak MB':>8} "
              f"{'process s':>9}")
        for row in rows:
            print(f"{row['items']:>10,} {nodes:>5} {row['cook_s']:>8.2f} {row['us_per_item']:>8.2f}"
                  f" {row['peak_mb']:>8.1f} {row['process_s']:>9.2f}")
        if ratio is not None:
            print(f"us/item at {rows[-1]['items']:,} / at {rows[0]['items']:,}: {ratio}")
    million = best.get(1_000_000)
    return {"benchmark": "engine overhead as the cook grows", "code": rev or "working tree",
            "nodes": nodes, "rounds": rounds,
            "journal": "wal", "sizes": rows,
            "ratio_us_per_item_largest_to_smallest": ratio,
            "goals_met": {
                "ratio": None if ratio is None else ratio <= GOALS["ratio"],
                **({"seconds_at_million": million["cook_s"] <= GOALS["seconds_at_million"],
                    "peak_mb_at_million": million["peak_mb"] <= GOALS["peak_mb_at_million"]}
                   if million else {})},
            "target": "us/item at the largest size <= 1.2 x at the smallest; "
                      "1,000,000 items <= 15 s and <= 600 MB peak RSS"}


def parse_sizes(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=parse_sizes, default=list(SIZES),
                        help="comma-separated item counts (default: 10000,100000,300000,1000000)")
    parser.add_argument("--max", type=int, help="leave out the sizes above this")
    parser.add_argument("--nodes", type=int, default=NODES,
                        help="generator nodes the items are spread over (default: 5)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="fresh subprocesses per size; the fastest counts (default: 1)")
    parser.add_argument("--rev", metavar="REF",
                        help="measure schedcore as it was at this git revision")
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--root", default=str(ROOT), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.nodes, args.root)))
    else:
        sizes = [size for size in args.sizes if args.max is None or size <= args.max]
        if not sizes:
            parser.error("no size left under --max")
        print(json.dumps(main(sizes, args.nodes, args.rounds, args.rev, show=True)))
