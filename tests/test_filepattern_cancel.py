"""A cancel (what a SIGTERM or the studio's Cancel becomes) stops a File Pattern's walk of
folders: the engine's generation runs on the engine thread and is asked now and then."""

from __future__ import annotations

from schedcore.engine import Engine
from schedcore.nodes import patterns

from .conftest import make_network


def test_a_cancel_stops_the_walk_of_a_file_pattern(tmp_path, monkeypatch):
    """The cancel (what a SIGTERM becomes) is asked of the walk as it lists folders: a tree of
    400 folders, the cancel asked as the first is listed, stops it within CHECK_EVERY."""
    for i in range(400):
        (tmp_path / "tree" / f"f{i}").mkdir(parents=True)
        (tmp_path / "tree" / f"f{i}" / "x.exr").write_text("")
    net = make_network(tmp_path, [{"name": "files", "type": "filepattern",
                                   "parms": {"pattern": "$HIP/tree/**/*.exr"}}])
    engine = Engine(net, journal=False)
    listed = []
    real = patterns._listing

    def listing(folder):
        if not listed:
            engine.cancel()
        listed.append(folder)
        return real(folder)

    monkeypatch.setattr(patterns, "_listing", listing)
    result = engine.run()
    assert result.canceled
    assert len(listed) <= patterns.CHECK_EVERY
    assert result.counts.get("CookedSuccess", 0) == 0
