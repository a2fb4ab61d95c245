"""What a resumed cook may take from its journal: items are named by keys that carry the
fingerprint of everything that shaped them, and the journal says what its cook was made from,
so a resume with a changed network says what changed and runs those items again."""

from __future__ import annotations

import hashlib
import json
import os

from .cookstate import NodeState
from .workitem import WorkItem


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
