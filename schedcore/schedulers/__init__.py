"""Scheduler types: the base class and the built-in schedulers, by type name."""

from .base import Scheduler
from .local import LocalScheduler

_BUILTIN: dict[str, type[Scheduler]] = {LocalScheduler.type_name: LocalScheduler}


def scheduler_types() -> dict[str, type[Scheduler]]:
    """Every scheduler type a network may name."""
    return dict(_BUILTIN)


def register_scheduler(cls: type[Scheduler]) -> None:
    _BUILTIN[cls.type_name] = cls


__all__ = ["LocalScheduler", "Scheduler", "register_scheduler", "scheduler_types"]
