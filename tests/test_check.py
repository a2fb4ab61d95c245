"""The conformance kit (``schedcore check``): it passes the shipped schedulers and fails the
broken ones of tests/data/broken_schedulers, naming the scenario, the cause and the line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from schedcore import check, registry
from schedcore.cli import main

BROKEN = Path(__file__).parent / "data" / "broken_schedulers"
FAST = {"pdg_tickperiod": 0.1}


def lines(report: check.Report) -> str:
    return "\n".join(r.line() for r in report.results)


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


@pytest.fixture
def broken():
    """Loads a broken scheduler file; the registry forgets it afterwards."""
    reg = registry.default()
    before = list(reg.extra_files)

    def load(name: str) -> check.Target:
        return check.resolve(str(BROKEN / f"{name}.py"), FAST)
    yield load
    reg.extra_files[:] = before
    reg.reload()


def failure(target: check.Target, scenario: str, timeout: float = 3.0) -> check.ScenarioResult:
    report = check.run(target, [scenario], timeout)
    (result,) = report.results
    assert result.status == check.FAILED, lines(report)
    assert not report.ok
    return result


def test_the_local_scheduler_passes_every_scenario():
    report = check.run(check.resolve("localscheduler"))
    assert [r.name for r in report.results] == check.NAMES
    assert {r.status for r in report.results} == {check.PASSED}, lines(report)
    assert report.ok


def test_the_python_scheduler_with_its_shipped_texts_passes(tmp_path):
    path = tmp_path / "net.top.json"
    path.write_text(json.dumps({
        "format": "schedcore-network", "version": 1, "nodes": [],
        "schedulers": [{"name": "py", "type": "pythonscheduler", "parms": {},
                        "spare_parms": [{"name": "farm", "type": "string", "value": "x"}]}]}))
    target = check.resolve(f"{path}:py")
    assert target.spec.spare_parms[0].name == "farm"
    report = check.run(target)
    assert {r.status for r in report.results} == {check.PASSED}, lines(report)


def test_the_dask_scheduler_on_a_local_cluster_passes():
    target = check.resolve("daskscheduler", {"dask_workers": 1})
    report = check.run(target, ["commands", "cancel"])
    assert {r.status for r in report.results} == {check.PASSED}, lines(report)


def test_a_scheduler_that_never_reports_is_named_with_the_item_and_the_question(broken):
    result = failure(broken("never_reports"), "commands")
    assert "was scheduled" in result.reason and "nothing reported it" in result.reason
    assert "its job ended" in result.reason
    assert "does onTick poll its jobs" in result.reason


def test_a_scheduler_that_ignores_cancel_leaves_processes_and_is_told(broken):
    result = failure(broken("ignores_cancel"), "cancel")
    assert "processes of its jobs still ran" in result.reason
    assert "onStopCook(cancel=True) returned" in result.reason
    assert "checkjob.py long_" in result.reason
    path = BROKEN / "ignores_cancel.py"
    assert (result.where.callback, Path(result.where.file), result.where.line) == \
        ("onStopCook", path, line_of(path, "def onStopCook"))


def test_an_invalid_value_is_named_with_its_callback_and_line(broken):
    result = failure(broken("invalid_value"), "commands")
    assert result.reason.startswith("onSchedule returned 'submitted'; allowed: ")
    path = BROKEN / "invalid_value.py"
    assert (result.where.callback, result.where.line) == \
        ("onSchedule", line_of(path, 'return "submitted"'))
    assert f"[onSchedule (invalid_value.py:{result.where.line})]" in result.line()


def test_an_ontick_that_raises_is_named_with_its_line(broken):
    result = failure(broken("tick_raises"), "commands")
    assert result.reason == "onTick raised ZeroDivisionError: division by zero"
    path = BROKEN / "tick_raises.py"
    assert (result.where.callback, result.where.line) == \
        ("onTick", line_of(path, "load = len(self.jobs)"))


def test_a_scheduler_that_runs_every_item_twice_is_caught(broken):
    result = failure(broken("runs_twice"), "commands")
    assert " ran 2 times (pids " in result.reason
    assert "one job per work item" in result.reason


def test_an_optional_scenario_the_scheduler_does_not_claim_is_not_supported(broken):
    report = check.run(broken("never_reports"), ["shared-server"], timeout=2)
    (result,) = report.results
    assert (result.status, result.required) == (check.NOT_SUPPORTED, False)
    assert report.ok and report.counts()[check.NOT_SUPPORTED] == 1


def test_the_command_prints_a_line_per_scenario_and_json(capsys):
    assert main(["check", "localscheduler", "--only", "commands", "static", "--json"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert data["ok"] and [s["name"] for s in data["scenarios"]] == ["commands", "static"]
    assert "passed        commands" in err and "conforms: 2 passed" in err


def test_the_command_fails_on_a_broken_scheduler(capsys, broken):
    path = BROKEN / "tick_raises.py"
    code = main(["check", str(path), "--parm", "pdg_tickperiod=0.1", "--only", "commands"])
    out = capsys.readouterr().out
    broken("tick_raises")  # so that the fixture forgets it
    assert code == 1
    assert "failed        commands" in out and "onTick raised ZeroDivisionError" in out
    assert "does not conform: 0 passed, 1 failed" in out


@pytest.mark.parametrize(("argv", "says"), [
    (["localscheduler", "--only", "comands"], "no scenario 'comands' (did you mean 'commands'?"),
    (["localscheduler", "--parm", "maxproc=2"],
     "has no parameter 'maxproc' (did you mean 'maxprocs'?"),
    (["localschedular"], "unknown scheduler type 'localschedular'"),
    (["nowhere/mine.py"], "nowhere/mine.py: no such scheduler module file"),
])
def test_the_command_refuses_what_it_cannot_check(capsys, argv, says):
    assert main(["check", *argv]) == 2
    assert says in capsys.readouterr().err


def test_pytest_runs_the_scenarios_in_a_schedulers_own_repository(tmp_path):
    (tmp_path / "pytest.ini").write_text(
        f"[pytest]\nschedcore_scheduler = {BROKEN / 'runs_twice.py'}\n"
        f"schedcore_parms = pdg_tickperiod=0.1\n")
    (tmp_path / "test_mine.py").write_text(
        "from schedcore.testing import conformance_tests\n"
        "test_local = conformance_tests('localscheduler', only=['commands'])\n\n"
        "def test_configured(schedcore_scenario, schedcore_check):\n"
        "    schedcore_check(schedcore_scenario)\n")
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "schedcore.testing",
                          "--schedcore-only", "commands", "-p", "no:cacheprovider", "-q"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert "1 failed, 1 passed" in run.stdout, run.stdout + run.stderr
    assert "test_configured[commands]" in run.stdout and " ran 2 times" in run.stdout


def test_a_scheduler_that_never_starts_a_job_is_told_once_pointing_at_onschedule(broken):
    report = check.run(broken("never_starts"), timeout=3)
    first, *rest = report.results
    assert first.status == check.FAILED and "its job never started" in first.reason
    path = BROKEN / "never_starts.py"
    assert (first.where.callback, first.where.line) == \
        ("onSchedule", line_of(path, "def onSchedule"))
    # the others would each wait as long for nothing: not run, and said why
    assert rest and all(r.reason == f"not run: in {first.name!r} no job ever started, and "
                                     f"this needs jobs too" for r in rest)
    assert all(r.seconds == 0 for r in rest)


def test_a_result_server_kept_from_the_jobs_is_named_as_the_cause(broken):
    result = failure(broken("hides_server"), "results")
    assert "its jobs had no $PDG_RESULT_SERVER, so they could not report" in result.reason


def test_what_the_base_class_did_is_not_credited_to_the_scheduler(broken):
    target = broken("hides_server")
    report = check.run(target, ["uris", "submit-as-job"], timeout=10)
    uris, submitted = report.results
    # its log URIs would be the base class's default, a file only startJob writes: none
    assert uris.status == check.PASSED and "no log URIs" in uris.line()
    assert submitted.status == check.PASSED
    assert "it defines no submitAsJob: the base class's default ran" in submitted.line()


def test_parameters_a_houdini_file_declares_in_its_template_body_can_be_set(tmp_path):
    """OpenCue's scheduler declares oc_python and the rest in templateBody()."""
    module = tmp_path / "templated.py"
    module.write_text(
        "import json\nfrom pdg.scheduler import PyScheduler\n\n\n"
        "class Templated(PyScheduler):\n"
        "    @classmethod\n    def templateName(cls):\n        return 'templated'\n\n"
        "    @classmethod\n    def templateBody(cls):\n"
        "        return json.dumps({'name': 'templated', 'parameters': [\n"
        "            {'name': 'oc_python', 'label': 'Python', 'type': 'String', 'value': ''}]})\n\n"
        "    def onSchedule(self, work_item):\n        return True\n\n\n"
        "def registerTypes(type_registry):\n"
        "    type_registry.registerScheduler(Templated)\n")
    reg = registry.default()
    before = list(reg.extra_files)
    try:
        target = check.resolve(str(module), {"oc_python": "/usr/bin/python3"})
        assert target.spec.parms["oc_python"] == "/usr/bin/python3"
        with pytest.raises(check.TargetError, match="has no parameter 'oc_pyhton'"):
            check.resolve(str(module), {"oc_pyhton": "x"})
    finally:
        reg.extra_files[:] = before
        reg.reload()
