#!/usr/bin/env bash
# After `make dist`: what a user gets from the wheel and the sdist, checked outside the tree.
#  1. the wheel and the sdist hold what they should (packaging/check_contents.py);
#  2. the wheel alone (the engine, no extras) in a clean venv: no Qt there, yet an example
#     cooks and both commands answer --version; schedstudio says what to install;
#  3. the wheel with [all] in another venv: the studio's --self-test, offscreen.
# Prints each venv's size. PYTHON: the interpreter to make the venvs with (default python3).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
python=${PYTHON:-python3}
wheel=$root/$(ls dist/schedstudio-*-py3-none-any.whl)
sdist=$(ls dist/schedstudio-[0-9]*.tar.gz)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$python" packaging/check_contents.py "$wheel" "$sdist"

step() { printf '\n== %s\n' "$*"; }
size() { du -sm "$1" | cut -f1; }

step "engine only: pip install $(basename "$wheel")"
"$python" -m venv "$work/engine"
"$work/engine/bin/python" -m pip install --quiet --upgrade pip
"$work/engine/bin/python" -m pip install --quiet "$wheel"
cd "$work"  # nothing of the source tree on sys.path from here on
if "$work/engine/bin/python" -c "import PySide6" 2>/dev/null; then
    echo "FAIL: PySide6 is importable in the engine-only install"; exit 1
fi
echo "ok   no Qt: 'import PySide6' fails in the engine-only venv"
"$work/engine/bin/schedcore" --version
"$work/engine/bin/python" -m schedcore --version
"$work/engine/bin/schedcore" examples "$work/ex"
"$work/engine/bin/schedcore" cook "$work/ex/wedge_summary.top.json" > "$work/cook.txt"
grep -q "every item cooked" "$work/cook.txt"
test -s "$work/ex/output/index.html"
echo "ok   the example cooked with the engine alone: $(ls "$work/ex/output" | wc -l) files"
set +e
"$work/engine/bin/schedstudio" > "$work/studio.txt" 2>&1
status=$?
set -e
if [ "$status" -eq 0 ] || ! grep -q "schedstudio\[studio\]" "$work/studio.txt" \
        || grep -q Traceback "$work/studio.txt"; then
    echo "FAIL: schedstudio without the studio extra (exit $status):"; cat "$work/studio.txt"
    exit 1
fi
echo "ok   schedstudio without [studio] says: $(head -1 "$work/studio.txt")"
engine_mb=$(size "$work/engine")
"$work/engine/bin/python" -m pip install --quiet "$wheel[farm]"
"$work/engine/bin/python" -c "import distributed, schedcore.schedulers.dask"
if "$work/engine/bin/python" -c "import PySide6" 2>/dev/null; then
    echo "FAIL: [farm] brought PySide6 in"; exit 1
fi
farm_mb=$(size "$work/engine")

step "studio: pip install '$(basename "$wheel")[all]'"
"$python" -m venv "$work/full"
"$work/full/bin/python" -m pip install --quiet --upgrade pip
"$work/full/bin/python" -m pip install --quiet "$wheel[all]"
"$work/full/bin/schedstudio" --version
HOME="$work/home" XDG_DATA_HOME="$work/home/data" "$work/full/bin/schedstudio" --self-test
full_mb=$(size "$work/full")

cd "$root"
step "venv sizes (MB): engine $engine_mb, engine + [farm] $farm_mb, [all] $full_mb"
