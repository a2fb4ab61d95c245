"""What the bundle's binaries ask of the system, and what its files say of the build machine:
``check_binaries.py BUNDLE_DIR [BUILD_PATH ...]``; ``GLIBC_FLOOR`` in the environment (2.35
unless told) is the oldest glibc the bundle promises to run on.

Every ELF file in the bundle (found by its magic bytes, whatever its name) is read with
binutils' ``objdump -T`` and ``readelf -d``:

* glibc: the highest ``GLIBC_x.y`` symbol version it references must not be above the
  floor, and the bundle's INSTALL.txt must say that floor;
* libstdc++: libstdc++ and libgcc_s are the system's (the spec leaves them out), so the
  highest ``GLIBCXX_3.4.n`` must be one that the systems of that floor have;
* every library a binary needs is in the bundle or is one of the system's (``SYSTEM``);
* every shared library is named in THIRD-PARTY-NOTICES.txt;
* no file holds a BUILD_PATH (the checkout it was built from): a user's bundle says nothing of
  the machine it was built on.

Exit status 1, naming each offender, when any check fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

# glibc floor -> the libstdc++ (GLIBCXX) of the oldest systems with that glibc:
#   2.28 RHEL 8 (GCC 8); 2.31 Debian 11 (GCC 10), Ubuntu 20.04 (GCC 10);
#   2.34 RHEL 9 (GCC 11); 2.35 Ubuntu 22.04 (GCC 12), Debian 12 (2.36, GCC 12)
GLIBCXX_OF_FLOOR = {(2, 28): (3, 4, 25), (2, 31): (3, 4, 28), (2, 34): (3, 4, 29),
                    (2, 35): (3, 4, 29), (2, 36): (3, 4, 30)}
DEFAULT_FLOOR = "2.35"  # `make package` on Debian 12: its own Python needs 2.35
# what a bundled binary may need without the bundle carrying it: glibc's own libraries, the
# C++ runtime (see schedstudio.spec), and what the desktop provides: OpenGL/EGL, libdrm,
# libxcb and Wayland's client libraries go with the graphics driver and the display server
# (PyInstaller never bundles them); libexpat is fontconfig's; xcb-icccm and xcb-keysyms are
# bundled when the build machine has them, else INSTALL.txt asks for them
SYSTEM = re.compile(r"^(ld-linux-x86-64\.so\.2|lib(c|m|dl|rt|pthread|util|resolv|nsl|anl|crypt)"
                    r"\.so\.\d+|libstdc\+\+\.so\.6|libgcc_s\.so\.1|libexpat\.so\.1"
                    r"|lib(GL|EGL|OpenGL|GLX|GLESv2|drm|gbm|vulkan)\.so\.\d+"
                    r"|libxcb\.so\.1|libxcb-(dri\d|icccm|keysyms)\.so\.\d+"
                    r"|libwayland-(client|cursor|egl)\.so\.\d+)$")
ELF_MAGIC = b"\x7fELF"


def elf_files(bundle: Path) -> list[Path]:
    found = []
    for path in sorted(bundle.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as file:
                if file.read(4) == ELF_MAGIC:
                    found.append(path)
    return found


def _versions(text: str, prefix: str) -> list[tuple[int, ...]]:
    return [tuple(int(p) for p in v.split(".")) for v in
            re.findall(rf"\b{prefix}_([0-9]+(?:\.[0-9]+)+)\b", text)]


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


def symbol_versions(path: Path) -> tuple[tuple[int, ...] | None, tuple[int, ...] | None]:
    """The highest GLIBC and GLIBCXX versions the file's dynamic symbols reference."""
    out = subprocess.run(["objdump", "-T", str(path)], capture_output=True, text=True).stdout
    glibc, glibcxx = _versions(out, "GLIBC"), _versions(out, "GLIBCXX")
    return max(glibc, default=None), max(glibcxx, default=None)


def needed(path: Path) -> list[str]:
    out = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[(.+)\]", out)


def check_glibc(bundle: Path, elves: list[Path], floor: tuple[int, ...]) -> list[str]:
    cxx_floor = GLIBCXX_OF_FLOOR[floor]
    problems, highest, highest_cxx = [], (0, 0), (0, 0, 0)
    for path in elves:
        glibc, glibcxx = symbol_versions(path)
        where = path.relative_to(bundle)
        if glibc and glibc > floor:
            problems.append(f"{where} needs GLIBC_{_dotted(glibc)}, above the floor "
                            f"{_dotted(floor)}")
        if glibcxx and glibcxx > cxx_floor:
            problems.append(f"{where} needs GLIBCXX_{_dotted(glibcxx)}, above the system "
                            f"libstdc++ of the floor, GLIBCXX_{_dotted(cxx_floor)}")
        highest, highest_cxx = max(highest, glibc or highest), max(highest_cxx, glibcxx or
                                                                   highest_cxx)
    print(f"glibc: {len(elves)} ELF files need at most GLIBC_{_dotted(highest)} and "
          f"GLIBCXX_{_dotted(highest_cxx)} (floor: glibc {_dotted(floor)}, "
          f"GLIBCXX_{_dotted(cxx_floor)})")
    install = bundle / "INSTALL.txt"
    if install.is_file() and f"glibc {_dotted(floor)} or newer" not in \
            install.read_text(encoding="utf-8"):
        problems.append(f"INSTALL.txt does not say 'glibc {_dotted(floor)} or newer'")
    return problems


def check_dependencies(bundle: Path, elves: list[Path]) -> list[str]:
    names = {p.name for p in bundle.rglob("*.so*")}
    problems = []
    for path in elves:
        missing = [n for n in needed(path) if n not in names and not SYSTEM.match(n)]
        if missing:
            problems.append(f"{path.relative_to(bundle)} needs {', '.join(missing)}, which is "
                            f"neither in the bundle nor the system's")
    return problems


def shared_libraries(elves: list[Path]) -> list[Path]:
    return [p for p in elves if ".so" in p.name]


def check_notices(bundle: Path, elves: list[Path]) -> list[str]:
    notices = (bundle / "THIRD-PARTY-NOTICES.txt").read_text(encoding="utf-8")
    named = set(re.findall(r"[\w.+-]+\.so(?:\.[\w.]+)?", notices))
    libraries = shared_libraries(elves)
    problems = [f"{p.relative_to(bundle)} is not named in THIRD-PARTY-NOTICES.txt"
                for p in libraries if p.name not in named]
    print(f"notices: {len(libraries)} shared libraries in the bundle, "
          f"{len(libraries) - len(problems)} named in THIRD-PARTY-NOTICES.txt")
    return problems


def check_build_paths(bundle: Path, build_paths: list[str]) -> list[str]:
    """Files that hold a build path, as bytes: text (dist-info RECORD, direct_url.json) and
    binaries alike."""
    needles = [os.fsencode(p.rstrip("/") + "/") for p in build_paths if p.strip("/")]
    problems = []
    for path in sorted(bundle.rglob("*")):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            for needle in needles:
                if needle in data:
                    problems.append(f"{path.relative_to(bundle)} holds the build path "
                                    f"{os.fsdecode(needle)}")
    return problems


def main(bundle_dir: str, *build_paths: str) -> int:
    floor = tuple(int(p) for p in os.environ.get("GLIBC_FLOOR", DEFAULT_FLOOR).split("."))
    if floor not in GLIBCXX_OF_FLOOR:
        print(f"FAIL glibc floor {_dotted(floor)}: which libstdc++ its systems have is not "
              f"known here (GLIBCXX_OF_FLOOR)")
        return 1
    bundle = Path(bundle_dir)
    elves = elf_files(bundle)
    if not elves:
        print(f"FAIL no ELF file in {bundle}")
        return 1
    problems = (check_glibc(bundle, elves, floor) + check_dependencies(bundle, elves)
                + check_notices(bundle, elves) + check_build_paths(bundle, list(build_paths)))
    for problem in problems:
        print(f"FAIL {problem}")
    if not problems:
        print(f"ok   {len(elves)} ELF files: glibc floor kept, every dependency bundled or "
              f"the system's, every library in the notices, no build path in any file")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
