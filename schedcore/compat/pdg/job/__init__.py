"""``pdg.job``."""

from . import callbackserver, eventdispatch

__all__ = ["callbackserver", "eventdispatch"]
