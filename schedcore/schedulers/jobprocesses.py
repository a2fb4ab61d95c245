"""The job processes a scheduler started with ``startJob``: the machinery behind its
``pollJobs``, ``killJobs``, ``waitJobs`` services, apart from the plugin API users subclass.

The processes are kept by item id in ``running``; a scheduler's ``self.jobs`` is that same
dict unless a subclass put its own there (then both are kept in step: a job forgotten here
leaves it too). Processes whose item has ended but that are still on their way out wait in
``exiting`` until they are gone.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

from .. import process
from ..workitem import WorkItem


class JobProcesses:
    def __init__(self) -> None:
        self.running: dict[Any, subprocess.Popen[bytes]] = {}
        self.exiting: list[subprocess.Popen[bytes]] = []
        self.user_jobs: Callable[[], object] = lambda: None  # the scheduler's self.jobs

    def add(self, item_id: int, job: subprocess.Popen[bytes]) -> None:
        self.running[item_id] = job

    def poll(self, find: Callable[[Any], WorkItem | None],
             failed: Callable[[Any, str], None]) -> None:
        """Forget the jobs whose item has ended or whose process has; ``failed(item_id,
        reason)`` for an item whose process ended without reporting (killed, crashed)."""
        self.exiting = [job for job in self.exiting if job.poll() is None]
        for item_id, job in list(self.running.items()):
            item = find(item_id)
            code = job.poll()
            if code is None and (item is None or not item.state.is_final):
                continue
            self.forget(item_id)
            if code is None:
                self.exiting.append(job)  # it reported; its process is on its way out
            elif item is not None and not item.state.is_final:
                why = f"signal {-code}" if code < 0 else f"exit code {code}"
                failed(item_id, f"the job ended ({why}) without reporting its outcome")

    def kill_all(self, kill: Callable[[Any], None], canceled: Callable[[Any], None]) -> None:
        """``kill`` every running job (the scheduler's ``killJob``: it may override it),
        then tell ``canceled(item_id)``."""
        for item_id, job in list(self.running.items()):
            kill(job)
            canceled(item_id)
            self.forget(item_id)

    def reap(self) -> None:
        """Forget the jobs whose processes have ended, and reap them."""
        for item_id, job in list(self.running.items()):
            if job.poll() is not None:
                self.forget(item_id)
        self.exiting = [job for job in self.exiting if job.poll() is None]

    def forget(self, item_id: Any) -> None:
        """Drop a job, from the scheduler's own ``self.jobs`` too when it is there."""
        job = self.running.pop(item_id, None)
        jobs = self.user_jobs()
        if isinstance(jobs, dict) and jobs is not self.running and jobs.get(item_id) is job:
            del jobs[item_id]

    def wait(self, timeout: float, kill: Callable[[Any], None] = process.kill_tree) -> None:
        """Return once every job process is gone; ``kill`` one still there after
        ``timeout`` seconds, with its tree."""
        for job in [*self.running.values(), *self.exiting]:
            try:
                job.wait(timeout)
            except subprocess.TimeoutExpired:
                kill(job)
        self.exiting = []
