"""``pdg.scheduler.PyScheduler``, ``convertEnvMapToUTF8`` and the type registry
``registerTypes`` receives."""

from __future__ import annotations

import sys

from ...parms import ParmSet, spare_of, templates_of
from ...schedulers.base import Scheduler
from .. import hou


def convertEnvMapToUTF8(env: dict) -> dict[str, str]:
    """Every key and value of a job environment as ``str`` (Houdini's Python 2 heritage: it
    encoded unicode to UTF-8 bytes; on Python 3 a job environment is text)."""
    return {_text(key): _text(value) for key, value in env.items()}


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class PyScheduler(Scheduler):
    """The base of Houdini-written schedulers: ``__init__(self, scheduler, name)``, where
    ``scheduler`` is Houdini's node handle (unused here), and the 18+ notification names."""

    def __init__(self, scheduler=None, name: str = ""):
        super().__init__(name or self.templateName())

    @classmethod
    def templateName(cls) -> str:
        """The registered type name: ``type_name`` when the class sets one."""
        return cls.__name__.lower() if cls.type_name == Scheduler.type_name else cls.type_name

    @classmethod
    def create(cls, name: str, parms: dict | None, hip: str) -> Scheduler:
        hou.set_hip(hip)  # what $HIP and hou.hipFile name while it cooks
        instance = cls(None, name)
        instance.name = name
        # the class's parameters, its templateBody's, and the node's spare ones
        instance.parms = ParmSet(templates_of(cls) + spare_of(parms), parms or {}, hip, name)
        instance._hip_given = bool(hip)
        return instance

    # Houdini 18+ spells the notifications onWorkItem*
    def onWorkItemStartCook(self, item, index: int = -1) -> None:
        self.workItemStartCook(item, index)

    def onWorkItemSucceeded(self, item, index: int = -1, cook_duration: float = 0.0) -> None:
        self.workItemSucceeded(item, index, cook_duration)

    def onWorkItemFailed(self, item, index: int = -1) -> None:
        self.workItemFailed(item, index)

    def onWorkItemCanceled(self, item, index: int = -1) -> None:
        self.workItemCancelled(item, index)

    def onWorkItemAddOutput(self, item, subindex: int, path: str, tag: str = "file",
                            checksum: int = 0) -> None:
        self.workItemFileResult(item, subindex, path, tag, checksum)


class TypeRegistry:
    """What ``registerTypes(type_registry)`` receives: it collects scheduler classes."""

    def __init__(self):
        self.schedulers: list[tuple[type[Scheduler], str, str]] = []  # (class, name, label)
        self.refused: list[tuple[int | None, str]] = []  # (line of the call, why)

    def registerScheduler(self, cls, label: str | None = None, name: str | None = None,
                          parm_category: str | None = None, **kwargs):
        """Houdini's ``registerScheduler(type_object, name, label, parm_category)``; the
        category groups a node's parameters in Houdini's UI and has no use here."""
        if not (isinstance(cls, type) and issubclass(cls, Scheduler)):
            line = sys._getframe(1).f_lineno
            self.refused.append((line, f"registerScheduler was given {cls!r}, which is not "
                                       f"a subclass of pdg.scheduler.PyScheduler or "
                                       f"schedcore's Scheduler"))
            return
        if name is None:
            name = cls.templateName() if hasattr(cls, "templateName") else cls.type_name
        if not name or name == Scheduler.type_name:
            name = cls.__name__.lower()
        self.schedulers.append((cls, name, label or _own_label(cls)))


def _own_label(cls) -> str:
    """The class's own label, else its name ("Scheduler", the base's label, says nothing)."""
    return cls.label if cls.label and cls.label != Scheduler.label else cls.__name__


__all__ = ["PyScheduler", "TypeRegistry", "convertEnvMapToUTF8"]
