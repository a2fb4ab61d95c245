"""The example networks and the scripts their commands run, shipped inside the package.

They are read through ``importlib.resources``, so they are found the same way from a source
tree, a wheel or a frozen bundle; cooking writes next to the network (``$HIP``), so a cook
always works on a copy: ``schedcore examples DIR``, or the studio's copy in the user's
data folder.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

if TYPE_CHECKING:  # importlib.resources.abc is 3.11+
    from importlib.abc import Traversable

DEFAULT = "wedge_summary.top.json"  # the one the studio opens with no argument
_SUFFIXES = (".top.json", ".py")  # what a copy takes: no outputs, journals or caches


def folder() -> Traversable:
    """The examples as the install holds them (read them; do not cook them there)."""
    return files(__name__)


def names() -> list[str]:
    """The example networks' file names."""
    return sorted(entry.name for entry in folder().iterdir() if entry.name.endswith(".top.json"))


def copy_to(target: str | Path, overwrite: bool = False) -> tuple[list[Path], list[Path]]:
    """Copy every example network and script into ``target``; returns (copied, kept): a file
    already there is kept unless ``overwrite``."""
    copied: list[Path] = []
    kept: list[Path] = []
    _copy_tree(folder(), Path(target), overwrite, copied, kept)
    return copied, kept


def _copy_tree(source: Traversable, target: Path, overwrite: bool, copied: list[Path],
               kept: list[Path]) -> None:
    for entry in source.iterdir():
        if entry.is_dir() and not entry.name.startswith(("_", ".")) and entry.name != "pdgtemp":
            _copy_tree(entry, target / entry.name, overwrite, copied, kept)
        elif entry.is_file() and entry.name.endswith(_SUFFIXES) and entry.name != "__init__.py":
            destination = target / entry.name
            if destination.exists() and not overwrite:
                kept.append(destination)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(entry.read_bytes())
            copied.append(destination)


def user_folder() -> Path:
    """Where the studio keeps its own copy of the examples, to cook and change freely."""
    return Path(platformdirs.user_data_dir("schedstudio", appauthor=False)) / "examples"


def user_copy(name: str = DEFAULT) -> Path:
    """The user's copy of an example network, made on first use (earlier edits are kept)."""
    copy_to(user_folder())
    return user_folder() / name
