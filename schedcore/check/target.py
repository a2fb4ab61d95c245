"""What is checked: a scheduler node (a type and its parameter values, spare ones included),
from a registered type name, a scheduler module file, or ``NETWORK.top.json:NODE``."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .. import network as network_file
from .. import registry
from ..errors import SchedcoreError, did_you_mean
from ..network import SchedulerSpec
from ..parms import templates_of

# Optional scenarios a built-in type promises to pass; a type of its own says so with a class
# attribute ``conformance_claims`` (a set of these names).
OPTIONAL = ("priorities", "shared-server", "submit-as-job")
BUILTIN_CLAIMS: dict[str, set[str]] = {
    "localscheduler": {"priorities", "shared-server", "submit-as-job"},
    "daskscheduler": {"shared-server", "submit-as-job"},
}


class TargetError(SchedcoreError):
    """The scheduler to check cannot be found or made."""


@dataclass
class Target:
    spec: SchedulerSpec           # the node the kit puts into each of its networks
    label: str                    # how reports name it
    claims: set[str] = field(default_factory=set)
    source: str = ""              # the file it came from, if any

    @property
    def cls(self):
        return registry.scheduler_types()[self.spec.type]


def resolve(text: str, parms: dict | None = None) -> Target:
    """The target ``text`` names, with ``parms`` (name -> value) set on it."""
    if ":" in text and text.rsplit(":", 1)[0].endswith(".json"):
        path, node = text.rsplit(":", 1)
        target = from_network(path, node)
    elif text.endswith(".py") or os.sep in text:
        target = from_file(text)
    else:
        target = from_type(text)
    set_parms(target, parms or {})
    return target


def from_type(name: str) -> Target:
    types = registry.scheduler_types()
    if name not in types:
        raise TargetError(registry.unknown_type_message(name))
    return _target(SchedulerSpec(name, name, {}), name, "")


def from_file(path: str) -> Target:
    if not Path(path).is_file():
        raise TargetError(f"{path}: no such scheduler module file")
    try:
        names = registry.register_file(path)
    except ImportError as exc:
        raise TargetError(f"{path} does not load: {exc}") from None
    if not names:
        raise TargetError(f"{path} registers no scheduler type (registerTypes registered "
                          f"nothing)")
    name = names[0]
    return _target(SchedulerSpec(name, name, {}), f"{name} ({path})", str(path))


def from_network(path: str, node: str) -> Target:
    net = network_file.load(path)
    names = [s.name for s in net.schedulers]
    if node not in names:
        raise TargetError(f"{path} has no scheduler node {node!r}" + did_you_mean(node, names))
    spec = net.scheduler(node)
    return _target(_checked_copy(spec), f"{node} ({spec.type}) of {path}", path)


def from_spec(spec: SchedulerSpec, source: str = "") -> Target:
    """A scheduler node as the studio holds it (its values as they are on screen)."""
    return _target(_checked_copy(spec), f"{spec.name} ({spec.type})", source)


def _checked_copy(spec: SchedulerSpec) -> SchedulerSpec:
    """A copy of a scheduler node whose type is registered (the check may change its
    values), or TargetError saying why the type is missing."""
    if spec.type not in registry.scheduler_types():
        raise TargetError(f"scheduler node {spec.name!r}: "
                          + registry.unknown_type_message(spec.type))
    return SchedulerSpec(spec.name, spec.type, dict(spec.parms),
                         spare_parms=list(spec.spare_parms))


def _target(spec: SchedulerSpec, label: str, source: str) -> Target:
    cls = registry.scheduler_types()[spec.type]
    claims = set(getattr(cls, "conformance_claims", None) or BUILTIN_CLAIMS.get(spec.type, set()))
    return Target(spec, label, claims & set(OPTIONAL), source)


def set_parms(target: Target, parms: dict) -> None:
    """Set ``parms`` on the target, refusing names neither its type nor the node declares."""
    known = {t.name for t in templates_of(target.cls)} | \
        {t.name for t in target.spec.spare_parms}
    for name, value in parms.items():
        if name not in known:
            raise TargetError(f"{target.spec.type} has no parameter {name!r}"
                              + did_you_mean(name, sorted(known)))
        target.spec.parms[name] = value


def parse_parm(text: str) -> tuple[str, object]:
    """``NAME=VALUE``: VALUE as JSON when it reads as JSON (numbers, true, lists...), else
    as the text itself."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise TargetError(f"--parm {text!r}: expected NAME=VALUE")
    try:
        return name, json.loads(value)
    except ValueError:
        return name, value
