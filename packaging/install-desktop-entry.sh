#!/usr/bin/env sh
# Adds the unpacked studio to this user's desktop menu: a .desktop entry that runs this
# folder's schedstudio, and its icon. Run it again after moving the folder.
#
# The folder's name may hold any character: the Exec line quotes it as the Desktop Entry
# Specification says. Inside the double quotes of an argument, " ` $ and \ take a backslash;
# a literal % is %%; then the value is escaped as every string of the file is (\ doubled,
# newline, tab and carriage return as \n \t \r).
set -eu
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd -P)
data=${XDG_DATA_HOME:-$HOME/.local/share}
mkdir -p "$data/applications" "$data/icons/hicolor/256x256/apps"
cp "$here/schedstudio.png" "$data/icons/hicolor/256x256/apps/schedstudio.png"
# awk reads the folder from the environment (no escape is undone there) and builds the line
# by concatenation (no & or \ of a replacement string is interpreted)
SCHEDSTUDIO_EXEC="$here/schedstudio" awk '
function desktop_quoted(s,    out, i, c) {
    out = "\""
    for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (c == "\\") out = out "\\\\\\\\"
        else if (c == "\"" || c == "`" || c == "$") out = out "\\\\" c
        else if (c == "%") out = out "%%"
        else if (c == "\n") out = out "\\n"
        else if (c == "\t") out = out "\\t"
        else if (c == "\r") out = out "\\r"
        else out = out c
    }
    return out "\""
}
/^Exec=schedstudio( |$)/ {
    print "Exec=" desktop_quoted(ENVIRON["SCHEDSTUDIO_EXEC"]) substr($0, 17)
    next
}
{ print }
' "$here/schedstudio.desktop" > "$data/applications/schedstudio.desktop"
command -v update-desktop-database >/dev/null 2>&1 \
    && update-desktop-database "$data/applications" >/dev/null 2>&1 || true
echo "schedstudio is in the desktop menu: $data/applications/schedstudio.desktop"
