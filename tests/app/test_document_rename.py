"""Renaming a node in the document, over networks of many shapes: the file it saves is a
valid network, the same as before but for the name, wherever that name was; undo gives the
network back exactly."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from schedcore import network as network_file
from schedstudio.document import Document

NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True).filter(
    lambda name: name not in ("genericgenerator", "localscheduler"))  # names, not types


@st.composite
def networks(draw) -> dict:
    names = draw(st.lists(NAMES, min_size=2, max_size=9, unique=True))
    split = draw(st.integers(1, len(names) - 1))
    schedulers, tops = names[:split], names[split:]
    nodes = []
    for i, name in enumerate(tops):
        node = {"name": name, "type": "genericgenerator", "parms": {},
                "inputs": draw(st.lists(st.sampled_from(tops[:i]), unique=True)) if i else []}
        if draw(st.booleans()):
            node["scheduler"] = draw(st.sampled_from(schedulers))
        nodes.append(node)
    return {"format": "schedcore-network", "version": 1,
            "default_scheduler": draw(st.sampled_from(schedulers)),
            "schedulers": [{"name": s, "type": "localscheduler", "parms": {}}
                           for s in schedulers],
            "nodes": nodes}


def _renamed(data, old: str, new: str):
    """``data`` with every whole-string ``old`` replaced by ``new``."""
    if isinstance(data, dict):
        return {key: _renamed(value, old, new) for key, value in data.items()}
    if isinstance(data, list):
        return [_renamed(value, old, new) for value in data]
    return new if data == old else data


@settings(max_examples=150, deadline=None)
@given(data=networks(), pick=st.data(), new=NAMES)
def test_a_rename_changes_the_name_wherever_it_is_and_nothing_else(qapp, data, pick, new):
    names = [s["name"] for s in data["schedulers"]] + [n["name"] for n in data["nodes"]]
    old = pick.draw(st.sampled_from(names))
    doc = Document(network_file.from_json(data))
    before = doc.network.to_json()
    if new in names:
        try:
            doc.rename_node(old, new)
        except ValueError as exc:
            assert new == old or "already" in str(exc)
        assert doc.network.to_json() == before
        return
    doc.rename_node(old, new)
    after = doc.network.to_json()
    assert after == _renamed(before, old, new)
    network_file.from_json(json.loads(json.dumps(after)))  # a valid network, as saved
    assert doc.undo_text() == f"Rename {old} to {new}"
    doc.undo()
    assert doc.network.to_json() == before
    doc.redo()
    assert doc.network.to_json() == after
