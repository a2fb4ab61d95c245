"""Save To Python: a Python Scheduler node written out as a complete scheduler module, and
Load From Python: such a module read back into a node's parameters.

Two forms. ``schedcore`` (the default): a ``Scheduler`` subclass importing only
``schedcore``, its parameters in ``parm_templates``. ``houdini``: shaped for Houdini's
``pdg/types`` folder (``import pdg``, ``class X(CallbackServerMixin, PyScheduler)``,
``templateName``, ``templateBody``), which this project loads too. Both hold one method per
non-empty callback field (the field's text as the body), the node's settings and spare
parameters as the type's parameters with the node's values as defaults, and
``registerTypes(type_registry)``.

Any node name, value and file name makes a module that compiles and reads back to what was
saved: values are written as Python literals (``float("nan")`` for NaN), text in docstrings
is escaped, and a body is indented without touching the inside of its strings. The module
is compiled and read back before it is written; one that would not be is refused.
"""

from __future__ import annotations

import ast
import json
import keyword
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import SchedcoreError
from .network import Network, write_atomic
from .parms import (
    houdini_parameter,
    houdini_templates,
    spare_json,
    spare_template,
)
from .schedulers.python import (
    BODY_INDENT,
    FIELDS,
    SETTINGS,
    CallbackSyntaxError,
    PythonScheduler,
    field_problems,
    indent_body,
    is_empty,
    lines_in_strings,
    signature,
)

FORMS = ("schedcore", "houdini")
_FIELD_NAMES = {f.name for f in FIELDS}
_SETTINGS = {t.name: t for t in SETTINGS}
# names a saved module defines or imports besides its class
_TAKEN = {"json", "pdg", "CallbackServerMixin", "PyScheduler", "Scheduler", "SETTINGS",
          "parm_templates_from", "with_defaults", "registerTypes"}


@dataclass
class Saved:
    """What a saved module holds: the callback bodies (empty for a method it does not
    define), the settings' values, and the spare parameters with their values."""

    bodies: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    spare: list = field(default_factory=list)  # (template, value)

    def values(self) -> dict:
        return {**self.bodies, **self.settings, **{t.name: v for t, v in self.spare}}


# == names and literals ==========================================================================
def class_name(node_name: str) -> str:
    """``my_farm2`` -> ``MyFarm2``: always a Python name of its own, whatever the node's."""
    parts = re.findall(r"[^\W_]+", node_name)
    name = "".join(p[:1].upper() + p[1:] for p in parts)
    name = "".join(c for c in name if ("A" + c).isidentifier())
    if not name.isidentifier():  # empty, or it starts with a digit
        name = "Scheduler" + name
    if keyword.iskeyword(name) or name in _TAKEN:
        name += "Type"
    return name


def literal(value) -> str:
    """Python source that evaluates to ``value`` (JSON-like values; floats exactly, NaN and
    the infinities too); strings in double quotes when they hold none."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        try:
            return repr(value)
        except ValueError:  # beyond Python's digit limit for int-to-text
            return hex(value)
    if isinstance(value, float):
        if math.isnan(value):
            return 'float("nan")'
        if math.isinf(value):
            return 'float("inf")' if value > 0 else '-float("inf")'
        return repr(value)
    if isinstance(value, str):
        text = repr(value)
        return f'"{text[1:-1]}"' if text[0] == "'" and '"' not in value else text
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(map(literal, value)) + "]"
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    raise SchedcoreError(f"Save To Python writes numbers, strings, booleans, lists and "
                         f"objects with string keys; got {value!r} ({type(value).__name__})")


def read_literal(node: ast.AST | None):
    """The value of source ``literal`` wrote (runs nothing); ``None`` (the key of a
    ``**`` in a dict display) is no such value."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        return [read_literal(n) for n in node.elts]
    if isinstance(node, ast.Dict):
        return {read_literal(k): read_literal(v) for k, v in zip(node.keys, node.values,
                                                                 strict=True)}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -read_literal(node.operand)
    if (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "float"
            and len(node.args) == 1 and isinstance(node.args[0], ast.Constant)
            and node.args[0].value in ("nan", "inf")):
        return float(node.args[0].value)
    raise SchedcoreError(f"line {getattr(node, 'lineno', '?')}: not a value Save To Python "
                         f"writes")


def docstring(text: str) -> str:
    """``text`` as a triple-quoted literal: backslashes, quotes and unprintable characters
    escaped (a file name may hold any of them)."""
    out = "".join(c if c == "\n" or (c.isprintable() and c != "\\") else
                  ("\\\\" if c == "\\" else repr(c)[1:-1]) for c in text)
    out = out.replace('"""', '""\\"')
    if out.endswith('"'):
        out = out[:-1] + '\\"'
    return f'"""{out}"""'


def canonical(body: str) -> str:
    """A field's text as a saved module keeps it: line ends as Python reads them, no blank
    lines at the end, one newline after the last line."""
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines) + "\n" if lines else ""


# == writing =====================================================================================
def scheduler_module(network: Network, node_name: str, form: str = "schedcore") -> str:
    """The source of the scheduler module for Python Scheduler node ``node_name``."""
    if form not in FORMS:
        raise SchedcoreError(f"unknown form {form!r}: expected one of {', '.join(FORMS)}")
    saved = node_contents(network, node_name)
    cls = class_name(node_name)
    source = Path(network.path).name if network.path else "an unsaved network"
    folder = ("a pdg/types folder on Houdini's path" if form == "houdini" else
              "a pdg/types folder of SCHEDCORE_PATH, or the user's")
    about = (f"The {node_name} scheduler: saved with Save To Python from the Python Scheduler\n"
             f"node {node_name!r} of {source}.\n\n"
             f"Placed in a types folder ({folder}),\n"
             f"it registers the scheduler type {node_name!r}.\n")
    head = _houdini_head if form == "houdini" else _schedcore_head
    methods = "".join(_method(f, saved.bodies[f.name]) for f in FIELDS
                      if saved.bodies[f.name])
    register = docstring(f"Called by the Scheduler Factory: registers the type {node_name!r}.")
    return (f"{docstring(about)}\n\n{head(saved, node_name, cls)}{methods}\n\n"
            f"def registerTypes(type_registry):\n"
            f"    {register}\n"
            f"    type_registry.registerScheduler({cls}, label={literal(cls)})\n")


def node_contents(network: Network, node_name: str) -> Saved:
    """What Save To Python keeps of a node; refuses a node that is no Python Scheduler or
    whose fields do not compile."""
    spec = network.scheduler(node_name)
    if spec.type != PythonScheduler.type_name:
        raise SchedcoreError(f"{node_name} is a {spec.type} node; Save To Python writes out "
                             f"Python Scheduler (pythonscheduler) nodes")
    defaults = {t.name: t.default for t in PythonScheduler.parm_templates}
    values = {**defaults, **spec.parms}
    bodies = {name: str(values[name] or "") for name in _FIELD_NAMES}
    problems = field_problems(node_name, bodies)
    if problems:
        raise CallbackSyntaxError(node_name, problems)
    return Saved({name: "" if is_empty(text) else canonical(text)
                  for name, text in bodies.items()},
                 {name: values[name] for name in _SETTINGS},
                 [(t, values.get(t.name, t.default)) for t in spec.spare_parms])


def _schedcore_head(saved: Saved, node_name: str, cls: str) -> str:
    settings = "".join(f"        {literal(k)}: {literal(v)},\n" for k, v in saved.settings.items())
    spare = "".join(_entry(spare_json(t, v), 8) for t, v in saved.spare)
    uses_pdg = any(re.search(r"\bpdg\b", body) for body in saved.bodies.values())
    imports = (("from schedcore.compat import pdg\n" if uses_pdg else "")
               + "from schedcore.parms import "
               + ("parm_templates_from, with_defaults\n" if spare else "with_defaults\n")
               + "from schedcore.schedulers import Scheduler\n"
                 "from schedcore.schedulers.python import SETTINGS\n")
    templates = f"with_defaults(SETTINGS, {{\n{settings}    }})"
    if spare:
        templates += f" + parm_templates_from([\n{spare}    ])"
    return (f"{imports}\n\nclass {cls}(Scheduler):\n"
            f"    {docstring(f'Callbacks of the node {node_name}.')}\n\n"
            f"    type_name = {literal(node_name)}\n"
            f"    label = {literal(cls)}\n"
            f"    parm_templates = {templates}\n")


def _houdini_head(saved: Saved, node_name: str, cls: str) -> str:
    # the settings' help is the Python Scheduler's own; a spare parameter's is the node's
    entries = [houdini_parameter(replace(_SETTINGS[k], help=""), v)
               for k, v in saved.settings.items()]
    entries += [houdini_parameter(t, v) for t, v in saved.spare]
    try:  # what templateBody() will do when the module runs
        json.dumps(entries)
    except ValueError as exc:
        raise SchedcoreError(f"{node_name}: a value cannot go through templateBody's JSON "
                             f"({exc}); save the schedcore form instead") from None
    parameters = "".join(_entry(e, 16) for e in entries)
    return ("import json\n\nimport pdg\n"
            "from pdg.job.callbackserver import CallbackServerMixin\n"
            "from pdg.scheduler import PyScheduler\n\n\n"
            f"class {cls}(CallbackServerMixin, PyScheduler):\n"
            f"    {docstring(f'Callbacks of the node {node_name}.')}\n\n"
            "    def __init__(self, scheduler, name):\n"
            "        PyScheduler.__init__(self, scheduler, name)\n"
            "        CallbackServerMixin.__init__(self, False)\n\n"
            "    @classmethod\n"
            "    def templateName(cls):\n"
            f"        return {literal(node_name)}\n\n"
            "    @classmethod\n"
            "    def templateBody(cls):\n"
            "        return json.dumps({\n"
            f"            \"name\": {literal(node_name)},\n"
            f"            \"parameters\": [\n{parameters}            ],\n"
            "        })\n")


def _entry(data: dict, indent: int) -> str:
    """One parameter's dict, a key a line."""
    pad = " " * indent
    keys = "".join(f"{pad}    {literal(k)}: {literal(v)},\n" for k, v in data.items())
    return f"{pad}{{\n{keys}{pad}}},\n"


def _method(callback, body: str) -> str:
    text, _ = indent_body(body.rstrip("\n"), BODY_INDENT)
    return f"\n    {signature(callback)}\n{text}\n"


def save_python(network: Network, node_name: str, path: str | Path,
                form: str = "schedcore") -> Path:
    """Write the module atomically, once it compiles and reads back to what the node holds;
    a failure leaves any old file intact."""
    path = Path(path)
    source = scheduler_module(network, node_name, form)
    check_module(source, node_contents(network, node_name), str(path))
    write_atomic(path, source)
    return path


def check_module(source: str, expected: Saved, filename: str = "<module>") -> None:
    """Raise unless ``source`` compiles and holds what ``expected`` says."""
    try:
        compile(source, filename, "exec")
        found = read_module(source, filename)
    except (SyntaxError, ValueError, SchedcoreError) as exc:
        raise SchedcoreError(f"{filename}: not saved: the module would not compile or read "
                             f"back ({exc}); please report this with the node") from None
    if literal(_comparable(found)) != literal(_comparable(expected)):
        raise SchedcoreError(f"{filename}: not saved: the module would not read back to what "
                             f"the node holds; please report this with the node")


def _comparable(saved: Saved) -> list:
    return [saved.bodies, saved.settings, [spare_json(t, v) for t, v in saved.spare]]


# == reading =====================================================================================
def load_python(path: str | Path) -> dict:
    """The parameter values a saved module holds: every callback field (empty for a method it
    does not define), every setting and spare parameter. Reads the file; runs none of it."""
    return load_module(path).values()


def load_module(path: str | Path) -> Saved:
    path = Path(path)
    with open(path, encoding="utf-8", newline="") as handle:
        return read_module(handle.read(), str(path))


def read_module(text: str, filename: str = "<module>") -> Saved:
    """What a module in either form holds (see ``Saved``)."""
    try:
        tree = ast.parse(text, filename)
    except SyntaxError as exc:
        raise SchedcoreError(f"{filename}, line {exc.lineno}: {exc.msg}") from None
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    if len(classes) != 1:
        raise SchedcoreError(f"{filename}: expected one scheduler class, found {len(classes)}")
    cls = classes[0]
    after = tree.body[tree.body.index(cls) + 1:]
    lines = text.replace("\r\n", "\n").split("\n")
    inside = lines_in_strings(text)
    saved = Saved(dict.fromkeys(_FIELD_NAMES, ""))
    for index, node in enumerate(cls.body):
        if isinstance(node, ast.FunctionDef) and node.name in _FIELD_NAMES:
            nxt = cls.body[index + 1] if index + 1 < len(cls.body) else \
                (after[0] if after else None)
            end = _first_line(nxt) - 1 if nxt is not None else len(lines)
            saved.bodies[node.name] = _body(lines, node.lineno, end, inside)
        elif isinstance(node, ast.Assign) and _target(node) == "parm_templates":
            _read_parm_templates(node.value, saved)
        elif isinstance(node, ast.FunctionDef) and node.name == "templateBody":
            _read_template_body(node, saved)
    return saved


def _first_line(node: ast.stmt) -> int:
    return min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ()))])


def _body(lines: list[str], def_line: int, end: int, inside: set[int]) -> str:
    """The text of the method whose ``def`` is on ``def_line`` (1-based), up to line
    ``end``: the separating blank lines dropped, the indent taken off."""
    numbers = list(range(def_line + 1, end + 1))
    while numbers and not lines[numbers[-1] - 1].strip():
        numbers.pop()
    coded = [lines[n - 1] for n in numbers if lines[n - 1] and n not in inside]
    cut = len(BODY_INDENT) if all(line.startswith(BODY_INDENT) for line in coded) else \
        min((len(line) - len(line.lstrip()) for line in coded), default=0)
    text = "\n".join(lines[n - 1] if n in inside or not lines[n - 1] else lines[n - 1][cut:]
                     for n in numbers)
    return text + "\n" if numbers else ""


def _target(node: ast.Assign) -> str:
    return getattr(node.targets[0], "id", "") if len(node.targets) == 1 else ""


def _read_parm_templates(value: ast.AST, saved: Saved) -> None:
    """``with_defaults(SETTINGS, {...}) [+ parm_templates_from([...])]``."""
    calls = [value.left, value.right] if isinstance(value, ast.BinOp) else [value]
    for call in calls:
        if not isinstance(call, ast.Call) or len(call.args) < 1:
            continue
        name = getattr(call.func, "id", "")
        if name == "with_defaults" and len(call.args) == 2:
            saved.settings.update(read_literal(call.args[1]))
        elif name == "parm_templates_from":
            for entry in read_literal(call.args[0]):
                saved.spare.append((spare_template(entry), entry.get("value")))


def _read_template_body(node: ast.FunctionDef, saved: Saved) -> None:
    """``return json.dumps({... "parameters": [...]})``: settings by name, the rest spare."""
    returned = next((n.value for n in ast.walk(node) if isinstance(n, ast.Return)), None)
    if not (isinstance(returned, ast.Call) and returned.args):
        return
    for template in houdini_templates(read_literal(returned.args[0])):
        if template.name in _SETTINGS:
            saved.settings[template.name] = template.default
        else:
            entry = {"name": template.name, "type": template.kind, "label": template.label,
                     "help": template.help, "menu": list(template.menu) or None}
            spare = spare_template({k: v for k, v in entry.items() if v is not None})
            saved.spare.append((spare, template.default))


def load_into_node(network: Network, node_name: str, path: str | Path) -> None:
    """Load From Python: the node's fields, settings and spare parameters become the
    module's."""
    spec = network.scheduler(node_name)
    if spec.type != PythonScheduler.type_name:
        raise SchedcoreError(f"{node_name} is a {spec.type} node; Load From Python fills "
                             f"Python Scheduler (pythonscheduler) nodes")
    saved = load_module(path)
    for template in spec.spare_parms:
        spec.parms.pop(template.name, None)
    spec.spare_parms = [t for t, _ in saved.spare]
    spec.parms.update(saved.values())


__all__ = ["FORMS", "Saved", "canonical", "class_name", "load_into_node", "load_module",
           "load_python", "literal", "node_contents", "read_module", "save_python",
           "scheduler_module"]
