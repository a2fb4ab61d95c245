"""Submit As Job: the saved network cooked headless as one standalone job, which carries on
when the submitter exits, and a status URI to follow it by."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from .errors import SchedcoreError
from .events import CookFinished, ItemAdded, ItemStateChanged
from .network import Network, write_atomic
from .registry import scheduler_types


def submit(network: Network, scheduler: str | None = None, node: str | None = None) -> str:
    """Hand the network's file to ``scheduler`` (a scheduler node; default: the network's
    default) to cook as one job; returns the job's status URI."""
    if not network.path:
        raise SchedcoreError("save the network first: Submit As Job cooks the saved file")
    spec = network.scheduler(scheduler or network.default_scheduler)
    instance = scheduler_types()[spec.type].create(spec.name, spec.parms, network.hip)
    workdir = os.path.abspath(instance["pdg_workingdir"].evaluateString())
    instance.setWorkingDir(workdir, workdir)
    instance.transferFile(network.path)  # the network into the working dir, unless unchanged
    uri = instance.submitAsJob(Path(network.path).name, node or "")
    if not uri:
        raise SchedcoreError(f"{spec.name} ({spec.type}) cannot submit a network as a job")
    return uri


class StatusFile:
    """An engine-event subscriber keeping ``path`` up to date (at most twice a second, and
    at the end): counts by state, and whether the cook is over and went well."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.counts: dict[str, int] = {}
        self._written = 0.0
        self._write({"state": "cooking"})

    def __call__(self, event) -> None:
        if isinstance(event, ItemAdded):
            state = event.item.state.name
            self.counts[state] = self.counts.get(state, 0) + 1
        elif isinstance(event, ItemStateChanged):
            self.counts[event.old.name] -= 1
            self.counts[event.new.name] = self.counts.get(event.new.name, 0) + 1
        elif isinstance(event, CookFinished):
            result = event.result
            self._write({"state": "canceled" if result.canceled else "finished",
                         "ok": result.ok, "errors": result.errors})
            return
        if time.monotonic() - self._written >= 0.5:
            self._write({"state": "cooking"})

    def _write(self, data: dict) -> None:
        self._written = time.monotonic()
        counts = {state: n for state, n in self.counts.items() if n}
        write_atomic(self.path, json.dumps({**data, "pid": os.getpid(), "counts": counts},
                                           indent=1) + "\n")
