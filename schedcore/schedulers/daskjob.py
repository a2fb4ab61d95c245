"""What a Dask worker runs for a work item (imported on the worker, which needs schedcore)."""

from __future__ import annotations

import os
import subprocess
import time

from .. import process
from ..jobs import pdgjob

_RUNNING: dict[str, subprocess.Popen] = {}  # task key -> the command's process, on this worker


def run_job(key: str, command: str, env: dict, cwd: str, log_path: str) -> tuple[int, float]:
    """Report the start, run ``command`` in a session of its own with its output in
    ``log_path``; return its exit code and how long it ran."""
    reporter = pdgjob.Reporter(env["PDG_RESULT_SERVER"], env["PDG_JOBID"],
                               int(env["PDG_ITEM_ID"]))
    reporter.report("start_cook", flush=True)
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    started = time.monotonic()
    with open(log_path, "ab", buffering=0) as log, open(os.devnull, "rb") as stdin:
        proc = process.start(command, stdin, log, {**os.environ, **env}, cwd)
        _RUNNING[key] = proc
        try:
            code = proc.wait()
        finally:
            _RUNNING.pop(key, None)
    return code, time.monotonic() - started


def kill_jobs(keys: list[str]) -> int:
    """Kill the process trees of these tasks' commands on this worker; how many there were."""
    killed = 0
    for key in keys:
        proc = _RUNNING.get(key)
        if proc is not None:
            process.kill_tree(proc)
            killed += 1
    return killed
