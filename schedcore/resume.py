"""What a resumed cook may take from its journal: items are named by keys that carry the
fingerprint of everything that shaped them, and the journal says what its cook was made from,
so a resume with a changed network says what changed and runs those items again."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from . import journal as journal_file
from . import process
from .cooklock import CookLock
from .errors import CookError
from .workitem import WorkItem

if TYPE_CHECKING:
    from .cooknodes import NodeState


def node_shapes(nodes: Mapping[str, NodeState]) -> dict[str, dict]:
    """Each node's type, parameter values (defaults filled in) and inputs: what shapes its
    items. Where the studio draws it, and which scheduler cooks it, do not."""
    return {name: {"type": node.spec.type, "inputs": list(node.spec.inputs),
                   "parms": {p: node.parms.raw(p) for p in node.parms.templates}}
            for name, node in nodes.items()}


def fingerprints(shapes: dict[str, dict]) -> dict[str, str]:
    """A digest per node of its shape and its inputs' digests (``shapes`` in dependency
    order): a change anywhere upstream changes every node below."""
    prints: dict[str, str] = {}
    for name, shape in shapes.items():
        text = json.dumps([shape["type"], shape["parms"], [prints[i] for i in shape["inputs"]]],
                          sort_keys=True, default=str)
        prints[name] = hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
    return prints


class ItemKeys:
    """An item's name in every cook of the same network: node, index, and a digest of the
    node's fingerprint and the key of the item it came from (ids depend on the order things
    cooked; this does not). Readable in front, of bounded length however deep the network."""

    def __init__(self, nodes: Mapping[str, NodeState], prints: dict[str, str]):
        self._nodes = nodes
        self._prints = prints
        # item id: its digest, as an int (a cook of a million items holds a million)
        self._digests: dict[int, int] = {}

    def __call__(self, item: WorkItem) -> str:
        return f"{item.node}/{item.index}:{self._digest(item):016x}"

    def _digest(self, item: WorkItem) -> int:
        known = self._digests.get(item.id)
        if known is not None:
            return known
        chain = []  # the item and its ancestors without a digest yet, without recursion
        step: WorkItem | None = item
        while step is not None and step.id not in self._digests:
            chain.append(step)
            step = self._parent(step)
        digest = 0
        for link in reversed(chain):
            parent = self._parent(link)
            text = f"{self._prints[link.node]}/{link.index}<" + \
                (self(parent) if parent is not None else "")
            digest = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(),
                                    "big")
            self._digests[link.id] = digest
        return digest

    def _parent(self, item: WorkItem) -> WorkItem | None:
        if item.dependencies and not self._nodes[item.node].type.partition:
            return item.dependencies[0]
        return None


def about(network_path: str, shapes: dict[str, dict]) -> dict:
    """What the journal records of the cook's network (as JSON gives it back, to compare)."""
    return json.loads(json.dumps({
        "network": os.path.realpath(network_path) if network_path else "", "nodes": shapes},
        default=str))


def changes(earlier: dict | None, now: dict) -> tuple[bool, str]:
    """Whether the journal's results may be used at all, and what differs between the
    network it was written by and this one, in words ("" when nothing that shapes items
    did). The results of changed nodes are never reused: their keys differ."""
    if earlier is None:
        return False, ("the journal does not say which network wrote it (an older journal): "
                       "every item runs again")
    if earlier.get("network") != now["network"]:
        return False, (f"the journal was written by a cook of "
                       f"{earlier.get('network') or 'another network'}, not of "
                       f"{now['network']}: every item runs again")
    nodes = earlier.get("nodes")
    before: dict = nodes if isinstance(nodes, dict) else {}
    changed = []
    for name, shape in now["nodes"].items():
        old = before.get(name)
        if old is None:
            changed.append(f"{name} is new")
        elif old != shape:
            changed.append(f"{name} changed ({', '.join(_differences(old, shape))})")
    if not changed:
        return True, ""
    return True, ("the network changed since the journal's cook: " + "; ".join(changed)
                  + ". Their items, and those of the nodes below them, run again")


def _differences(old: dict, new: dict) -> list[str]:
    what = [key for key in ("type", "inputs") if old.get(key) != new.get(key)]
    parms = old.get("parms")
    old_parms: dict = parms if isinstance(parms, dict) else {}
    what += [f"parameter {p}" for p in sorted(set(old_parms) | set(new["parms"]))
             if old_parms.get(p) != new["parms"].get(p)]
    return what or ["its shape"]


class CookRecord:
    """A cook's journal, its lock of the working dir, and what a resumed cook takes from an
    earlier one (engine thread). ``open`` locks the working dir (or raises ``CookBusy``),
    reads the journal when resuming, then starts writing it; what goes wrong on the way is
    in ``warnings``, said when the cook starts."""

    def __init__(self, path: str, network_path: str, nodes: Mapping[str, NodeState]):
        self.path = path
        self.network_path = network_path
        self.warnings: list[str] = []
        shapes = node_shapes(nodes)
        self.item_key = ItemKeys(nodes, fingerprints(shapes))
        self._made_of = about(network_path, shapes)
        self.lock: CookLock | None = None
        self.earlier: dict = {}  # the lock's last holder, when it died holding it
        self.records: dict = {}  # key: what an earlier cook recorded (resuming)
        self.journal: journal_file.Journal | None = None

    def open(self, cook_id: str, resume: bool) -> None:
        kind = journal_file.not_a_file(self.path)
        if resume and kind:  # SQLite would block in its open of a FIFO, for ever
            raise CookError(f"cannot resume: the cook journal {self.path} is not a "
                            f"regular file ({kind}); remove it, or cook without --resume "
                            f"(which starts a new journal and runs every item again)")
        lock = CookLock(self.path)
        try:
            self.earlier = lock.acquire(self.network_path, cook_id)
            self.lock = lock
            if resume:
                self.records = self._resumable()
            self.journal = journal_file.Journal(
                self.path, self.item_key, fresh=not resume, on_error=self._warn_later,
                about=self._made_of)
        except (OSError, sqlite3.Error) as exc:  # the cook says why, later, and goes on
            self.warnings.append(f"no cook journal at {self.path} "
                                 f"({exc.strerror if isinstance(exc, OSError) else exc});"
                                 f" this cook cannot be resumed")
        if "unlocked" in self.earlier:
            self.warnings.append(f"{lock.path} cannot be locked ({self.earlier['unlocked']})"
                                 f": nothing stops a second cook of this network into this "
                                 f"working dir")

    # once the cook runs, it says the journal's troubles at once; before, they wait
    on_warning: Callable[[str], None] | None = None

    def _warn_later(self, text: str) -> None:
        (self.on_warning or self.warnings.append)(text)

    def _resumable(self) -> dict:
        """The journal's records this cook may take results from, saying what it may not."""
        bad: list[int] = []
        records = journal_file.read(self.path, bad)
        if bad:
            self.warnings.append(f"{len(bad)} rows of the journal {self.path} cannot "
                                 f"be read (first: row {bad[0]}); their items run again")
        if not records:
            return {}
        usable, changed = changes(journal_file.about(self.path), self._made_of)
        if changed:
            self.warnings.append(f"resume: {changed}")
        return records if usable else {}

    def cached(self, item: WorkItem):
        """What an earlier cook recorded of ``item``, when it cooked and its outputs are all
        still on disk; else None (it runs)."""
        if not self.records:
            return None
        record = self.records.get(self.item_key(item))
        if record is None or not record.state.is_success \
                or not all(os.path.exists(o.path) for o in record.outputs):
            return None
        return record

    def forget(self, nodes: set[str]) -> int:
        """Take no results for the items of ``nodes`` in this cook; how many were dropped."""
        stale = [key for key in self.records if key.rsplit("/", 1)[0] in nodes]
        for key in stale:
            del self.records[key]
        return len(stale)

    def stop_jobs_of_a_dead_cook(self) -> list[str]:
        """The last cook of this network here died holding the lock (SIGKILL, a crash): its
        jobs may still run and would write what this cook runs again. Stop them first.
        Returns what to warn of."""
        earlier, lock = self.earlier, self.lock
        if earlier.get("foreign") and lock is not None:
            return [f"{lock.path} was made by the user {earlier['foreign']}: what it says "
                    f"of an earlier cook is not believed, and no jobs of one were looked for"]
        if not isinstance(earlier.get("cook"), str) or lock is None:
            return []
        who = f"the earlier cook (process {earlier.get('pid', '?')} on {earlier.get('host')})"
        if earlier.get("host") != socket.gethostname():
            return [f"{who} ended without releasing {lock.path}; jobs it started on other "
                    f"machines may still run: this cook cannot stop them"]
        killed = process.kill_owned(process.MARKER, lock.marks(earlier["cook"]))
        if not killed:
            return []
        return [f"{who} ended without finishing; {len(killed)} processes of its jobs were "
                f"still running and were stopped (pids {', '.join(map(str, killed[:10]))}) "
                f"so that no item runs twice"]

    def close(self) -> None:
        if self.journal is not None:
            self.journal.close()

    def release(self) -> None:
        if self.lock is not None:
            self.lock.release()
