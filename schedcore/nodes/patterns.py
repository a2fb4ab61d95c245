"""File Pattern's matching: ``glob.glob(pattern, recursive=True)``'s rules, walked so that it
always ends and can be stopped.

``glob`` follows symbolic links to folders under ``**`` and has no loop detection: a link to
``.`` or to a parent makes its walk endless (each level a new path), and it cannot be
interrupted from another thread. Here a folder reached under ``**`` is entered once per
``**`` (it is known by ``(st_dev, st_ino)``), so links are still followed but a loop is not;
and ``canceled`` is asked every ``CHECK_EVERY`` folders listed, the walk stopping with
``Canceled`` when it says so.

The rules kept from ``glob``: ``*``, ``?`` and ``[...]`` within one name (case-sensitive),
``**`` alone as a name for any number of folders (none included), and names starting with a
dot matched only by a pattern part starting with a dot (``**`` enters no hidden folder).
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Callable

CHECK_EVERY = 64  # folders listed between two questions to ``canceled``
_MAGIC = re.compile(r"[*?[]")


class Canceled(Exception):
    """The walk was stopped: the cook is being canceled."""


def _listing(folder: str) -> list[os.DirEntry]:
    try:
        with os.scandir(folder or os.curdir) as entries:
            return list(entries)
    except OSError:  # not a folder, gone, or not ours to read: nothing in it, as glob
        return []


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()  # through a link, as glob
    except OSError:
        return False


def _identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _hidden(name: str, part: str) -> bool:
    return name.startswith(".") and not part.startswith(".")


def match(pattern: str, canceled: Callable[[], bool] | None = None) -> list[str]:
    """The paths matching ``pattern``, sorted; raises ``Canceled`` when ``canceled()`` says
    so during the walk."""
    if not _MAGIC.search(pattern):
        return [pattern] if os.path.lexists(pattern) else []
    root = os.sep if pattern.startswith(os.sep) else ""
    parts = pattern[len(root):].split(os.sep)
    # the fixed folders ahead of the first part with a wildcard
    start = next(i for i, part in enumerate(parts) if _MAGIC.search(part) or part == "**")
    base = root + os.sep.join(parts[:start])
    if start and not os.path.isdir(base):
        return []
    found: set[str] = set()
    seen: set[tuple] = set()  # (folder identity, part index) entered under a **
    listed = 0
    # (path so far, index of the next part)
    stack: list[tuple[str, int]] = [(base, start)]

    def join(folder: str, name: str) -> str:
        return os.path.join(folder, name) if folder else name

    while stack:
        path, i = stack.pop()
        if i == len(parts):
            found.add(path)
            continue
        part = parts[i]
        last = i + 1 == len(parts)
        if part == "**":
            identity = _identity(path or os.curdir)
            if identity is None or (identity, i) in seen:
                continue  # a loop (or a second way in): not looked in again
            seen.add((identity, i))
            stack.append((path, i + 1))  # ** as no folder at all
            listed += 1
            if canceled is not None and listed % CHECK_EVERY == 0 and canceled():
                raise Canceled
            for entry in _listing(path):
                if not entry.name.startswith(".") and _is_dir(entry):
                    stack.append((join(path, entry.name), i))  # and ** again below it
                elif last and not entry.name.startswith("."):
                    found.add(join(path, entry.name))
        elif _MAGIC.search(part):
            listed += 1
            if canceled is not None and listed % CHECK_EVERY == 0 and canceled():
                raise Canceled
            for entry in _listing(path):
                if _hidden(entry.name, part) or not fnmatch.fnmatchcase(entry.name, part):
                    continue
                if last:
                    found.add(join(path, entry.name))
                elif _is_dir(entry):
                    stack.append((join(path, entry.name), i + 1))
        else:
            child = join(path, part)
            if (last and os.path.lexists(child)) or (not last and os.path.isdir(child)):
                stack.append((child, i + 1))
    return sorted(found)
