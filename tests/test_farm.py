"""The farm pieces (``schedcore.farm``) and the Slurm scheduler's words, without a farm."""

from __future__ import annotations

import json

import pytest

from schedcore.farm import (
    FarmContact,
    FarmJob,
    FarmJobs,
    FarmState,
    OncePerTick,
    ReadyBatches,
    StateMap,
    run_farm_command,
    write_manifest,
)
from schedcore.schedulers import SlurmScheduler
from schedcore.schedulers.slurmcommands import SLURM_STATES, SlurmError, _checked, killed_reason
from schedcore.workitem import WorkItem

WORDS = StateMap({"Q": FarmState.PENDING, "R": FarmState.RUNNING, "C": FarmState.SUCCEEDED,
                  "E": FarmState.FAILED})


def test_ready_items_go_out_in_arrays_by_request_highest_priority_first():
    ready = ReadyBatches(max_size=3)
    for n in range(5):
        ready.add("small", 0, f"s{n}")
    ready.add("big", 0, "b0")
    ready.add("small", 9, "urgent")
    assert len(ready) == 7
    batches = ready.take()
    assert [(b.key, b.priority, b.entries) for b in batches] == [
        ("small", 9, ["urgent"]), ("small", 0, ["s0", "s1", "s2"]), ("small", 0, ["s3", "s4"]),
        ("big", 0, ["b0"])]
    assert len(ready) == 0 and ready.take() == []


def test_an_array_size_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        ReadyBatches(0)


def test_the_farms_words_map_to_pdgs_and_an_unknown_word_is_never_a_failure():
    assert SLURM_STATES("TIMEOUT") is FarmState.FAILED
    assert SLURM_STATES("CANCELLED+") is FarmState.CANCELED  # sacct's "by someone else"
    assert SLURM_STATES("COMPLETING") is FarmState.RUNNING
    assert SLURM_STATES("SOMETHING_NEW") is FarmState.UNKNOWN
    assert not FarmState.UNKNOWN.is_final
    assert WORDS.words(FarmState.PENDING) == ["Q"]


def test_one_poll_says_what_changed_and_counts_what_it_no_longer_lists():
    jobs = FarmJobs(WORDS)
    jobs.add(FarmJob(1, "7_0"))
    jobs.add(FarmJob(2, "7_1"))
    changes = jobs.update({"7_0": ("R", "None", "node1"), "7_1": ("Q", "Resources", "")})
    assert [(c.job.item_id, c.previous, c.job.state) for c in changes] == [
        (1, FarmState.PENDING, FarmState.RUNNING), (2, FarmState.PENDING, FarmState.PENDING)]
    assert jobs.of_item(1).host == "node1" and jobs.of_item(1).started
    assert jobs.update({"7_0": ("R", "None", "node1"), "7_1": ("Q", "Resources", "")}) == []
    jobs.update({"7_1": ("E", "NonZeroExitCode", "node1")})
    jobs.update({"7_1": ("E", "NonZeroExitCode", "node1")})
    assert [j.item_id for j in jobs.missing(2)] == [1]
    assert jobs.of_item(2).state is FarmState.FAILED
    jobs.add(FarmJob(2, "8_0", attempt=2))  # a retry replaces the item's job
    assert jobs.of_job("7_1") is None and jobs.of_job("8_0").attempt == 2
    assert jobs.forget(1).job_id == "7_0" and len(jobs) == 1


def test_a_controller_that_stops_answering_is_said_once_and_its_return_too():
    now = [100.0]
    contact = FarmContact("Slurm", clock=lambda: now[0])
    said = contact.lost("connection refused", 4)
    assert "does not answer (connection refused)" in said and "4 job(s)" in said
    assert contact.lost("connection refused", 4) == "" and not contact.answering
    now[0] = 121.0
    assert contact.back() == "the Slurm controller answers again after 21 s"
    assert contact.back() == "" and contact.answering


def test_polls_come_at_most_once_per_period():
    now = [0.0]
    poller = OncePerTick(1.0, clock=lambda: now[0])
    assert poller.due() and not poller.due()
    now[0] = 0.9
    assert not poller.due()
    now[0] = 1.0
    assert poller.due()


def test_the_manifest_is_one_private_line_per_task(tmp_path):
    path = tmp_path / "array.jsonl"
    write_manifest(str(path), [{"command": "true", "env": {"A": "1"}}, {"command": "false"}])
    lines = path.read_text().splitlines()
    assert [json.loads(line)["command"] for line in lines] == ["true", "false"]
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_missing_farm_program_is_said_as_such(tmp_path):
    result = run_farm_command(["no-such-farm-command"], env={"PATH": str(tmp_path)})
    assert not result.ok and result.error == "no-such-farm-command is not on the PATH"
    failed = run_farm_command(["sh", "-c", "echo 'sbatch: error: nope' >&2; exit 1"])
    assert not failed.ok and failed.code == 1 and failed.error == "sbatch: error: nope"


@pytest.mark.parametrize(("text", "kind"), [
    ("sbatch: error: Batch job submission failed: Unable to contact slurm controller "
     "(connect failure)", "controller"),
    ("squeue: error: Munge encode failed: Failed to access \"/run/munge/munge.socket.2\"",
     "munge"),
    ("sbatch: error: Batch job submission failed: Invalid partition name specified",
     "refused"),
])
def test_slurms_errors_are_told_apart(text, kind):
    from schedcore.farm import CommandResult
    with pytest.raises(SlurmError) as caught:
        _checked(CommandResult(False, "", text, 1), "sbatch", "")
    assert caught.value.kind == kind
    if kind == "munge":
        assert "is munged running" in str(caught.value)


def test_a_killed_jobs_reason_says_what_slurm_said_and_what_it_means():
    said = killed_reason("12_3", "OUT_OF_MEMORY", "OutOfMemory")
    assert said.startswith("Slurm job 12_3 ended OUT_OF_MEMORY (OutOfMemory)")
    assert "slurm_memory" in said


def test_an_items_request_comes_from_its_attributes_before_the_schedulers():
    scheduler = SlurmScheduler(parms={"pdg_slots": 2, "slurm_memory": 500,
                                      "slurm_maxruntime": 61})
    plain, big = WorkItem(1, "n"), WorkItem(2, "n")
    big.setIntAttrib("pdg_slots", 8)
    big.setFloatAttrib("slurm_maxruntime", 3600)
    assert scheduler.request_of(plain) == type(scheduler.request_of(plain))(2, 500, 2)
    assert scheduler.request_of(big).cpus == 8 and scheduler.request_of(big).minutes == 60
