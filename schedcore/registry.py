"""Loading scheduler modules: a file with ``registerTypes(type_registry)``, as Houdini's
``pdg/types`` files, registers its scheduler classes. ``import pdg`` works inside it."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path

from . import compat
from .compat.pdg import TypeRegistry
from .schedulers import register_scheduler


def import_file(path: str | Path):
    """Import a Python file under a module name of its own (two files of the same name in
    two folders do not collide)."""
    path = Path(path).resolve()
    compat.install()
    name = f"schedcore_types.{path.stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:10]}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def register_file(path: str | Path) -> list[str]:
    """Import ``path`` and register what its ``registerTypes`` registers; the type names."""
    module = import_file(path)
    registry = TypeRegistry()
    module.registerTypes(registry)
    return [register_scheduler(cls, name, label) for cls, name, label in registry.schedulers]
