"""Another local user against the files of a cook in a working dir others can write to: a
job module planted where the cook's scripts go, a symlink where it writes item data, a lock
file naming another cook, and the modes the cook gives its own files under umask 002. As root
with a user ``nobody``, the planting is done by ``nobody``; otherwise by this same user, which
is the same test of fresh names, ``O_EXCL`` and ``O_NOFOLLOW``."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
import threading
from pathlib import Path

import psutil
import pytest

from schedcore.engine import Engine
from schedcore.errors import CookError
from schedcore.events import ItemStateChanged
from schedcore.workitem import WorkItemState as S

from .conftest import ROOT, make_network
from .test_hostile import as_another_user

JOB_MODULES = sorted(p.name for p in (ROOT / "schedcore" / "jobs").glob("*.py"))


@pytest.fixture
def shared():
    """A working dir every user may write to (mode 1777, like /tmp), where ``nobody`` can
    reach it."""
    folder = Path(tempfile.mkdtemp(prefix="schedcore-shared-"))
    folder.chmod(0o1777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def plant(code: str, *args: str) -> str:
    """Run ``code`` as the other user; who that was."""
    command, who = as_another_user()
    done = subprocess.run([*command, "-c", code, *args], capture_output=True, text=True,
                          cwd="/", timeout=60)
    assert done.returncode == 0, (who, done.stderr)
    return who


def shared_pdgtemp(folder: Path) -> Path:
    """``pdgtemp`` (and its journal folder) made by the cook's user for everyone to write
    in, as a farm's shared scratch might be."""
    for path in (folder / "pdgtemp", folder / "pdgtemp" / "journal"):
        path.mkdir(exist_ok=True)
        path.chmod(0o1777)
    return folder / "pdgtemp"


def predictable_temps(engine: Engine) -> list[str]:
    """The names the cook's temp dir had: ``<pid>`` for a process's first cook,
    ``<pid>-<number>`` for its later ones."""
    pid = os.getpid()
    return [str(pid) if engine.number == 1 else f"{pid}-{engine.number}"]


PLANT_SCRIPTS = """
import os, sys
temp, modules, proof = sys.argv[1], sys.argv[2].split(","), sys.argv[3]
for name in temp.split(","):
    for sub in ("scripts", "data", "logs"):
        os.makedirs(os.path.join(name, sub), exist_ok=True)
        os.chmod(os.path.join(name, sub), 0o777)
    os.chmod(name, 0o777)
    for module in modules:
        path = os.path.join(name, "scripts", module)
        with open(path, "w") as handle:
            handle.write("import os\\n"
                         f"open({proof!r} + '-' + str(os.getpid()), 'w')"
                         ".write(os.environ.get('PDG_JOBID', ''))\\n")
        os.chmod(path, 0o666)
"""


def cook_two_items(folder: Path, name: str = "net.top.json") -> Engine:
    net = make_network(folder, [
        {"name": "gen", "type": "genericgenerator",
         "parms": {"itemcount": 2, "command": "echo hello"}},
        {"name": "ps1", "type": "pythonscript", "inputs": ["gen"],
         "parms": {"script": "print('python ran')"}}], name=name)
    return Engine(net)


def test_job_modules_planted_where_the_cooks_scripts_would_go_never_run(shared):
    """In a shared ``pdgtemp``, ``pdgtemp/<pid>/scripts/pdgjob*.py`` planted for the next cook
    ran as the cook's user (and read its secret). Now the cook's temp dir is fresh, with a
    name nobody can guess, and private."""
    pdgtemp = shared_pdgtemp(shared)
    engine = cook_two_items(shared)
    planted = [str(pdgtemp / name) for name in predictable_temps(engine)]
    proof = shared / "PWNED"
    who = plant(PLANT_SCRIPTS, ",".join(planted), ",".join(JOB_MODULES), str(proof))
    result = engine.run()
    ran = sorted(p.name for p in shared.glob("PWNED-*"))
    assert ran == [], f"planted code ran as the cook's user ({who}): {ran}"
    assert result.ok, [(i.name, i.reason) for i in result.items]
    temp = Path(engine.schedulers[0].tempDir(True))
    assert str(temp) not in planted and temp.parent == pdgtemp
    assert temp.name.startswith(f"{os.getpid()}-")
    assert stat.S_IMODE(temp.lstat().st_mode) == 0o700 and temp.lstat().st_uid == os.geteuid()


def test_a_pdgtemp_made_by_another_user_is_refused_and_nothing_runs(shared):
    """``nobody`` made ``pdgtemp`` itself (and planted the cook's scripts in it): as its owner
    it could swap any folder the cook makes there. The cook refuses, saying why."""
    command, who = as_another_user()
    if who != "nobody":
        pytest.skip("needs root and the user nobody")
    pdgtemp = shared / "pdgtemp"
    plant(f"import os; os.mkdir({str(pdgtemp)!r}, 0o777); os.chmod({str(pdgtemp)!r}, 0o777)")
    try:
        engine = cook_two_items(shared)  # takes the network's lock in pdgtemp/journal
    except CookError as exc:
        refused = str(exc)
    else:
        planted = [str(pdgtemp / name) for name in predictable_temps(engine)]
        plant(PLANT_SCRIPTS, ",".join(planted), ",".join(JOB_MODULES), str(shared / "PWNED"))
        result = engine.run()
        assert not result.ok
        refused = "\n".join(result.errors)
    assert sorted(p.name for p in shared.glob("PWNED-*")) == []
    assert str(pdgtemp) in refused and "nobody" in refused, refused


PLANT_LINKS = """
import os, sys
temp, victim = sys.argv[1], sys.argv[2]
for name in temp.split(","):
    os.makedirs(os.path.join(name, "data"), exist_ok=True)
    os.chmod(name, 0o777)
    os.chmod(os.path.join(name, "data"), 0o777)
    for item in ("ps1_1", "ps1_2", "ps1_3", "ps1_4", "gen_1", "gen_2"):
        os.symlink(victim, os.path.join(name, "data", item + ".json"))
"""


def test_a_symlink_planted_as_an_items_data_file_writes_nothing_through_it(shared):
    """A symlink at ``pdgtemp/<pid>/data/ps1_1.json`` made the cook truncate, rewrite and
    chmod the file it points to. Now no file of the cook's is reached through a link."""
    pdgtemp = shared_pdgtemp(shared)
    victim = shared / "victim.txt"
    victim.write_text("precious\n")
    victim.chmod(0o644)
    engine = cook_two_items(shared)
    planted = [str(pdgtemp / name) for name in predictable_temps(engine)]
    plant(PLANT_LINKS, ",".join(planted), str(victim))
    result = engine.run()
    assert victim.read_text() == "precious\n"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644
    assert result.ok, [(i.name, i.reason) for i in result.items]


def cook_of(process: psutil.Process) -> str | None:
    """The cook marker of ``process``; None once it has ended."""
    try:
        return process.environ().get("SCHEDCORE_COOK")
    except psutil.Error:
        return None


def test_a_planted_lock_naming_another_cook_stops_none_of_its_jobs(shared):
    """A lock file of network Y planted with network X's lock content (the cook's id) made a
    cook of Y stop X's running jobs. Now a lock another user made is not believed, and a
    lock names its cook only by a digest bound to that lock's own path."""
    shared_pdgtemp(shared)
    gate = shared / "gate"
    x_net = make_network(shared, [{"name": "wait", "type": "genericgenerator", "parms": {
        "itemcount": 1, "command": f"sh -c 'while [ ! -e {gate} ]; do sleep 0.05; done'"}}],
        name="x.top.json")
    x = Engine(x_net)
    cooking = threading.Event()
    x.events.subscribe(lambda e: cooking.set() if isinstance(e, ItemStateChanged)
                       and e.new == S.Cooking else None)
    x.start()
    try:
        assert cooking.wait(60), "network X's job did not start"
        journal = shared / "pdgtemp" / "journal"
        x_lock = journal / "x.top.json.sqlite.lock"
        content = x_lock.read_bytes()  # the attacker is given it, readable or not
        y_lock = journal / "y.top.json.sqlite.lock"
        plant("import os, sys\nfd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o666)\n"
              "os.write(fd, bytes.fromhex(sys.argv[2]))\nos.fchmod(fd, 0o666)\n",
              str(y_lock), content.hex())
        marked = [p for p in psutil.Process().children(recursive=True)
                  if cook_of(p) == x.cook_id]
        # the jobs themselves: not the short `sleep`s each job's shell loop starts
        jobs = [p for p in marked if p.ppid() not in {m.pid for m in marked}]
        assert jobs, "no job of X found"
        y = Engine(make_network(shared, [{"name": "echo", "type": "genericgenerator",
                                          "parms": {"itemcount": 1, "command": "true"}}],
                                name="y.top.json"))
        y_result = y.run()
        assert y_result.ok, y_result.errors
        assert not any("were still running and were stopped" in w for w in y_result.warnings)
        assert all(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in jobs), \
            "a cook of network Y stopped network X's jobs"
    finally:
        gate.touch()
        x_result = x.wait(60)
    assert x_result.ok, [(i.name, i.reason) for i in x_result.items]


def test_under_umask_002_the_cooks_own_files_are_private(tmp_path):
    """Under umask 002 the cook made ``scripts/`` 0775 and ``pdgjob.py`` 0664. Now its temp
    dir's folders are 0700 and its files 0600, and ``pdgtemp``, the journal's folder and the
    lock are writable by their owner only."""
    old = os.umask(0o002)
    try:
        engine = cook_two_items(tmp_path)
        result = engine.run()
    finally:
        os.umask(old)
    assert result.ok, [(i.name, i.reason) for i in result.items]
    temp = Path(engine.schedulers[0].tempDir(True))
    wide = [(str(p), oct(stat.S_IMODE(p.lstat().st_mode)))
            for p in [temp, *temp.rglob("*")] if stat.S_IMODE(p.lstat().st_mode) & 0o077]
    assert wide == []
    for path in (tmp_path / "pdgtemp", tmp_path / "pdgtemp" / "journal"):
        assert stat.S_IMODE(path.stat().st_mode) & 0o022 == 0, path
    lock = tmp_path / "pdgtemp" / "journal" / "net.top.json.sqlite.lock"
    assert stat.S_IMODE(lock.stat().st_mode) & 0o077 == 0
