"""The lowest versions pyproject.toml allows, as a pip constraints file: each ``name>=X`` of
the dependencies and of every extra becomes ``name==X``, so a run of the suite against them
shows the floors are true. Read from the installed project's metadata (the venv's install
follows pyproject.toml). Usage: python packaging/lowest_constraints.py > lowest.txt"""

from __future__ import annotations

import re
import sys
from importlib.metadata import requires

PROJECT = "schedstudio"
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*\(?([^;)]*)")


def floors(requirements: list[str]) -> dict[str, str]:
    """Distribution name -> its lowest allowed version, for every requirement that names one."""
    found: dict[str, str] = {}
    for requirement in requirements:
        match = REQUIREMENT.match(requirement)
        if not match or match.group(1).lower() == PROJECT:
            continue
        for clause in match.group(2).split(","):
            clause = clause.strip()
            if clause.startswith(">="):
                found[match.group(1)] = clause[2:].strip()
    return found


def main() -> int:
    for name, version in sorted(floors(requires(PROJECT) or []).items(),
                                key=lambda item: item[0].lower()):
        print(f"{name}=={version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
