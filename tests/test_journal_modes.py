"""The cook journal on a network filesystem: a rollback journal where WAL's shared memory
cannot work; WAL on a local disk. (No NFS here: the choice is tested from mount tables, and
the rollback journal by choosing it with SCHEDCORE_JOURNAL_MODE.)"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from schedcore import network as network_file
from schedcore.engine import Engine
from schedcore.events import ItemStateChanged
from schedcore.journal import MODE_VAR, Journal, filesystem_type, journal_mode, read
from schedcore.workitem import WorkItem
from schedcore.workitem import WorkItemState as S

MOUNTINFO = """\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
40 22 0:40 / /farm rw,relatime shared:20 - nfs4 filer:/export/farm rw,vers=4.2
41 40 0:41 / /farm/local\\040scratch rw shared:21 - xfs /dev/sdb1 rw
42 22 0:42 / /mnt/lustre rw shared:22 - lustre 10.0.0.1@tcp:/fs rw
43 22 0:43 / /mnt/sshfs rw shared:23 - fuse.sshfs me@host:/ rw
"""


@pytest.mark.parametrize("path, kind", [
    ("/home/me/shot", "ext4"), ("/farm/shots/a", "nfs4"), ("/farm", "nfs4"),
    ("/farm/local scratch/x", "xfs"), ("/farmer", "ext4"), ("/mnt/lustre/w", "lustre"),
    ("/mnt/sshfs/w", "fuse.sshfs")])
def test_the_filesystem_of_a_folder_comes_from_the_longest_mount_point(path, kind):
    assert filesystem_type(path, MOUNTINFO) == kind


def test_a_network_filesystem_gets_a_rollback_journal_and_a_local_disk_wal(tmp_path,
                                                                             monkeypatch):
    monkeypatch.delenv(MODE_VAR, raising=False)
    kinds = {"/farm": "nfs4", "/mnt/sshfs": "fuse.sshfs", "/local": "ext4"}
    monkeypatch.setattr("schedcore.journal.filesystem_type", lambda path: kinds[str(path)])
    assert [journal_mode(p) for p in kinds] == ["rollback", "rollback", "wal"]
    monkeypatch.setenv(MODE_VAR, "wal")
    assert journal_mode("/farm") == "wal"


def test_a_rollback_journal_needs_no_shared_memory_and_reads_live(tmp_path, monkeypatch):
    monkeypatch.setenv(MODE_VAR, "rollback")
    path = tmp_path / "net.sqlite"
    journal = Journal(path, lambda i: f"n/{i.index}")
    assert journal.mode == "rollback"
    for index in range(3):
        item = WorkItem(index + 1, "n", index)
        item.state = S.CookedSuccess
        journal(ItemStateChanged(item, S.Cooking, S.CookedSuccess))
    journal.flush()
    assert len(read(path)) == 3  # while the cook still writes it
    assert not any(os.path.exists(f"{path}{s}") for s in ("-wal", "-shm"))
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] != "wal"
    finally:
        db.close()
    journal.close()


def test_a_cook_killed_within_a_commit_is_read_back_whole(tmp_path):
    """A hot rollback journal left by a killed writer is undone by the reader: the rows of
    the commit it was in never show, the earlier ones do."""
    path = tmp_path / "net.sqlite"
    code = f"""
import os, sqlite3
db = sqlite3.connect({str(path)!r}, isolation_level=None)
db.execute("PRAGMA journal_mode=TRUNCATE")
db.execute("PRAGMA cache_size=1")  # spill to the file inside the transaction
db.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY, item TEXT, kind TEXT, data TEXT)")
db.execute("INSERT INTO events (item, kind, data) VALUES ('n/0', 'state', ?)",
           ('{{"state": "CookedSuccess"}}',))
db.execute("BEGIN")
for i in range(2000):
    db.execute("INSERT INTO events (item, kind, data) VALUES (?, 'state', ?)",
               (f"n/{{i + 1}}", '{{"state": "CookedSuccess"}}' + "x" * 200))
os._exit(9)  # killed mid-commit
"""
    subprocess.run([sys.executable, "-c", code], check=False, timeout=60)
    assert os.path.getsize(f"{path}-journal") > 0  # hot
    assert list(read(path)) == ["n/0"]


def test_a_cook_and_its_resume_with_a_rollback_journal(tmp_path, monkeypatch):
    monkeypatch.setenv(MODE_VAR, "rollback")
    path = tmp_path / "net.top.json"
    path.write_text(json.dumps({"format": "schedcore-network", "nodes": [
        {"name": "gen", "type": "genericgenerator", "inputs": [],
         "parms": {"itemcount": 3, "command": "sh -c 'echo run >> runs_@pdg_index.txt'"}}]}))
    assert Engine(network_file.load(path)).run().ok
    resumed = Engine(network_file.load(path), resume=True).run()
    assert resumed.ok and {i.state for i in resumed.items} == {S.CookedCache}
    journal = tmp_path / "pdgtemp" / "journal" / "net.top.json.sqlite"
    assert journal.exists() and not os.path.exists(f"{journal}-shm")
