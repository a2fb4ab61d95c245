"""A small stand-in for Houdini's ``hou`` module: the part that scheduler files written for
Houdini use outside a scene and outside the UI.

It covers: ``isUIAvailable()`` (always False: schedcore runs like ``hython`` without a UI),
``applicationVersion()``/``applicationVersionString()``/``applicationName()`` (the API level
this layer follows: 20.0.0, ``hython``), ``hipFile.path()/basename()/name()``,
``expandString``/``text.expandString`` (``$HIP``, ``$HIPNAME``, ``$HIPFILE``, environment
variables), ``getenv``/``putenv``/``unsetenv``, ``severityType`` and the exceptions
``Error``/``OperationFailed``.

What needs Houdini itself (a scene: ``hou.node``, ``hou.pwd``...; the UI: ``hou.ui``...)
raises ``HoudiniRequired`` naming what was used, never a bare AttributeError.

``$HIP`` is the folder of the network file being cooked (as for parameters); ``hipFile``
names ``$HIPFILE`` when it is set, else ``untitled.hip`` in that folder (a network file is
no ``.hip`` file).
"""

from __future__ import annotations

import os

from ..parms import expand_vars

VERSION = (20, 0, 0)
_state = {"hip": ""}  # the network folder of the scheduler made last


class HoudiniRequired(AttributeError):
    """What scheduler code used needs Houdini itself (a scene, the UI, Houdini's modules)."""

    def __init__(self, what: str, why: str = "only Houdini has it"):
        self.what = what
        super().__init__(f"{what} needs Houdini itself ({why}); schedcore's hou stand-in "
                         f"covers only what scheduler files use outside a scene and the UI")


class Error(Exception):
    """``hou.Error``: the base of Houdini's exceptions."""


class OperationFailed(Error):
    """``hou.OperationFailed``."""


class severityType:  # noqa: N801 -- Houdini's name
    Message, ImportantMessage, Warning, Error, Fatal = range(5)


def set_hip(folder: str) -> None:
    """Remember the network folder ``$HIP`` stands for (a scheduler is made for it)."""
    _state["hip"] = str(folder or "")


def _hip() -> str:
    return _state["hip"] or os.environ.get("HIP") or os.getcwd()


class _HipFile:
    """``hou.hipFile``: the scene file's name, read-only."""

    def path(self) -> str:
        return os.environ.get("HIPFILE") or os.path.join(_hip(), "untitled.hip")

    def basename(self) -> str:
        return os.path.basename(self.path())

    def name(self) -> str:
        return self.path()

    def __getattr__(self, name: str):
        raise HoudiniRequired(f"hou.hipFile.{name}", "it changes a Houdini scene")


hipFile = _HipFile()


def isUIAvailable() -> bool:
    return False


def applicationVersion() -> tuple[int, int, int]:
    return VERSION


def applicationVersionString() -> str:
    return ".".join(map(str, VERSION))


def applicationName() -> str:
    return "hython"


def expandString(text: str) -> str:
    """``$HIP``, ``$HIPNAME``, ``$HIPFILE`` and environment variables, expanded."""
    path = hipFile.path()
    # a cook's session names it already (``scene`` for ``scene.top.json``)
    name = os.environ.get("HIPNAME") or os.path.splitext(os.path.basename(path))[0]
    extra = {"HIPFILE": path, "HIPNAME": name}
    return expand_vars(str(text), _hip(), extra)


class text:  # noqa: N801 -- Houdini's name
    expandString = staticmethod(expandString)


def getenv(name: str, default_value=None):
    return os.environ.get(name, default_value)


def putenv(name: str, value: str) -> None:
    os.environ[name] = str(value)


def unsetenv(name: str) -> None:
    os.environ.pop(name, None)


class NodeType:
    """``hou.NodeType``: its name only."""

    def __init__(self, name: str):
        self._name = name

    def name(self) -> str:
        return self._name

    def nameComponents(self) -> tuple[str, str, str, str]:
        return ("", "", self._name, "")


TOPNET = "/tasks/topnet1"  # where a network's nodes sit, in Houdini's terms


class TopNode:
    """A hou-like handle of a TOP or scheduler node of the network being cooked: ``name()``,
    ``path()`` (``/tasks/topnet1/<name>``), ``type()`` and ``parent()``. It carries no
    parameters: ``parm(name)`` is None, as Houdini answers for a parameter a node lacks."""

    def __init__(self, name: str, type_name: str = "", parent_path: str = TOPNET):
        self._name, self._type, self._parent = name, type_name, parent_path

    def __repr__(self) -> str:
        return f"<hou.TopNode {self.path()}>"

    def __eq__(self, other) -> bool:
        return isinstance(other, TopNode) and other.path() == self.path()

    def __hash__(self) -> int:
        return hash(self.path())

    def name(self) -> str:
        return self._name

    def path(self) -> str:
        return f"{self._parent.rstrip('/')}/{self._name}"

    def type(self) -> NodeType:
        return NodeType(self._type)

    def parm(self, name: str):
        return None

    def parent(self):
        if self._parent == TOPNET:
            folder, name = TOPNET.rsplit("/", 1)
            return TopNode(name, "topnet", folder)
        return None


def node(path: str):
    raise HoudiniRequired(f"hou.node({path!r})", "it looks a node up in a Houdini scene")


def pwd():
    raise HoudiniRequired("hou.pwd()", "it is the current node of a Houdini scene")


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    raise HoudiniRequired(f"hou.{name}")
