"""Slurm scheduler throughput: 2,000 ``true`` items cooked on a real Slurm on this machine,
against the same 2,000 ``true`` jobs submitted by a shell loop of ``sbatch --wrap true`` and
as one ``sbatch --array=0-1999 --wrap true``, in one run. Each side is timed from its first
submission to the moment Slurm lists none of its jobs as pending or running. Slurm is started
for the run in a folder of its own (``tests/slurmlocal.py``; root, and it installs Slurm with
apt-get when missing) and ended afterwards. Its one node is declared with 16 CPUs on the
machine's 2 cores (``BENCH_SLURM_CPUS``): Slurm starts jobs in a scheduling pass about once a
second, one per free slot, and with 2 slots that pace is all the three sides would measure.

The scheduler's items each run ``farmjob.py`` (a Python process that reports its start and
outcome to the result server) around ``true``: the baselines run ``true`` alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from schedcore import network as network_file
from schedcore.engine import Engine
from tests import slurmlocal

COUNT = int(os.environ.get("BENCH_SLURM_ITEMS", "2000"))
# the node's slots: more than the 2 cores, so that Slurm's start rate (a scheduling pass a
# second, one job per free slot) is not all the three sides measure
CPUS = int(os.environ.get("BENCH_SLURM_CPUS", "16"))


def wait_gone(name: str, timeout: float = 1800) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(["squeue", "--noheader", f"--name={name}", "--format=%i"],
                             capture_output=True, text=True, check=True).stdout
        if not out.strip():
            return
        time.sleep(0.2)
    raise TimeoutError(f"jobs {name} still queued after {timeout:g} s")


def shell_loop(folder: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["sh", "-c", f'for i in $(seq {COUNT}); do sbatch --quiet '
                                f'--job-name=loop --output=/dev/null --wrap true; done'],
                   check=True, cwd=folder)
    submitted = time.perf_counter() - started
    wait_gone("loop")
    print(f"  shell loop: submitted in {submitted:.1f} s", file=sys.stderr)
    return COUNT / (time.perf_counter() - started)


def one_array(folder: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["sbatch", "--quiet", "--job-name=array", "--output=/dev/null",
                    f"--array=0-{COUNT - 1}", "--wrap", "true"], check=True, cwd=folder)
    wait_gone("array")
    return COUNT / (time.perf_counter() - started)


def scheduler(folder: Path) -> float:
    path = folder / "true.top.json"
    path.write_text(json.dumps({
        "format": "schedcore-network", "version": 1,
        "schedulers": [{"name": "slurm", "type": "slurmscheduler",
                        "parms": {"slurm_jobname": "sched", "pdg_maxitems": -1}}],
        "nodes": [{"name": "gen", "type": "genericgenerator", "inputs": [],
                   "parms": {"itemcount": COUNT, "command": "true"}}]}))
    net = network_file.load(path)
    started = time.perf_counter()
    result = Engine(net).run()
    elapsed = time.perf_counter() - started
    assert result.ok and len(result.items) == COUNT, result.counts
    return COUNT / elapsed


def main() -> dict:
    state = Path(tempfile.mkdtemp(prefix="sl-bench-", dir="/tmp"))
    cluster = slurmlocal.up(state, cpus=CPUS)
    before = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(cluster.conf)
    work = Path(tempfile.mkdtemp(prefix="bench-slurm-"))
    try:
        figures = {"bench": "slurm", "items": COUNT, "node_cpus": CPUS,
                   "slurm_start_s": round(cluster.started_seconds, 2),
                   "apt_install_s": round(cluster.installed_seconds, 1)}
        for name, side in (("scheduler", scheduler), ("shell_loop", shell_loop),
                           ("one_array", one_array)):
            rate = side(work)
            figures[f"{name}_items_per_s"] = round(rate, 1)
            print(f"  {name}: {rate:.1f} items/s", file=sys.stderr)
        figures["scheduler_vs_loop"] = round(figures["scheduler_items_per_s"]
                                             / figures["shell_loop_items_per_s"], 2)
        figures["scheduler_vs_array"] = round(figures["scheduler_items_per_s"]
                                              / figures["one_array_items_per_s"], 2)
        return figures
    finally:
        if before is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = before
        slurmlocal.down(state)
        shutil.rmtree(state, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    print(json.dumps(main()))
