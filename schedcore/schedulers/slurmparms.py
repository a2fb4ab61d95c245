"""The Slurm scheduler's parameters (``slurmscheduler``): the common ones, listening on every
interface, and what its jobs ask of Slurm."""

from __future__ import annotations

from dataclasses import replace

from ..parms import ParmTemplate
from .base import COMMON_PARMS

MAX_RETRIES = 100


def _farm_parms() -> list[ParmTemplate]:
    """The common parameters, with the result server listening on every interface: Slurm's
    nodes are other machines (jobs then prove themselves with the cook's secret)."""
    return [replace(t, default="0.0.0.0") if t.name == "pdg_resultserverbind" else t
            for t in COMMON_PARMS]


def _retries(value) -> list[str]:
    if isinstance(value, int) and 0 <= value <= MAX_RETRIES:
        return []
    return [f"expected a whole number of retries from 0 to {MAX_RETRIES}, got {value!r}"]


SLURM_PARMS = _farm_parms() + [
    ParmTemplate("slurm_partition", "string", "", "Partition",
                 "sbatch --partition; empty: the cluster's default partition."),
    ParmTemplate("slurm_account", "string", "", "Account", "sbatch --account."),
    ParmTemplate("slurm_qos", "string", "", "QOS", "sbatch --qos."),
    ParmTemplate("pdg_slots", "int", 1, "Slots Per Work Item",
                 "CPUs each item's job asks for (sbatch --cpus-per-task). An item's "
                 "pdg_slots attribute, or its TOP node's pdg_slots parameter, wins."),
    ParmTemplate("slurm_memory", "int", 0, "Memory (MB)",
                 "Memory each job asks for (sbatch --mem); 0: the partition's default. "
                 "An item's slurm_memory attribute or its node's parameter wins."),
    ParmTemplate("slurm_maxruntime", "float", 0.0, "Maximum Run Time",
                 "Seconds a job may run (sbatch --time, rounded up to whole minutes, "
                 "Slurm's unit); Slurm kills a job that runs longer and its item fails "
                 "with Slurm's reason. 0: the partition's limit."),
    ParmTemplate("maxretries", "int", 0, "Retries",
                 "Times an item whose job failed (or that Slurm killed) runs again before "
                 "it fails; an item's TOP node's maxretries parameter wins.",
                 validate=_retries),
    ParmTemplate("slurm_extraargs", "string", "", "Extra sbatch Arguments",
                 "More sbatch options, as on a command line (--constraint=gpu "
                 "--exclusive)."),
    ParmTemplate("slurm_arraysize", "int", 1000, "Items Per Array",
                 "Most tasks in one sbatch --array (Slurm's MaxArraySize, 1001 by "
                 "default, bounds it)."),
    ParmTemplate("slurm_pollperiod", "float", 1.0, "Poll Period",
                 "Seconds between two squeue polls of the cook's jobs, at most one per "
                 "tick."),
    ParmTemplate("slurm_pendingwarn", "float", 60.0, "Say Pending Reasons After",
                 "Seconds a job may wait in the queue for a reason other than priority "
                 "or resources before the cook says why it waits."),
    ParmTemplate("slurm_jobname", "string", "pdg", "Job Name",
                 "The start of the cook's Slurm job names (<name>-<cook id>): what "
                 "squeue shows, and how the scheduler finds the cook's jobs."),
    ParmTemplate("slurm_bindir", "string", "", "Slurm Programs Folder",
                 "Where sbatch, squeue, scancel and sinfo are; empty: the PATH."),
    ParmTemplate("slurm_commandtimeout", "float", 30.0, "Command Timeout",
                 "Seconds a Slurm command may take before the controller is taken as "
                 "not answering."),
]
