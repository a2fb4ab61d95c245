"""Shared test helpers: networks built in code, and a check that nothing is left running."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import tempfile
import threading
from pathlib import Path

import psutil
import pytest

from schedcore import network as network_file

# Qt offscreen, and the studio's settings and IPython's files in a folder of the test run:
# set before anything imports Qt.
_RUN_DIR = tempfile.mkdtemp(prefix="schedstudio-tests-")
os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ["QT_API"] = "pyside6"
os.environ["IPYTHONDIR"] = os.path.join(_RUN_DIR, "ipython")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_RUN_DIR, "config")
os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
os.environ.setdefault("PYTEST_QT_API", "pyside6")  # pytest-qt's choice, where it is installed

# The engine's tests run where only the engine is installed (a render node: `[farm]` and the
# test tools); the studio's need PySide6 and pytest-qt, and are left out, saying so.
_STUDIO_MISSING = [module for module in ("PySide6", "pytestqt", "qtconsole")
                   if importlib.util.find_spec(module) is None]


def pytest_ignore_collect(collection_path: Path) -> bool | None:
    if _STUDIO_MISSING and collection_path == Path(__file__).parent / "app":
        return True
    return None


def pytest_report_header() -> str | None:
    if _STUDIO_MISSING:
        return (f"studio tests (tests/app) left out: {', '.join(_STUDIO_MISSING)} not "
                f"installed; pip install -e '.[test]' runs them")
    return None


def pytest_terminal_summary(terminalreporter) -> None:
    if header := pytest_report_header():
        terminalreporter.write_line(header, yellow=True)

# Started in the background by a non-interactive shell, the run ignores Ctrl-C, and so would
# every cook it starts (a cook keeps a signal ignored, as nohup asks): the tests that send
# SIGINT to a cook need it as a terminal gives it. Python's handler is reset at exec.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "schedcore" / "examples"


def make_network(tmp_path: Path, nodes: list[dict], schedulers: list[dict] | None = None,
                 name: str = "net.top.json") -> network_file.Network:
    """Write a network file into ``tmp_path`` and load it (so ``$HIP`` is ``tmp_path``)."""
    data = {"format": "schedcore-network", "version": 1,
            "schedulers": schedulers if schedulers is not None else [
                {"name": "local", "type": "localscheduler", "parms": {"maxprocs": 2}}],
            "nodes": [{"inputs": [], "parms": {}, **node} for node in nodes]}
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return network_file.load(path)


def watch_peak_cooking(engine) -> list[int]:
    """Subscribe to ``engine``; the returned list's one value is the most items seen Cooking
    at once."""
    from schedcore.events import ItemStateChanged
    from schedcore.workitem import WorkItemState

    cooking, peak = [0], [0]

    def watch(event):
        if isinstance(event, ItemStateChanged):
            cooking[0] += (event.new == WorkItemState.Cooking) - \
                (event.old == WorkItemState.Cooking)
            peak[0] = max(peak[0], cooking[0])

    engine.events.subscribe(watch)
    return peak


@pytest.fixture(autouse=True, scope="session")
def own_types_path(tmp_path_factory):
    """No scheduler files of this machine's user: an empty per-user folder, no SCHEDCORE_PATH
    (for this process and the processes the tests start)."""
    saved = {key: os.environ.get(key) for key in ("XDG_DATA_HOME", "SCHEDCORE_PATH")}
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("userdata"))
    os.environ.pop("SCHEDCORE_PATH", None)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(autouse=True)
def own_settings(tmp_path_factory, monkeypatch):
    """Each test starts with no studio settings of its own (no Recent Files, no remembered
    window layout from an earlier test) and never reaches the user's."""
    monkeypatch.setenv("SCHEDSTUDIO_SETTINGS",
                       str(tmp_path_factory.mktemp("settings") / "schedstudio.ini"))


@pytest.fixture(autouse=True)
def own_folder(tmp_path_factory, monkeypatch):
    """Each test runs in a folder of its own: an untitled network cooks in the current
    folder ($HIP), and would write its pdgtemp/ into the checkout."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture(autouse=True)
def own_houdini_session():
    """A cook sets $HIP, $HIPNAME and $HIPFILE for the process, as a Houdini session has
    them; each test starts from the variables the run began with."""
    names = ("HIP", "HIPNAME", "HIPFILE")
    before = {name: os.environ.get(name) for name in names}
    yield
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def outsiders_only(monkeypatch):
    """The result server as a farm's jobs see it: every test connection comes from this
    user on 127.0.0.1, which the server would trust without the secret; here a connection
    is an outsider unless it carries the secret or comes from a trusted host."""
    from schedcore.resultserver import ResultServer
    monkeypatch.setattr(ResultServer, "own_user_trusted", False)


def _process_helper(process: psutil.Process) -> bool:
    """multiprocessing's resource tracker and forkserver: one each, for the whole test run
    (Dask's local clusters start them); they are not a test's leftovers."""
    try:
        command = " ".join(process.cmdline())
    except psutil.Error:
        return False
    return "multiprocessing.resource_tracker" in command or "multiprocessing.forkserver" \
        in command


@pytest.fixture(autouse=True)
def nothing_left_running():
    """Every test cleans up its threads and child processes."""
    threads_before = set(threading.enumerate())
    yield
    me = psutil.Process()
    children = [child for child in me.children(recursive=True) if not _process_helper(child)]
    gone, alive = psutil.wait_procs(children, timeout=5)
    assert not alive, f"processes left running: {alive}"
    leftover = [t for t in threading.enumerate()
                if t not in threads_before and t.is_alive() and not t.daemon]
    for thread in leftover:
        thread.join(5)
    leftover = [t for t in leftover if t.is_alive()]
    assert not leftover, f"threads left running: {leftover}"


# == a real Slurm on this machine (tests/slurmlocal.py) ==================================
# One cluster for the whole run: the first worker that needs it starts it, the last one
# ends its daemons by pid (a file lock and a count of users). Workers use it at once: each
# test names its cook's jobs and looks only at those.

@pytest.fixture(scope="session")
def slurm_cluster():
    """A running Slurm (munge, slurmctld, slurmd), ``SLURM_CONF`` set for the run; skips,
    saying why, when it cannot run here (not root, no apt-get to install it...)."""
    from .slurmlocal import SlurmUnavailable, shared_down, shared_up
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", "") or str(os.getpid())
    folder = Path(tempfile.gettempdir()) / f"schedcore-slurm-{run[:12]}"
    try:
        cluster = shared_up(folder)
    except SlurmUnavailable as exc:
        pytest.skip(f"no local Slurm: {exc}")
    before = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(cluster.conf)
    yield cluster
    if before is None:
        os.environ.pop("SLURM_CONF", None)
    else:
        os.environ["SLURM_CONF"] = before
    shared_down(folder)
