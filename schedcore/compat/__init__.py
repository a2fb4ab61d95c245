"""PDG's names for code written for Houdini: ``import pdg``, ``pdg.scheduleResult``,
``from pdg.scheduler import PyScheduler``, ``from pdg.job.callbackserver import
CallbackServerMixin``, ``pdg.job.eventdispatch``, ``pdg.utils``, and a small ``hou``
stand-in (``compat/hou.py`` says what it covers).

They live in ``schedcore.compat``; ``install()`` makes ``import pdg`` and ``import hou`` find
them while scheduler files load, without top-level ``pdg``/``hou`` packages being installed
(``pdg`` is taken on PyPI). A ``pdg`` module that is already imported is left alone, and so is
a real ``hou`` (inside Houdini). The submodules load on first use: the scheduler base class
imports ``compat.services``, which must not pull the base class in.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

ALIASES = ("pdg", "pdg.scheduler", "pdg.job", "pdg.job.callbackserver",
           "pdg.job.eventdispatch", "pdg.utils")


def install() -> bool:
    """Let ``import pdg`` (and ``import hou``) find these names; False when another ``pdg``
    is imported already."""
    from . import pdg
    if "pdg" in sys.modules and sys.modules["pdg"] is not pdg:
        return False
    for name in ALIASES:
        sys.modules.setdefault(name, importlib.import_module(f"{__name__}.{name}"))
    _install_hou()
    return True


def _install_hou() -> None:
    """The ``hou`` stand-in, unless a real ``hou`` is imported or importable."""
    if "hou" in sys.modules:
        return
    if importlib.util.find_spec("hou") is None:
        from . import hou
        sys.modules["hou"] = hou


def load_error(exc: BaseException) -> tuple[str, str] | None:
    """``(kind, why)`` when a scheduler file failed because it needs Houdini itself."""
    from .houdini import explain
    return explain(exc)


def __getattr__(name: str):
    if name in ("pdg", "hou", "services", "houdini"):
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["install", "load_error", "pdg"]
