"""The cook journal on its own: what resume learns from it."""

from __future__ import annotations

import json
import sqlite3
import time

from schedcore import network as network_file
from schedcore.engine import Engine
from schedcore.events import ItemStateChanged
from schedcore.journal import Journal, read
from schedcore.workitem import WorkItem
from schedcore.workitem import WorkItemState as S


def test_a_run_that_began_again_voids_the_earlier_success(tmp_path):
    path = tmp_path / "net.sqlite"
    item = WorkItem(1, "n", 0)
    first = Journal(path, lambda i: "n/0")
    item.state, item.cook_duration = S.CookedSuccess, 2.5
    item.addOutputFile(str(tmp_path / "out.txt"), "file")
    first(ItemStateChanged(item, S.Cooking, S.CookedSuccess))
    first.close()
    record = read(path)["n/0"]
    assert record.state == S.CookedSuccess and record.duration == 2.5
    assert [o.path for o in record.outputs] == [str(tmp_path / "out.txt")]

    resumed = Journal(path, lambda i: "n/0", fresh=False)  # it runs again, and is killed
    resumed(ItemStateChanged(item, S.Waiting, S.Scheduled))
    resumed(ItemStateChanged(item, S.Scheduled, S.Cooking))
    resumed.flush()
    assert read(path)["n/0"].state == S.Scheduled  # not a success any more: it runs again
    resumed.close()
    db = sqlite3.connect(path)
    try:  # Cooking right after Scheduled is not written
        assert db.execute("SELECT COUNT(*) FROM events").fetchone() == (2,)
    finally:
        db.close()


def test_a_fresh_cook_writes_one_row_per_item_as_it_ends(tmp_path):
    """Scheduled and Cooking need no row in a fresh journal (an unfinished item runs again
    anyway); a plain success is the same JSON as every other row."""
    path = tmp_path / "net.sqlite"
    journal = Journal(path, lambda i: f"n/{i.index}")
    items = [WorkItem(n + 1, "n", n) for n in range(3)]
    items[0].cook_duration = 0.1 + 0.2  # a float whose text has every digit
    items[1].reason = "the command ended with exit code 3"
    items[2].addOutputFile(str(tmp_path / "o.txt"), "file")
    for item, final in zip(items, (S.CookedSuccess, S.CookedFail, S.CookedSuccess),
                           strict=True):
        for old, new in ((S.Waiting, S.Scheduled), (S.Scheduled, S.Cooking),
                         (S.Cooking, final)):
            item.state = new
            journal(ItemStateChanged(item, old, new))
    journal.close()
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT item, data FROM events ORDER BY seq").fetchall()
    finally:
        db.close()
    assert [key for key, _ in rows] == ["n/0", "n/1", "n/2"]
    assert rows[0][1] == json.dumps({"state": "CookedSuccess", "duration": 0.1 + 0.2,
                                     "reason": "", "outputs": [], "id": 1, "node": "n"})
    assert json.loads(rows[1][1])["reason"] == "the command ended with exit code 3"
    records = read(path)
    assert records["n/0"].duration == 0.1 + 0.2
    assert records["n/1"].state == S.CookedFail
    assert [o.path for o in records["n/2"].outputs] == [str(tmp_path / "o.txt")]


def test_pending_events_are_committed_once_their_window_is_over(tmp_path):
    path = tmp_path / "net.sqlite"
    item = WorkItem(1, "n", 0)
    journal = Journal(path, lambda i: "n/0")
    assert journal.due(time.monotonic()) is None  # nothing pending
    journal(ItemStateChanged(item, S.Waiting, S.Scheduled))
    assert journal.due(time.monotonic()) is None  # a fresh journal: nothing to void
    journal(ItemStateChanged(item, S.Cooking, S.CookedSuccess))
    due = journal.due(time.monotonic())
    assert due is not None and due <= time.monotonic() + Journal.WINDOW
    assert read(path) == {}  # not yet: commits cost per window, not per event
    assert journal.due(due) is None
    assert read(path)["n/0"].state == S.CookedSuccess
    journal.close()


def test_a_waiting_cook_has_its_events_committed_within_the_window(tmp_path):
    """A cook that waits for a long job has what happened so far on disk (the short job's
    success), though nothing happened since: the engine wakes to commit when the window
    ends."""
    path = tmp_path / "long.top.json"
    path.write_text(json.dumps({"format": "schedcore-network", "version": 1, "schedulers": [
        {"name": "local", "type": "localscheduler", "parms": {"maxprocs": 2}}], "nodes": [
        {"name": "gen", "type": "genericgenerator", "inputs": [],
         "parms": {"itemcount": 2, "command": "sh -c 'sleep $((@pdg_index * 30))'"}}]}))
    engine = Engine(network_file.load(path), workdir=str(tmp_path))
    engine.start()
    try:
        deadline = time.monotonic() + 10
        while not read(engine.journal_path):
            assert time.monotonic() < deadline, "the journal was never committed"
            time.sleep(0.01)
        [record] = read(engine.journal_path).values()  # sleep 0 ended, sleep 30 runs
        assert record.state == S.CookedSuccess
        assert engine.items[2].state in (S.Scheduled, S.Cooking)  # the job still runs
    finally:
        engine.cancel()
        engine.wait(30)
    assert engine.result.canceled


def test_forget_nodes_drops_their_items_and_only_theirs(tmp_path):
    """What Dirty does to the journal: the items of the nodes named are no longer
    recorded (a resume runs them again); a node whose name begins alike is kept."""
    from schedcore.journal import forget_nodes

    path = tmp_path / "net.sqlite"
    journal = Journal(path, lambda i: f"{i.node}/{i.index}:0")
    for n, node in enumerate(("render", "render", "render2", "wedge")):
        item = WorkItem(n + 1, node, n)
        item.state = S.CookedSuccess
        journal(ItemStateChanged(item, S.Cooking, S.CookedSuccess))
    journal.close()
    assert forget_nodes(path, {"render"}) == 2
    assert sorted(read(path)) == ["render2/2:0", "wedge/3:0"]
    assert forget_nodes(path, {"render"}) == 0
    assert forget_nodes(tmp_path / "none.sqlite", {"render"}) == 0  # never cooked: nothing


def test_forget_nodes_refuses_a_journal_that_is_a_link(tmp_path):
    import pytest

    from schedcore.journal import forget_nodes

    elsewhere = tmp_path / "other.sqlite"
    Journal(elsewhere, lambda i: "n/0").close()
    link = tmp_path / "net.sqlite"
    link.symlink_to(elsewhere)
    with pytest.raises(OSError, match="is a symbolic link"):
        forget_nodes(link, {"n"})
