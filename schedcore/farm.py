"""Pieces every farm scheduler needs, whatever the farm (Slurm, PBS, HTCondor, Tractor...):

- :class:`ReadyBatches`: the items ``onSchedule`` accepted in one pass, grouped by what they
  ask of the farm, so that ``onSchedulePassEnd`` submits one array (one request) per group
  instead of one job per item;
- :func:`write_manifest`: the file an array's tasks read their item from (``jobs/farmjob.py``
  runs task N's command, with its item's environment, and reports to the result server);
- :class:`StateMap`: the farm's state words made PDG's (:class:`FarmState`);
- :class:`FarmJobs`: which job runs which item, updated from one poll of the farm per tick
  (:class:`OncePerTick`), with what changed since the last one;
- :class:`FarmContact`: whether the farm answers; a cook waits, and says so, while it does not;
- :func:`run_farm_command`: one farm command (``sbatch``, ``qsub``...) with its error said.

``schedulers/slurm.py`` is built on them; the README's "A scheduler for your farm" shows the
recipe. Standard library only; nothing here knows one farm from another.
"""

from __future__ import annotations

import enum
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


class FarmState(enum.Enum):
    """What a farm job's state means to its item."""
    PENDING = "pending"      # queued, not running yet
    RUNNING = "running"
    SUCCEEDED = "succeeded"  # ended well (the job reports its item's outcome itself)
    FAILED = "failed"        # ended badly, or killed by the farm (time, memory, node...)
    CANCELED = "canceled"    # canceled on the farm
    UNKNOWN = "unknown"      # a word the map does not know: treated as still out

    @property
    def is_final(self) -> bool:
        return self in (FarmState.SUCCEEDED, FarmState.FAILED, FarmState.CANCELED)


class StateMap:
    """The farm's state words (``"PENDING"``, ``"TIMEOUT"``...) to :class:`FarmState`. A word
    it does not know is ``UNKNOWN``: the job is left out, never failed by a guess."""

    def __init__(self, words: Mapping[str, FarmState]):
        self._words = {word.upper(): state for word, state in words.items()}

    def __call__(self, word: str) -> FarmState:
        return self._words.get(word.strip().upper().rstrip("+"), FarmState.UNKNOWN)

    def words(self, state: FarmState) -> list[str]:
        return [word for word, mapped in self._words.items() if mapped is state]


@dataclass(frozen=True)
class Batch:
    """Items to submit together: they ask the farm for the same (``key``) at one priority."""
    key: Hashable
    priority: int
    entries: list[Any]


class ReadyBatches:
    """What ``onSchedule`` accepted in one pass, grouped by ``key`` (the farm request: CPUs,
    memory, time...) and priority. :meth:`take` hands the groups over, highest priority
    first, none larger than ``max_size`` (a farm's array limit)."""

    def __init__(self, max_size: int = 10_000):
        if max_size < 1:
            raise ValueError(f"max_size must be at least 1, got {max_size}")
        self.max_size = max_size
        self._groups: dict[tuple[int, Hashable], list[Any]] = {}

    def add(self, key: Hashable, priority: int, entry: Any) -> None:
        self._groups.setdefault((-int(priority), key), []).append(entry)

    def __len__(self) -> int:
        return sum(map(len, self._groups.values()))

    def take(self) -> list[Batch]:
        groups, self._groups = self._groups, {}
        batches = []
        # sorted by priority only: keys need not be comparable with each other
        for (negated, key), entries in sorted(groups.items(), key=lambda kv: kv[0][0]):
            for start in range(0, len(entries), self.max_size):
                batches.append(Batch(key, -negated, entries[start:start + self.max_size]))
        return batches

    def clear(self) -> list[Any]:
        """Forget every entry (a cook canceled before they were submitted); returns them."""
        groups, self._groups = self._groups, {}
        return [entry for entries in groups.values() for entry in entries]


def write_manifest(path: str, tasks: Iterable[Mapping[str, Any]]) -> None:
    """One JSON line per array task, read by ``jobs/farmjob.py MANIFEST INDEX``. A task is
    ``{"command", "env", "cwd", "final"}`` (``final``: the last attempt, which reports a
    failure; an earlier one leaves it to the scheduler, which runs it again) and optionally
    ``"data"`` and ``"data_path"`` (the item's JSON for the job). Only its owner may read it:
    it carries the result server's address with the cook's secret."""
    text = "".join(json.dumps(task, separators=(",", ":")) + "\n" for task in tasks)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o600)
    with open(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


@dataclass
class FarmJob:
    """One item's job on the farm, as the last poll saw it."""
    item_id: int
    job_id: str            # the farm's id of this item's job ("1234_7" for an array task)
    log_path: str = ""     # where the farm writes its output, on this machine
    attempt: int = 1       # 1 for the first run, 2 for the first retry...
    word: str = "SUBMITTED"  # the farm's own state word
    state: FarmState = FarmState.PENDING
    reason: str = ""       # the farm's reason (why pending, why killed)
    host: str = ""
    submitted: float = field(default_factory=time.monotonic)
    started: bool = False
    missing_polls: int = 0  # polls in a row that did not list it


@dataclass(frozen=True)
class JobChange:
    """What a poll changed about a job: ``previous`` is its state before."""
    job: FarmJob
    previous: FarmState
    word_changed: bool


class FarmJobs:
    """Which farm job runs which item. :meth:`update` takes one poll's answer (job id ->
    (word, reason, host)) and returns what changed; jobs the poll did not list are counted
    as missing (:meth:`missing`): a farm forgets finished jobs after a while."""

    def __init__(self, states: StateMap):
        self.states = states
        self._by_item: dict[int, FarmJob] = {}
        self._by_job: dict[str, FarmJob] = {}

    def add(self, job: FarmJob) -> None:
        old = self._by_item.pop(job.item_id, None)
        if old is not None:
            self._by_job.pop(old.job_id, None)
        self._by_item[job.item_id] = job
        self._by_job[job.job_id] = job

    def forget(self, item_id: int) -> FarmJob | None:
        job = self._by_item.pop(item_id, None)
        if job is not None:
            self._by_job.pop(job.job_id, None)
        return job

    def of_item(self, item_id: int) -> FarmJob | None:
        return self._by_item.get(item_id)

    def of_job(self, job_id: str) -> FarmJob | None:
        return self._by_job.get(job_id)

    def __len__(self) -> int:
        return len(self._by_item)

    def __iter__(self):
        return iter(list(self._by_item.values()))

    def job_ids(self) -> list[str]:
        return list(self._by_job)

    def update(self, seen: Mapping[str, tuple[str, str, str]]) -> list[JobChange]:
        changes = []
        for job in self._by_job.values():
            found = seen.get(job.job_id)
            if found is None:
                job.missing_polls += 1
                continue
            job.missing_polls = 0
            word, reason, host = found
            state = self.states(word)
            if word == job.word and reason == job.reason:
                continue
            changes.append(JobChange(job, job.state, word != job.word))
            job.word, job.reason, job.state = word, reason, state
            job.host = host or job.host
            job.started = job.started or state is FarmState.RUNNING or state.is_final
        return changes

    def missing(self, polls: int) -> list[FarmJob]:
        """Jobs that ``polls`` polls in a row did not list."""
        return [job for job in self._by_job.values() if job.missing_polls >= polls]


class OncePerTick:
    """At most one poll every ``period`` seconds, however often the scheduler ticks."""

    def __init__(self, period: float, clock: Callable[[], float] = time.monotonic):
        self.period = period
        self._clock = clock
        self._last: float | None = None

    def due(self) -> bool:
        now = self._clock()
        if self._last is not None and now - self._last < self.period:
            return False
        self._last = now
        return True


class FarmContact:
    """Whether the farm's controller answers. :meth:`lost` and :meth:`back` return the
    message to say (once per outage), "" when there is nothing new to say."""

    def __init__(self, farm: str, clock: Callable[[], float] = time.monotonic):
        self.farm = farm
        self._clock = clock
        self.down_since: float | None = None
        self.why = ""

    @property
    def answering(self) -> bool:
        return self.down_since is None

    def lost(self, why: str, jobs: int) -> str:
        if self.down_since is not None:
            return ""
        self.down_since, self.why = self._clock(), why
        return (f"the {self.farm} controller does not answer ({why}); the cook waits for "
                f"it with {jobs} job(s) out, none of them lost, and carries on once it "
                f"answers again")

    def back(self) -> str:
        if self.down_since is None:
            return ""
        seconds = self._clock() - self.down_since
        self.down_since, self.why = None, ""
        return f"the {self.farm} controller answers again after {seconds:.0f} s"


@dataclass(frozen=True)
class CommandResult:
    ok: bool
    stdout: str
    error: str  # what went wrong, said for a person ("" when ok)
    code: int | None  # the exit status; None when it did not run or timed out


def run_farm_command(argv: list[str], *, input: str | None = None, timeout: float = 30.0,
                     env: Mapping[str, str] | None = None,
                     cwd: str | None = None) -> CommandResult:
    """Run one farm command; its error (stderr, else the exit status) said in one line, a
    missing program or a timeout said as such. Never raises for the command's own failure."""
    program = argv[0]
    if os.sep not in program and shutil.which(program, path=(env or os.environ).get(
            "PATH")) is None:
        return CommandResult(False, "", f"{program} is not on the PATH", None)
    try:
        done = subprocess.run(argv, input=input, capture_output=True, text=True,
                              timeout=timeout, env=None if env is None else dict(env),
                              cwd=cwd, stdin=None if input is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return CommandResult(False, "", f"{program} did not answer within {timeout:g} s",
                             None)
    except OSError as exc:
        return CommandResult(False, "", f"{program} could not run: {exc.strerror or exc}",
                             None)
    if done.returncode == 0:
        return CommandResult(True, done.stdout, "", 0)
    lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
    error = " ".join(lines[-3:]) or f"{program} exited with status {done.returncode}"
    return CommandResult(False, done.stdout, error, done.returncode)


__all__ = ["Batch", "CommandResult", "FarmContact", "FarmJob", "FarmJobs", "FarmState",
           "JobChange", "OncePerTick", "ReadyBatches", "StateMap", "run_farm_command",
           "write_manifest"]
