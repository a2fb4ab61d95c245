"""The Scheduler Factory: every scheduler type a network may name, and every file that failed.

Types come from three places, all through ``registerTypes(type_registry)``:

- the built-ins (``schedcore.schedulers.registerTypes``);
- packages installed with pip, through the entry-point group ``schedcore.schedulers`` (a module
  with ``registerTypes``, or that function);
- the types path: each folder of ``SCHEDCORE_PATH`` (``os.pathsep``-separated), then the
  per-user folder, searched for ``pdg/types/``; every ``.py`` file and package found there is
  imported under a module name of its own (``import pdg`` works inside it).

A file that cannot be used becomes a ``LoadFailure`` (file, line, kind, why) and the others
still load. A file another user could change is not imported at all (``writable_by_others``):
its code would run as the user of every cook and of the studio. ``reload()`` imports again
the files that changed (or whose owner or mode did), so the next cook uses them, without a
restart.

The process's registry (``default()``) loads the built-ins when made, and the entry points
and the types path when first asked for more than a built-in's name: the built-ins are
registered first and a name registered twice keeps its first type, so a built-in's name means
the same before and after the scan, and a network that names built-in types only (the
studio's first paint, a cook with the Local Scheduler) does not wait for it (importing
``importlib.metadata`` alone takes tens of milliseconds). ``types``, ``failures``, ``get`` of
another name, ``reload()`` and ``scan()`` all scan first, once.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import itertools
import os
import stat
import sys
import threading
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from . import compat
from .compat.pdg import TypeRegistry
from .errors import did_you_mean
from .privatefiles import user_name
from .schedulers import Scheduler

ENTRY_POINT_GROUP = "schedcore.schedulers"


def user_types_folder() -> Path:
    """The per-user types folder (on Linux ``~/.local/share/schedstudio/pdg/types``)."""
    return Path(platformdirs.user_data_dir("schedstudio")) / "pdg" / "types"


def types_folders() -> list[Path]:
    """Where scheduler files are looked for, first to last."""
    roots = [Path(p) for p in os.environ.get("SCHEDCORE_PATH", "").split(os.pathsep) if p]
    return [root / "pdg" / "types" for root in roots] + [user_types_folder()]


@dataclass(frozen=True)
class SchedulerType:
    name: str
    cls: type
    label: str
    origin: str  # "built-in", a file's path, or "entry point <name>"


@dataclass(frozen=True)
class LoadFailure:
    file: str
    line: int | None
    kind: str   # syntax error, import error, needs Houdini, registerTypes missing,
    #             registerTypes raised, not a scheduler class, registered twice,
    #             writable by others
    message: str

    @property
    def why(self) -> str:
        return f"{self.kind}: {self.message}"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.why}"


@dataclass
class _Source:
    stamp: tuple   # (mtime_ns, size, who else could change it) when it was loaded
    names: list[str]
    failures: list[LoadFailure]


_counter = itertools.count()


class Registry:
    """Scheduler types by name. ``scan_now=False`` loads the built-ins only, and the entry
    points and the types folders on the first use that needs them (see the module's
    docstring); the results are the same."""

    def __init__(self, folders: list[Path] | None = None, use_entry_points: bool = True,
                 scan_now: bool = True):
        self._folders = folders
        self._use_entry_points = use_entry_points
        self._lock = threading.RLock()
        self._types: dict[str, SchedulerType] = {}
        self._fixed_failures: list[LoadFailure] = []  # built-ins' and entry points'
        self._sources: dict[Path, _Source] = {}
        self._scanned = False
        self.extra_files: list[Path] = []  # loaded besides the types folders
        self._load_builtins()
        if scan_now:
            self.scan()

    # -- what is registered -----------------------------------------------------------
    @property
    def types(self) -> dict[str, SchedulerType]:
        """Every registered type by name (after the scan)."""
        self.scan()
        return self._types

    @property
    def scanned(self) -> bool:
        """Whether the entry points and the types folders have been loaded."""
        return self._scanned

    def find(self, name: str) -> SchedulerType | None:
        """The type registered as ``name``, or None. A built-in's name is answered without
        the scan (nothing registered later can take it); any other name scans first."""
        with self._lock:
            entry = self._types.get(name)
            if entry is None and not self._scanned:
                self.scan()
                entry = self._types.get(name)
            return entry

    def classes(self) -> dict[str, type]:
        with self._lock:
            return {name: entry.cls for name, entry in self.types.items()}

    def get(self, name: str) -> type:
        entry = self.find(name)
        if entry is None:
            raise KeyError(f"unknown scheduler type {name!r}"
                           + did_you_mean(name, self.types))
        return entry.cls

    @property
    def failures(self) -> list[LoadFailure]:
        with self._lock:
            self.scan()
            return self._fixed_failures + [f for source in self._sources.values()
                                           for f in source.failures]

    def folders(self) -> list[Path]:
        return self._folders if self._folders is not None else types_folders()

    # -- loading ----------------------------------------------------------------------
    def _load_builtins(self) -> None:
        from . import schedulers
        self._register_from(schedulers.registerTypes, "built-in", None, self._fixed_failures)

    def scan(self) -> None:
        """Load the entry points and the types folders, the first time only (``reload()``
        loads the folders' changes)."""
        with self._lock:
            if self._scanned:
                return
            self._scanned = True
            self._load_entry_points()
            self._reload_folders()

    def _load_entry_points(self) -> None:
        if not self._use_entry_points:
            return
        from importlib.metadata import entry_points  # slow to import: only when scanned

        for point in entry_points(group=ENTRY_POINT_GROUP):
            origin = f"entry point {point.name} ({point.value})"
            try:
                target = point.load()
            except Exception as exc:
                self._fixed_failures.append(LoadFailure(origin, None, "import error",
                                                        _one_line(exc)))
                continue
            register = getattr(target, "registerTypes", target)
            self._register_from(register, origin, None, self._fixed_failures)

    def reload(self) -> bool:
        """Import the type files that are new or changed, forget those that are gone.
        True when anything changed (the first scan, when it is this call's, is not a
        change: it loads the files as they are)."""
        with self._lock:
            if not self._scanned:
                self.scan()
                return False
            return self._reload_folders()

    def _reload_folders(self) -> bool:
        with self._lock:
            found = {path: _stamp(path) for path in self._scan()}
            changed = False
            for path in list(self._sources):
                if path not in found:
                    self._forget(path)
                    changed = True
            for path, stamp in found.items():
                source = self._sources.get(path)
                if source is None or source.stamp != stamp:
                    if source is not None:
                        self._forget(path)
                    self._load_file(path, stamp)
                    changed = True
            return changed

    def _scan(self) -> list[Path]:
        files = [path for path in self.extra_files if path.is_file()]
        for folder in self.folders():
            if not folder.is_dir():
                continue
            for entry in sorted(folder.iterdir()):
                if entry.name.startswith((".", "_")):
                    continue
                if entry.suffix == ".py" and entry.is_file():
                    files.append(entry.resolve())
                elif (entry / "__init__.py").is_file():
                    files.append((entry / "__init__.py").resolve())
        return files

    def _forget(self, path: Path) -> None:
        source = self._sources.pop(path)
        for name in source.names:
            self._types.pop(name, None)

    def _load_file(self, path: Path, stamp: tuple) -> None:
        source = self._sources[path] = _Source(stamp, [], [])
        shown = str(path.parent if path.name == "__init__.py" else path)
        if stamp[2]:  # never imported: a "chmod o-w" or a move changes the stamp, and the
            #           next reload() tries again
            source.failures.append(LoadFailure(shown, None, "writable by others", stamp[2]))
            return
        missed = MissedImports()
        try:
            with missed:
                module = import_file(path)
        except SyntaxError as exc:
            source.failures.append(LoadFailure(exc.filename or shown, exc.lineno,
                                               "syntax error", exc.msg))
            return
        except BaseException as exc:  # any failure of someone else's file
            if isinstance(exc, KeyboardInterrupt):
                raise
            source.failures.append(LoadFailure(*_where(exc, path, shown),
                                               *missed.explain(exc, "import error")))
            return
        register = getattr(module, "registerTypes", None)
        if not callable(register):
            source.failures.append(LoadFailure(
                shown, None, "registerTypes missing",
                "the file defines no registerTypes(type_registry) function, so it registers "
                "nothing"))
            return
        source.names = self._register_from(register, shown, path, source.failures, missed)

    def _register_from(self, register, origin: str, path: Path | None,
                       failures: list[LoadFailure],
                       missed: MissedImports | None = None) -> list[str]:
        registry = TypeRegistry()
        try:
            register(registry)
        except Exception as exc:
            explained = (missed or MissedImports()).explain(exc, "registerTypes raised")
            failures.append(LoadFailure(*_where(exc, path, origin), *explained))
        failures.extend(LoadFailure(origin, line, "not a scheduler class", why)
                        for line, why in registry.refused)
        names = []
        for cls, name, label in registry.schedulers:
            other = self._types.get(name)
            if other is not None:
                failures.append(LoadFailure(origin, _class_line(cls), "registered twice",
                                            f"scheduler type {name!r} is registered already "
                                            f"by {other.origin}; this one is ignored"))
                continue
            self._types[name] = SchedulerType(name, cls, label, origin)
            names.append(name)
        return names


def import_file(path: str | Path):
    """Import a Python file (or a package's ``__init__.py``) under a module name of its own,
    new at each import, so a changed file is imported afresh."""
    path = Path(path).resolve()
    compat.install()
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    stem = path.parent.name if path.name == "__init__.py" else path.stem
    name = f"schedcore_types.{stem}_{digest}_{next(_counter)}"
    package = [str(path.parent)] if path.name == "__init__.py" else None
    spec = importlib.util.spec_from_file_location(name, path,
                                                  submodule_search_locations=package)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path} cannot be imported as a Python file", path=str(path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _stamp(path: Path) -> tuple:
    info = path.stat()
    return info.st_mtime_ns, info.st_size, writable_by_others(path)


def writable_by_others(path: str | Path) -> str:
    """"", or why a user other than this one (and root) could change the code of the type
    file ``path`` before it is imported, and what to do: the file (for a package, any file
    or folder in it) or a folder above it is another user's (an owner may rewrite a file or
    rename what is in a folder), writable by every user, or a folder writable by every user
    without the sticky bit (any user may rename its entries: /tmp's sticky bit keeps them to
    their owners). Members of a file's group are trusted, as on a farm."""
    path = Path(os.path.abspath(path))
    me = os.geteuid()
    within: list[Path] = [path]
    if path.name == "__init__.py":  # the package's modules run too
        within = [path.parent]
        for inside, dirs, files in os.walk(path.parent):
            within += [Path(inside, name) for name in (*dirs, *files)]
    for entry in within:
        try:
            info = os.stat(entry)
        except OSError:
            continue  # gone, or a broken link: the import says so
        why = _who_else(entry, info, me)
        if why:
            return why
    folder = path.parent.parent if path.name == "__init__.py" else path.parent
    while True:
        try:
            info = os.stat(folder)
        except OSError:
            break
        why = _who_else(folder, info, me)
        if why:
            return f"{why}; the type file {path} is in it"
        if folder.parent == folder:
            break
        folder = folder.parent
    return ""


def _who_else(path: Path, info: os.stat_result, me: int) -> str:
    """Why another user could change ``path`` (a file or folder of this ``info``), or ""."""
    mode, folder = stat.S_IMODE(info.st_mode), stat.S_ISDIR(info.st_mode)
    what = "the folder" if folder else "the file"
    if info.st_uid not in (me, 0):
        return (f"{what} {path} belongs to the user {user_name(info.st_uid)}, who could "
                f"change the code before it runs as you; it is not imported. Move the "
                f"scheduler to a folder of yours (or one root owns), or have root or you own "
                f"{path}")
    if mode & stat.S_IWOTH and not (folder and mode & stat.S_ISVTX):
        return (f"{what} {path} is writable by every user (mode {mode:o}"
                f"{', without the sticky bit' if folder else ''}): any of them could "
                f"{'replace the files in it' if folder else 'change the code'} before it runs "
                f"as you; it is not imported. Run 'chmod o-w {path}', or move the scheduler "
                f"to a folder only you can write")
    return ""


class MissedImports:
    """While a type file loads: the modules it tried to import that exist nowhere, last on
    ``sys.meta_path`` (asked only when no other finder knows a name). A file that caught such
    an ImportError fails later with a NameError; this names the cause."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(self, name, path=None, target=None):
        if name not in self.names:
            self.names.append(name)
        return None

    def __enter__(self) -> MissedImports:
        sys.meta_path.append(self)
        return self

    def __exit__(self, *exc) -> None:
        sys.meta_path.remove(self)

    def explain(self, exc: BaseException, kind: str) -> tuple[str, str]:
        """``_why`` of ``exc``, and when it is not itself an ImportError, the imports that
        failed before it (a Houdini module among them makes it "needs Houdini")."""
        found = _why(exc, kind)
        names = [n for n in self.names if n not in sys.modules]  # not found, then made
        if isinstance(exc, ImportError) or not names:
            return found
        causes = [compat.load_error(ModuleNotFoundError(name=name)) for name in names]
        houdini = next((c for c in causes if c is not None), None)
        earlier = (f"; before it, the file tried to import {', '.join(map(repr, names))}, "
                   f"which {'is' if len(names) == 1 else 'are'} not installed here, and "
                   f"went on: that is the likely cause")
        if houdini is not None:
            return houdini[0], f"{found[1]}{earlier} ({houdini[1]})"
        return found[0], found[1] + earlier


def _why(exc: BaseException, kind: str) -> tuple[str, str]:
    """(kind, message) of a failure: "needs Houdini" and what the file used, when it needs
    Houdini itself (``hou`` beyond the stand-in, Houdini's own schedulers or C++ modules)."""
    return compat.load_error(exc) or (kind, _one_line(exc))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _where(exc: BaseException, path: Path | None, shown: str) -> tuple[str, int | None]:
    """The file and line where ``exc`` was raised in the scheduler's own code: the deepest
    frame in ``path``, or, for a package, in any module of it (an error in an inner module
    is named there, not at the ``__init__.py`` that imported it)."""
    if path is None:
        return shown, None
    inside = (lambda f: f.parent == path.parent or path.parent in f.parents) \
        if path.name == "__init__.py" else (lambda f: f == path)
    where: tuple[str, int | None] = (shown, None)
    for frame in traceback.extract_tb(exc.__traceback__):
        file = Path(frame.filename)
        if inside(file):
            where = (str(file) if path.name == "__init__.py" else shown, frame.lineno)
    return where


def _class_line(cls) -> int | None:
    try:
        return inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        return None


_default: Registry | None = None
_default_lock = threading.Lock()


def default() -> Registry:
    """This process's registry: made on first use with the built-ins, scanned when first
    asked for more (see the module's docstring)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Registry(scan_now=False)
        return _default


def scheduler_types() -> dict[str, type[Scheduler]]:
    """Every scheduler type a network may name, by name."""
    return default().classes()


def scheduler_type(name: str) -> type[Scheduler] | None:
    """The scheduler type registered as ``name``, or None (a built-in's without the scan)."""
    entry = default().find(name)
    return entry.cls if entry is not None else None


class SchedulerTypes(Mapping[str, type]):
    """``scheduler_types()`` as a read-only mapping that scans only when it must: looking up
    a built-in's name does not; an unknown name, iterating or ``len`` do."""

    def __init__(self, registry: Registry | None = None):
        self._registry = registry

    def _reg(self) -> Registry:
        return self._registry if self._registry is not None else default()

    def __getitem__(self, name: str) -> type[Scheduler]:
        entry = self._reg().find(name) if isinstance(name, str) else None
        if entry is None:
            raise KeyError(name)
        return entry.cls

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._reg().find(name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._reg().classes())

    def __len__(self) -> int:
        return len(self._reg().types)


def unknown_type_message(name: str) -> str:
    """Why no scheduler type ``name`` exists: "did you mean", and the scheduler files that
    failed to load (one of them may be the one that would have made it)."""
    reg = default()
    text = f"unknown scheduler type {name!r}" + did_you_mean(name, reg.types)
    failures = reg.failures
    if failures:
        shown = "; ".join(str(f) for f in failures[:3])
        more = f" (and {len(failures) - 3} more)" if len(failures) > 3 else ""
        text += (f". {len(failures)} scheduler file{'s' if len(failures) > 1 else ''} failed "
                 f"to load, which may be the one that makes it: {shown}{more}; "
                 f"`schedcore types` lists them")
    return text


def register_file(path: str | Path) -> list[str]:
    """Load a scheduler file from outside the types path (it is reloaded with them); returns
    the type names it registered, or raises ImportError saying why it could not."""
    registry = default()
    path = Path(path).resolve()
    with registry._lock:
        if path not in registry.extra_files:
            registry.extra_files.append(path)
        registry.reload()
        source = registry._sources[path]
        if source.failures:
            raise ImportError("; ".join(map(str, source.failures)))
        return list(source.names)
