"""The cook journal: every state change, reported output and attribute, appended to SQLite (WAL)
as it happens, so a cook whose process was killed can be resumed.

It is an engine-event subscriber (on the engine thread). Items are named by a key that is the
same in every cook of the network (node, index, and the key of the item they came from), not
by their id, which depends on the order things cooked.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from .events import CookFinished, ItemChanged, ItemStateChanged
from .workitem import Attribute, OutputFile, WorkItemState

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    item TEXT NOT NULL,      -- the item's key
    kind TEXT NOT NULL,      -- state, output, attribute
    data TEXT NOT NULL       -- JSON
);
"""


_STATE_ONLY = {state: json.dumps({"state": state.name}) for state in WorkItemState}


@dataclass
class Record:
    """What the journal knows of one item at the end of the last cook."""

    state: WorkItemState = WorkItemState.Uncooked
    duration: float = 0.0
    outputs: list[OutputFile] = field(default_factory=list)
    attributes: dict[str, Attribute] = field(default_factory=dict)


class Journal:
    """Appends a cook's events to ``path``; ``key`` names an item the same in every cook."""

    def __init__(self, path: str | Path, key, fresh: bool = True, on_error=None):
        self.path = Path(path)
        self._on_error = on_error  # told once, when the journal cannot be written
        self._pending: list[tuple] = []
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        self._key = key
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # a killed process loses nothing
        self._db.executescript(_SCHEMA)

    BATCH = 500  # events written in one transaction at most

    def __call__(self, event) -> None:
        """An engine event. Events are committed in batches, and whenever the engine is about
        to wait (``flush``): a killed cook loses at most what it did since it last waited."""
        if isinstance(event, ItemStateChanged):
            new = event.new
            if not new.is_final:
                # what resume needs of a run not over: that it began (an earlier success no
                # longer stands); Scheduled says it already, Cooking after it adds nothing
                if not (new is WorkItemState.Cooking and event.old is WorkItemState.Scheduled):
                    self._append_text(event.item, "state", _STATE_ONLY[new])
                return
            item = event.item
            self._append(item, "state", {"state": new.name, "duration": item.cook_duration,
                                         "reason": item.reason,
                                         "outputs": [o.to_json() for o in item.outputFiles]})
        elif isinstance(event, ItemChanged) and event.what == "output":
            output = next((o for o in event.item.outputFiles if o.path == event.detail), None)
            if output is not None:
                self._append(event.item, "output", output.to_json())
        elif isinstance(event, ItemChanged) and event.what == "attribute":
            attrib = event.item.attributes.get(event.detail)
            if attrib is not None:
                self._append(event.item, "attribute",
                             {"name": event.detail, **attrib.to_json()})
        elif isinstance(event, CookFinished):
            self.close()

    def _append(self, item, kind: str, data: dict) -> None:
        self._append_text(item, kind, json.dumps(data))

    def _append_text(self, item, kind: str, text: str) -> None:
        if self._db is None:
            return
        self._pending.append((self._key(item), kind, text))
        if len(self._pending) >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        """Commit what is waiting (the engine calls this before it waits)."""
        if self._db is None or not self._pending:
            return
        pending, self._pending = self._pending, []
        try:
            with self._db:
                self._db.executemany("INSERT INTO events (item, kind, data) VALUES (?, ?, ?)",
                                     pending)
        except sqlite3.Error as exc:  # a full disk, say: the cook goes on, unjournaled
            self._db.close()
            self._db = None
            if self._on_error is not None:
                self._on_error(f"the cook journal {self.path} cannot be written ({exc}); "
                               f"this cook goes on but cannot be resumed")

    def close(self) -> None:
        self.flush()
        if self._db is not None:
            self._db.close()
            self._db = None


def read(path: str | Path) -> dict[str, Record]:
    """What a journal says of each item, its events replayed in order ({} when none)."""
    if not os.path.exists(path):
        return {}
    records: dict[str, Record] = {}
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT item, kind, data FROM events ORDER BY seq").fetchall()
    except sqlite3.DatabaseError:
        rows = []  # not a journal: nothing to resume from
    finally:
        db.close()
    for key, kind, text in rows:
        record = records.setdefault(key, Record())
        data = json.loads(text)
        if kind == "state":
            record.state = WorkItemState[data["state"]]
            if record.state.is_final:
                record.duration = data.get("duration", 0.0)
                record.outputs = [OutputFile.from_json(o) for o in data.get("outputs", [])]
        elif kind == "output":
            output = OutputFile.from_json(data)
            if all(o.path != output.path for o in record.outputs):
                record.outputs.append(output)
        elif kind == "attribute":
            record.attributes[data["name"]] = Attribute.from_json(data)
    return records
