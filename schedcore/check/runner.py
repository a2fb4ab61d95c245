"""Running the scenarios against a target, one after the other, each in a folder of its own."""

from __future__ import annotations

import shutil
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from ..errors import SchedcoreError, did_you_mean
from .extras import EXTRAS
from .report import FAILED, NOT_SUPPORTED, PASSED, Report, ScenarioResult
from .scenario import Context, Fail, NotSupported, Scenario
from .scenarios import CORE
from .target import Target

SCENARIOS: list[Scenario] = CORE + EXTRAS
NAMES = [s.name for s in SCENARIOS]
DEFAULT_TIMEOUT = 30.0


def chosen(only: list[str] | None) -> list[Scenario]:
    """The scenarios named by ``only`` (all when empty), in the kit's order."""
    unknown = [name for name in only or () if name not in NAMES]
    if unknown:
        raise SchedcoreError(f"no scenario {unknown[0]!r}" + did_you_mean(unknown[0], NAMES))
    return [s for s in SCENARIOS if not only or s.name in only]


def run(target: Target, only: list[str] | None = None, timeout: float = DEFAULT_TIMEOUT,
        keep: bool = False, on_result: Callable[[ScenarioResult], None] | None = None,
        should_stop: Callable[[], bool] | None = None) -> Report:
    """Check ``target``; ``on_result`` hears of each scenario as it ends; ``should_stop``
    ends the check between scenarios. Folders are removed unless ``keep``."""
    report = Report(target.label)
    root = Path(tempfile.mkdtemp(prefix="schedcore-check-"))
    no_jobs = ""  # the scenario in which no job ever started: the rest would wait as long
    try:
        for scenario in chosen(only):
            if should_stop is not None and should_stop():
                break
            if no_jobs:
                required = not scenario.optional or scenario.name in target.claims
                result = ScenarioResult(
                    scenario.name, scenario.title, FAILED if required else NOT_SUPPORTED,
                    f"not run: in {no_jobs!r} no job ever started, and this needs jobs too",
                    required=required)
            else:
                result = run_one(scenario, target, root / scenario.name, timeout)
                no_jobs = scenario.name if result.no_jobs else ""
            if keep:
                result.folder = str(root / scenario.name)
            report.results.append(result)
            if on_result is not None:
                on_result(result)
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
    return report


def run_one(scenario: Scenario, target: Target, folder: Path, timeout: float) \
        -> ScenarioResult:
    required = not scenario.optional or scenario.name in target.claims
    result = ScenarioResult(scenario.name, scenario.title, PASSED, required=required)
    started = time.monotonic()
    try:
        scenario.run(Context(target, folder, timeout, result.notes))
    except Fail as exc:
        result.status, result.reason, result.where = FAILED, exc.reason, exc.where
        result.no_jobs = exc.no_jobs
    except NotSupported as exc:
        result.status, result.reason = NOT_SUPPORTED, str(exc)
    except SchedcoreError as exc:  # the cook could not even start (the scheduler's fault)
        result.status, result.reason = FAILED, str(exc)
    except Exception:  # a bug of the kit: said as such, the other scenarios still run
        result.status = FAILED
        result.reason = "internal error of the check kit; please report it:\n" + \
            traceback.format_exc()
    if result.status == FAILED and not required:
        result.status = NOT_SUPPORTED  # it does not claim it: a failure is no broken promise
    result.seconds = time.monotonic() - started
    return result
