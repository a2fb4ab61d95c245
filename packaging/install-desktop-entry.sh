#!/usr/bin/env sh
# Adds the unpacked studio to this user's desktop menu: a .desktop entry that runs this
# folder's schedstudio, and its icon. Run it again after moving the folder.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
mkdir -p "$data/applications" "$data/icons/hicolor/256x256/apps"
cp "$here/schedstudio.png" "$data/icons/hicolor/256x256/apps/schedstudio.png"
sed "s|^Exec=schedstudio|Exec=\"$here/schedstudio\"|" "$here/schedstudio.desktop" \
    > "$data/applications/schedstudio.desktop"
command -v update-desktop-database >/dev/null 2>&1 \
    && update-desktop-database "$data/applications" >/dev/null 2>&1 || true
echo "schedstudio is in the desktop menu: $data/applications/schedstudio.desktop"
