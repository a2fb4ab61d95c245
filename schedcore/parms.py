"""Parameters: templates that node and scheduler types declare, and evaluation of values.

A node stores a flat ``name -> value`` map (the network file's ``parms``); its type's template
says each parameter's kind, default, label and help. Evaluation expands ``$HIP`` (the network
file's folder) and environment variables, as Houdini does (``self["pdg_workingdir"]
.evaluateString()``).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

KINDS = ("int", "float", "string", "bool", "code", "menu", "action", "json")
_VAR = re.compile(r"\$(\{(\w+)\}|(\w+))")


@dataclass(frozen=True)
class ParmTemplate:
    """One parameter of a node or scheduler type."""

    name: str
    kind: str  # one of KINDS
    default: Any = None
    label: str = ""
    help: str = ""
    group: str = ""
    menu: tuple = ()  # allowed values of a "menu" parameter
    validate: Callable[[Any], list[str]] | None = field(default=None, compare=False)

    def check(self, value: Any) -> str | None:
        """Why ``value`` does not fit this parameter, or None when it does."""
        if self.kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
            return f"expected an integer, got {value!r}"
        if self.kind == "float" and (isinstance(value, bool)
                                     or not isinstance(value, (int, float))):
            return f"expected a number, got {value!r}"
        # JSON reads Infinity and NaN: a number, but no use as seconds or a scale
        if self.kind == "float" and isinstance(value, float) and not math.isfinite(value):
            return f"expected a finite number, got {value!r}"
        if self.kind in ("string", "code") and not isinstance(value, str):
            return f"expected a string, got {value!r}"
        if self.kind == "bool" and not isinstance(value, bool):
            return f"expected true or false, got {value!r}"
        if self.kind == "menu" and value not in self.menu:
            return f"expected one of {', '.join(map(str, self.menu))}, got {value!r}"
        if self.validate is not None and (problems := self.validate(value)):
            return "; ".join(problems)
        return None


def with_defaults(templates: list[ParmTemplate], defaults: dict) -> list[ParmTemplate]:
    """``templates`` with the defaults given (a saved scheduler keeps its node's values)."""
    return [replace(t, default=defaults[t.name]) if t.name in defaults else t
            for t in templates]


def expand_vars(text: str, hip: str = "", extra: dict | None = None) -> str:
    """Expand ``$HIP``, ``$NAME`` and ``${NAME}``; unknown variables are left as written."""
    if "$" not in text:
        return text

    def sub(match: re.Match) -> str:
        name = match.group(2) or match.group(3)
        if name == "HIP" and hip:
            return hip
        if extra and name in extra:
            return str(extra[name])
        return os.environ.get(name, match.group(0))

    return _VAR.sub(sub, text)


class ParmValue:
    """What ``node["name"]`` returns: Houdini's ``evaluate*`` accessors on one value."""

    __slots__ = ("name", "raw", "_hip")

    def __init__(self, name: str, raw: Any, hip: str = ""):
        self.name = name
        self.raw = raw
        self._hip = hip

    def __repr__(self) -> str:
        return f"<ParmValue {self.name}={self.raw!r}>"

    def evaluate(self) -> Any:
        return expand_vars(self.raw, self._hip) if isinstance(self.raw, str) else self.raw

    def evaluateString(self) -> str:
        return expand_vars(str(self.raw if self.raw is not None else ""), self._hip)

    def evaluateInt(self) -> int:
        return int(float(self.evaluateString())) if isinstance(self.raw, str) else int(self.raw)

    def evaluateFloat(self) -> float:
        return float(self.evaluateString()) if isinstance(self.raw, str) else float(self.raw)

    def evaluateBool(self) -> bool:
        if isinstance(self.raw, str):
            return self.evaluateString().strip().lower() not in ("", "0", "false", "off", "no")
        return bool(self.raw)


class ParmSet:
    """A node's parameter values over its type's templates (defaults filled in)."""

    def __init__(self, templates: list[ParmTemplate], values: dict, hip: str = ""):
        self.templates = {t.name: t for t in templates}
        self.values = dict(values)
        self.hip = hip

    def raw(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        template = self.templates.get(name)
        if template is None:
            raise KeyError(f"no parameter named {name!r} "
                           f"(known: {', '.join(sorted(self.templates)) or 'none'})")
        return template.default

    def __getitem__(self, name: str) -> ParmValue:
        return ParmValue(name, self.raw(name), self.hip)

    def __contains__(self, name: str) -> bool:
        return name in self.values or name in self.templates

    def set(self, name: str, value: Any) -> None:
        self.values[name] = value

    def string(self, name: str) -> str:
        return self[name].evaluateString()

    def int(self, name: str) -> int:
        return self[name].evaluateInt()

    def float(self, name: str) -> float:
        return self[name].evaluateFloat()
