#!/usr/bin/env bash
# The packaged studio: `build_bundle.sh VENV_BIN` builds dist/schedstudio/ with PyInstaller
# (packaging/schedstudio.spec), adds the licenses, the notices of every bundled library, the
# desktop entry, the icon and the install instructions, and archives it as
# dist/schedstudio-<system>.tar.gz.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.venv/bin}
out=dist/schedstudio
"$bin/pyinstaller" --noconfirm --clean --log-level WARN --distpath dist \
    --workpath build/pyinstaller packaging/schedstudio.spec
"$bin/python" packaging/notices.py "$out"
cp LICENSE "$out/LICENSE"
cp resources/schedstudio.desktop resources/schedstudio.png "$out/"
cp packaging/INSTALL.txt packaging/install-desktop-entry.sh "$out/"
chmod +x "$out/install-desktop-entry.sh"
tar -czf "dist/schedstudio-$(uname -s | tr '[:upper:]' '[:lower:]').tar.gz" -C dist schedstudio
