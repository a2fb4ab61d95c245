"""PDG's names for code written for Houdini: ``import pdg``, ``pdg.scheduleResult``,
``from pdg.scheduler import PyScheduler``, ``from pdg.job.callbackserver import
CallbackServerMixin``.

They live in ``schedcore.compat.pdg``; ``install()`` makes ``import pdg`` find them while
scheduler files load, without a top-level ``pdg`` package being installed (that name is taken
on PyPI). A ``pdg`` module that is already imported is left alone.
"""

from __future__ import annotations

import sys

from . import pdg
from .pdg import job, scheduler
from .pdg.job import callbackserver

ALIASES = {"pdg": pdg, "pdg.scheduler": scheduler, "pdg.job": job,
           "pdg.job.callbackserver": callbackserver}


def install() -> bool:
    """Let ``import pdg`` find these names; False when another ``pdg`` is imported already."""
    if "pdg" in sys.modules and sys.modules["pdg"] is not pdg:
        return False
    for name, module in ALIASES.items():
        sys.modules.setdefault(name, module)
    return True


__all__ = ["install", "pdg"]
