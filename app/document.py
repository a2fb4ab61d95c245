"""The studio's open document: a ``schedcore`` network, its file, whether it has unsaved
changes, and signals the panels listen to. The one place the studio changes a network."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from schedcore import examples
from schedcore import network as network_file
from schedcore.network import Network, NodeSpec, SchedulerSpec
from schedcore.nodes import NODE_TYPES
from schedcore.parms import ParmSet, spare_problems, spare_template, templates_of
from schedcore.registry import scheduler_type

# the installed example: read-only for the studio (Save goes to Save As), cooked from a copy
EXAMPLE = Path(str(examples.folder() / examples.DEFAULT)).resolve()


_UNSEEN = object()


def _xy(position) -> tuple | None:
    return tuple(position) if position else None


def _copy(value):
    return json.loads(json.dumps(value)) if isinstance(value, (list, dict)) else value


class Document(QObject):
    structureChanged = Signal()        # nodes added or removed, connections changed
    parmChanged = Signal(str, str)     # node name, parameter name
    dirtyChanged = Signal(bool)
    pathChanged = Signal(str)
    undoAvailable = Signal(bool)
    historyChanged = Signal()          # what undo and redo would do has changed
    sparesChanged = Signal(str)        # a scheduler node's spare parameters added or removed
    renamed = Signal(str, str)         # old name, new name (before structureChanged)

    UNDO_STEPS = 200

    def __init__(self, network: Network | None = None, parent=None):
        super().__init__(parent)
        self.network = network or Network()
        self.dirty = False
        self._history: list[tuple] = []  # (step, the network before it), latest last
        self._future: list[tuple] = []   # (step, the network after it): what redo brings back
        self._last_edit: tuple | None = None  # (node, parm) of a run of edits undone at once
        self._remember_values()
        self.parmChanged.connect(lambda *_: self._remember_values())
        self.structureChanged.connect(self._remember_values)
        self.sparesChanged.connect(lambda *_: self._remember_values())

    @classmethod
    def open(cls, path: str | Path, parent=None) -> Document:
        """Raises ``NetworkError`` listing the file's problems."""
        return cls(network_file.load(path), parent)

    @property
    def path(self) -> str:
        return self.network.path

    def save(self, path: str | Path | None = None) -> None:
        self.network.save(path)
        self._set_dirty(False)
        self.pathChanged.emit(self.network.path)

    def _set_dirty(self, dirty: bool) -> None:
        if dirty != self.dirty:
            self.dirty = dirty
            self.dirtyChanged.emit(dirty)

    # -- reading ---------------------------------------------------------------------------
    def is_scheduler(self, name: str) -> bool:
        return any(s.name == name for s in self.network.schedulers)

    def spec(self, name: str) -> NodeSpec | SchedulerSpec:
        return self.network.scheduler(name) if self.is_scheduler(name) else \
            self.network.node(name)

    def templates(self, name: str) -> list:
        spec = self.spec(name)
        if self.is_scheduler(name):
            cls = scheduler_type(spec.type)
            return (templates_of(cls) if cls else []) + list(spec.spare_parms)
        return list(NODE_TYPES[spec.type].parm_templates)

    def parms(self, name: str) -> ParmSet:
        return ParmSet(self.templates(name), self.spec(name).parms, self.network.hip)

    # -- changing --------------------------------------------------------------------------
    def set_parm(self, name: str, parm: str, value) -> None:
        spec = self.spec(name)
        if self._shown_value(name, parm) == value:
            return  # no change (a default left as it was): no step to undo
        if self._last_edit != (name, parm):  # typing into one field is one step to undo
            self._checkpoint(f"Change {self._parm_label(name, parm)} of {name}")
            self._last_edit = (name, parm)
        spec.parms[parm] = value
        self._set_dirty(True)
        self.parmChanged.emit(name, parm)

    def _shown_value(self, name: str, parm: str):
        try:
            return self.parms(name).raw(parm)
        except KeyError:
            return _UNSEEN

    def _parm_label(self, name: str, parm: str) -> str:
        template = next((t for t in self.templates(name) if t.name == parm), None)
        return (template.label if template is not None and template.label else parm)

    def spare_names(self, name: str) -> list[str]:
        spec = self.spec(name)
        return [t.name for t in getattr(spec, "spare_parms", ())]

    def add_spare_parm(self, node: str, name: str, kind: str, label: str = "",
                       menu: list | None = None) -> None:
        """Give scheduler node ``node`` a parameter of its own (Houdini's spare parameter),
        starting at the kind's zero. ValueError says why it cannot."""
        spec = self.network.scheduler(node)
        entry = {"name": name, "type": kind, "label": label}
        if kind == "menu":
            entry["menu"] = list(menu or [])
        problems = spare_problems(entry)
        if problems:
            raise ValueError("; ".join(f"{key or 'entry'}: {why}" for key, why in problems))
        if name in {t.name for t in self.templates(node)}:
            raise ValueError(f"{node} has a parameter named {name!r} already")
        template = spare_template(entry)
        self._checkpoint(f"Add Spare Parameter {name} to {node}")
        spec.spare_parms.append(template)
        spec.parms[name] = template.default
        self._set_dirty(True)
        self.sparesChanged.emit(node)

    def remove_spare_parm(self, node: str, name: str) -> None:
        spec = self.network.scheduler(node)
        if name not in self.spare_names(node):
            raise KeyError(f"{node} has no spare parameter named {name!r}")
        self._checkpoint(f"Remove Spare Parameter {name} of {node}")
        spec.spare_parms = [t for t in spec.spare_parms if t.name != name]
        spec.parms.pop(name, None)
        self._set_dirty(True)
        self.sparesChanged.emit(node)

    def refresh(self) -> None:
        """Tell the panels about changes made to the network directly (from the shell):
        every parameter that differs from what was last shown, and the structure."""
        spares = self._spares()
        respared = [name for name in sorted(set(spares) | set(self._last_spares))
                    if spares.get(name) != self._last_spares.get(name)]
        shape = self._shape()
        if shape != self._last_shape:
            self._last_shape = shape
            self.structureChanged.emit()
        specs = [*self.network.schedulers, *self.network.nodes]
        current = {(spec.name, parm): value for spec in specs
                   for parm, value in spec.parms.items()}
        names = {spec.name for spec in specs}
        changed = [key for key, value in current.items()
                   if self._last_values.get(key, _UNSEEN) != value]
        changed += [key for key in self._last_values  # back to its default
                    if key not in current and key[0] in names]
        if changed or respared:
            self._set_dirty(True)
        for name in respared:  # the pane shows them before their values are said
            self.sparesChanged.emit(name)
        for name, parm in changed:  # each also makes the document remember the values
            self.parmChanged.emit(name, parm)

    def _shape(self) -> tuple:
        net = self.network
        return (tuple((n.name, n.type, tuple(n.inputs), n.scheduler, _xy(n.position))
                      for n in net.nodes),
                tuple((s.name, s.type, _xy(s.position)) for s in net.schedulers),
                net.default_scheduler)

    def _spares(self) -> dict:
        return {s.name: tuple(s.spare_parms) for s in self.network.schedulers}

    def _remember_values(self) -> None:
        self._last_shape = self._shape()
        self._last_spares = self._spares()
        self._last_values = {(spec.name, parm): _copy(value)
                             for spec in [*self.network.schedulers, *self.network.nodes]
                             for parm, value in spec.parms.items()}

    def set_scheduler_of(self, node: str, scheduler: str | None) -> None:
        spec = self.network.node(node)
        if (spec.scheduler or None) == (scheduler or None):
            return
        self._checkpoint(f"Change Scheduler of {node}")
        spec.scheduler = scheduler or None
        self._set_dirty(True)
        self.structureChanged.emit()

    def add_node(self, type_name: str, inputs: list[str] | None = None) -> str:
        """A new TOP node or scheduler node of ``type_name``; returns its name."""
        name = self._unique_name(type_name)
        self._checkpoint(f"Add {name}")
        if type_name in NODE_TYPES:
            self.network.nodes.append(NodeSpec(name, type_name, {}, list(inputs or [])))
        elif scheduler_type(type_name) is not None:
            self.network.schedulers.append(SchedulerSpec(name, type_name, {}))
            if not self.network.default_scheduler:
                self.network.default_scheduler = name
        else:
            self._history.pop()
            self._history_changed()
            raise KeyError(f"unknown node or scheduler type {type_name!r}")
        self._set_dirty(True)
        self.structureChanged.emit()
        return name

    def remove_nodes(self, names: list[str]) -> None:
        """Delete nodes, one undo step for all: a TOP node (the nodes below take its inputs
        instead) or a scheduler node (the nodes it cooked go to the default scheduler; the
        first one left becomes the default when it was)."""
        known = {spec.name for spec in (*self.network.nodes, *self.network.schedulers)}
        names = [name for name in names if name in known]
        if not names:
            return
        self._checkpoint(f"Delete {', '.join(names)}")
        for name in names:
            self._remove(name)
        self._set_dirty(True)
        self.structureChanged.emit()

    def _remove(self, name: str) -> None:
        net = self.network
        if self.is_scheduler(name):
            net.schedulers = [s for s in net.schedulers if s.name != name]
            for spec in net.nodes:
                if spec.scheduler == name:
                    spec.scheduler = None
            if net.default_scheduler == name:
                net.default_scheduler = net.schedulers[0].name if net.schedulers else ""
        else:
            removed = net.node(name)
            net.nodes.remove(removed)
            for spec in net.nodes:
                if name in spec.inputs:
                    at = spec.inputs.index(name)
                    spec.inputs[at:at + 1] = [i for i in removed.inputs if i not in spec.inputs]

    def rename_node(self, old: str, new: str) -> None:
        """Call node ``old`` ``new``: the connections into the nodes below, the TOP nodes a
        scheduler node cooks and the default scheduler follow. ValueError says why not."""
        net = self.network
        new = new.strip()
        if new == old:
            return
        if not network_file.valid_name(new):
            raise ValueError(f"{new!r} is not a node name: use letters, digits and _, not "
                             f"starting with a digit")
        if new in net.node_names() or any(s.name == new for s in net.schedulers):
            raise ValueError(f"there is a node named {new} already")
        spec = self.spec(old)
        self._checkpoint(f"Rename {old} to {new}")
        spec.name = new
        for node in net.nodes:
            node.inputs = [new if name == old else name for name in node.inputs]
            if node.scheduler == old:
                node.scheduler = new
        if net.default_scheduler == old:
            net.default_scheduler = new
        self._set_dirty(True)
        self.renamed.emit(old, new)
        self.structureChanged.emit()

    def move_nodes(self, moves: list[tuple[str, float, float]]) -> None:
        """Where nodes are shown (the panel has moved them already): one undo step for all
        the nodes of one drag."""
        moves = [(name, x, y) for name, x, y in moves if _xy(self.spec(name).position) != (x, y)]
        if not moves:
            return
        self._checkpoint(f"Move {', '.join(name for name, _x, _y in moves)}")
        for name, x, y in moves:
            self.spec(name).position = [round(x, 1), round(y, 1)]
        self._set_dirty(True)
        self._remember_values()

    def connect(self, source: str, target: str) -> None:
        """``source`` becomes an input of ``target``; ValueError says why it cannot."""
        net = self.network
        if self.is_scheduler(source) or self.is_scheduler(target):
            raise ValueError("scheduler nodes have no connections: choose one in a TOP "
                             "node's Scheduler parameter")
        if source == target or source in net.node(target).inputs:
            return
        if target in self._upstream_of(source):
            raise ValueError(f"{target} is upstream of {source}: connecting {source} into "
                             f"{target} would make a loop")
        self._checkpoint(f"Connect {source} to {target}")
        net.node(target).inputs.append(source)
        self._set_dirty(True)
        self.structureChanged.emit()

    def disconnect(self, source: str, target: str) -> None:
        spec = self.network.node(target)
        if source in spec.inputs:
            self._checkpoint(f"Disconnect {source} from {target}")
            spec.inputs.remove(source)
            self._set_dirty(True)
            self.structureChanged.emit()

    def downstream_of(self, name: str) -> set[str]:
        """TOP node ``name`` and every node below it."""
        found, queue = {name}, [name]
        while queue:
            current = queue.pop()
            for spec in self.network.nodes:
                if current in spec.inputs and spec.name not in found:
                    found.add(spec.name)
                    queue.append(spec.name)
        return found

    def _upstream_of(self, name: str) -> set[str]:
        found, queue = {name}, [name]
        while queue:
            for upstream in self.network.node(queue.pop()).inputs:
                if upstream not in found:
                    found.add(upstream)
                    queue.append(upstream)
        return found

    # -- undo and redo ---------------------------------------------------------------------
    def _state(self) -> tuple:
        net = self.network
        return copy.deepcopy((net.nodes, net.schedulers, net.default_scheduler))

    def _checkpoint(self, step: str) -> None:
        """Remember the network before the change ``step`` names ("Delete render1")."""
        self._history.append((step, self._state()))
        del self._history[:-self.UNDO_STEPS]
        self._future.clear()  # a new change: what was undone cannot come back
        self._last_edit = None
        self._history_changed()

    def undo_text(self) -> str:
        """What undo takes back ("Delete render1"), or "" when nothing."""
        return self._history[-1][0] if self._history else ""

    def redo_text(self) -> str:
        return self._future[-1][0] if self._future else ""

    def undo(self) -> bool:
        """Put the network back as it was before the last change; False when there is none."""
        if not self._history:
            return False
        step, before = self._history.pop()
        self._future.append((step, self._state()))
        self._restore(before)
        return True

    def redo(self) -> bool:
        """Make the last undone change again; False when there is none."""
        if not self._future:
            return False
        step, after = self._future.pop()
        self._history.append((step, self._state()))
        self._restore(after)
        return True

    def _restore(self, state: tuple) -> None:
        net = self.network
        before = self._names_and_types()
        net.nodes, net.schedulers, net.default_scheduler = state
        gone, came = before - self._names_and_types(), self._names_and_types() - before
        if len(gone) == len(came) == 1 and gone.copy().pop()[1] == came.copy().pop()[1]:
            self.renamed.emit(gone.pop()[0], came.pop()[0])  # a rename undone or redone
        self._last_edit = None
        self._set_dirty(True)
        self.refresh()
        self._history_changed()

    def _names_and_types(self) -> set[tuple[str, str]]:
        return {(spec.name, spec.type) for spec in (*self.network.nodes, *self.network.schedulers)}

    def _history_changed(self) -> None:
        self.undoAvailable.emit(bool(self._history))
        self.historyChanged.emit()

    def _unique_name(self, type_name: str) -> str:
        base = re.sub(r"\W", "", type_name) or "node"
        taken = set(self.network.node_names()) | {s.name for s in self.network.schedulers}
        number = 1
        while f"{base}{number}" in taken:
            number += 1
        return f"{base}{number}"
