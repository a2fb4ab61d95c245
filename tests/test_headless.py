"""The engine runs headless: schedcore never imports Qt, and its modules import in layers."""

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import schedcore

PACKAGE = Path(schedcore.__file__).parent
QT = ('PySide6', 'shiboken6', 'PyQt5', 'PyQt6', 'qtpy', 'qtconsole')


def all_modules() -> list[str]:
    """Every module of schedcore but the job-side files (copied for jobs, never imported)
    and ``__main__`` (it runs the command)."""
    found = [m.name for m in pkgutil.walk_packages([str(PACKAGE)], "schedcore.")]
    return sorted(m for m in found if not m.startswith(("schedcore.jobs.", "schedcore.examples."))
                  and m != "schedcore.__main__")


def test_schedcore_never_imports_qt():
    code = (f"import sys\nfor name in {all_modules()!r}:\n    __import__(name)\n"
            f"qt = sorted(m for m in sys.modules if m.split('.')[0] in {QT!r})\n"
            "print(qt)\nsys.exit(1 if qt else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, f"schedcore imported Qt: {done.stdout}{done.stderr}"


def _imports(module: str, path: Path) -> set[str]:
    """Modules of schedcore that ``module`` imports, at the top or inside a function (a
    package it lives in does not count: Python has imported it already)."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            name = ".".join(base + ([node.module] if node.module else []))
            found |= {name, *(f"{name}.{alias.name}" for alias in node.names)}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return {m for m in found if m.startswith("schedcore") and not module.startswith(m + ".")
            and m != module}


def _reaches(graph: dict, start: str) -> set[str]:
    seen, stack = set(), [start]
    while stack:
        for target in graph.get(stack.pop(), ()):
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


def import_graph() -> dict[str, set[str]]:
    paths = {}
    for name in all_modules():
        relative = name.split(".")[1:]
        folder = PACKAGE.joinpath(*relative)
        paths[name] = folder / "__init__.py" if folder.is_dir() else folder.with_suffix(".py")
    paths["schedcore"] = PACKAGE / "__init__.py"
    return {name: _imports(name, path) & set(paths) for name, path in paths.items()}


def test_the_document_and_the_scheduler_base_do_not_import_the_plugin_system():
    graph = import_graph()
    # a network document is checked against the types the package hands it
    assert "schedcore.registry" not in _reaches(graph, "schedcore.network")
    # a scheduler writes status files through a leaf, not through the submit command
    assert "schedcore.submit" not in _reaches(graph, "schedcore.schedulers.base")
    assert "schedcore.registry" not in _reaches(graph, "schedcore.schedulers.base")


def test_no_import_circle_but_the_houdini_services_mixin():
    graph = import_graph()
    circles = {frozenset(name for name in _reaches(graph, start) if start in
                         _reaches(graph, name)) | {start}
               for start in graph if start in _reaches(graph, start)}
    # the base class mixes the services in, and one service calls the base class's own
    # method by name: the two are one class split in two files
    assert circles <= {frozenset({"schedcore.schedulers.base", "schedcore.compat.services"})}
