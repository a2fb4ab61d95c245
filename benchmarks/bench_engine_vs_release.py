"""Engine overhead, the working tree against the previous release, in one run.

The measurement of ``bench_engine.py`` (items whose ``onSchedule`` returns ``CookSucceeded``
at once; one ``genericgenerator`` node, ``pdg_maxitems`` -1) for both sides: a cook without
the journal, a cook with it (WAL), and the bytes per item that ``tracemalloc`` sees held
after a cook. Each side cooks in its own subprocess, so that each imports its own
``schedcore``: the release from ``git archive`` of the baseline extracted into a temporary
folder (removed afterwards), the working tree as it is on disk. The sides alternate over
several rounds (in turns of order), so that noise on a shared machine hits both alike; the
ratios are working tree / release, the median of the rounds' ratios.

The cook uses only API that both versions have: ``schedcore.network.load``,
``schedcore.engine.Engine(network, scheduler=..., journal=...).run()``, a
``schedcore.schedulers.Scheduler`` subclass and ``schedcore.results.ScheduleResult``.

    bench_engine_vs_release.py [--baseline REF] [--tree REF] [--items N] [--rounds N]

``--baseline`` defaults to the newest ``v*`` tag reachable from HEAD. ``--tree REF`` measures
a git revision (extracted like the release) instead of the working tree, e.g. while the
working tree is in the middle of a change that does not import.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
JOURNAL_MODE_VAR = "SCHEDCORE_JOURNAL_MODE"  # wal | rollback (both versions read it)


# == the measuring side (a subprocess; imports the schedcore of --root) ==================
def measure(root: str, count: int, memory_count: int) -> dict:
    sys.path.insert(0, root)
    import gc
    import time
    import tracemalloc

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

    def load(folder: Path, items: int):
        path = folder / f"bench{items}.top.json"
        path.write_text(json.dumps({"format": "schedcore-network", "version": 1, "nodes": [
            {"name": "gen", "type": "genericgenerator", "inputs": [],
             "parms": {"itemcount": items, "command": "true @pdg_index"}}]}))
        return network_file.load(path)

    def engine(net, journal: bool):
        return Engine(net, scheduler=Instant("instant", {"pdg_maxitems": -1}), journal=journal)

    def timed(net, journal: bool) -> float:
        gc.collect()
        cook = engine(net, journal)
        started = time.perf_counter()
        result = cook.run()
        elapsed = time.perf_counter() - started
        if not (result.ok and len(result.items) == count):
            raise SystemExit(f"the cook failed or made {len(result.items)} of {count} items")
        return elapsed

    with tempfile.TemporaryDirectory() as folder:
        engine(load(Path(folder), 100), True).run()  # lazy imports, the registry's scan
        net = load(Path(folder), count)
        bare = timed(net, journal=False)
        wal = timed(net, journal=True)
        small = load(Path(folder), memory_count)
        gc.collect()
        tracemalloc.start()
        cook = engine(small, True)
        cook.run()
        held, _peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        del cook
    return {"us_per_item_without_journal": round(bare / count * 1e6, 2),
            "us_per_item": round(wal / count * 1e6, 2),
            "bytes_per_item": round(held / memory_count)}


# == the comparing side =================================================================
def git(*args: str, binary: bool = False):
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True,
                          text=not binary).stdout


def newest_release() -> str | None:
    """The newest ``v*`` tag reachable from HEAD (by version), or None."""
    tags = git("tag", "--merged", "HEAD", "--list", "v*", "--sort=-v:refname").split()
    return tags[0] if tags else None


def extract(ref: str, folder: Path) -> None:
    """``schedcore/`` as it is at ``ref``, into ``folder``."""
    archive = git("archive", "--format=tar", ref, "schedcore", binary=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(folder, filter="data")
        else:  # a Python without extraction filters; the archive is git's own
            tar.extractall(folder)


def run_side(side: str, root: Path, count: int, memory_count: int) -> dict:
    env = dict(os.environ, **{JOURNAL_MODE_VAR: "wal"})
    done = subprocess.run([sys.executable, __file__, "--measure", str(root), "--items",
                           str(count), "--memory-items", str(memory_count)],
                          env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"the {side} side failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def ratio(rounds: list[dict], key: str) -> float:
    return round(statistics.median(r["working tree"][key] / r["release"][key]
                                   for r in rounds), 3)


def main(count: int = 100_000, rounds: int = 4, baseline: str | None = None,
         memory_count: int | None = None, tree: str | None = None, show: bool = False) -> dict:
    name = "engine overhead: working tree vs release"
    baseline = baseline or newest_release()
    if baseline is None:
        return {"benchmark": name, "skipped": "no v* tag reachable from HEAD"}
    memory_count = memory_count or min(count, max(count // 10, 10_000))
    commit = git("rev-parse", "--short", f"{baseline}^{{commit}}").strip()
    changed = git("diff", "--name-only", baseline, *([tree] if tree else []), "--",
                  "schedcore").split()
    results = []
    with tempfile.TemporaryDirectory(prefix="schedcore-release-") as folder:
        extract(baseline, Path(folder) / "release")
        sides = {"release": Path(folder) / "release", "working tree": ROOT}
        if tree:
            extract(tree, Path(folder) / "tree")
            sides["working tree"] = Path(folder) / "tree"
        for number in range(rounds):
            order = ["release", "working tree"]
            if number % 2:
                order.reverse()
            figures = {}
            for side in order:
                f = figures[side] = run_side(side, sides[side], count, memory_count)
                if show:
                    label = baseline if side == "release" else tree or side
                    print(f"round {number + 1} {label:>12}: {f['us_per_item_without_journal']:6.2f}"
                          f" us/item without journal, {f['us_per_item']:6.2f} with (WAL), "
                          f"{f['bytes_per_item']:5d} bytes/item", flush=True)
            results.append(figures)
    return {"benchmark": name, "items": count, "rounds": rounds,
            "baseline": f"{baseline} ({commit})", "compared": tree or "working tree",
            "schedcore_files_changed_since_baseline": len(changed),
            "ratio_without_journal": ratio(results, "us_per_item_without_journal"),
            "ratio_wal": ratio(results, "us_per_item"),
            "ratio_bytes_per_item": ratio(results, "bytes_per_item"),
            "release": {key: [r["release"][key] for r in results] for key in results[0]["release"]},
            "working_tree": {key: [r["working tree"][key] for r in results]
                             for key in results[0]["working tree"]},
            "memory_items": memory_count,
            "target": "ratios <= 1.0 (no slower and no bigger than the release)"}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", help="git ref of the release (default: newest v* tag)")
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--memory-items", type=int,
                        help="items of the cook whose memory is measured "
                        "(default: items/10, at least 10,000)")
    parser.add_argument("--tree", metavar="REF",
                        help="compare this git revision instead of the working tree")
    parser.add_argument("--measure", metavar="ROOT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.items, args.memory_items)))
    else:
        print(json.dumps(main(args.items, args.rounds, args.baseline, args.memory_items,
                              args.tree, show=True)))
