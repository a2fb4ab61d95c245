"""Submit As Job's machinery: a submitted cook's name, folder, queued status and detached
start, for the base class's ``submitAsJob`` and for schedulers that submit elsewhere (the
Dask scheduler runs the cook on a worker)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from ..errors import CookError
from ..privatefiles import new_file, submission_folder
from ..status import write_status


def new(graph_file: str, local_workdir: str, remote_workdir: str) -> tuple[str, str, str]:
    """A new submission's name, and its folder (``<working dir>/pdgtemp/submitted``, for the
    status file and the log) here and as the machines running it see it. The folder is
    checked as ``submit`` checks it (no other user may write in it) and the log made new
    here, so what appends to it (the shell's ``>>``) writes to no planted link."""
    name = f"{Path(graph_file).name.split('.')[0]}-{os.getpid()}-{time.time_ns()}"
    local = submission_folder(local_workdir)
    log = os.path.join(local, f"{name}.log")
    try:
        new_file(log)
    except FileExistsError as exc:
        raise CookError(f"{log}: {exc.strerror}; the cook's log is not written through it. "
                        f"Remove it, or set pdg_workingdir to another folder") from None
    return name, local, os.path.join(remote_workdir, "pdgtemp", "submitted")


def queued(status_path: str, graph_file: str, log: str, **about: object) -> None:
    """The status of a submitted cook that has not started yet, so that whoever follows its
    URI at once finds it, and where its log is. The cook overwrites it."""
    try:
        with open(status_path, encoding="utf-8") as handle:
            if json.load(handle).get("state") != "queued":
                return  # the cook has started already
    except (OSError, ValueError):
        pass
    write_status(status_path, {"state": "queued", "network": graph_file, "log": log, **about})


def start_detached(command: list[str], workdir: str, log: str) -> int:
    """Start ``command`` through a shell that exits at once, appending to ``log``: the cook
    belongs to no one here, so it outlives the submitter and leaves no zombie behind.
    Returns its pid, which the shell says."""
    started = subprocess.run(
        ["/bin/sh", "-c", '"$@" >> "$SCHEDCORE_SUBMIT_LOG" 2>&1 < /dev/null & echo $!',
         "sh", *command], cwd=workdir, start_new_session=True, check=True,
        capture_output=True, text=True, env={**os.environ, "SCHEDCORE_SUBMIT_LOG": log})
    return int(started.stdout.split()[-1])
