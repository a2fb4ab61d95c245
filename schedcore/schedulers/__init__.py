"""Scheduler types: the base class and the built-in schedulers, by type name."""

from .base import Scheduler
from .local import LocalScheduler
from .python import PythonScheduler

_TYPES: dict[str, type[Scheduler]] = {cls.type_name: cls
                                      for cls in (LocalScheduler, PythonScheduler)}
_LABELS: dict[str, str] = {}


def scheduler_types() -> dict[str, type[Scheduler]]:
    """Every scheduler type a network may name."""
    return dict(_TYPES)


def scheduler_label(name: str) -> str:
    return _LABELS.get(name) or _TYPES[name].label


def register_scheduler(cls: type[Scheduler], name: str | None = None,
                       label: str | None = None) -> str:
    """Make ``cls`` available as scheduler type ``name`` (default: its ``type_name``)."""
    name = name or cls.type_name
    _TYPES[name] = cls
    if label:
        _LABELS[name] = label
    return name


__all__ = ["LocalScheduler", "PythonScheduler", "Scheduler", "register_scheduler",
           "scheduler_label", "scheduler_types"]
