"""Work items: the unit of work a TOP node generates and a scheduler cooks.

Names follow PDG (reference §3): ``attribValue``, ``setIntAttrib``, ``addExpectedOutputFile``...
Items use ``__slots__`` and create their attribute and output containers lazily, because a
cook may hold hundreds of thousands of them.
"""

from __future__ import annotations

import enum
import functools
import operator
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

if TYPE_CHECKING:
    from .usage import ItemUsage


class WorkItemState(enum.IntEnum):
    """PDG's ``workItemState``; the integer values are the serialized ones."""

    Undefined = 0
    Dirty = 1
    Uncooked = 2
    Waiting = 3
    Scheduled = 4
    Cooking = 5
    CookedSuccess = 6
    CookedCache = 7
    CookedFail = 8
    CookedCancel = 9

    @property
    def is_final(self) -> bool:
        return self >= WorkItemState.CookedSuccess

    @property
    def is_success(self) -> bool:
        return self in (WorkItemState.CookedSuccess, WorkItemState.CookedCache)


FINAL_STATES = frozenset(s for s in WorkItemState if s.is_final)


class AttribType(enum.IntEnum):
    """PDG's ``attribType``."""

    Int = 0
    Float = 1
    String = 2
    File = 3
    PyObject = 4
    Dict = 5


# The largest index of one attribute value. An attribute grows to its largest index, so one
# report of index 10**8 would take gigabytes of the cook's memory and of its journal, and 300
# reports at 100,000 (24 KB of requests) took 364 MB; a real job sets far fewer values by
# index (a frame number at most; whole arrays go through setAttribArray).
MAX_ATTRIB_INDEX = 10_000


class AttribIndexError(ValueError):
    """An attribute index out of 0..MAX_ATTRIB_INDEX; the text names the attribute."""


def checked_attrib_index(name: str, index) -> int:
    """``index`` as an int when it can index attribute ``name``; else ``AttribIndexError``."""
    try:
        index = operator.index(index)
    except TypeError:
        raise AttribIndexError(f"attribute {name!r}: index {index!r} is not a whole "
                               f"number") from None
    if not 0 <= index <= MAX_ATTRIB_INDEX:
        raise AttribIndexError(f"attribute {name!r}: index {index:,} is out of range: an "
                               f"index goes from 0 to {MAX_ATTRIB_INDEX:,}")
    return index


# The most outputs one item keeps beyond those its node expects (``addExpectedOutputFile``,
# which the engine adds as it finds them on disk). A job that reported 1,000,000 would take
# the cook's memory and its journal; the result server refuses a job's outputs beyond it.
MAX_OUTPUTS = 100_000  # outputs a job or scheduler may report for one item
REPORTED_LOG = "\n----- reported to the cook (workItemAppendLog, warnings) -----\n"

# outputs of an item looked up by scanning them; beyond, by a dict of their paths (most items
# have a few outputs: a dict for each would cost more than the scan)
_SCANNED_OUTPUTS = 16


class _OutputIndex(dict[str, "OutputFile"]):
    """An item's outputs by path."""

    __slots__ = ()

    def __init__(self, outputs: list[OutputFile]):
        super().__init__((o.path, o) for o in outputs)


_CASTS = {
    AttribType.Int: int,
    AttribType.Float: float,
    AttribType.String: str,
    AttribType.File: str,
}


@dataclass(slots=True)
class Attribute:
    """A typed attribute: always an array; a scalar is an array of one value."""

    type: AttribType
    values: list

    def to_json(self) -> dict:
        return {"type": self.type.name, "values": list(self.values)}

    @classmethod
    def from_json(cls, data: dict) -> Attribute:
        return cls(AttribType[data["type"]], list(data["values"]))


@dataclass(slots=True)
class OutputFile:
    """An output file of a work item, with its tag (``file/image``...) and checksum."""

    path: str
    tag: str = "file"
    checksum: int = 0

    def to_json(self) -> dict:
        return {"path": self.path, "tag": self.tag, "checksum": self.checksum}

    @classmethod
    def from_json(cls, data: dict) -> OutputFile:
        return cls(data["path"], data.get("tag", "file"), int(data.get("checksum", 0)))


class NodeRef(str):
    """``work_item.node``: the node's name, a ``str`` (so code that compares, hashes, prints
    or serializes it as the name keeps working), with the names of Houdini's ``pdg.Node``
    that scheduler code uses: ``.name`` and ``.topNode()`` (a hou-like node)."""

    __slots__ = ()

    @property
    def name(self) -> str:
        return str(self)

    def topNode(self):
        from .compat.hou import TopNode
        return TopNode(str(self))


@functools.lru_cache(maxsize=4096)
def node_ref(name: str) -> NodeRef:
    """One ``NodeRef`` per node name, shared by its items (a cook may hold many)."""
    return NodeRef(name)


class WorkItem:
    """One work item. The engine owns its state; everyone else reads it."""

    __slots__ = (
        "id", "index", "priority", "frame", "command", "state", "node",
        "dependencies", "cook_duration", "log_uri", "status_uri", "_environment",
        "reason", "_attribs", "_expected", "_outputs", "_output_index", "_log", "cook_percent",
        "custom_state", "usage",
    )

    def __init__(self, id: int, node: str, index: int = 0, *, priority: int = 0,
                 frame: float = 0.0, command: str = "",
                 dependencies: tuple[WorkItem, ...] = ()):
        self.id = id
        self.node = node if type(node) is NodeRef else node_ref(str(node))
        self.index = index
        self.priority = priority
        self.frame = frame
        self.command = command
        self.state = WorkItemState.Uncooked
        self.dependencies = dependencies  # items this one waits for
        self.cook_duration = 0.0
        self.log_uri = ""
        self.status_uri = ""
        self._environment: dict[str, str] | None = None
        self.reason = ""  # why it failed or did not run, in words
        self.cook_percent: float | None = None  # what its job last reported of its progress
        self.custom_state = ""  # the job's own word for where it is ("rendering")
        self.usage: ItemUsage | None = None  # what its job used, as reports said (usage.py)
        self._attribs: dict[str, Attribute] | None = None
        self._expected: list[OutputFile] | None = None
        self._outputs: list[OutputFile] | None = None
        self._output_index: _OutputIndex | None = None  # beyond _SCANNED_OUTPUTS outputs
        self._log: list[str] | None = None

    @property
    def name(self) -> str:
        """``<node>_<id>``, made when asked: a cook of a million items would keep a million
        of them."""
        return f"{self.node}_{self.id}"

    def __repr__(self) -> str:
        return f"<WorkItem {self.name} {self.state.name}>"

    # -- Houdini's command and environment ------------------------------------------------
    @property
    def environment(self) -> dict[str, str]:
        """The item's own environment variables (Houdini's ``work_item.environment``), which
        its job gets on top of the scheduler's: a dict, empty unless something set them."""
        if self._environment is None:
            self._environment = {}
        return self._environment

    @environment.setter
    def environment(self, value) -> None:
        self._environment = dict(value) if value else None

    def platformCommand(self) -> str:
        """The command for this machine's platform: items here have one command."""
        return self.command

    def setCommand(self, command: str) -> None:
        self.command = str(command)

    @property
    def shouldRunInShell(self) -> bool:
        """Whether the command runs through a shell: here it always does (one string)."""
        return True

    # -- attributes ---------------------------------------------------------------------
    @property
    def attributes(self) -> dict[str, Attribute]:
        if self._attribs is None:
            self._attribs = {}
        return self._attribs

    def attribNames(self) -> list[str]:
        return list(self._attribs or ())

    def hasAttrib(self, name: str) -> bool:
        return name in (self._attribs or ())

    def attribType(self, name: str) -> AttribType | None:
        attrib = (self._attribs or {}).get(name)
        return attrib.type if attrib else None

    def attribValue(self, name: str, index: int = 0) -> Any:
        """The value at ``index`` of attribute ``name``; None when absent."""
        attrib = (self._attribs or {}).get(name)
        if attrib is None or index >= len(attrib.values):
            return None
        return attrib.values[index]

    def attribArray(self, name: str) -> list | None:
        attrib = (self._attribs or {}).get(name)
        return None if attrib is None else list(attrib.values)

    def setAttrib(self, name: str, type: AttribType, value: Any, index: int = 0) -> None:
        """Set the value at ``index``, growing the array to it; raises ``AttribIndexError``
        for an index outside 0..``MAX_ATTRIB_INDEX``."""
        index = checked_attrib_index(name, index)
        cast = _CASTS.get(type)
        value = cast(value) if cast else value
        attrib = self.attributes.get(name)
        if attrib is None or attrib.type != type:
            attrib = self.attributes[name] = Attribute(type, [])
        values = attrib.values
        if index >= len(values):
            values.extend([_default(type)] * (index + 1 - len(values)))
        values[index] = value

    def setAttribArray(self, name: str, type: AttribType, values) -> None:
        cast = _CASTS.get(type)
        self.attributes[name] = Attribute(type, [cast(v) if cast else v for v in values])

    def setIntAttrib(self, name: str, value: int, index: int = 0) -> None:
        self.setAttrib(name, AttribType.Int, value, index)

    def setFloatAttrib(self, name: str, value: float, index: int = 0) -> None:
        self.setAttrib(name, AttribType.Float, value, index)

    def setStringAttrib(self, name: str, value: str, index: int = 0) -> None:
        self.setAttrib(name, AttribType.String, value, index)

    def setFileAttrib(self, name: str, value: str, index: int = 0) -> None:
        self.setAttrib(name, AttribType.File, value, index)

    def setIntAttribArray(self, name: str, values) -> None:
        self.setAttribArray(name, AttribType.Int, values)

    def setFloatAttribArray(self, name: str, values) -> None:
        self.setAttribArray(name, AttribType.Float, values)

    def setStringAttribArray(self, name: str, values) -> None:
        self.setAttribArray(name, AttribType.String, values)

    def setFileAttribArray(self, name: str, values) -> None:
        self.setAttribArray(name, AttribType.File, values)

    def copy_attributes_from(self, other: WorkItem) -> None:
        """Inherit ``other``'s attributes (a child item starts with its parent's)."""
        for name, attrib in (other._attribs or {}).items():
            if not self.hasAttrib(name):
                self.attributes[name] = Attribute(attrib.type, list(attrib.values))

    # -- files --------------------------------------------------------------------------
    @property
    def expectedOutputFiles(self) -> list[OutputFile]:
        return list(self._expected or ())

    @property
    def outputFiles(self) -> list[OutputFile]:
        """The outputs in the order they were added, one per path: a copy (see
        ``iterOutputFiles`` and ``outputCount`` to read them without one)."""
        return list(self._outputs or ())

    def iterOutputFiles(self) -> Iterator[OutputFile]:
        """The outputs in order, without copying them (not while outputs are added)."""
        return iter(self._outputs or ())

    @property
    def outputCount(self) -> int:
        return len(self._outputs or ())

    def outputFile(self, path: str) -> OutputFile | None:
        """The output of this path, or None."""
        path = str(path)
        if self._output_index is not None:
            return self._output_index.get(path)
        return next((o for o in self._outputs or () if o.path == path), None)

    def addExpectedOutputFile(self, path: str, tag: str = "file") -> None:
        if self._expected is None:
            self._expected = []
        self._expected.append(OutputFile(str(path), tag))

    def addOutputFile(self, path: str, tag: str = "file", checksum: int = 0) -> None:
        """Add an output, unless one of this path is there already (the first one stays).
        Node code may add any number (a Wait for All takes every upstream output); what a
        job or scheduler reports stops at ``MAX_OUTPUTS`` (``reports_full``)."""
        path = str(path)
        if self.outputFile(path) is not None:
            return
        outputs = self._outputs
        if outputs is None:
            outputs = self._outputs = []
        output = OutputFile(path, tag or "file", checksum)
        outputs.append(output)
        if self._output_index is not None:
            self._output_index[path] = output
        elif len(outputs) > _SCANNED_OUTPUTS:
            self._output_index = _OutputIndex(outputs)

    addResultData = addOutputFile  # the 17.5 name

    def reports_full(self, path: str) -> bool:
        """Whether a reported output of ``path`` is one too many: the item has
        ``MAX_OUTPUTS`` besides its expected ones, and not this one."""
        return self.outputCount >= MAX_OUTPUTS + len(self._expected or ()) \
            and self.outputFile(str(path)) is None

    @property
    def inputFiles(self) -> list[OutputFile]:
        """The outputs of the items this one depends on, in dependency order."""
        return [o for dep in self.dependencies for o in (dep._outputs or ())]

    # -- log ----------------------------------------------------------------------------
    def appendLog(self, text: str) -> None:
        if self._log is None:
            self._log = []
        self._log.append(text)

    @property
    def log(self) -> str:
        """The text reported for the item (``workItemAppendLog``, a job's ``warning`` and
        log calls): its whole log when it has no log file, else what follows the file."""
        return "".join(self._log or ())

    def log_after_file(self) -> str:
        """What a view shows after the item's log file: the reported text under a line that
        says where it came from, or "" when nothing was reported."""
        return f"{REPORTED_LOG}{self.log}" if self._log and self.log_file else ""

    @property
    def log_file(self) -> str:
        """The local path of a ``file://`` log URI, or "" for any other kind of log."""
        uri = urlparse(self.log_uri)
        return unquote(uri.path) if uri.scheme == "file" else ""

    # -- serialization ------------------------------------------------------------------
    def to_json(self) -> dict:
        """What a job reads (``createJobDirsAndSerializeWorkItems``) and ``--json`` prints."""
        return {
            "id": self.id,
            "name": self.name,
            "node": self.node,
            "index": self.index,
            "priority": self.priority,
            "frame": self.frame,
            "command": self.command,
            "state": self.state.name,
            "cook_duration": self.cook_duration,
            "attributes": {n: a.to_json() for n, a in (self._attribs or {}).items()},
            "expected_outputs": [o.to_json() for o in self._expected or ()],
            "outputs": [o.to_json() for o in self._outputs or ()],
            "inputs": [o.to_json() for o in self.inputFiles],
            "dependencies": [d.id for d in self.dependencies],
            "log_uri": self.log_uri,
            "status_uri": self.status_uri,
            "reason": self.reason,
            **({"log": self.log} if self._log else {}),
        }


def _default(type: AttribType):
    return {AttribType.Int: 0, AttribType.Float: 0.0}.get(type, "")
