"""The cook history of a network: each node's figures (``usagestats.NodeFigures``) in each
of its last cooks, kept beside its journal (``<network file name>.history.db``, SQLite: the
journal itself starts afresh with every cook that does not resume; the history is no
``*.sqlite``, so that nothing takes it for a journal).

The journal adds a cook's figures as the cook finishes; ``node_durations`` gives a node's
over the last N cooks, oldest first, for a plot.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .journal import _own_sidecars, _query, untrusted
from .usagestats import NodeFigures, figures_of_result

log = logging.getLogger(__name__)

KEEP = 200  # cooks kept; older ones are dropped as new ones come

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cooks (
    seq INTEGER PRIMARY KEY,
    cook TEXT NOT NULL,      -- the engine's cook id
    ended REAL NOT NULL,     -- seconds since the epoch
    ok INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS nodes (
    cook INTEGER NOT NULL REFERENCES cooks(seq) ON DELETE CASCADE,
    node TEXT NOT NULL,
    data TEXT NOT NULL       -- NodeFigures as JSON
);
CREATE INDEX IF NOT EXISTS nodes_by_name ON nodes(node, cook);
"""


@dataclass(frozen=True, slots=True)
class CookFigures:
    """A node's figures in one cook, and when that cook ended."""

    ended: float
    cook: str
    ok: bool
    figures: NodeFigures


def history_path(journal_path: str | Path) -> Path:
    """``net.top.json.sqlite`` -> ``net.top.json.history.db``."""
    path = Path(journal_path)
    return path.with_name(f"{path.stem}.history.db")


def record(journal_path: str | Path, cook: str, figures: Iterable[NodeFigures],
           ok: bool, ended: float | None = None) -> None:
    """Add a cook's figures to the history beside ``journal_path``."""
    path = history_path(journal_path)
    if untrusted(path):  # another user's file (or a link): left alone, nothing recorded
        return
    _own_sidecars(path, ("", "-journal"))
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA foreign_keys=ON")
        db.executescript(_SCHEMA)
        with db:
            seq = db.execute("INSERT INTO cooks (cook, ended, ok) VALUES (?, ?, ?)",
                             (cook, time.time() if ended is None else ended, int(ok))
                             ).lastrowid
            db.executemany("INSERT INTO nodes VALUES (?, ?, ?)",
                           [(seq, f.node, json.dumps(f.to_json())) for f in figures])
            db.execute("DELETE FROM cooks WHERE seq <= ?", ((seq or 0) - KEEP,))
    finally:
        db.close()


class HistoryRecorder:
    """Called with a cook's result as it finishes (by its journal, once closed): its
    figures by node join those of the earlier cooks of its network (beside the journal at
    ``journal_path``)."""

    def __init__(self, journal_path: str | Path, cook: str):
        self.journal_path, self.cook = journal_path, cook

    def __call__(self, result: Any) -> None:
        try:
            record(self.journal_path, self.cook, figures_of_result(result), result.ok)
        except (OSError, sqlite3.Error) as exc:  # said with the cook's other warnings
            text = (f"the cook history {history_path(self.journal_path)} cannot be written "
                    f"({exc}); the cook's results are not affected")
            log.warning("%s", text)
            result.warnings.append(text)


def node_durations(journal_path: str | Path, node: str, last: int = 10) -> list[CookFigures]:
    """``node``'s figures (p50, p95 and max seconds its jobs ran, counts, CPU, memory) in
    each of the last ``last`` cooks of the network whose journal is ``journal_path``
    (``Engine.journal_path``) that had items of it, oldest first; [] without a history."""
    path = history_path(journal_path)
    rows = _query(path, "SELECT c.ended, c.cook, c.ok, n.data FROM nodes n JOIN cooks c "
                        "ON c.seq = n.cook WHERE n.node = ? ORDER BY c.seq DESC LIMIT ?",
                  (node, max(0, int(last))))
    found = []
    for ended, cook, ok, text in reversed(rows):
        try:
            figures = NodeFigures(**json.loads(text))
        except (ValueError, TypeError):
            continue  # a row of a later version's shape
        found.append(CookFigures(float(ended), str(cook), bool(ok), figures))
    return found


def medians(journal_path: str | Path, nodes: Iterable[str], last: int = 10
            ) -> dict[str, list[float]]:
    """Each node's p50 duration over its last ``last`` cooks, oldest first."""
    return {node: [c.figures.p50 for c in node_durations(journal_path, node, last)
                   if c.figures.p50 is not None] for node in nodes}
