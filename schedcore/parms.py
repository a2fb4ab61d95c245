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

    __slots__ = ("name", "raw", "_hip", "_node")

    def __init__(self, name: str, raw: Any, hip: str = "", node: str = ""):
        self.name = name
        self.raw = raw
        self._hip = hip
        self._node = node  # what $OS stands for, as in Houdini: the node's name

    def __repr__(self) -> str:
        return f"<ParmValue {self.name}={self.raw!r}>"

    def evaluate(self) -> Any:
        return self._expand(self.raw) if isinstance(self.raw, str) else self.raw

    def evaluateString(self) -> str:
        return self._expand(str(self.raw if self.raw is not None else ""))

    def _expand(self, text: str) -> str:
        return expand_vars(text, self._hip, {"OS": self._node} if self._node else None)

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

    def __init__(self, templates: list[ParmTemplate], values: dict, hip: str = "",
                 node: str = ""):
        self.templates = {t.name: t for t in templates}
        self.values = dict(values)
        self.hip = hip
        self.node = node  # the node's name: $OS

    def raw(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        template = self.templates.get(name)
        if template is None:
            raise KeyError(f"no parameter named {name!r} "
                           f"(known: {', '.join(sorted(self.templates)) or 'none'})")
        return template.default

    def __getitem__(self, name: str) -> ParmValue:
        return ParmValue(name, self.raw(name), self.hip, self.node)

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

    def declare(self, templates: list[ParmTemplate]) -> None:
        """Add parameters the type does not declare (a node's spare parameters)."""
        for template in templates:
            self.templates.setdefault(template.name, template)


# == spare parameters =========================================================================
# A scheduler node may carry parameters its type does not declare (Houdini's spare or HDA
# parameters), declared in the network file as {"name", "type", "label", "value", "help",
# "menu"}; the same shape declares a saved module's own parameters.

SPARE_KINDS = ("string", "int", "float", "bool", "menu", "code", "json")
SPARE_KEYS = ("name", "type", "label", "value", "help", "menu")
_ZERO = {"string": "", "int": 0, "float": 0.0, "bool": False, "code": "", "json": None}


class NodeValues(dict):
    """A node's parameter values, with the spare parameters it declares (``spare``): what a
    scheduler type's ``create`` receives for a scheduler node of a network."""

    def __init__(self, values=(), spare=()):
        super().__init__(values)
        self.spare = list(spare)


def spare_of(values) -> list[ParmTemplate]:
    """The spare parameters ``values`` carries (none for a plain dict)."""
    return list(getattr(values, "spare", ()))


def zero(kind: str, menu: tuple = ()):
    """The value a new parameter of ``kind`` starts with."""
    return menu[0] if kind == "menu" and menu else _ZERO.get(kind)


def spare_problems(entry) -> list[tuple[str, str]]:
    """(key, why) for each problem of a spare parameter entry; key "" for the entry."""
    if not isinstance(entry, dict):
        return [("", "expected an object with 'name', 'type', 'label' and 'value'")]
    problems = [(key, "unknown key" + _hint(key, SPARE_KEYS)) for key in entry
                if key not in SPARE_KEYS]
    name, kind = entry.get("name"), entry.get("type")
    if not isinstance(name, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
        problems.append(("name", f"expected a name of letters, digits and _, got {name!r}"))
    if kind not in SPARE_KINDS:
        problems.append(("type", f"expected one of {', '.join(SPARE_KINDS)}, got {kind!r}"))
    for key in ("label", "help"):
        if not isinstance(entry.get(key, ""), str):
            problems.append((key, f"expected a string, got {entry[key]!r}"))
    menu = entry.get("menu")
    if kind == "menu" and not (isinstance(menu, list) and menu and all(
            isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in menu)):
        problems.append(("menu", f"expected a list of the values to choose from, got {menu!r}"))
    elif kind != "menu" and menu is not None:
        problems.append(("menu", "only a parameter of type menu has a menu"))
    if not problems and "value" in entry and (why := spare_template(entry).check(
            entry["value"])) is not None:
        problems.append(("value", why))
    return problems


def _hint(key: str, known) -> str:
    from .errors import did_you_mean
    return did_you_mean(key, known)


def spare_template(entry: dict) -> ParmTemplate:
    """The template of a (checked) spare parameter entry; its default is the kind's zero."""
    kind, menu = entry["type"], tuple(entry.get("menu") or ())
    return ParmTemplate(entry["name"], kind, zero(kind, menu), entry.get("label") or "",
                        entry.get("help") or "", "Spare", menu)


def spare_json(template: ParmTemplate, value) -> dict:
    """The network file's entry for a spare parameter holding ``value``."""
    data = {"name": template.name, "type": template.kind, "label": template.label,
            "value": value}
    if template.help:
        data["help"] = template.help
    if template.kind == "menu":
        data["menu"] = list(template.menu)
    return data


def parm_templates_from(entries: list[dict]) -> list[ParmTemplate]:
    """Templates from entries in the spare parameters' shape, each ``value`` the default
    (how a saved scheduler module declares the spare parameters of its node)."""
    return [replace(spare_template(e), default=e.get("value"), group="")
            if "value" in e else replace(spare_template(e), group="") for e in entries]


# == Houdini's templateBody ====================================================================
# A Houdini-written scheduler declares parameters with ``templateBody()``: JSON of the form
# {"name": ..., "parameters": [{"name", "label", "type": "String"|"Integer"|..., "value"}]}.

HOUDINI_TYPES = {"int": "Integer", "float": "Float", "string": "String", "bool": "Toggle"}
_FROM_HOUDINI = {"string": "string", "str": "string", "file": "string", "integer": "int",
                 "int": "int", "float": "float", "toggle": "bool", "bool": "bool",
                 "code": "code", "json": "json", "menu": "menu"}


def houdini_parameter(template: ParmTemplate, value) -> dict:
    """One entry of a ``templateBody`` for ``template`` holding ``value``."""
    data = {"name": template.name, "label": template.label,
            "type": HOUDINI_TYPES.get(template.kind, template.kind), "size": 1,
            "value": value}
    if template.help:
        data["help"] = template.help
    if template.kind == "menu":
        data["menu"] = list(template.menu)
    return data


def houdini_templates(body) -> list[ParmTemplate]:
    """The parameters a ``templateBody`` (its JSON text, or that read) declares; entries it
    cannot read are left out (Houdini's own types have more than schedcore knows)."""
    import json
    parameters = (json.loads(body) if isinstance(body, str) else body).get("parameters") or []
    templates = []
    for entry in parameters:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        kind = _FROM_HOUDINI.get(str(entry.get("type", "string")).lower(), "json")
        if entry.get("size", 1) not in (1, None) and kind != "json":
            kind = "json"  # a tuple of values
        menu = tuple(entry.get("menu") or ())
        value = entry.get("value", zero(kind, menu))
        templates.append(ParmTemplate(entry["name"], kind, value, str(entry.get("label", "")),
                                      str(entry.get("help", "")), "", menu))
    return templates


def templates_of(cls) -> list[ParmTemplate]:
    """A scheduler type's parameters: ``parm_templates``, with those a Houdini-written class
    declares in ``templateBody()`` (which set the value of one of the same name)."""
    templates = {t.name: t for t in getattr(cls, "parm_templates", ())}
    body = getattr(cls, "templateBody", None)
    if callable(body):
        try:
            declared = houdini_templates(body())
        except Exception:
            declared = []
        for template in declared:
            known = templates.get(template.name)
            templates[template.name] = template if known is None else replace(
                known, default=template.default, label=template.label or known.label)
    return list(templates.values())
