"""What a resumed cook may take from its journal: items are named by keys that carry the
fingerprint of everything that shaped them, and the journal says what its cook was made from,
so a resume with a changed network says what changed and runs those items again."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3

from . import journal as journal_file
from . import process
from .cooklock import CookLock
from .cookstate import NodeState
from .errors import CookError
from .workitem import WorkItem, WorkItemState


def node_shapes(nodes: dict[str, NodeState]) -> dict[str, dict]:
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

    def __init__(self, nodes: dict[str, NodeState], prints: dict[str, str]):
        self._nodes = nodes
        self._prints = prints
        self._keys: dict[int, str] = {}

    def __call__(self, item: WorkItem) -> str:
        key = self._keys.get(item.id)
        if key is not None:
            return key
        chain = []  # the item and its ancestors without a key yet, without recursion
        while item is not None and item.id not in self._keys:
            chain.append(item)
            item = self._parent(item)
        for item in reversed(chain):
            parent = self._parent(item)
            text = f"{self._prints[item.node]}/{item.index}<" + \
                (self._keys[parent.id] if parent is not None else "")
            digest = hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
            key = self._keys[item.id] = f"{item.node}/{item.index}:{digest}"
        return key

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
    before = earlier.get("nodes") if isinstance(earlier.get("nodes"), dict) else {}
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
    old_parms = old.get("parms") if isinstance(old.get("parms"), dict) else {}
    what += [f"parameter {p}" for p in sorted(set(old_parms) | set(new["parms"]))
             if old_parms.get(p) != new["parms"].get(p)]
    return what or ["its shape"]


class ResumeMixin:
    """The ``Engine``'s journal, its lock of the working dir, and what a resumed cook takes
    from an earlier one (engine thread); see ``schedcore.engine``."""

    def _stop_jobs_of_a_dead_cook(self) -> None:
        """The last cook of this network here died holding the lock (SIGKILL, a crash): its
        jobs may still run and would write what this cook's run again. Stop them first."""
        earlier = self._earlier
        if earlier.get("foreign"):
            self._warning(f"{self._lock.path} was made by the user {earlier['foreign']}: "
                          f"what it says of an earlier cook is not believed, and no jobs of "
                          f"one were looked for")
            return
        if not isinstance(earlier.get("cook"), str) or self._lock is None:
            return
        who = f"the earlier cook (process {earlier.get('pid', '?')} on {earlier.get('host')})"
        if earlier.get("host") != socket.gethostname():
            self._warning(f"{who} ended without releasing {self._lock.path}; jobs it started "
                          f"on other machines may still run: this cook cannot stop them")
            return
        killed = process.kill_owned(process.MARKER, self._lock.marks(earlier["cook"]))
        if killed:
            self._warning(f"{who} ended without finishing; {len(killed)} processes of its jobs "
                          f"were still running and were stopped (pids "
                          f"{', '.join(map(str, killed[:10]))}) so that no item runs twice")

    def _open_journal(self, resume: bool) -> None:
        """Lock the network's working dir (or raise CookBusy), then read the journal when
        resuming, then start writing it."""
        kind = journal_file.not_a_file(self.journal_path)
        if resume and kind:  # SQLite would block in its open of a FIFO, for ever
            raise CookError(f"cannot resume: the cook journal {self.journal_path} is not a "
                            f"regular file ({kind}); remove it, or cook without --resume "
                            f"(which starts a new journal and runs every item again)")
        shapes = node_shapes(self._nodes)
        self.item_key = ItemKeys(self._nodes, fingerprints(shapes))
        made_of = about(self.network.path, shapes)
        lock = CookLock(self.journal_path)
        try:
            self._earlier = lock.acquire(self.network.path, self.cook_id)
            self._lock = lock
            if resume:
                self._resume = self._resumable(made_of)
            self._journal = journal_file.Journal(
                self.journal_path, self.item_key, fresh=not resume, on_error=self._warning,
                about=made_of)
            self.events.subscribe(self._journal)
        except (OSError, sqlite3.Error) as exc:  # the cook says why, later, and goes on
            self._warnings.append(f"no cook journal at {self.journal_path} "
                                  f"({exc.strerror if isinstance(exc, OSError) else exc});"
                                  f" this cook cannot be resumed")
        if "unlocked" in self._earlier:
            self._warnings.append(f"{lock.path} cannot be locked ({self._earlier['unlocked']})"
                                  f": nothing stops a second cook of this network into this "
                                  f"working dir")

    def _resumable(self, made_of: dict) -> dict:
        """The journal's records this cook may take results from, saying what it may not."""
        bad: list[int] = []
        records = journal_file.read(self.journal_path, bad)
        if bad:
            self._warnings.append(f"{len(bad)} rows of the journal {self.journal_path} cannot "
                                  f"be read (first: row {bad[0]}); their items run again")
        if not records:
            return {}
        usable, changed = changes(journal_file.about(self.journal_path), made_of)
        if changed:
            self._warnings.append(f"resume: {changed}")
        return records if usable else {}

    def _cached(self, item: WorkItem) -> bool:
        """Resuming: an item an earlier cook cooked, whose outputs are all still on disk, is
        CookedCache with what it reported then."""
        record = self._resume.get(self.item_key(item))
        if record is None or not record.state.is_success \
                or not all(os.path.exists(o.path) for o in record.outputs):
            return False
        for name, attrib in record.attributes.items():
            item.setAttribArray(name, attrib.type, attrib.values)
        for output in record.outputs:
            item.addOutputFile(output.path, output.tag, output.checksum)
        item.cook_duration = record.duration
        item.reason = "cooked by an earlier cook; its outputs are on disk"
        self._succeed(item, None, WorkItemState.CookedCache)
        return True
