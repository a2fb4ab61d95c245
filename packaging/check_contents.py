"""What the wheel and the sdist must hold, and must not: ``check_contents.py WHEEL SDIST``.

Exit status 1, listing what is wrong, when a file is missing or one that should never ship
(a cook's outputs, journals, logs, caches, a top-level ``app``) is there.
"""

from __future__ import annotations

import sys
import tarfile
import zipfile
from fnmatch import fnmatch

WHEEL_NEEDS = [
    "schedcore/__init__.py", "schedcore/__main__.py", "schedcore/py.typed",
    "schedcore/jobs/pdgjob.py", "schedcore/jobs/pdgjob_python.py",
    "schedcore/jobs/farmjob.py",
    "schedcore/examples/wedge_summary.top.json", "schedcore/examples/scripts/render_shape.py",
    "schedstudio/__init__.py", "schedstudio/main.py", "schedstudio/icons/schedstudio.svg",
    "schedstudio-*.dist-info/licenses/LICENSE", "schedstudio-*.dist-info/entry_points.txt",
]
SDIST_NEEDS = [
    "LICENSE", "README.md", "RELIABILITY.md", "pyproject.toml", "MANIFEST.in", "Makefile",
    "tests/conftest.py", "tests/app/test_studio.py", "tests/data/*",
    "resources/schedstudio.desktop", "resources/schedstudio.png", "resources/screenshots/*",
    "schedcore/py.typed", "schedcore/examples/wedge_summary.top.json",
    "packaging/schedstudio.spec",
]
NEVER = ["*/pdgtemp/*", "*.sqlite", "*.sqlite-*", "*/output/*", "*.pyc", "*.log",
         "*/__pycache__/*"]
WHEEL_NEVER = [*NEVER, "app/*"]  # the studio installs as schedstudio; app/ is its source folder


def problems(names: list[str], needs: list[str], never: list[str], what: str) -> list[str]:
    found = [f"{what} lacks {pattern}" for pattern in needs
             if not any(fnmatch(name, pattern) for name in names)]
    found += [f"{what} should not hold {name}" for name in names
              if any(fnmatch(name, pattern) for pattern in never)]
    return found


def main(wheel: str, sdist: str) -> int:
    with zipfile.ZipFile(wheel) as archive:
        wheel_names = archive.namelist()
    with tarfile.open(sdist) as archive:  # without the top folder, name-version/
        sdist_names = [n.split("/", 1)[1] for n in archive.getnames() if "/" in n]
    found = problems(wheel_names, WHEEL_NEEDS, WHEEL_NEVER, "the wheel")
    found += problems(sdist_names, SDIST_NEEDS, NEVER, "the sdist")
    for problem in found:
        print(f"FAIL {problem}")
    if not found:
        print(f"ok   the wheel ({len(wheel_names)} files) and the sdist ({len(sdist_names)} "
              f"files) hold what they should, and nothing of a cook")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
