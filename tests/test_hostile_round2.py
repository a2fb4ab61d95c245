"""A second round of another local user against a cook in a working dir others can write to
(the journal, its write-ahead log, the lock, Submit As Job's copy and status files), and of
careless inputs: status files that are FIFOs, devices or terminal escapes, a Ctrl-C as the
command starts up, a journal of 100,000 outputs. As root with a user ``nobody`` the planting
is done by ``nobody``; otherwise by this same user, where what needs another user skips."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from schedcore import journal
from schedcore.engine import Engine
from schedcore.errors import CookError
from schedcore.submit import submit

from .conftest import ROOT, make_network
from .test_hostile import as_another_user
from .test_hostile_files import plant, shared, shared_pdgtemp  # noqa: F401 (a fixture)


def another_user() -> str:
    _, who = as_another_user()
    if who != "nobody":
        pytest.skip("needs root and the user nobody: a file of this user's is trusted")
    return who


def cook(folder: Path, resume: bool = False):
    net = make_network(folder, [{"name": "gen", "type": "genericgenerator",
                                 "parms": {"itemcount": 2, "command": "true"}}])
    return Engine(net, resume=resume).run()


def test_a_journal_planted_as_a_link_is_never_written_through(shared):  # noqa: F811
    """``nobody`` linked ``pdgtemp/journal/net.top.json.sqlite`` to a database of the cook's
    user: ``cook --resume`` wrote its tables into that database. Now a journal (or a file
    beside it) that is a link or another user's is not used: a new one is started."""
    another_user()
    journal_dir = shared_pdgtemp(shared) / "journal"
    victim = shared / "victim.db"
    with sqlite3.connect(victim) as db:
        db.execute("CREATE TABLE precious (x)")
    db.close()
    plant("import os, sys; os.symlink(sys.argv[1], sys.argv[2])", str(victim),
          str(journal_dir / "net.top.json.sqlite"))
    result = cook(shared, resume=True)
    assert result.ok, result.errors
    with sqlite3.connect(victim) as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master")]
    db.close()
    assert tables == ["precious"], "the cook wrote its journal through the planted link"
    assert any("symbolic link made by nobody" in w for w in result.warnings), result.warnings
    mine = journal_dir / "net.top.json.sqlite"
    assert not mine.is_symlink() and mine.stat().st_uid == os.geteuid()
    assert mine.stat().st_mode & 0o077 == 0  # item data: the cook's user's only


FORGE_WAL = """
import json, os, shutil, sqlite3, sys
journal, work = sys.argv[1], sys.argv[2]
shutil.copy(journal, work)
db = sqlite3.connect(work)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA wal_autocheckpoint=0")
for (key,) in db.execute("SELECT DISTINCT item FROM events").fetchall():
    db.execute("INSERT INTO events (item, kind, data) VALUES (?, 'attribute', ?)",
               (key, json.dumps({"name": "forged", "type": "string", "values": ["x"]})))
db.commit()
shutil.copy(work + "-wal", journal + "-wal")
os._exit(0)  # no checkpoint: the write-ahead log stays
"""


def test_a_write_ahead_log_planted_beside_the_journal_is_not_read(shared):  # noqa: F811
    """After a cook, ``nobody`` (who could read the 0644 journal) planted a write-ahead log
    beside it with rows of its own: the resumed cook merged them into the journal, and the
    next resume took them as the items' attributes. Now they are not read, and said so."""
    another_user()
    journal_dir = shared_pdgtemp(shared) / "journal"
    assert cook(shared).ok
    path = journal_dir / "net.top.json.sqlite"
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.chmod(0o644)  # as an earlier version left it; now it is made 0600
    plant(FORGE_WAL, str(path), str(shared / "forged.sqlite"))
    result = cook(shared, resume=True)
    assert result.ok, result.errors
    assert any("made by the user nobody" in w for w in result.warnings), result.warnings
    assert all("forged" not in r.attributes for r in journal.read(path).values())
    again = cook(shared, resume=True)
    assert all("forged" not in item.attributes for item in again.items)


HOLD_LOCK = """
import fcntl, json, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
os.write(fd, json.dumps({"pid": 4242, "host": "made-up", "network": "lies"}).encode())
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()
"""


def test_a_lock_file_another_user_holds_locked_does_not_stop_the_cook(shared):  # noqa: F811
    """``nobody`` made ``net.top.json.sqlite.lock`` and held it locked for ever: every cook
    was refused as "another cook ... process 4242 on made-up", which it made up. Now a lock
    file of another user's in the cook's own folder is removed and the cook runs; the
    warning names who made it."""
    who = another_user()
    journal_dir = shared_pdgtemp(shared) / "journal"
    command, _ = as_another_user()
    holder = subprocess.Popen([*command, "-c", HOLD_LOCK, str(journal_dir / "net.top.json"
                                                                        ".sqlite.lock")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              cwd="/")
    try:
        assert holder.stdout.readline() == "held\n"
        result = cook(shared)
    finally:
        holder.stdin.close()
        holder.wait(30)
        holder.stdout.close()
    assert result.ok, result.errors
    assert any(f"made by the user {who}" in w for w in result.warnings), result.warnings
    lock = journal_dir / "net.top.json.sqlite.lock"
    assert lock.stat().st_uid == os.geteuid()


def test_submit_refuses_a_network_copy_another_user_planted(shared, tmp_path):  # noqa: F811
    """``nobody`` put a world-writable ``net.top.json`` in the shared working dir: Submit As
    Job copied the network into that file of theirs, which they could rewrite before the
    submitted cook loaded it (and run their commands as the cook's user). Now it is refused,
    naming who made it; and ``pdgtemp/submitted`` is writable by no other user."""
    who = another_user()
    shared_pdgtemp(shared)
    (shared / "pdgtemp" / "submitted").mkdir()
    (shared / "pdgtemp" / "submitted").chmod(0o1777)
    planted = shared / "net.top.json"
    plant("import os, sys; fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o666); "
          "os.write(fd, b'theirs'); os.fchmod(fd, 0o666)", str(planted))
    net = make_network(tmp_path, [{"name": "gen", "type": "genericgenerator",
                                   "parms": {"itemcount": 1, "command": "true"}}],
                       schedulers=[{"name": "local", "type": "localscheduler",
                                    "parms": {"pdg_workingdir": str(shared)}}])
    with pytest.raises(CookError) as refused:
        submit(net)
    assert f"made by the user {who}" in str(refused.value) and str(planted) in str(
        refused.value)
    assert planted.read_bytes() == b"theirs"
    assert (shared / "pdgtemp" / "submitted").stat().st_mode & 0o002 == 0


def status(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "schedcore", "status", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)


def test_status_of_a_fifo_a_device_or_terminal_escapes(tmp_path):
    """``schedcore status`` on a FIFO waited for a writer for ever, on /dev/zero read until
    memory ran out, and printed a status's escape sequences to the terminal (retitling and
    clearing it, rewriting lines with a carriage return). Now the first two are refused and
    control characters are shown escaped."""
    fifo = tmp_path / "status.fifo"
    os.mkfifo(fifo)
    for path, what in ((fifo, "a FIFO"), ("/dev/zero", "a device")):
        done = status(str(path))
        assert done.returncode == 2 and what in done.stderr, done.stderr
    hostile = tmp_path / "status.json"
    hostile.write_text(json.dumps({"state": "finished\x1b]0;PWNED\x07\x1b[2J", "ok": False,
                                   "errors": ["\x1b[31mfake\x1b[0m\rerror: overwritten"]}))
    done = status(str(hostile))
    assert done.returncode == 1
    assert "\x1b" not in done.stdout and "\r" not in done.stdout and "\x07" not in done.stdout
    assert "\\x1b]0;PWNED\\x07" in done.stdout and "\\rerror: overwritten" in done.stdout


CTRL_C_AT_START_UP = """
import os, signal, sys
sys.argv = [os.path.join(os.path.dirname(sys.executable), "schedcore"), "cook", sys.argv[1]]


class CtrlC:  # a Ctrl-C as argparse is imported: while the command starts up
    def find_spec(self, name, path=None, target=None):
        if name == "argparse":
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None


sys.meta_path.insert(0, CtrlC())
from schedcore.cli import main
sys.exit(main())
"""


def test_a_ctrl_c_as_the_command_starts_up_cancels_without_a_traceback(tmp_path):
    """A Ctrl-C while ``schedcore cook`` still started up (before its handlers were in,
    which came after argparse and the parser) was a KeyboardInterrupt traceback. Now the
    handlers go in before anything else the command imports: the cook is canceled, exit
    130. (A signal before the command's own module runs, in the interpreter's start-up, is
    Python's.)"""
    if "argparse" in sys.builtin_module_names:
        pytest.skip("argparse is built in")
    net = make_network(tmp_path, [{"name": "gen", "type": "genericgenerator",
                                   "parms": {"itemcount": 1, "command": "sleep 30"}}])
    done = subprocess.run([sys.executable, "-c", CTRL_C_AT_START_UP, str(net.path)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 130, (done.returncode, done.stdout, done.stderr)
    assert "SIGINT: canceling the cook" in done.stdout + done.stderr


def test_a_journal_of_100000_outputs_of_one_item_is_read_in_one_pass(tmp_path):
    """An item that reported 100,000 outputs (rows after its end, as a job may send them
    late) made reading its journal compare each output with every one before it: 50,000
    took 125 s, 100,000 would take over 8 minutes. Now each is looked up in a set."""
    path = tmp_path / "net.top.json.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(journal._SCHEMA)
        db.execute("INSERT INTO events (item, kind, data) VALUES ('a', 'state', ?)",
                   (json.dumps({"state": "CookedSuccess", "duration": 1.0, "outputs": []}),))
        db.executemany("INSERT INTO events (item, kind, data) VALUES ('a', 'output', ?)",
                       ((json.dumps({"path": f"/o/{n}.exr", "tag": "file", "checksum": 0}),)
                        for n in range(100_000)))
    db.close()
    code = ("import sys; from schedcore import journal; "
            "print(len(journal.read(sys.argv[1])['a'].outputs))")
    # a bound, not a measurement: before, this took minutes; now about a second
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)
    assert done.stdout.strip() == "100000", done.stderr


def test_a_journal_of_this_user_is_resumed_as_before(tmp_path):
    """The checks leave the cook's own journal alone: a resume takes every item from it."""
    assert cook(tmp_path).ok
    result = cook(tmp_path, resume=True)
    assert result.ok and result.warnings == []
    assert {i.state.name for i in result.items} == {"CookedCache"}
