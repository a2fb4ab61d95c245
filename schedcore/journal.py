"""The cook journal: every state change, reported output and attribute, appended to SQLite
as it happens, so a cook whose process was killed can be resumed.

On a local disk it is a WAL database (appends cost no fsync; readers see it live). On a
network filesystem (a farm's shared working dir: NFS, SMB, Lustre, FUSE...) SQLite's WAL
needs shared memory the filesystem cannot give, so the journal uses a rollback journal
there, which needs only file locks; the cook's own lock already makes it the only writer.
``SCHEDCORE_JOURNAL_MODE=wal|rollback`` overrides the choice (a filesystem not recognized).

It is an engine-event subscriber (on the engine thread). Items are named by a key that is the
same in every cook of the network (node, index, and the key of the item they came from), not
by their id, which depends on the order things cooked; the engine's keys also carry the
fingerprint of what shaped the item, so a changed node's items are new items to the journal.
One journal belongs to one network file: ``<working dir>/pdgtemp/journal/<file name>.sqlite``,
and it records that network's path and nodes (``about``) to say what changed on resume.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import sqlite3
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .events import CookFinished, ItemChanged, ItemStateChanged
from .privatefiles import NEW_FILE, user_name
from .reports import AttributeArraySet, AttributeSet, OutputAdded, UsageReported
from .usage import Timeline
from .workitem import Attribute, OutputFile, WorkItemState

_ATTRIBUTES = (AttributeSet, AttributeArraySet)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    item TEXT NOT NULL,      -- the item's key
    kind TEXT NOT NULL,      -- state, output, attribute
    data TEXT NOT NULL       -- JSON
);
CREATE TABLE IF NOT EXISTS about (
    key TEXT PRIMARY KEY,    -- network: what the last cook was made from
    value TEXT NOT NULL      -- JSON
);
"""


def journal_path(workdir: str, network_path: str) -> str:
    """Where the journal of the network file ``network_path`` lives in ``workdir``: named
    from the whole file name (``shot.top.json`` and ``shot.v2.top.json`` differ)."""
    name = Path(network_path).name if network_path else "untitled"
    return os.path.join(os.path.abspath(workdir), "pdgtemp", "journal", f"{name}.sqlite")


def not_a_file(path: str | Path) -> str:
    """What the journal at ``path`` is when it exists and is no regular file (a FIFO, a
    folder, a socket, a device), else "". SQLite would block opening a FIFO for ever."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return ""
    if stat.S_ISREG(mode):
        return ""
    return ("a FIFO" if stat.S_ISFIFO(mode) else "a folder" if stat.S_ISDIR(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "a device")


# the files SQLite keeps beside a journal: what they hold is read as the journal's own rows
SIDECARS = ("-wal", "-shm", "-journal")


def untrusted(path: str | Path) -> str:
    """"", or why the journal at ``path`` cannot be believed: it, or a file SQLite reads
    beside it (its write-ahead log, shared memory or rollback journal), is a link or was
    made by a user other than this one (or root). In a working dir others may write to,
    such a file is another user's rows: results a resume would take, or a link SQLite
    would write through."""
    me = os.geteuid()
    for suffix in ("", *SIDECARS):
        try:
            info = os.lstat(f"{path}{suffix}")
        except OSError:
            continue
        if stat.S_ISLNK(info.st_mode):
            return f"{path}{suffix} is a symbolic link made by {user_name(info.st_uid)}"
        if info.st_uid not in (me, 0):
            return f"{path}{suffix} was made by the user {user_name(info.st_uid)}"
    return ""


def _own_sidecars(path: str | Path, suffixes) -> None:
    """Make the files SQLite would make beside the journal, empty, this user's, never
    through a link: in a folder others may write to (sticky, so nobody else can replace
    them once made) no link or file of theirs can be planted where SQLite writes."""
    for suffix in suffixes:
        try:
            os.close(os.open(f"{path}{suffix}", NEW_FILE, 0o600))
        except FileExistsError:
            pass


def _is_wal(path: str | Path) -> bool:
    """Whether the database at ``path`` is in WAL mode (its header's format bytes are 2)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(20)
    except OSError:
        return False
    return len(head) == 20 and head[18] == 2 and head[19] == 2


_STATE_ONLY = {state: json.dumps({"state": state.name}) for state in WorkItemState}

MODE_VAR = "SCHEDCORE_JOURNAL_MODE"
# filesystems that cannot share the memory WAL needs between processes (or machines)
NETWORK_FILESYSTEMS = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "afs", "ceph",
                       "glusterfs", "lustre", "gpfs", "beegfs", "9p", "davfs", "pvfs2",
                       "orangefs", "ocfs2", "gfs2"}


def filesystem_type(path: str | Path, mountinfo: str | None = None) -> str:
    """The type of the filesystem ``path`` is on, from /proc/self/mountinfo ("" when it
    cannot be told, as on macOS)."""
    if mountinfo is None:
        try:
            mountinfo = Path("/proc/self/mountinfo").read_text(encoding="utf-8")
        except OSError:
            return ""
    target = os.path.realpath(path)
    best, kind = "", ""
    for line in mountinfo.splitlines():
        fields, _, after = line.partition(" - ")
        parts = fields.split()
        if len(parts) < 5 or not after:
            continue
        point = _unescape(parts[4])
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, after.split()[0]
    return kind


def _unescape(text: str) -> str:
    """mountinfo writes spaces, tabs, newlines and backslashes in octal (\\040)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def journal_mode(folder: str | Path) -> str:
    """``wal`` on a local disk, ``rollback`` on a network filesystem (or as configured)."""
    configured = os.environ.get(MODE_VAR, "").strip().lower()
    if configured in ("wal", "rollback"):
        return configured
    kind = filesystem_type(folder)
    network = kind in NETWORK_FILESYSTEMS or kind.startswith("fuse")
    return "rollback" if network else "wal"


@dataclass
class Record:
    """What the journal knows of one item at the end of the last cook."""

    state: WorkItemState = WorkItemState.Uncooked
    duration: float = 0.0
    outputs: list[OutputFile] = field(default_factory=list)
    attributes: dict[str, Attribute] = field(default_factory=dict)


class Journal:
    """Appends a cook's events to ``path``; ``key`` names an item the same in every cook."""

    def __init__(self, path: str | Path, key, fresh: bool = True, on_error=None,
                 about: dict | None = None):
        self.path = Path(path)
        self._on_error = on_error  # told once, when the journal cannot be written
        self._pending: list[tuple] = []
        # item id: (item, names of its attributes changed since their last row)
        self._attributes: dict[int, tuple] = {}
        self._due: float | None = None  # when what is pending must be committed
        self.timeline: Timeline | None = None  # the cook's times of its items, for their rows
        # called with the cook's result once the journal is closed (the cook history)
        self.on_finished: Callable[[Any], None] | None = None
        self._node_text: dict[str, str] = {}  # node name -> its JSON string
        self.path.parent.mkdir(parents=True, exist_ok=True)
        foreign = untrusted(self.path)
        if foreign and not fresh and on_error is not None:
            on_error(f"{foreign}: the cook journal is not used, as another user could have "
                     f"written what it says; a new one is started")
        if fresh or foreign:
            for suffix in ("", *SIDECARS):
                try:
                    Path(f"{self.path}{suffix}").unlink(missing_ok=True)
                except OSError as exc:
                    raise OSError(exc.errno, f"{foreign or exc.strerror}, and this user "
                                             f"cannot remove it: its owner or root can",
                                  f"{self.path}{suffix}") from None
        self.mode = journal_mode(self.path.parent)
        # the journal and the files beside it made here, 0600 (item data: attributes,
        # outputs), before SQLite opens them: nothing planted between is opened
        _own_sidecars(self.path, ("",) + (("-wal", "-shm") if self.mode == "wal"
                                           else ("-journal",)))
        foreign = untrusted(self.path)
        if foreign:  # planted as they were made
            raise OSError(errno.EPERM, foreign, str(self.path))
        os.chmod(self.path, 0o600)  # one written by an earlier version was 0644
        self._key = key
        db = sqlite3.connect(self.path, check_same_thread=False)
        self._db: sqlite3.Connection | None = db  # None once closed, or not writable
        # TRUNCATE: a rollback journal without a file made and deleted per commit
        db.execute("PRAGMA journal_mode=" + ("WAL" if self.mode == "wal" else "TRUNCATE"))
        db.execute("PRAGMA synchronous=NORMAL")  # a killed process loses nothing
        db.executescript(_SCHEMA)
        # the items whose last row is a success: only for them does a run that began need a
        # row of its own (it voids that success); any other unfinished item runs again anyway
        self._standing = set() if fresh else self._successes(db)
        if about is not None:
            with db:
                db.execute("INSERT OR REPLACE INTO about VALUES ('network', ?)",
                                 (json.dumps(about),))

    def __del__(self) -> None:
        # a journal whose cook never ran (an Engine made and dropped) closes its database
        # itself rather than leave it to the garbage collector's warning
        db, self._db = getattr(self, "_db", None), None
        if db is not None:
            db.close()

    BATCH = 500  # events written in one transaction at most
    # Seconds an event may wait for its commit: a commit costs ~60 us of the engine's
    # thread, so one per item (before each wait) took a fifth of a fast cook's CPU; one per
    # window costs nothing measurable. A cook killed inside it loses at most that much.
    WINDOW = 0.05

    def __call__(self, event) -> None:
        """An engine event. Events are committed in batches, at most ``WINDOW`` seconds after
        the first of them (the engine waits no longer than ``due`` says): a killed cook loses
        at most the events of that window."""
        if isinstance(event, ItemStateChanged):
            new, item = event.new, event.item
            if new.is_final and item.id in self._attributes:
                self._write_attributes(self._attributes.pop(item.id))
            if not new.is_final:
                # what resume needs of a run not over: that it began, where an earlier
                # success stood (it no longer does)
                if self._standing and self._key(item) in self._standing:
                    self._standing.discard(self._key(item))
                    self._append_text(item, "state", _STATE_ONLY[new])
                return
            duration = item.cook_duration
            if not item.reason and not item.outputCount and type(duration) is float \
                    and math.isfinite(duration):
                # most rows: the same text json.dumps makes, at a tenth of its cost
                usage = "" if item.usage is None else \
                    f'"usage": {json.dumps(item.usage.to_json())}, '
                self._append_text(item, "state", f'{{"state": "{new.name}", "duration": '
                                                 f'{duration!r}, "reason": "", "outputs": [], '
                                                 f'{usage}{self._where(item)}}}')
                return
            data = {"state": new.name, "duration": duration, "reason": item.reason,
                    "outputs": [o.to_json() for o in item.iterOutputFiles()]}
            if item.usage is not None:
                data["usage"] = item.usage.to_json()
            self._append_text(item, "state", f"{json.dumps(data)[:-1]}, {self._where(item)}}}")
        elif isinstance(event, ItemChanged) and isinstance(event.report, UsageReported):
            # usage that came after its item ended (a farm's accounting): a row of its own;
            # before, it is in the row of the end
            item = event.item
            if item.state.is_final and item.usage is not None:
                self._append_text(item, "usage", f'{{"usage": {json.dumps(item.usage.to_json())}'
                                                 f', {self._where(item)}}}')
        elif isinstance(event, ItemChanged) and isinstance(event.report, OutputAdded):
            # an output of an item still cooking is in the row of its end, which lists every
            # output (a row each now would write them twice, and an item that never ends
            # runs again on resume); a late one, of an item that ended, gets its own row: the
            # output as the item keeps it (the first of its path), found by path at once
            item = event.item
            if item.state.is_final:
                output = item.outputFile(event.report.path)
                if output is not None:
                    self._append(item, "output", output.to_json())
        elif isinstance(event, ItemChanged) and isinstance(event.report, _ATTRIBUTES):
            name = event.report.name
            if event.item.state.is_final:
                self._write_attributes((event.item, {name: None}))
            else:  # written once, as the item ends: not the whole array at each report
                self._attributes.setdefault(event.item.id, (event.item, {}))[1][name] = None
        elif isinstance(event, CookFinished):
            for changed in self._attributes.values():  # items that never ended
                self._write_attributes(changed)
            self._attributes.clear()
            self.close()
            if self.on_finished is not None:
                self.on_finished(event.result)

    def _where(self, item) -> str:
        """The JSON members that place an ended item in a trace: its id, node and times
        (handed, started, ended: milliseconds since the epoch, null when none)."""
        node = self._node_text.get(item.node)
        if node is None:
            node = self._node_text[item.node] = json.dumps(str(item.node))
        timeline = self.timeline
        if timeline is None:
            return f'"id": {item.id}, "node": {node}'
        return f'"id": {item.id}, "node": {node}, "t": [{timeline.json_times(item.id)}]'

    def _write_attributes(self, changed: tuple) -> None:
        item, names = changed
        for name in names:
            attrib = item.attributes.get(name)
            if attrib is not None:
                self._append(item, "attribute", {"name": name, **attrib.to_json()})

    def _append(self, item, kind: str, data: dict) -> None:
        self._append_text(item, kind, json.dumps(data))

    def _append_text(self, item, kind: str, text: str) -> None:
        if self._db is None:
            return
        if not self._pending:
            self._due = time.monotonic() + self.WINDOW
        self._pending.append((self._key(item), kind, text))
        if len(self._pending) >= self.BATCH:
            self.flush()

    @staticmethod
    def _successes(db: sqlite3.Connection) -> set[str]:
        last: dict[str, bool] = {}
        for key, text in db.execute("SELECT item, data FROM events WHERE kind = 'state' "
                                          "ORDER BY seq"):
            try:
                last[key] = WorkItemState[_loads(text)["state"]].is_success
            except (ValueError, TypeError, KeyError):
                last[key] = False  # unreadable: its item runs again
        return {key for key, success in last.items() if success}

    def due(self, now: float) -> float | None:
        """Commit what is pending when its window is over; the time by which the rest must
        be committed (None: nothing pending). The engine wakes by then to call this again."""
        if self._due is not None and now >= self._due:
            self.flush()
        return self._due

    def flush(self) -> None:
        """Commit what is waiting, now."""
        self._due = None
        if self._db is None or not self._pending:
            return
        pending, self._pending = self._pending, []
        db = self._db
        try:
            with db:
                db.executemany("INSERT INTO events (item, kind, data) VALUES (?, ?, ?)",
                               pending)
        except sqlite3.Error as exc:  # a full disk, say: the cook goes on, unjournaled
            db.close()
            self._db = None
            if self._on_error is not None:
                self._on_error(f"the cook journal {self.path} cannot be written ({exc}); "
                               f"this cook goes on but cannot be resumed")

    def close(self) -> None:
        self.flush()
        if self._db is not None:
            self._db.close()
            self._db = None


def read(path: str | Path, bad_rows: list[int] | None = None) -> dict[str, Record]:
    """What a journal says of each item, its events replayed in order ({} when none). Rows
    that cannot be read are skipped, their numbers added to ``bad_rows``: those items run
    again rather than take a result nobody can vouch for."""
    records: dict[str, Record] = {}
    broken: set[str] = set()
    paths: dict[str, set[str]] = {}  # of each record's outputs: no scan per output row
    for seq, key, kind, text in _query(path, "SELECT seq, item, kind, data FROM events "
                                              "ORDER BY seq"):
        try:
            _replay(records.setdefault(key, Record()), kind, _loads(text),
                    paths.setdefault(key, set()))
        except (ValueError, TypeError, KeyError, AttributeError):
            broken.add(key)
            if bad_rows is not None:
                bad_rows.append(seq)
    for key in broken:
        records.pop(key, None)
    return records


def rows(path: str | Path, kinds: tuple[str, ...]) -> list[tuple[str, str]]:
    """``(kind, data)`` of the journal's rows of these kinds, in order ([] without one)."""
    marks = ", ".join("?" * len(kinds))
    return _query(path, f"SELECT kind, data FROM events WHERE kind IN ({marks}) ORDER BY seq",
                  kinds)


def about(path: str | Path) -> dict | None:
    """What the journal's last cook was made from (``Journal(about=...)``); None when it does
    not say (no journal, or one written before journals said so)."""
    for (text,) in _query(path, "SELECT value FROM about WHERE key = 'network'"):
        try:
            value = _loads(text)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None
    return None


def _loads(text: str):
    """``json.loads``; JSON nested too deep to read (a RecursionError) is a ValueError too,
    so that such a row is one that cannot be read, not a traceback that stops every resume."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deep to read") from None


def _query(path: str | Path, sql: str, parameters: tuple = ()) -> list[tuple]:
    """Rows of a read-only query; [] when there is no journal or it is not one. Opened by
    URI built from the path, so any folder name (``#``, ``?``, ``%``) is safe."""
    if not os.path.exists(path) or not_a_file(path) or untrusted(path):
        return []  # another user's rows are no cook's: every item runs again
    if _is_wal(path):  # SQLite makes these even to read: this user's, not planted ones
        _own_sidecars(path, ("-wal", "-shm"))
        if untrusted(path):
            return []
    # a cook killed within a commit leaves a hot rollback journal: only a writer undoes it
    hot = os.path.exists(f"{path}-journal") and os.path.getsize(f"{path}-journal") > 0
    db = sqlite3.connect(f"{Path(path).absolute().as_uri()}?mode={'rw' if hot else 'ro'}",
                         uri=True)
    try:
        return db.execute(sql, parameters).fetchall()
    except sqlite3.DatabaseError:
        return []  # not a journal, or an older one without that table
    finally:
        db.close()


def _output(data: dict) -> OutputFile:
    output = OutputFile.from_json(data)
    if not isinstance(output.path, str) or not isinstance(output.tag, str):
        raise TypeError("an output's path and tag are strings")
    return output


def _replay(record: Record, kind: str, data: dict, paths: set[str]) -> None:
    if kind == "state":
        record.state = WorkItemState[data["state"]]
        if record.state.is_final:
            record.duration = float(data.get("duration", 0.0))
            record.outputs = [_output(o) for o in data.get("outputs", [])]
            paths.clear()
            paths.update(o.path for o in record.outputs)
    elif kind == "output":
        output = _output(data)
        if output.path not in paths:
            paths.add(output.path)
            record.outputs.append(output)
    elif kind == "attribute":
        if not isinstance(data["name"], str) or not isinstance(data["values"], list):
            raise TypeError("an attribute has a name and a list of values")
        record.attributes[data["name"]] = Attribute.from_json(data)


def forget_nodes(path: str | Path, nodes: set[str]) -> int:
    """Drop what the journal at ``path`` recorded of the items of ``nodes`` (Houdini's
    Dirty): a resumed cook runs them again. Returns how many items it dropped; 0 when there
    is no journal. Raises ``OSError`` or ``sqlite3.Error`` when it cannot be changed."""
    if not nodes or not os.path.exists(path):
        return 0
    kind = not_a_file(path) or untrusted(path)
    if kind:
        raise OSError(errno.EPERM, f"the journal is not this user's regular file ({kind})")
    db = sqlite3.connect(f"{Path(path).absolute().as_uri()}?mode=rw", uri=True)
    try:
        with db:
            node_of = "substr(item, 1, instr(item, '/') - 1)"
            marks = ", ".join("?" * len(nodes))
            (count,) = db.execute(f"SELECT COUNT(DISTINCT item) FROM events WHERE {node_of} "
                                  f"IN ({marks})", sorted(nodes)).fetchone()
            db.execute(f"DELETE FROM events WHERE {node_of} IN ({marks})", sorted(nodes))
        return int(count)
    finally:
        db.close()
