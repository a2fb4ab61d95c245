"""schedcore: the engine of schedstudio, a pure Python library (it never imports Qt)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from . import network as _network

try:
    __version__ = version("schedstudio")  # one version: the distribution's
except PackageNotFoundError:  # a source tree on sys.path, never installed
    __version__ = "0+unknown"


def _registry_types():
    """The scheduler types a network may name, from the plugin system. Wired here, where
    both are known, so the network document does not import the registry; the registry
    loads on the first network checked, not on import."""
    from . import registry
    return registry.scheduler_types(), registry.unknown_type_message


_network.use_scheduler_types(_registry_types)
