#!/usr/bin/env bash
# After `make package`: the bundle checks itself, then a module saved with Save To Python by
# the bundle is registered and cooked with by a separate Python that has schedcore installed.
set -euo pipefail
cd "$(dirname "$0")/.."
bundle=dist/schedstudio/schedstudio
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bundle" --self-test

cp -r resources/examples "$work/examples"
mkdir -p "$work/site/pdg/types"
"$bundle" -c 'import sys
from schedcore import codegen, network
codegen.save_python(network.load(sys.argv[1]), "parallelpy", sys.argv[2])' \
    "$work/examples/python_scheduler.top.json" "$work/site/pdg/types/parallelpy.py"
SCHEDCORE_PATH="$work/site" .venv/bin/schedcore types --json > "$work/types.json"
grep -q "\"parallelpy\"" "$work/types.json"
SCHEDCORE_PATH="$work/site" .venv/bin/schedcore cook "$work/examples/wedge_summary.top.json" \
    --scheduler parallelpy > "$work/cook.txt"
grep -q "every item cooked" "$work/cook.txt"
# with no python3 on the PATH the bundle runs the job scripts itself, the shared server too
env PATH= "$bundle" -c 'import sys
from schedcore import network
from schedcore.engine import Engine
result = Engine(network.load(sys.argv[1])).run()
sys.exit(0 if result.ok else "the shared-server example failed: %s" % result.errors)' \
    "$work/examples/shared_server.top.json"
echo "bundle checks passed: self-test; its Save To Python module registers and cooks" \
    "elsewhere; it runs a shared server"
