"""``schedcore check``'s scenarios as pytest tests, for a scheduler's own repository.

In a test module, one line::

    from schedcore.testing import conformance_tests
    test_conformance = conformance_tests("my_scheduler.py", parms={"pdg_tickperiod": 0.1})

or, with this plugin loaded (``pytest -p schedcore.testing``, or ``-p`` in ``addopts``), the
scheduler named once in the configuration::

    [tool.pytest.ini_options]
    addopts = "-p schedcore.testing"
    schedcore_scheduler = "my_scheduler.py"   # a type, a module file, or NETWORK:NODE

    def test_conformance(schedcore_scenario, schedcore_check):
        schedcore_check(schedcore_scenario)

Each scenario is a test of its own: it passes, fails with the kit's reason and the callback's
line, or is skipped as "not supported" (an optional scenario the scheduler does not claim).
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from pathlib import Path

import pytest

INI_SCHEDULER = "schedcore_scheduler"
INI_PARMS = "schedcore_parms"


def conformance_tests(scheduler: str, parms: dict | None = None, only=None,
                      timeout: float | None = None):
    """A test function, parametrized by scenario, checking ``scheduler``."""
    from . import check
    names = [s.name for s in check.chosen(only)]

    @pytest.mark.parametrize("scenario", names)
    def test_conformance(scenario):
        run_scenario(scheduler, scenario, parms, timeout)
    return test_conformance


def run_scenario(scheduler, scenario: str, parms: dict | None = None,
                 timeout: float | None = None) -> None:
    """Run one scenario against ``scheduler`` (a name, a file, ``NETWORK:NODE`` or a
    ``check.Target``): fail with the reason, skip when not supported."""
    from . import check
    from .check.runner import run_one
    target = scheduler if isinstance(scheduler, check.Target) else \
        _target(scheduler, tuple(sorted((parms or {}).items())))
    folder = Path(tempfile.mkdtemp(prefix="schedcore-check-"))
    try:
        (chosen,) = check.chosen([scenario])
        result = run_one(chosen, target, folder / scenario, timeout or check.DEFAULT_TIMEOUT)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if result.status == check.NOT_SUPPORTED:
        pytest.skip(f"not supported: {result.reason}")
    if result.status == check.FAILED:
        pytest.fail(result.line(), pytrace=False)


@functools.cache
def _target(scheduler: str, parms: tuple):
    from . import check
    return check.resolve(scheduler, dict(parms))


# == the plugin ==================================================================================
def pytest_addoption(parser) -> None:
    group = parser.getgroup("schedcore", "schedcore check")
    group.addoption("--schedcore-scheduler", metavar="SCHEDULER",
                    help="the scheduler the schedcore_scenario tests check: a type name, a "
                         "module file, or NETWORK.top.json:NODE")
    group.addoption("--schedcore-only", nargs="+", metavar="SCENARIO",
                    help="only these scenarios")
    parser.addini(INI_SCHEDULER, "the scheduler schedcore_scenario tests check")
    parser.addini(INI_PARMS, "NAME=VALUE parameters of that scheduler", type="linelist")


def pytest_generate_tests(metafunc) -> None:
    if "schedcore_scenario" in metafunc.fixturenames:
        from . import check
        only = metafunc.config.getoption("--schedcore-only", None)
        metafunc.parametrize("schedcore_scenario", [s.name for s in check.chosen(only)])


@pytest.fixture(scope="session")
def schedcore_target(pytestconfig):
    """The scheduler checked: ``--schedcore-scheduler`` or the ``schedcore_scheduler`` ini
    option (a file relative to the rootdir). Override it to build a ``check.Target`` of
    your own."""
    from . import check
    name = pytestconfig.getoption("--schedcore-scheduler", None) or \
        pytestconfig.getini(INI_SCHEDULER)
    if not name:
        pytest.fail(f"no scheduler to check: set {INI_SCHEDULER} in the pytest configuration "
                    f"or pass --schedcore-scheduler", pytrace=False)
    if name.endswith(".py") and not Path(name).is_absolute():
        name = str(pytestconfig.rootpath / name)
    parms = dict(check.parse_parm(t) for t in pytestconfig.getini(INI_PARMS))
    return check.resolve(name, parms)


@pytest.fixture
def schedcore_check(schedcore_target):
    """``schedcore_check(scenario)``: run that scenario against the configured scheduler."""
    return functools.partial(run_scenario, schedcore_target)
