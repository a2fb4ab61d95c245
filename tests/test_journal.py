"""The cook journal on its own: what resume learns from it."""

from __future__ import annotations

import sqlite3

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
