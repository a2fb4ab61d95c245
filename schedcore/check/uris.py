"""Reading the log and status URIs a scheduler gave its items, as a person following them
would: while the cook's servers still run (before onStopCook)."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlparse


def read_uris(cook) -> list[tuple[str, str, str, str]]:
    """(item, "log" or "status", URI, why it cannot be read or "") for every item a
    scheduler took (engine thread: the items are not changing now)."""
    found = []
    for item in list(cook.engine.items.values()):
        ran = bool(cook.runs.starts(item.name))
        for kind, uri in (("log", item.log_uri), ("status", item.status_uri)):
            if uri and (ran or kind == "status"):
                found.append((item.name, kind, uri, why_unreadable(uri)))
    return found


def why_unreadable(uri: str) -> str:
    """"" when ``uri`` can be read; else why not."""
    scheme = urlparse(uri).scheme
    if scheme == "file":
        path = Path(unquote(urlparse(uri).path))
        try:
            path.read_bytes()
        except OSError as exc:
            return exc.strerror or str(exc)
        return ""
    if scheme in ("http", "https"):
        try:
            with urllib.request.urlopen(uri, timeout=10) as answer:
                answer.read()
        except urllib.error.HTTPError as exc:
            return f"HTTP {exc.code} {exc.reason}"
        except (OSError, ValueError) as exc:
            return str(getattr(exc, "reason", exc))
        return ""
    return ""  # a farm's own scheme: nothing here can follow it
