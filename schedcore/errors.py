"""Errors a person reads: what happened, where, and what to do."""

from __future__ import annotations

import difflib


def did_you_mean(name: str, known) -> str:
    """``" (did you mean 'x'?; known: a, b)"``: the hint for an unknown name."""
    known = sorted(map(str, known))
    close = difflib.get_close_matches(str(name), known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f" ({hint}known: {', '.join(known) or 'none'})"


class SchedcoreError(Exception):
    """Base of the errors schedcore reports to people without a traceback."""


class NetworkError(SchedcoreError):
    """A network file that cannot be used; ``problems`` holds every problem found."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{source}: {count}:\n{lines}")


class CookError(SchedcoreError):
    """The cook could not start or was stopped by an error."""
