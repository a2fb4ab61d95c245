"""The bundle's third-party notices: every distribution the studio's install pulls in (the
extras ``studio`` and ``farm``, followed through their requirements), with its version, its
license and its license files, and Python's own; then every shared library the bundle
carries, by file name, under what it came from: Python, a distribution, or a package of the
build machine's system (its Debian package, version and license, the package's copyright
file copied into ``licenses/system/``).

``notices.py OUTDIR MANIFEST`` writes ``OUTDIR/THIRD-PARTY-NOTICES.txt`` and
``OUTDIR/licenses/``; MANIFEST is the JSON list of ``[name in the bundle, source path]`` of
the bundled binaries that packaging/schedstudio.spec writes. Run it with the Python that
PyInstaller bundles from.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from collections import defaultdict
from importlib.metadata import PackageNotFoundError, distribution
from importlib.metadata import distributions as all_distributions
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


# libraries that distributions carry inside them under licenses of their own
VENDORED = [
    (re.compile(r"^libicu"), "ICU, Unicode-3.0 (inside Qt)"),
    (re.compile(r"^libzmq"), "ZeroMQ, MPL-2.0 (licenses/pyzmq/LICENSE.zeromq.txt)"),
    (re.compile(r"^libsodium"), "libsodium, ISC (licenses/pyzmq/LICENSE.libsodium.txt)"),
]


def _is_python_own(source: Path) -> bool:
    base = Path(sys.base_prefix).resolve()
    return source.resolve().is_relative_to(base) and "site-packages" not in source.parts


def _distribution_files() -> dict[Path, object]:
    """Every shared library installed by a distribution, by its real path."""
    found = {}
    for dist in all_distributions():
        for file in dist.files or []:
            if ".so" in file.name:
                found[Path(dist.locate_file(file)).resolve()] = dist
    return found


def _debian_package(source: Path) -> str | None:
    """The Debian package that installed a file (merged /usr: /lib is /usr/lib)."""
    candidates = {str(source), os.path.realpath(source)}
    for path in list(candidates):
        if path.startswith("/usr/lib/"):
            candidates.add(path[len("/usr"):])
        elif path.startswith("/lib/"):
            candidates.add("/usr" + path)
    for path in sorted(candidates):
        try:
            done = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
        except OSError:
            return None  # not a Debian system
        if done.returncode == 0:
            return done.stdout.split(":", 1)[0].strip()
    return None


def _debian_version(package: str) -> str:
    done = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package],
                          capture_output=True, text=True)
    return done.stdout.strip() or "?"


def _debian_license(copyright_text: str, libraries: list[str]) -> str:
    """The license a Debian copyright file gives the libraries: that of the DEP-5 paragraph
    whose ``Files:`` names the library's own sources (``libuuid/*``, ``keyutils.*``), else of
    its ``Files: *`` paragraph (the others cover tools, build scripts, tests), or, for an
    older free-form file, the license its text is recognisably under."""
    stems = {re.sub(r"^lib|\.so.*$", "", os.path.basename(name)) for name in libraries}
    own = [re.compile(rf"(^|[\s/])(lib)?{re.escape(stem)}(/\*|\.\*)(\s|$)") for stem in stems
           if len(stem) >= 3]
    general = None
    for paragraph in re.split(r"\n\s*\n", copyright_text):
        files = re.search(r"^Files:(.*(?:\n[ \t]+.*)*)", paragraph, re.MULTILINE)
        license_ = re.search(r"^License:[ \t]*(\S.*)$", paragraph, re.MULTILINE)
        if not (files and license_):
            continue
        if any(pattern.search(files.group(1)) for pattern in own):
            return license_.group(1).strip()
        if files.group(1).strip() == "*":
            general = license_.group(1).strip()
    if general:
        return general
    for pattern, name in [(r"OpenSSL License", "OpenSSL and SSLeay (BSD-style)"),
                          (r"GNU Lesser General Public|LGPL", "LGPL"),
                          (r"Permission is hereby granted, free of charge", "MIT/X11"),
                          (r"Permission to use, copy, modify, distribute, and sell", "MIT/X11"),
                          (r"Redistribution and use in source and binary forms", "BSD"),
                          (r"GNU General Public License", "GPL"),
                          (r"public domain", "public domain")]:
        if re.search(pattern, copyright_text, re.IGNORECASE):
            return f"{name}, as its copyright file reads"
    return "see its copyright file"


def _library_lines(manifest: Path, licenses: Path) -> list[str]:
    """The notices of every bundled shared library, grouped by where it came from."""
    entries = [(dest, Path(src)) for dest, src in json.loads(manifest.read_text())
               if ".so" in os.path.basename(dest)]
    by_file = _distribution_files()
    python, by_dist, by_package, unknown = [], defaultdict(list), defaultdict(list), []
    for dest, source in sorted(entries):
        dist = by_file.get(source.resolve())
        if dist is not None:
            by_dist[dist.metadata["Name"]].append(dest)
        elif _is_python_own(source):
            python.append(dest)
        elif package := _debian_package(source):
            by_package[package].append(dest)
        else:
            unknown.append(dest)
    lines = ["", "Shared libraries in this bundle, by where they came from", "=" * 56, "",
             f"Python {sys.version.split()[0]}, PSF-2.0 (licenses/Python/):"]
    lines += [f"  {dest}" for dest in python]
    for name, dests in sorted(by_dist.items(), key=lambda item: item[0].lower()):
        lines += ["", f"{name} (its license above):"]
        for dest in dests:
            note = next((n for p, n in VENDORED if p.search(os.path.basename(dest))), "")
            lines.append(f"  {dest}" + (f": {note}" if note else ""))
    if by_package:
        lines += ["", "From the build system's Debian packages: package version: license (of "
                      "the library's own files, else of the whole source package, as its "
                      "copyright file says; that file, in licenses/system/PACKAGE/, is the "
                      "full statement):"]
    for package, dests in sorted(by_package.items()):
        copyright_file = Path("/usr/share/doc") / package / "copyright"
        if copyright_file.is_file():
            text = copyright_file.read_text(encoding="utf-8", errors="replace")
            shutil.copy(copyright_file, _mkdir(licenses / "system" / package) / "copyright")
            license_ = _debian_license(text, dests)
        else:
            license_ = "license not found on the build system"
        lines.append(f"  {package} {_debian_version(package)}: {license_}")
        lines += [f"    {dest}" for dest in dests]
    if unknown:
        lines += ["", "Of unknown origin on the build system (no package owns them):"]
        lines += [f"  {dest}" for dest in unknown]
        print(f"warning: the origin of {', '.join(unknown)} is unknown", file=sys.stderr)
    return lines


def write(outdir: Path, manifest: Path) -> int:
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
    lines += _library_lines(manifest, licenses)
    (outdir / "THIRD-PARTY-NOTICES.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(dists)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


if __name__ == "__main__":
    count = write(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"notices of {count} distributions and Python written to {sys.argv[1]}")
