"""A third round: a job that reports outputs by the hundred thousand (the cook's work per
output, the journal's, and no limit at all), and another local user against the files the
cook copies, the submitted cook's log and the scheduler files it imports. As root with a
user ``nobody`` the planting is done by ``nobody``; otherwise by this same user, where what
needs another user skips."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
import time
from pathlib import Path

import pytest

from schedcore import journal
from schedcore.engine import Engine
from schedcore.errors import CookError
from schedcore.events import ItemChanged, ItemStateChanged
from schedcore.registry import Registry
from schedcore.reports import OutputAdded
from schedcore.results import ScheduleResult
from schedcore.schedulers import Scheduler
from schedcore.schedulers.local import LocalScheduler
from schedcore.workitem import MAX_OUTPUTS, WorkItem
from schedcore.workitem import WorkItemState as S

from .conftest import ROOT, make_network
from .test_hostile_files import plant, shared  # noqa: F401 (a fixture)
from .test_hostile_round2 import another_user
from .test_registry import GOOD, write_types

# == outputs by the hundred thousand =========================================================
COOK = """
import json, sqlite3, sys
from schedcore import journal, network
from schedcore.engine import Engine
engine = Engine(network.load(sys.argv[1]))
result = engine.run()
[item] = result.items
db = sqlite3.connect(engine.journal_path)
kinds = dict(db.execute("SELECT kind, COUNT(*) FROM events GROUP BY kind").fetchall())
db.close()
[record] = journal.read(engine.journal_path).values()
print(json.dumps({"state": item.state.name, "outputs": [[o.path, o.tag] for o in
                                                        item.outputFiles],
                  "warnings": result.warnings, "log": open(item.log_file).read()[-3000:],
                  "rows": kinds, "journaled": [o.path for o in record.outputs]}))
"""


def cook_outputs(folder: Path, script: str, timeout: float) -> dict:
    """Cook one Python Script item running ``script`` in a process of its own (killed after
    ``timeout`` s: a stalled cook fails the test, it does not hang it)."""
    net = make_network(folder, [{"name": "py", "type": "pythonscript",
                                 "parms": {"script": script}}])
    done = subprocess.run([sys.executable, "-c", COOK, str(net.path)], capture_output=True,
                          text=True, cwd=ROOT, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_50000_outputs_of_one_item_are_applied_in_seconds(tmp_path):
    """A job that reported 50,000 outputs for its item stalled the cook: each output was
    compared with every one before it, and the journal copied and searched the item's list
    for each (131 s on the test machine; 25,576 applied in 120 s under load). Now an output
    is looked up by its path, and the journal writes an item's outputs once, in the row of
    its end (1.7 s). The outputs stay in order, one per path, the first of a path kept."""
    script = ("for n in range(50000):\n"
              "    work_item.addOutputFile('/o/%d.exr' % n, 'file/image')\n"
              "for n in range(10):  # again, another tag: the first stays\n"
              "    work_item.addOutputFile('/o/%d.exr' % n, 'file/other')\n")
    started = time.monotonic()
    # a bound, not a measurement: before, this took over two minutes
    cooked = cook_outputs(tmp_path, script, timeout=60)
    assert cooked["state"] == "CookedSuccess", cooked["log"]
    assert cooked["outputs"] == [[f"/o/{n}.exr", "file/image"] for n in range(50_000)]
    # reported while the item cooked: in its final row, not one row each as well
    assert cooked["rows"] == {"state": 1}, cooked["rows"]
    assert cooked["journaled"] == [f"/o/{n}.exr" for n in range(50_000)]
    assert time.monotonic() - started < 60


JOURNAL_LATE = """
import sys, time
from schedcore import journal
from schedcore.events import ItemChanged, ItemStateChanged
from schedcore.reports import OutputAdded
from schedcore.workitem import WorkItem, WorkItemState as S
item = WorkItem(1, "n", 0)
record = journal.Journal(sys.argv[1], lambda i: "n/0")
item.state = S.CookedSuccess
record(ItemStateChanged(item, S.Cooking, S.CookedSuccess))
for n in range(50000):  # late: every one after the item ended
    item.addOutputFile("/o/%d.exr" % n, "file", n)
    record(ItemChanged(item, OutputAdded(item.id, "/o/%d.exr" % n, "file", n)))
record.close()
print(len(journal.read(sys.argv[1])["n/0"].outputs))
"""


def test_50000_late_outputs_are_journaled_one_row_each_at_once(tmp_path):
    """Outputs reported after their item ended each get a row: the journal found the output
    by copying the item's whole list and searching it, for every output (quadratic: minutes
    for 50,000). Now it is looked up by path."""
    done = subprocess.run([sys.executable, "-c", JOURNAL_LATE, str(tmp_path / "j.sqlite")],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.stdout.strip() == "50000", done.stderr[-3000:]


def test_a_late_output_row_is_the_output_the_item_keeps(tmp_path):
    """A late output of a path the item has already is the one it keeps (its first tag); one
    reported while the item cooks is in the row of its end, and none of its own."""
    path = tmp_path / "j.sqlite"
    item = WorkItem(1, "n", 0)
    record = journal.Journal(path, lambda i: "n/0")
    item.state = S.Cooking
    item.addOutputFile("/o/a.exr", "file/image", 7)
    record(ItemChanged(item, OutputAdded(item.id, "/o/a.exr", "file/image", 7)))
    record.flush()
    assert journal.read(path) == {}  # nothing yet: the item has not ended
    item.state = S.CookedSuccess
    record(ItemStateChanged(item, S.Cooking, S.CookedSuccess))
    item.addOutputFile("/o/a.exr", "file/other", 9)  # kept as it was
    record(ItemChanged(item, OutputAdded(item.id, "/o/a.exr", "file/other", 9)))
    item.addOutputFile("/o/b.exr", "file/late", 3)
    record(ItemChanged(item, OutputAdded(item.id, "/o/b.exr", "file/late", 3)))
    record.close()
    outputs = journal.read(path)["n/0"].outputs
    assert [(o.path, o.tag, o.checksum) for o in outputs] == [
        ("/o/a.exr", "file/image", 7), ("/o/b.exr", "file/late", 3)]


def test_a_job_reporting_more_outputs_than_an_item_keeps_is_refused(tmp_path):
    """There was no limit: a job could report 1,000,000 outputs for one item and the cook
    kept them all (its memory, its journal, the JSON of every item below). Now the result
    server refuses outputs beyond ``MAX_OUTPUTS`` of an item: the job learns why (and fails,
    as its reports did not all arrive), the cook warns once, the item keeps the first
    100,000. 1,000,000 reported: 4.4 s, 100,000 kept."""
    script = (f"for n in range({MAX_OUTPUTS + 300}):\n"
              f"    work_item.addOutputFile('/o/%d.exr' % n)\n")
    cooked = cook_outputs(tmp_path, script, timeout=120)
    assert len(cooked["outputs"]) == MAX_OUTPUTS
    assert cooked["outputs"][-1] == [f"/o/{MAX_OUTPUTS - 1}.exr", "file"]
    assert cooked["state"] == "CookedFail"
    assert f"an item keeps at most {MAX_OUTPUTS:,} outputs" in cooked["log"]
    refused = [w for w in cooked["warnings"] if "output reports refused" in w]
    assert len(refused) == 1 and "py_1" in refused[0], cooked["warnings"]


def test_an_item_knows_when_a_reported_output_is_one_too_many():
    """Beyond ``MAX_OUTPUTS`` and the item's expected outputs a reported output is refused
    (by the cook state, for a scheduler's own reports); one it has already is never too
    many; node code (a Wait for All gathering every upstream output) adds without a limit."""
    item = WorkItem(1, "n", 0)
    item.addExpectedOutputFile("/o/expected.exr")
    for n in range(MAX_OUTPUTS):
        item.addOutputFile(f"/o/{n}.exr")
    assert not item.reports_full("/o/expected.exr")  # the expected one still fits
    item.addOutputFile("/o/expected.exr")
    item.addOutputFile("/o/0.exr", "other")  # a path it has: nothing added
    assert item.reports_full("/o/one-more.exr") and not item.reports_full("/o/0.exr")
    item.addOutputFile("/o/one-more.exr")  # node code: kept
    assert item.outputCount == MAX_OUTPUTS + 2
    assert item.outputFile("/o/0.exr").tag == "file"
    assert [o.path for o in item.iterOutputFiles()][-2:] == ["/o/expected.exr",
                                                             "/o/one-more.exr"]
    assert item.to_json()["outputs"][0] == {"path": "/o/0.exr", "tag": "file", "checksum": 0}


def test_a_schedulers_own_flood_of_outputs_is_one_warning(tmp_path):
    """Outputs a scheduler reports itself (not through the result server) stop at the
    item's limit too: one warning that they could not be applied, the item succeeds."""

    class Flood(Scheduler):
        def onSchedule(self, work_item):
            for n in range(MAX_OUTPUTS + 50):
                self.workItemFileResult(work_item.id, 0, f"/o/{n}.exr")
            self.workItemSucceeded(work_item.id)
            return ScheduleResult.Succeeded

    net = make_network(tmp_path, [{"name": "g", "type": "genericgenerator",
                                   "parms": {"itemcount": 1, "command": "x"}}])
    result = Engine(net, scheduler=Flood("flood", {})).run()
    [item] = result.items
    assert item.state == S.CookedSuccess and item.outputCount == MAX_OUTPUTS
    refused = [w for w in result.warnings if "output reports refused" in w]
    assert len(refused) == 1 and f"at most {MAX_OUTPUTS:,}" in refused[0], result.warnings


# == files the cook copies into a working dir others may write to ============================
def test_a_copy_replaces_a_planted_link_rather_than_write_through_it(tmp_path):
    """``transferFile`` (Submit As Job's copy of the network) opened its target with
    ``O_TRUNC`` and wrote through it: a link there to another file got the network written
    into that file. Now a new file is renamed over the link."""
    ours, workdir = tmp_path / "net.top.json", tmp_path / "work"
    ours.write_text('{"network": "ours"}')
    workdir.mkdir()
    victim = tmp_path / "precious.txt"
    victim.write_text("precious")
    (workdir / "net.top.json").symlink_to(victim)
    scheduler = LocalScheduler("local", {"pdg_workingdir": str(workdir)})
    assert scheduler.transferFile(str(ours))
    assert victim.read_text() == "precious"
    copy = workdir / "net.top.json"
    assert not copy.is_symlink() and copy.read_text() == '{"network": "ours"}'
    assert [p.name for p in workdir.iterdir()] == ["net.top.json"]  # no temporary left


PLANT_FILE = ("import os, sys; fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o666); "
              "os.write(fd, b'theirs'); os.fchmod(fd, 0o666)")


def test_a_copy_never_writes_into_a_file_or_link_another_user_planted(shared, tmp_path):  # noqa: F811
    """``nobody`` planted, in a 1777 working dir, a world-writable file and a link to a file
    of the cook's user where ``transferFile`` copies: the copy went into their file (still
    theirs, to rewrite before the cook loads it) and through their link. Now each is
    replaced by a file of the cook's user, never writable by others."""
    who = another_user()
    victim = tmp_path / "precious.txt"
    victim.write_text("precious")
    plant(PLANT_FILE, str(shared / "planted.top.json"))
    plant("import os, sys; os.symlink(sys.argv[1], sys.argv[2])", str(victim),
          str(shared / "linked.top.json"))
    scheduler = LocalScheduler("local", {"pdg_workingdir": str(shared)})
    scheduler.setWorkingDir(str(shared), str(shared))
    for name in ("planted.top.json", "linked.top.json"):
        ours = tmp_path / name
        ours.write_text('{"network": "ours"}')
        ours.chmod(0o666)
        assert scheduler.transferFile(str(ours))
        copy = shared / name
        info = os.lstat(copy)
        assert not copy.is_symlink() and info.st_uid == os.geteuid(), (name, who)
        assert info.st_mode & 0o777 == 0o664  # the source's mode, without o+w
        assert copy.read_text() == '{"network": "ours"}'
    assert victim.read_text() == "precious"


# == the submitted cook's folder and log =====================================================
def test_a_link_planted_as_the_submitted_cooks_log_is_refused(tmp_path, monkeypatch):
    """The submitted cook's output went to ``pdgtemp/submitted/<name>.log`` through the
    shell's ``>>``, which follows a link: one planted under that name had the cook's output
    appended to the file it named. Now the log is made new before the shell appends to it,
    and one there already is refused."""
    workdir = tmp_path / "work"
    submitted = workdir / "pdgtemp" / "submitted"
    submitted.mkdir(parents=True)
    victim = tmp_path / "precious.txt"
    victim.write_text("precious")
    monkeypatch.setattr("schedcore.schedulers.submission.time.time_ns", lambda: 42)
    (submitted / f"net-{os.getpid()}-42.log").symlink_to(victim)
    scheduler = LocalScheduler("local", {"pdg_workingdir": str(workdir)})
    scheduler.setWorkingDir(str(workdir), str(workdir))
    with pytest.raises(CookError, match="exists already"):
        scheduler.submitAsJob("net.top.json", "")
    monkeypatch.undo()
    time.sleep(1)  # before, the cook started and its output went through the link
    assert victim.read_text() == "precious"
    assert not list(submitted.glob("*.json"))  # refused before anything was queued


def test_a_schedulers_submission_checks_its_folders(shared):  # noqa: F811
    """``submit`` checked ``pdgtemp/submitted``, but a scheduler's ``submitAsJob`` made it
    with a plain ``makedirs``: a ``pdgtemp`` of ``nobody``'s, or a ``submitted`` they made,
    was used (theirs to swap the status file or plant links as the log). Now the scheduler
    checks them as ``submit`` does."""
    who = another_user()
    plant("import os, sys; os.makedirs(sys.argv[1]); os.chmod(sys.argv[1], 0o777)",
          str(shared / "pdgtemp" / "submitted"))
    scheduler = LocalScheduler("local", {"pdg_workingdir": str(shared)})
    scheduler.setWorkingDir(str(shared), str(shared))
    with pytest.raises(CookError, match=f"belongs to the user {who}"):
        scheduler.submitAsJob("net.top.json", "")
    assert not list((shared / "pdgtemp" / "submitted").iterdir())


# == scheduler files another user could change ===============================================
MARKED = GOOD.replace("from schedcore.compat import pdg\n",
                      "from schedcore.compat import pdg\nimport pathlib\n"
                      "pathlib.Path({marker!r}).write_text('ran')\n")


def typefile(folder: Path, name: str, marker: Path) -> Path:
    write_types(folder, {f"{name}.py": MARKED.format(marker=str(marker), cls=name.title(),
                                                     name=name, version=1, label=name)})
    return folder / f"{name}.py"


def test_a_world_writable_scheduler_file_is_not_imported(tmp_path):
    """A scheduler file any user could write (mode 0666), or in a types folder any user
    could replace files in (0777 without the sticky bit), was imported: another user's code
    ran as the user of the studio and of every cook. Now it is a load failure saying who can
    write it and what to do; ``chmod o-w`` and a reload load it."""
    types = tmp_path / "site" / "pdg" / "types"
    open_file = typefile(types, "openfile", tmp_path / "openfile.ran")
    open_file.chmod(0o666)
    open_folder = tmp_path / "open" / "pdg" / "types"
    typefile(open_folder, "openfolder", tmp_path / "openfolder.ran")
    open_folder.chmod(0o777)
    sticky = tmp_path / "sticky" / "pdg" / "types"  # like /tmp: each file its owner's
    typefile(sticky, "sticky", tmp_path / "sticky.ran")
    sticky.chmod(0o1777)
    registry = Registry(folders=[types, open_folder, sticky], use_entry_points=False)
    assert "sticky" in registry.types and (tmp_path / "sticky.ran").exists()
    assert "openfile" not in registry.types and "openfolder" not in registry.types
    assert not (tmp_path / "openfile.ran").exists()
    assert not (tmp_path / "openfolder.ran").exists()
    failures = {Path(f.file).name: f for f in registry.failures}
    assert failures.keys() == {"openfile.py", "openfolder.py"}
    assert failures["openfile.py"].kind == "writable by others"
    assert "is writable by every user (mode 666)" in failures["openfile.py"].message
    assert f"chmod o-w {open_file}" in failures["openfile.py"].message
    assert f"the folder {open_folder} is writable by every user (mode 777, without the " \
           f"sticky bit)" in failures["openfolder.py"].message
    open_file.chmod(0o644)
    assert registry.reload() is True
    assert "openfile" in registry.types
    assert [Path(f.file).name for f in registry.failures] == ["openfolder.py"]
    assert (tmp_path / "openfile.ran").exists()


def test_a_scheduler_file_of_another_user_is_not_imported(tmp_path):
    """A file ``nobody`` owns in a types folder of the cook's user (they can rewrite it)
    was imported. Now it is refused, naming them; a package with a module of theirs too."""
    if os.geteuid() != 0:
        pytest.skip("needs root to give a file to another user")
    try:
        nobody = pwd.getpwnam("nobody").pw_uid
    except KeyError:
        pytest.skip("needs the user nobody")
    types = tmp_path / "pdg" / "types"
    theirs = typefile(types, "theirs", tmp_path / "theirs.ran")
    os.chown(theirs, nobody, -1)
    package = types / "pkg"
    write_types(package, {"__init__.py": "from .inner import registerTypes\n",
                          "inner.py": MARKED.format(marker=str(tmp_path / "pkg.ran"),
                                                    cls="Pkg", name="pkg", version=1,
                                                    label="pkg")})
    os.chown(package / "inner.py", nobody, -1)
    registry = Registry(folders=[types], use_entry_points=False)
    assert "theirs" not in registry.types and "pkg" not in registry.types
    assert not (tmp_path / "theirs.ran").exists() and not (tmp_path / "pkg.ran").exists()
    why = {Path(f.file).name: f.message for f in registry.failures}
    assert f"the file {theirs} belongs to the user nobody" in why["theirs.py"]
    assert f"the file {package / 'inner.py'} belongs to the user nobody" in why["pkg"]
    os.chown(theirs, 0, -1)
    registry.reload()
    assert "theirs" in registry.types


def test_a_wait_for_all_gathers_more_outputs_than_a_job_may_report(tmp_path, monkeypatch):
    """The limit is on what jobs and schedulers report, not on node code: a Wait for All
    over many items takes every upstream output (here 9 with a limit of 5)."""
    monkeypatch.setattr("schedcore.workitem.MAX_OUTPUTS", 5)

    class Three(Scheduler):
        def onSchedule(self, work_item):
            for n in range(3):
                self.workItemFileResult(work_item.id, 0, f"/o/{work_item.name}_{n}.exr")
            self.workItemSucceeded(work_item.id)
            return ScheduleResult.Succeeded

    net = make_network(tmp_path, [
        {"name": "g", "type": "genericgenerator", "parms": {"itemcount": 3, "command": "x"}},
        {"name": "all", "type": "waitforall", "inputs": ["g"]}])
    result = Engine(net, scheduler=Three("three", {})).run()
    assert result.ok, result.errors
    gathered = next(i for i in result.items if i.node == "all")
    assert gathered.outputCount == 9 and not result.warnings
