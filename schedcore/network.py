"""The TOP network document (``*.top.json``): nodes, connections, scheduler nodes, parameters.

``load`` checks the whole file and raises one ``NetworkError`` listing every problem with its
JSON path; ``save`` writes atomically and round-trips. ``$HIP`` is the file's folder.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import Hints, NetworkError, did_you_mean
from .parms import (
    NodeValues,
    ParmSet,
    ParmTemplate,
    spare_json,
    spare_problems,
    spare_template,
    templates_of,
)

FORMAT = "schedcore-network"
VERSION = 1
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def valid_name(name: str) -> bool:
    """Whether ``name`` may name a node or a scheduler node: letters, digits and _."""
    return bool(_NAME.fullmatch(name))

# The scheduler types a network may name, and why a name is unknown: given by whoever knows
# the plugins (by default the schedcore package, which gives the registry's), so a document
# never imports them.
_Catalog = Callable[[], tuple[Mapping[str, type], Callable[[str], str]]]
_scheduler_catalog: _Catalog | None = None


def use_scheduler_types(catalog: _Catalog | None) -> None:
    """Set where checks find scheduler types: a callable returning ``(types by name,
    unknown_message(name))``; None: the package's, the registry's."""
    global _scheduler_catalog
    _scheduler_catalog = catalog


def _catalog() -> tuple[Mapping[str, type], Callable[[str], str]]:
    if _scheduler_catalog is None:
        from . import _registry_types  # asked for on the first check, not on import
        return _registry_types()
    return _scheduler_catalog()


@dataclass
class SchedulerSpec:
    name: str
    type: str
    parms: dict = field(default_factory=dict)
    position: list[float] | None = None  # where the studio shows it; None: laid out for it
    # parameters the type does not declare (Houdini's spare parameters); values in ``parms``
    spare_parms: list[ParmTemplate] = field(default_factory=list)

    def values(self) -> NodeValues:
        """The values with the spare parameters: what the type's ``create`` receives."""
        return NodeValues(self.parms, self.spare_parms)

    def to_json(self) -> dict:
        spare = {t.name for t in self.spare_parms}
        data = {"name": self.name, "type": self.type,
                "parms": {k: v for k, v in self.parms.items() if k not in spare}}
        if self.spare_parms:  # written only when there are some: older readers stay happy
            data["spare_parms"] = [spare_json(t, self.parms.get(t.name, t.default))
                                   for t in self.spare_parms]
        if self.position:
            data["position"] = list(self.position)
        return data


@dataclass
class NodeSpec:
    name: str
    type: str
    parms: dict = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    scheduler: str | None = None
    position: list[float] | None = None

    def to_json(self) -> dict:
        data = {"name": self.name, "type": self.type, "parms": dict(self.parms),
                "inputs": list(self.inputs)}
        if self.scheduler:
            data["scheduler"] = self.scheduler
        if self.position:
            data["position"] = list(self.position)
        return data


@dataclass
class Network:
    nodes: list[NodeSpec] = field(default_factory=list)
    schedulers: list[SchedulerSpec] = field(default_factory=list)
    default_scheduler: str = ""
    path: str = ""  # where it was loaded from or saved to; "" for a new network
    # $HIP when it is not the file's folder: a submitted copy cooks as its original
    _hip: str = field(default="", init=False, repr=False, compare=False)
    # name -> position in ``nodes``; checked at each use, as the studio edits ``nodes``
    _index: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def hip(self) -> str:
        """``$HIP``: the folder of the network file (the current folder when unsaved), or the
        folder it was set to: a copy made by Submit As Job keeps its original's ``$HIP``."""
        if self._hip:
            return self._hip
        return str(Path(self.path).resolve().parent) if self.path else os.getcwd()

    @hip.setter
    def hip(self, folder: str) -> None:
        self._hip = str(Path(folder).resolve()) if folder else ""

    @property
    def hip_given(self) -> bool:
        """Whether ``$HIP`` was set, rather than taken from the file's folder."""
        return bool(self._hip)

    def node(self, name: str) -> NodeSpec:
        spot = self._index.get(name)
        if spot is None or spot >= len(self.nodes) or self.nodes[spot].name != name:
            self._index = {}
            for i, spec in enumerate(self.nodes):
                self._index.setdefault(spec.name, i)  # the first of a name, as a scan finds
            spot = self._index.get(name)
        if spot is None:
            raise KeyError(f"no node named {name!r}" + did_you_mean(name, self.node_names()))
        return self.nodes[spot]

    def scheduler(self, name: str) -> SchedulerSpec:
        for spec in self.schedulers:
            if spec.name == name:
                return spec
        raise KeyError(f"no scheduler node named {name!r}"
                       + did_you_mean(name, [s.name for s in self.schedulers]))

    def node_names(self) -> list[str]:
        return [n.name for n in self.nodes]

    def scheduler_for(self, node: NodeSpec) -> str:
        return node.scheduler or self.default_scheduler

    def node_parms(self, node: NodeSpec) -> ParmSet:
        from .nodes import node_type
        return ParmSet(node_type(node.type).parm_templates, node.parms, self.hip, node.name)

    def topological(self, upto: str | None = None) -> list[NodeSpec]:
        """Nodes in dependency order; with ``upto``, only that node and its ancestors."""
        by_name = {n.name: n for n in self.nodes}
        wanted = set(by_name)
        if upto is not None:
            self.node(upto)  # raises with "did you mean" when unknown
            wanted, stack = set(), [upto]
            while stack:
                name = stack.pop()
                if name not in wanted:
                    wanted.add(name)
                    stack.extend(by_name[name].inputs)
        order: list[NodeSpec] = []
        done: set[str] = set()
        for node in self.nodes:
            if node.name in wanted and node.name not in done:
                _upstream_first(node.name, by_name, done, order)
        return order

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "version": VERSION,
            "default_scheduler": self.default_scheduler,
            "schedulers": [s.to_json() for s in self.schedulers],
            "nodes": [n.to_json() for n in self.nodes],
        }

    def save(self, path: str | os.PathLike | None = None) -> None:
        """Write the network atomically: a failure leaves any old file intact."""
        target = Path(path or self.path)
        write_atomic(target, json.dumps(self.to_json(), indent=2) + "\n")
        self.path = str(target)


def _upstream_first(root: str, by_name: dict, done: set, order: list) -> None:
    """Append ``root`` and its ancestors not yet ``done`` to ``order``, inputs first.

    Depth-first with a stack of its own, not recursion: a chain of any length orders.
    """
    done.add(root)
    stack = [(by_name[root], iter(by_name[root].inputs))]
    while stack:
        spec, inputs = stack[-1]
        for name in inputs:
            if name not in done:
                done.add(name)
                stack.append((by_name[name], iter(by_name[name].inputs)))
                break
        else:
            stack.pop()
            order.append(spec)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:  # name the file the user asked for, not the temporary one
        raise OSError(exc.errno, f"cannot write there: {exc.strerror}", str(path)) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(fd, _mode_for(path))  # mkstemp makes it 0600
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _mode_for(path: Path) -> int:
    """The mode the file has, or for a new file what the umask leaves of 0666."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    try:  # Linux says it without changing it (os.umask would, for every thread, a moment)
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    umask = os.umask(0o077)
    os.umask(umask)
    return umask


def load(path: str | os.PathLike) -> Network:
    """Read and check a network file; raise ``NetworkError`` listing every problem."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise NetworkError(source, [f"cannot read the file: {exc.strerror or exc}"]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise NetworkError(source, [
            f"line {line}: byte {raw[exc.start]:#04x} is not UTF-8 text: a network file is "
            f"UTF-8; save it again as UTF-8"]) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NetworkError(source, [f"line {exc.lineno}, column {exc.colno}: "
                                    f"not valid JSON: {exc.msg}"]) from None
    except RecursionError:
        raise NetworkError(source, [
            "lists or objects nested too deep to read (a network file needs a handful of "
            "levels)"]) from None
    except ValueError as exc:  # a number of more than 4,300 digits
        raise NetworkError(source, [f"not readable JSON: {exc}"]) from None
    return from_json(data, source, path=str(path))


def from_json(data, source: str = "<network>", path: str = "") -> Network:
    problems = _Checker().check(data)
    if problems:
        raise NetworkError(source, problems)
    schedulers = [_scheduler_spec(s) for s in data.get("schedulers", [])]
    if not schedulers:  # a network without scheduler nodes cooks on the Local Scheduler
        schedulers = [SchedulerSpec("localscheduler1", "localscheduler", {})]
    nodes = [NodeSpec(n["name"], n["type"], dict(n.get("parms", {})), list(n.get("inputs", [])),
                      n.get("scheduler") or None, n.get("position"))
             for n in data.get("nodes", [])]
    default = data.get("default_scheduler") or schedulers[0].name
    return Network(nodes, schedulers, default, path)


def _scheduler_spec(entry: dict) -> SchedulerSpec:
    """A checked scheduler entry; a spare parameter's value comes from its entry's "value"
    (or "parms"), else it is the kind's zero."""
    spare = [spare_template(e) for e in entry.get("spare_parms", [])]
    parms = dict(entry.get("parms", {}))
    for template, raw in zip(spare, entry.get("spare_parms", []), strict=True):
        parms[template.name] = raw["value"] if "value" in raw else parms.get(
            template.name, template.default)
    return SchedulerSpec(entry["name"], entry["type"], parms, entry.get("position"), spare)


class _Checker:
    """Collects every problem of a network document, each prefixed with its JSON path."""

    def __init__(self):
        self.problems: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def check(self, data) -> list[str]:
        if not isinstance(data, dict):
            self.add("(top)", "expected a JSON object with 'format', 'nodes' and 'schedulers'")
            return self.problems
        if data.get("format") != FORMAT:
            self.add("format", f"expected {FORMAT!r}, got {data.get('format')!r}")
        if data.get("version", VERSION) != VERSION:
            self.add("version", f"this program reads version {VERSION}, "
                                f"got {data.get('version')!r}")
        unknown = sorted(set(data) - {"format", "version", "default_scheduler", "schedulers",
                                      "nodes"})
        for key in unknown:
            self.add(key, "unknown key" + did_you_mean(key, ["default_scheduler", "nodes",
                                                             "schedulers"]))
        schedulers = Hints(self._entries(data, "schedulers", self._scheduler_types()))
        nodes = Hints(self._entries(data, "nodes", self._node_types()))
        default = data.get("default_scheduler")
        if default is not None and not isinstance(default, str):
            self.add("default_scheduler", f"expected the name of a scheduler node, got "
                                          f"{default!r}")
        elif default and default not in schedulers:
            self.add("default_scheduler", f"no scheduler node named {default!r}"
                     + schedulers(default))
        nodes_entry = data.get("nodes")
        listed = nodes_entry if isinstance(nodes_entry, list) else []
        for i, node in enumerate(listed):
            if isinstance(node, dict):
                self._links(f"nodes[{i}]", node, nodes, schedulers)
        if not self.problems:
            self._cycles(data["nodes"] if isinstance(data.get("nodes"), list) else [])
        return self.problems

    @staticmethod
    def _node_types():
        from .nodes import NODE_TYPES
        return NODE_TYPES

    @staticmethod
    def _scheduler_types():
        return _catalog()[0]

    def _entries(self, data: dict, key: str, types: dict) -> list[str]:
        entries = data.get(key, [])
        if not isinstance(entries, list):
            self.add(key, "expected a list")
            return []
        names: dict[str, None] = {}  # ordered, and a set for the test of a second name
        for i, entry in enumerate(entries):
            where = f"{key}[{i}]"
            if not isinstance(entry, dict):
                self.add(where, "expected an object with 'name' and 'type'")
                continue
            name = entry.get("name")
            if not isinstance(name, str) or not _NAME.match(name):
                self.add(f"{where}.name", f"expected a name of letters, digits and _, "
                                          f"got {name!r}")
            elif name in names:
                self.add(f"{where}.name", f"a second {key[:-1]} named {name!r}")
            else:
                names[name] = None
            self._typed(where, entry, types, key[:-1])
            position = entry.get("position")
            if position is not None and not (
                    isinstance(position, list) and len(position) == 2
                    and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                            and math.isfinite(v) for v in position)):
                self.add(f"{where}.position", f"expected [x, y], got {position!r}")
        return list(names)

    def _typed(self, where: str, entry: dict, types: dict, what: str) -> None:
        type_name = entry.get("type")
        if not isinstance(type_name, str) or type_name not in types:
            if what == "scheduler":  # it may be in a scheduler file that failed to load
                self.add(f"{where}.type", _catalog()[1](str(type_name)))
            else:
                self.add(f"{where}.type", f"unknown {what} type {type_name!r}"
                         + did_you_mean(str(type_name), types))
            return
        parms = entry.get("parms", {})
        if not isinstance(parms, dict):
            self.add(f"{where}.parms", "expected an object of parameter values")
            return
        templates = {t.name: t for t in templates_of(types[type_name])}
        spare = self._spares(where, entry, templates, type_name, what)
        for name, value in parms.items():
            template = templates.get(name) or spare.get(name, (None, None))[0]
            if template is None and name in spare:
                continue  # its entry's problems are said already
            if template is None:
                self.add(f"{where}.parms.{name}", f"{type_name} has no parameter {name!r}"
                         + did_you_mean(name, [*templates, *spare])
                         + (" (a parameter of the node's own is declared in spare_parms)"
                            if what == "scheduler" else ""))
            elif name in spare and "value" in spare[name][1]:
                self.add(f"{where}.parms.{name}", f"the spare parameter {name!r} has its "
                         f"value in its spare_parms entry already: keep one of the two")
            elif (why := template.check(value)) is not None:
                self.add(f"{where}.parms.{name}", why)

    def _spares(self, where: str, entry: dict, templates: dict, type_name: str,
                what: str) -> dict:
        """Check ``spare_parms``; name -> (template, entry), the template None for an
        entry with problems."""
        entries = entry.get("spare_parms")
        if entries is None:
            return {}
        if what != "scheduler":
            self.add(f"{where}.spare_parms", "only scheduler nodes have spare parameters")
            return {}
        if not isinstance(entries, list):
            self.add(f"{where}.spare_parms", "expected a list of spare parameters")
            return {}
        found: dict = {}
        for i, spare in enumerate(entries):
            at = f"{where}.spare_parms[{i}]"
            problems = spare_problems(spare)
            for key, why in problems:
                self.add(f"{at}.{key}" if key else at, why)
            name = spare.get("name") if isinstance(spare, dict) else None
            if not isinstance(name, str):
                continue
            if name in templates:
                self.add(f"{at}.name", f"{type_name} has a parameter {name!r} already: a "
                                       f"spare parameter needs a name of its own")
            elif name in found:
                self.add(f"{at}.name", f"a second spare parameter named {name!r}")
            else:  # one with problems is still the node's: no "no parameter" for it
                found[name] = (None if problems else spare_template(spare), spare)
        return found

    def _links(self, where: str, node: dict, nodes: Hints, schedulers: Hints) -> None:
        inputs = node.get("inputs", [])
        if not isinstance(inputs, list):
            self.add(f"{where}.inputs", "expected a list of node names")
            inputs = []
        for j, name in enumerate(inputs):
            if name not in nodes:
                self.add(f"{where}.inputs[{j}]", f"no node named {name!r}" + nodes(name))
            elif name == node.get("name"):
                self.add(f"{where}.inputs[{j}]", "a node cannot be its own input")
        scheduler = node.get("scheduler")
        if scheduler not in (None, "") and scheduler not in schedulers:
            self.add(f"{where}.scheduler", f"no scheduler node named {scheduler!r}"
                     + schedulers(scheduler))

    def _cycles(self, nodes: list[dict]) -> None:
        inputs = {n["name"]: n.get("inputs", []) for n in nodes}
        state: dict[str, int] = {}  # 1 on the walk's path, 2 done
        for name in inputs:
            if name not in state:
                self._walk(name, inputs, state)

    def _walk(self, root: str, inputs: dict, state: dict) -> None:
        """Depth-first from ``root`` with a stack of its own (a chain of any length), adding
        a problem for each connection back to a node on the path."""
        path, at = [root], {root: 0}  # the path, and where each of its nodes is on it
        stack = [iter(inputs[root])]
        state[root] = 1
        while stack:
            for upstream in stack[-1]:
                mark = state.get(upstream)
                if mark == 1:
                    loop = path[at[upstream]:] + [upstream]
                    self.add("nodes", "connections form a loop: " + " -> ".join(loop))
                elif mark is None:
                    state[upstream], at[upstream] = 1, len(path)
                    path.append(upstream)
                    stack.append(iter(inputs[upstream]))
                    break
            else:
                stack.pop()
                done = path.pop()
                state[done] = 2
                del at[done]
