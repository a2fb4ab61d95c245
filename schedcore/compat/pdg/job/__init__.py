"""``pdg.job``."""

from . import callbackserver

__all__ = ["callbackserver"]
