"""Network files: loading and ordering 40,000 nodes.

Two shapes: a chain listed downstream-first (each node's input is listed after it, the worst
order for a depth-first walk) and a wide fan (one root, every other node its child). Each is
loaded (read, JSON, checked, built) and ordered (``topological``). The baseline in the same run
is ``json.loads`` of the same file's text, so the figure is a ratio that holds on a noisy
machine: what checking and building the network costs over reading its JSON.

``--rev REV`` measures ``schedcore/network.py`` as it was at a git revision (imported into a
temporary module), for the before-and-after figures of a change. Older code may give up on a
shape (a chain deeper than the recursion limit): that shape then reports the error.
Target: linear, the load within 20x the JSON baseline.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from schedcore import network as network_file  # noqa: E402


def chain(count: int) -> list[dict]:
    """n0 <- n1 <- ... listed from the last node down to the first."""
    return [{"name": f"n{i}", "type": "genericgenerator", "inputs": [f"n{i - 1}"] if i else []}
            for i in reversed(range(count))]


def fan(count: int) -> list[dict]:
    return [{"name": "root", "type": "genericgenerator", "inputs": []}] + [
        {"name": f"n{i}", "type": "genericgenerator", "inputs": ["root"]}
        for i in range(count - 1)]


def write(folder: Path, name: str, nodes: list[dict]) -> Path:
    path = folder / f"{name}.top.json"
    path.write_text(json.dumps({"format": "schedcore-network", "version": 1, "nodes": nodes}))
    return path


def module_at(rev: str) -> types.ModuleType:
    """``schedcore.network`` as it was at ``rev``, beside today's package."""
    source = subprocess.run(["git", "show", f"{rev}:schedcore/network.py"], cwd=ROOT,
                            check=True, capture_output=True, text=True).stdout
    module = types.ModuleType(f"schedcore._network_at_{rev.replace('~', '_')}")
    module.__package__ = "schedcore"  # its relative imports resolve against today's package
    sys.modules[module.__name__] = module  # dataclasses look their module up there
    exec(compile(source, f"{rev}:schedcore/network.py", "exec"), module.__dict__)
    return module


def best_of(runs: int, work) -> float:
    times = []
    for _ in range(runs):
        gc.collect()
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def peak_bytes(work) -> int:
    gc.collect()
    tracemalloc.start()
    work()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def shape(module, path: Path, runs: int) -> dict:
    text = path.read_text()
    baseline = best_of(runs, lambda: json.loads(text))
    try:
        load = best_of(runs, lambda: module.load(path))
        net = module.load(path)
        order = best_of(runs, net.topological)
        peak = peak_bytes(lambda: module.load(path).topological())
    except RecursionError as exc:
        return {"error": f"RecursionError: {exc}"}
    return {"load_s": round(load, 3), "topological_s": round(order, 3),
            "json_loads_s": round(baseline, 4), "ratio_to_json_loads": round(load / baseline, 1),
            "peak_mb": round(peak / 1e6, 1)}


def main(count: int = 40_000, rev: str | None = None, runs: int = 3) -> dict:
    module = module_at(rev) if rev else network_file
    with tempfile.TemporaryDirectory() as folder:
        figures = {name: shape(module, write(Path(folder), name, make(count)), runs)
                   for name, make in (("chain_downstream_first", chain), ("fan", fan))}
    return {"benchmark": "network load and order", "nodes": count,
            "code": rev or "working tree", **figures,
            "target": "linear; load <= 20x json.loads of the same file"}


if __name__ == "__main__":
    args = sys.argv[1:]
    rev = args[args.index("--rev") + 1] if "--rev" in args else None
    numbers = [a for a in args if a.isdigit()]
    count = int(numbers[0]) if numbers else 40_000
    print(json.dumps(main(count, rev, runs=1 if rev else 3), indent=1))
