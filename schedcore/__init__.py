"""schedcore: the engine of schedstudio, a pure Python library (it never imports Qt).

Importing the package imports nothing else: ``schedcore --version`` and ``--help`` answer
without loading the engine. ``__version__`` is the distribution's version: pyproject.toml
reads it from here."""

from __future__ import annotations

__version__ = "0.1.0"


def _registry_types():
    """The scheduler types a network may name, from the plugin system: what
    ``schedcore.network`` checks a document against unless told otherwise. It lives here,
    where both are known, so the network document does not import the registry; the
    registry loads on the first network checked, not on import; a network that names
    built-in types only is checked without its scan of entry points and folders."""
    from . import registry
    return registry.SchedulerTypes(), registry.unknown_type_message
