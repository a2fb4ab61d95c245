#!/usr/bin/env bash
# The floors in pyproject.toml are true: the lowest allowed version of every dependency
# (packaging/lowest_constraints.py), installed on the lowest Python the project supports,
# passes the whole suite. PYTHON_LOWEST: that Python (default: pyenv's or the PATH's 3.10).
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON_LOWEST:-}
if [ -z "$python" ]; then
    if command -v pyenv >/dev/null 2>&1; then
        python=$(ls -d "$(pyenv root)"/versions/3.10.*/bin/python3 2>/dev/null | tail -n 1)
    fi
    python=${python:-$(command -v python3.10 || true)}
fi
if [ -z "$python" ]; then
    echo "lowest versions: no Python 3.10 here (set PYTHON_LOWEST): not checked"
    exit 1
fi

venv=build/venv-lowest
mkdir -p build
.venv/bin/python packaging/lowest_constraints.py > build/lowest-constraints.txt
echo "lowest allowed versions on $("$python" --version):" $(cat build/lowest-constraints.txt)
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -c build/lowest-constraints.txt -e '.[test]'
"$venv/bin/python" -m pip list --format=freeze > build/lowest-installed.txt
"$venv/bin/python" -m pytest -q -p no:cacheprovider -n "${PYTEST_WORKERS:-4}" --durations=10
