"""The jobs of the kit's networks: one small script, written beside each network, that does
what a scenario asks (succeed, fail, take its time, start a child) and appends what it did to
``runs.jsonl``, so the kit knows which jobs ran, how often, and which processes they left,
whatever the scheduler says."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

RUNS = "runs.jsonl"
SCRIPT = "checkjob.py"

# Standard library only: it runs wherever the scheduler runs its jobs.
JOB_SOURCE = '''\
"""A job of `schedcore check`: NAME [--index I --fail-index K] [--exit N] [--sleep S]
[--child]. Appends its start and end to runs.jsonl beside this file."""
import argparse, json, os, subprocess, sys, time

RUNS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runs.jsonl")


def note(**record):
    record.update(pid=os.getpid(), t=time.time())
    line = (json.dumps(record) + "\\n").encode()
    fd = os.open(RUNS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)  # one write with O_APPEND: lines of jobs at once never mix
    finally:
        os.close(fd)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("name")
    parser.add_argument("--index")
    parser.add_argument("--fail-index")
    parser.add_argument("--exit", type=int, default=0)
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    child = None
    if args.child:  # a process of the job's own, which a cancel must stop too
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    note(item=args.name, event="start", child=child.pid if child else None)
    time.sleep(args.sleep)
    code = args.exit
    if args.fail_index is not None and args.index != args.fail_index:
        code = 0
    note(item=args.name, event="end", code=code)
    return code


sys.exit(main())
'''


def write_script(folder: Path) -> Path:
    path = folder / SCRIPT
    path.write_text(JOB_SOURCE, encoding="utf-8")
    return path


def command(*args: str) -> str:
    """A node's command that runs the job script with this Python (an absolute path, so it
    does not depend on the scheduler's tokens); ``@pdg_name`` names the item."""
    extra = " ".join(args)
    return f'"{sys.executable}" "$HIP/{SCRIPT}" @pdg_name {extra}'.rstrip()


class Runs:
    """What the jobs wrote to ``runs.jsonl``."""

    def __init__(self, folder: Path):
        self.path = folder / RUNS

    def records(self) -> list[dict]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError:
            return []
        records = []
        for line in text.splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:  # a line being written
                continue
        return records

    def starts(self, item: str | None = None) -> list[dict]:
        return [r for r in self.records() if r["event"] == "start"
                and (item is None or r["item"] == item)]

    def end_of(self, item: str) -> dict | None:
        ends = [r for r in self.records() if r["event"] == "end" and r["item"] == item]
        return ends[-1] if ends else None

    def pids(self) -> list[int]:
        """Every process the jobs said they were or started."""
        pids = []
        for record in self.starts():
            pids.append(record["pid"])
            if record.get("child"):
                pids.append(record["child"])
        return pids


def leftovers(pids: list[int], marker: dict[str, str]) -> list:
    """The processes of a cook's jobs still running: those the jobs named (when they are
    still the same processes) and those carrying the cook's marker."""
    import psutil

    from .. import process
    found = {p.pid: p for p in process._owned(marker)} if all(marker.values()) else {}
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            if _is_job(proc) and proc.status() != psutil.STATUS_ZOMBIE:
                found.setdefault(pid, proc)
        except psutil.Error:
            continue
    return [p for p in found.values() if p.pid != os.getpid()]


def _is_job(proc) -> bool:
    """A pid the jobs named is theirs only while its command line is one of theirs (a pid is
    used again once its process is gone)."""
    cmdline = " ".join(proc.cmdline())
    return SCRIPT in cmdline or "time.sleep(600)" in cmdline


def describe(proc) -> str:
    """``pid 123 (python checkjob.py long_1 --sleep 600)``: paths by their names."""
    try:
        words = [w.strip("'\"") for w in " ".join(proc.cmdline()).split()]
        words = [os.path.basename(w) if os.sep in w else w for w in words]
    except Exception:  # gone meanwhile
        words = ["?"]
    text = " ".join(words)
    return f"pid {proc.pid} ({text[:50] + '...' if len(text) > 50 else text})"


def kill(processes) -> None:
    import psutil
    for proc in processes:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(processes, timeout=5)
