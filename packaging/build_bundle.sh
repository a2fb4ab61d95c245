#!/usr/bin/env bash
# The packaged studio: `build_bundle.sh VENV_BIN` builds dist/schedstudio/ with PyInstaller
# (packaging/schedstudio.spec), adds the licenses, the notices of every bundled library, the
# desktop entry, the icon and the install instructions, and archives it as
# dist/schedstudio-<system>.tar.gz. GLIBC_FLOOR (default 2.35): the oldest glibc it is
# built for, which its INSTALL.txt states and packaging/check_binaries.py holds it to.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.venv/bin}
out=dist/schedstudio
"$bin/pyinstaller" --noconfirm --clean --log-level WARN --distpath dist \
    --workpath build/pyinstaller packaging/schedstudio.spec
"$bin/python" packaging/notices.py "$out" build/pyinstaller/binaries.json
cp LICENSE "$out/LICENSE"
cp resources/schedstudio.desktop resources/schedstudio.png "$out/"
sed "1s/glibc [0-9.]* or newer/glibc ${GLIBC_FLOOR:-2.35} or newer/" packaging/INSTALL.txt \
    > "$out/INSTALL.txt"
cp packaging/install-desktop-entry.sh "$out/"
chmod +x "$out/install-desktop-entry.sh"
tar -czf "dist/schedstudio-$(uname -s | tr '[:upper:]' '[:lower:]').tar.gz" -C dist schedstudio
