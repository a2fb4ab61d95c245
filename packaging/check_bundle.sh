#!/usr/bin/env bash
# After `make package`: the bundle checks itself; it holds its licenses, notices, install
# instructions and desktop entry, and nothing of a developer's cooks; a module saved with
# Save To Python by the bundle is registered and cooked with by a separate Python that has
# the engine installed (a venv of its own, made here: nothing of the repo's .venv is used).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
python=${PYTHON:-python3}
bundle_dir=dist/schedstudio
bundle=$bundle_dir/schedstudio
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for file in LICENSE THIRD-PARTY-NOTICES.txt licenses/PySide6_Essentials/LGPL-3.txt \
        INSTALL.txt install-desktop-entry.sh schedstudio.desktop schedstudio.png; do
    test -s "$bundle_dir/$file" || { echo "FAIL: the bundle lacks $file"; exit 1; }
done
stray=$(find "$bundle_dir" \( -name pdgtemp -o -name '*.sqlite*' -o -name output \
        -o -path '*/examples/*.log' \) -print)
[ -z "$stray" ] || { echo "FAIL: the bundle holds a cook's files:"; echo "$stray"; exit 1; }
# its binaries: the glibc floor, their dependencies, their notices; nothing of the build
# machine's checkout in any file
"$python" packaging/check_binaries.py "$bundle_dir" "$root"
XDG_DATA_HOME="$work/data" "$bundle_dir/install-desktop-entry.sh" > /dev/null
grep -q "^Exec=\"$root/$bundle_dir/schedstudio\"" "$work/data/applications/schedstudio.desktop"

"$bundle" --version
HOME="$work/home" XDG_DATA_HOME="$work/data" "$bundle" --self-test

# the engine alone, in a venv of its own: the wheel in dist/ when built, else this tree
"$python" -m venv "$work/engine"
engine=$(ls dist/schedstudio-*-py3-none-any.whl 2>/dev/null || echo "$root")
"$work/engine/bin/python" -m pip install --quiet "$engine"
"$work/engine/bin/schedcore" examples "$work/examples" > /dev/null
mkdir -p "$work/site/pdg/types"
"$bundle" -c 'import sys
from schedcore import codegen, network
codegen.save_python(network.load(sys.argv[1]), "parallelpy", sys.argv[2])' \
    "$work/examples/python_scheduler.top.json" "$work/site/pdg/types/parallelpy.py"
SCHEDCORE_PATH="$work/site" "$work/engine/bin/schedcore" types --json > "$work/types.json"
grep -q "\"parallelpy\"" "$work/types.json"
SCHEDCORE_PATH="$work/site" "$work/engine/bin/schedcore" cook \
    "$work/examples/wedge_summary.top.json" --scheduler parallelpy > "$work/cook.txt"
grep -q "every item cooked" "$work/cook.txt"
# with no python3 on the PATH the bundle runs the job scripts itself, the shared server too
env PATH= "$bundle" -c 'import sys
from schedcore import network
from schedcore.engine import Engine
result = Engine(network.load(sys.argv[1])).run()
sys.exit(0 if result.ok else "the shared-server example failed: %s" % result.errors)' \
    "$work/examples/shared_server.top.json"
echo "bundle checks passed: licenses and notices, desktop entry, self-test; its Save To" \
    "Python module registers and cooks elsewhere; it runs a shared server"
