"""Save To Python: a Python Scheduler node written out as a complete scheduler module, and
Load From Python: such a module read back into a node's parameters.

The module holds a class named after the node with one method per non-empty callback field
(the field's text as the body), the parameter template with the node's values as defaults,
and ``registerTypes(type_registry)``. It imports only ``schedcore``; placed in a types folder
it registers the scheduler type named after the node.
"""

from __future__ import annotations

import ast
import json
import re
import textwrap
from pathlib import Path

from .errors import SchedcoreError
from .network import Network, write_atomic
from .schedulers.python import (
    FIELDS,
    SETTINGS,
    CallbackSyntaxError,
    PythonScheduler,
    field_problems,
    is_empty,
    signature,
)

_FIELD_NAMES = {f.name for f in FIELDS}
_SETTINGS = [t.name for t in SETTINGS]


def class_name(node_name: str) -> str:
    """``my_farm2`` -> ``MyFarm2``."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"_+", node_name) if part)


def scheduler_module(network: Network, node_name: str) -> str:
    """The source of the scheduler module for Python Scheduler node ``node_name``."""
    spec = network.scheduler(node_name)
    if spec.type != PythonScheduler.type_name:
        raise SchedcoreError(f"{node_name} is a {spec.type} node; Save To Python writes out "
                             f"Python Scheduler (pythonscheduler) nodes")
    parms = _parm_values(spec.parms)
    bodies = {name: parms[name] for name in _FIELD_NAMES}
    problems = field_problems(node_name, bodies)
    if problems:
        raise CallbackSyntaxError(node_name, problems)
    cls = class_name(node_name)
    methods = [_method(field, bodies[field.name]) for field in FIELDS
               if not is_empty(bodies[field.name])]
    settings = "".join(f"        {_literal(name)}: {_literal(parms[name])},\n"
                       for name in _SETTINGS)
    uses_pdg = any(re.search(r"\bpdg\b", bodies[name]) for name in _FIELD_NAMES)
    source = network.path or "an unsaved network"
    return (
        f'"""The {node_name} scheduler: saved with Save To Python from the Python Scheduler\n'
        f"node {node_name!r} of {Path(source).name}.\n\n"
        f"Placed in a types folder (a pdg/types folder of SCHEDCORE_PATH, or the user's), it\n"
        f"registers the scheduler type {node_name!r}.\n"
        f'"""\n\n'
        + ("from schedcore.compat import pdg\n" if uses_pdg else "")
        + "from schedcore.parms import with_defaults\n"
        "from schedcore.schedulers import Scheduler\n"
        "from schedcore.schedulers.python import SETTINGS\n\n\n"
        f"class {cls}(Scheduler):\n"
        f'    """Callbacks of the node {node_name}."""\n\n'
        f"    type_name = {_literal(node_name)}\n"
        f"    label = {_literal(cls)}\n"
        f"    parm_templates = with_defaults(SETTINGS, {{\n{settings}    }})\n"
        + "".join(methods)
        + "\n\ndef registerTypes(type_registry):\n"
        f'    """Called by the Scheduler Factory: registers the type {node_name!r}."""\n'
        f"    type_registry.registerScheduler({cls}, label={_literal(cls)})\n")


def _literal(value) -> str:
    """Python source for a value, strings in double quotes."""
    return json.dumps(value) if isinstance(value, str) else repr(value)


def _parm_values(values: dict) -> dict:
    defaults = {t.name: t.default for t in PythonScheduler.parm_templates}
    return {**defaults, **values}


def _method(field, body: str) -> str:
    text = textwrap.indent(body.rstrip("\n").expandtabs(4), " " * 8).rstrip()
    lines = "\n".join(line.rstrip() for line in text.splitlines())
    return f"\n    {signature(field)}\n{lines}\n"


def save_python(network: Network, node_name: str, path: str | Path) -> Path:
    """Write the module atomically: a failure leaves any old file intact."""
    path = Path(path)
    write_atomic(path, scheduler_module(network, node_name))
    return path


def load_python(path: str | Path) -> dict:
    """The parameter values a saved module holds: every callback field (empty for a method it
    does not define) and every setting. Reads the file; runs none of it."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        tree = ast.parse(text, str(path))
    except SyntaxError as exc:
        raise SchedcoreError(f"{path}, line {exc.lineno}: {exc.msg}") from None
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    if len(classes) != 1:
        raise SchedcoreError(f"{path}: expected one scheduler class, found {len(classes)}")
    lines = text.splitlines()
    values = dict.fromkeys(_FIELD_NAMES, "")
    body = classes[0].body
    for index, node in enumerate(body):
        if isinstance(node, ast.FunctionDef) and node.name in _FIELD_NAMES:
            end = body[index + 1].lineno - 1 if index + 1 < len(body) else classes[0].end_lineno
            segment = "\n".join(lines[node.lineno:end]).rstrip()
            values[node.name] = textwrap.dedent(segment) + "\n"
        elif isinstance(node, ast.Assign) and [getattr(t, "id", "") for t in node.targets] \
                == ["parm_templates"] and isinstance(node.value, ast.Call):
            values.update(ast.literal_eval(node.value.args[1]))
    return values


def load_into_node(network: Network, node_name: str, path: str | Path) -> None:
    """Load From Python: the node's fields and settings become the module's."""
    spec = network.scheduler(node_name)
    if spec.type != PythonScheduler.type_name:
        raise SchedcoreError(f"{node_name} is a {spec.type} node; Load From Python fills "
                             f"Python Scheduler (pythonscheduler) nodes")
    spec.parms.update(load_python(path))
