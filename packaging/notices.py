"""The bundle's third-party notices: every distribution the studio's install pulls in (the
extras ``studio`` and ``farm``, followed through their requirements), with its version, its
license and its license files, and Python's own.

``notices.py OUTDIR`` writes ``OUTDIR/THIRD-PARTY-NOTICES.txt`` and ``OUTDIR/licenses/``.
Run it with the Python that PyInstaller bundles from.
"""

from __future__ import annotations

import re
import shutil
import sys
import sysconfig
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement

ROOT_EXTRAS = ("studio", "farm")
LICENSE_FILE = re.compile(r"(^|/)(LICEN[CS]E|COPYING|NOTICE|AUTHORS)[^/]*$", re.IGNORECASE)
QT_NOTE = """\
Qt and PySide6 (Qt for Python) are used under the GNU Lesser General Public License v3
(LGPL-3.0). They are shipped unmodified, as the shared libraries in _internal/PySide6/ and
_internal/shiboken6/, which you may replace with other builds of the same version. Their
sources are published by The Qt Company at https://download.qt.io/official_releases/ and
https://code.qt.io/. The license texts are in licenses/PySide6_Essentials/.
"""


def _license_of(dist) -> str:
    meta = dist.metadata
    expression = meta.get("License-Expression")
    if expression:
        return expression
    classifiers = [c.split(" :: ")[-1] for c in meta.get_all("Classifier") or []
                   if c.startswith("License ::")]
    short = (meta.get("License") or "").strip().splitlines()
    return "; ".join(classifiers) or (short[0] if short else "see its license files")


def _requirements(dist, extras: tuple[str, ...]) -> list[str]:
    names = []
    for text in dist.requires or []:
        requirement = Requirement(text)
        marker = requirement.marker
        if marker is None or any(marker.evaluate({"extra": e}) for e in ("", *extras)):
            names.append(requirement.name)
    return names


def distributions() -> dict[str, object]:
    """Every distribution the studio's install needs, by name (schedstudio itself first)."""
    found: dict[str, object] = {}
    todo = [("schedstudio", ROOT_EXTRAS)]
    while todo:
        name, extras = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in found:
            continue
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue  # a requirement of another platform
        found[key] = dist
        todo += [(n, ()) for n in _requirements(dist, extras)]
    return found


# Qt's wheels hold no license text: the LGPL (and the GPL it extends), from Debian's base-files
QT_DISTS = {"pyside6-essentials", "shiboken6"}
COMMON_LICENSES = [Path("/usr/share/common-licenses/LGPL-3"),
                   Path("/usr/share/common-licenses/GPL-3")]


def _copy_license_files(dist, target: Path) -> list[str]:
    copied = []
    if re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower() in QT_DISTS:
        for source in COMMON_LICENSES:
            if source.is_file():
                shutil.copy(source, _mkdir(target) / f"{source.name}.txt")
                copied.append(f"{source.name}.txt")
        if not copied:
            raise SystemExit(f"no LGPL-3 text in {COMMON_LICENSES[0].parent}: the bundle "
                             f"must carry it for {dist.metadata['Name']}")
    for file in dist.files or []:
        if LICENSE_FILE.search(str(file)) and not str(file).endswith(".py"):
            source = Path(dist.locate_file(file))
            if source.is_file():
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy(source, target / source.name)
                copied.append(source.name)
    return copied


def write(outdir: Path) -> int:
    licenses = outdir / "licenses"
    lines = ["Third-party software in this bundle", "=" * 35, "", QT_NOTE]
    python_license = Path(sysconfig.get_path("stdlib")) / "LICENSE.txt"
    if python_license.is_file():
        shutil.copy(python_license, _mkdir(licenses / "Python") / "LICENSE.txt")
    lines.append(f"Python {sys.version.split()[0]}: PSF-2.0 (licenses/Python/)")
    dists = distributions()
    for _key, dist in sorted(dists.items()):
        name = dist.metadata["Name"]
        files = _copy_license_files(dist, licenses / name)
        where = f" (licenses/{name}/: {', '.join(files)})" if files else ""
        lines.append(f"{name} {dist.version}: {_license_of(dist)}{where}")
    (outdir / "THIRD-PARTY-NOTICES.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(dists)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


if __name__ == "__main__":
    count = write(Path(sys.argv[1]))
    print(f"notices of {count} distributions and Python written to {sys.argv[1]}")
