"""``schedcore check``: the conformance kit. It cooks small canonical networks with a
scheduler, running real jobs on this machine, and says in words, with the callback and the
line, what the scheduler gets wrong of the PDG contract.

    report = check.run(check.resolve("localscheduler"))
    print(report.summary())
"""

from __future__ import annotations

from .report import FAILED, NOT_SUPPORTED, PASSED, Report, ScenarioResult
from .runner import DEFAULT_TIMEOUT, NAMES, SCENARIOS, chosen, run
from .target import Target, TargetError, from_spec, parse_parm, resolve

__all__ = ["DEFAULT_TIMEOUT", "FAILED", "NAMES", "NOT_SUPPORTED", "PASSED", "SCENARIOS",
           "Report", "ScenarioResult", "Target", "TargetError", "chosen", "from_spec",
           "parse_parm", "resolve", "run"]
