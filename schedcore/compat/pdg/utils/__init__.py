"""``pdg.utils``: the helpers scheduler files import from it."""

from __future__ import annotations

from ... import hou


def expand_vars(value, work_item=None) -> str:
    """``$HIP`` (the network's folder), ``$HIPNAME``, ``$HIPFILE`` and environment variables
    expanded in ``value``; unknown variables are left as written, as Houdini does.
    ``work_item`` is accepted for Houdini's signature; items carry no variables here."""
    return hou.expandString(value)


def print_headless(*args, **kwargs) -> None:
    """Print when there is no UI: here, always (schedcore runs like ``hython``)."""
    if not hou.isUIAvailable():
        print(*args, **kwargs)


__all__ = ["expand_vars", "print_headless"]
