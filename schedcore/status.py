"""A submitted cook's status file: what ``schedcore status`` and the studio follow it by.

A leaf the schedulers, their jobs and ``submit`` all write through, so the schedulers'
base class needs none of the command's helpers.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from .network import write_atomic


def write_status(path: str | Path, status: dict) -> None:
    """Write a submitted cook's status file (whole, or not at all), stamped with the time."""
    write_atomic(Path(path), json.dumps({"counts": {}, **status, "updated": time.time()},
                                        indent=1) + "\n")
