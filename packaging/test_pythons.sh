#!/usr/bin/env bash
# What differs between Python versions, on every Python from 3.10 up found on this machine
# (pyenv's versions and python3.X on the PATH, one per minor version), each in a venv of its
# own under build/: the engine's tests in an install without Qt (as on a render node:
# `[farm,test-engine]`), then the studio added and its self-test, offscreen.
# SKIP: minor versions already tested (e.g. "3.11", the one `make test` used).
set -uo pipefail
cd "$(dirname "$0")/.."
skip=" ${SKIP:-} "

candidates() {
    if command -v pyenv >/dev/null 2>&1; then
        ls -d "$(pyenv root)"/versions/3.*/bin/python3 2>/dev/null
    fi
    for minor in $(seq 10 20); do command -v "python3.$minor" || true; done
}

declare -A seen
failed=()
for python in $(candidates); do
    version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) \
        || continue
    minor=${version#3.}
    if [ "$minor" -lt 10 ] || [ -n "${seen[$version]:-}" ] || [[ $skip == *" $version "* ]]
    then
        continue
    fi
    seen[$version]=1
    venv=build/venv-$version
    start=$SECONDS
    echo "== Python $version ($python)"
    rm -rf "$venv"
    if ! { "$python" -m venv "$venv" && "$venv/bin/python" -m pip install --quiet --upgrade pip \
            && "$venv/bin/python" -m pip install --quiet -e '.[farm,test-engine]'; }; then
        failed+=("$version (install)")
        continue
    fi
    "$venv/bin/python" -m pytest -q -p no:cacheprovider -n "${PYTEST_WORKERS:-4}" \
        || failed+=("$version (engine tests)")
    if "$venv/bin/python" -m pip install --quiet -e '.[studio]'; then
        home=$(mktemp -d)
        HOME="$home" XDG_DATA_HOME="$home/data" XDG_CONFIG_HOME="$home/config" \
            "$venv/bin/schedstudio" --self-test || failed+=("$version (studio self-test)")
        rm -rf "$home"
    else
        failed+=("$version (studio install)")
    fi
    echo "== Python $version: $((SECONDS - start)) s"
done
echo "tested on: ${!seen[*]}${SKIP:+ (and $SKIP elsewhere)}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED on: ${failed[*]}"
    exit 1
fi
