"""Slurm's commands as the Slurm scheduler uses them: ``sbatch`` (arrays), ``squeue`` (one poll
of every job of a cook), ``scancel``, ``sinfo`` (partitions, nodes). Each takes the folder of
Slurm's programs ("": the PATH) and returns values or a :class:`SlurmError` that says what to
do. Slurm's state words are mapped to PDG's by :data:`SLURM_STATES`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import CookError
from ..farm import CommandResult, FarmState, StateMap, run_farm_command

P, R, S, F, C = (FarmState.PENDING, FarmState.RUNNING, FarmState.SUCCEEDED, FarmState.FAILED,
                 FarmState.CANCELED)
SLURM_STATES = StateMap({
    "PENDING": P, "CONFIGURING": P, "REQUEUED": P, "REQUEUE_FED": P, "REQUEUE_HOLD": P,
    "RESIZING": P, "SUSPENDED": P, "STOPPED": P, "SIGNALING": R, "STAGE_OUT": R,
    "RUNNING": R, "COMPLETING": R,
    "COMPLETED": S,
    "FAILED": F, "TIMEOUT": F, "OUT_OF_MEMORY": F, "NODE_FAIL": F, "BOOT_FAIL": F,
    "DEADLINE": F, "PREEMPTED": F, "SPECIAL_EXIT": F, "REVOKED": F,
    "CANCELLED": C,
})

# what Slurm's state words mean, for the reason an item fails with
KILLED_BECAUSE = {
    "TIMEOUT": "its time limit ran out (slurm_maxruntime, or the partition's limit)",
    "OUT_OF_MEMORY": "it used more memory than it asked for (slurm_memory)",
    "NODE_FAIL": "its node failed",
    "BOOT_FAIL": "its node failed to boot",
    "PREEMPTED": "a job of higher priority preempted it",
    "DEADLINE": "it reached its deadline",
    "FAILED": "it ended with a non-zero exit code",
}

# pending reasons that only mean "in the queue"; any other is worth saying
ORDINARY_PENDING = {"None", "Priority", "Resources", "", "BeginTime"}

_CONTROLLER_DOWN = ("unable to contact slurm controller", "socket timed out",
                    "connection refused", "zero bytes were transmitted",
                    "slurm_receive_msg", "communication connection failure")
_MUNGE = ("munge", "authentication", "invalid credential")


class SlurmError(CookError):
    """A Slurm command failed; ``kind`` is "controller" (the controller does not answer),
    "munge" (no credentials), "missing" (no program) or "refused" (Slurm said no)."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


def program(bindir: str, name: str) -> str:
    return os.path.join(bindir, name) if bindir else name


def _checked(result: CommandResult, what: str, bindir: str) -> str:
    if result.ok:
        return result.stdout
    text = result.error
    lowered = text.lower()
    if result.code is None and ("is not on the PATH" in text or "could not run" in text):
        raise SlurmError(f"{text}: install Slurm's client commands (Debian: apt-get install "
                         f"slurm-client) or set slurm_bindir to the folder that has them",
                         "missing")
    if any(word in lowered for word in _MUNGE):
        raise SlurmError(f"{what}: Slurm could not authenticate this user ({text}); is munged "
                         f"running on this machine, with the cluster's key?", "munge")
    if result.code is None or any(word in lowered for word in _CONTROLLER_DOWN):
        raise SlurmError(f"{what}: {text}", "controller")
    raise SlurmError(f"{what}: {text}", "refused")


def run(bindir: str, argv: list[str], what: str, timeout: float,
        input: str | None = None, cwd: str | None = None) -> str:
    """The output of a Slurm command, or a ``SlurmError``."""
    result = run_farm_command([program(bindir, argv[0]), *argv[1:]], input=input,
                              timeout=timeout, cwd=cwd)
    return _checked(result, what, bindir)


def submit(bindir: str, script: str, options: list[str], timeout: float,
           cwd: str | None = None) -> str:
    """``sbatch --parsable`` of ``script`` (its text, given on stdin); the job id."""
    out = run(bindir, ["sbatch", "--parsable", *options], "sbatch", timeout, input=script,
              cwd=cwd)
    job_id = out.strip().split(";")[0]  # "id;cluster" on a multi-cluster setup
    if not job_id.isdigit():
        raise SlurmError(f"sbatch answered {out.strip()!r}, not a job id", "refused")
    return job_id


def poll(bindir: str, job_name: str, timeout: float) -> dict[str, tuple[str, str, str]]:
    """Every job named ``job_name`` Slurm still knows (finished ones for ``MinJobAge``
    seconds), one line per array task: job id ("12_3") -> (state, reason, node list)."""
    out = run(bindir, ["squeue", "--noheader", "--array", "--states=all",
                       f"--name={job_name}", "--format=%i|%T|%r|%N"], "squeue", timeout)
    seen = {}
    for line in out.splitlines():
        parts = line.strip().split("|")
        if len(parts) == 4:
            seen[parts[0]] = (parts[1], parts[2], parts[3])
    return seen


def cancel(bindir: str, job_name: str, timeout: float) -> None:
    """``scancel`` every job named ``job_name`` (of this user)."""
    run(bindir, ["scancel", f"--name={job_name}", f"--user={_user()}"], "scancel", timeout)


def cancel_jobs(bindir: str, job_ids: list[str], timeout: float) -> None:
    """``scancel`` these jobs ("12_3": one task of an array)."""
    if job_ids:
        run(bindir, ["scancel", *job_ids], "scancel", timeout)


def _user() -> str:
    import getpass
    return getpass.getuser()


@dataclass(frozen=True)
class Partition:
    name: str
    default: bool
    available: bool  # up
    time_limit: str  # Slurm's words ("infinite", "1-00:00:00")
    nodes: int
    cpus: str        # per node ("2", "4+" when they differ)
    memory_mb: str   # per node


def partitions(bindir: str = "", timeout: float = 30.0) -> list[Partition]:
    """The cluster's partitions (``sinfo``), the default one marked."""
    out = run(bindir, ["sinfo", "--noheader", "--format=%P|%a|%l|%D|%c|%m"], "sinfo",
              timeout)
    found: dict[str, Partition] = {}
    for line in out.splitlines():
        parts = line.strip().split("|")
        if len(parts) != 6:
            continue
        name = parts[0].rstrip("*")
        nodes = int(parts[3]) if parts[3].isdigit() else 0
        if name in found:  # one line per node state: add the nodes up
            nodes += found[name].nodes
        found[name] = Partition(name, parts[0].endswith("*"), parts[1] == "up", parts[2],
                                nodes, parts[4], parts[5])
    return list(found.values())


def node_addresses(bindir: str, partition: str, timeout: float) -> list[str]:
    """Names and addresses of the nodes of ``partition`` ("": every node)."""
    argv = ["sinfo", "--noheader", "--Node", "--format=%N|%o|%n"]
    if partition:
        argv.append(f"--partition={partition}")
    out = run(bindir, argv, "sinfo", timeout)
    return sorted({word for line in out.splitlines() for word in line.strip().split("|")
                   if word})


def killed_reason(job_id: str, word: str, reason: str) -> str:
    """Why an item failed, from its Slurm job's end."""
    why = KILLED_BECAUSE.get(word, "")
    said = f" ({reason})" if reason and reason != "None" else ""
    return (f"Slurm job {job_id} ended {word}{said}" + (f": {why}" if why else "")
            + "; its log says what it did")
