"""Errors a person reads: what happened, where, and what to do."""

from __future__ import annotations

import difflib

KNOWN_LISTED = 100  # names a hint lists; beyond, it counts them (a list per problem is bytes)
SEARCH_BUDGET = 2_000_000  # names compared for close matches per set of known names


def did_you_mean(name: str, known) -> str:
    """``" (did you mean 'x'?; known: a, b)"``: the hint for an unknown name."""
    return Hints(known)(name)


class Hints:
    """``did_you_mean`` against one set of known names, for many unknown names.

    The known names are sorted and listed once, each unknown name is matched once, and
    membership is a set lookup: a file of 40,000 nodes with as many problems stays linear.
    Close matches stop after ``SEARCH_BUDGET`` comparisons; the list of known names remains.
    """

    def __init__(self, known):
        self._known = known
        self._members: set | None = None
        self._sorted: list[str] | None = None
        self._listing = ""
        self._close: dict[str, str] = {}
        self._budget = SEARCH_BUDGET

    def __contains__(self, name) -> bool:
        if self._members is None:
            self._members = set(self._known)
        try:
            return name in self._members
        except TypeError:  # an unhashable value from a document is no name
            return False

    def __call__(self, name) -> str:
        if self._sorted is None:
            self._sorted = sorted(map(str, self._known))
            self._listing = _listing(self._sorted)
        return f" ({self._hint(str(name), self._sorted)}known: {self._listing})"

    def _hint(self, name: str, known: list[str]) -> str:
        hint = self._close.get(name)
        if hint is None:
            close = []
            if self._budget >= len(known):
                self._budget -= len(known)
                close = difflib.get_close_matches(name, known, n=1)
            hint = self._close[name] = f"did you mean {close[0]!r}? " if close else ""
        return hint


def _listing(names: list[str]) -> str:
    if len(names) <= KNOWN_LISTED:
        return ", ".join(names) or "none"
    return f"{', '.join(names[:KNOWN_LISTED])}, ... ({len(names):,} in all)"


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


class SchedulerCodeError(SchedcoreError):
    """Scheduler code outside a cook (``submitAsJob``) raised: the command failed, the network
    and the options were fine."""


class CookError(SchedcoreError):
    """The cook could not start or was stopped by an error."""
