"""The Python Scheduler (``pythonscheduler``): a scheduler whose callbacks are Python text
fields, compiled when the scheduler is made and called during the cook.

A field holds a method's body; ``self``, the callback's arguments and ``pdg`` are in scope.
Each is compiled as ``<node:callback>`` with its text registered, so a traceback shows the
user's own line numbers and lines. A field with no statements means the base default.
"""

from __future__ import annotations

import ast
import builtins
import io
import linecache
import tokenize
import types

from ..errors import SchedcoreError
from ..parms import ParmTemplate
from .base import COMMON_PARMS, Scheduler
from .pythonfields import DEFAULT_CODE, FIELDS, GROUPS, Field


class CallbackSyntaxError(SchedcoreError):
    """Callback fields that do not compile; ``problems`` holds (field, line, message)."""

    def __init__(self, scheduler: str, problems: list[tuple[str, int, str]]):
        self.scheduler = scheduler
        self.problems = problems
        lines = "\n".join(f"  {field}, line {line}: {message}"
                          for field, line, message in problems)
        super().__init__(f"{scheduler}: callback code that does not compile (fix it in the "
                         f"field named, at the line given):\n{lines}")


def signature(field: Field) -> str:
    """``def onSchedule(self, work_item):``: what a field's body belongs to."""
    return f"def {field.name}({', '.join(('self', *field.args))}):"


def is_empty(body: str) -> bool:
    """No statements: only blank lines and comments."""
    return all(not line.strip() or line.strip().startswith("#") for line in body.splitlines())


# A body is indented by a multiple of 8 so that tabs in it mean the same in the field and in
# a saved module (whose methods sit at 4); lines that begin inside a string keep no prefix,
# so the string holds what was typed.
BODY_INDENT = " " * 8


def lines_in_strings(text: str) -> set[int]:
    """Numbers (1-based) of the lines of ``text`` that begin inside a string literal."""
    inside: set[int] = set()
    starts: list[int] = []  # f-strings of Python 3.12 come as start/middle/end tokens
    fstring_start = getattr(tokenize, "FSTRING_START", None)
    fstring_end = getattr(tokenize, "FSTRING_END", None)
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.STRING:
                inside.update(range(token.start[0] + 1, token.end[0] + 1))
            elif token.type == fstring_start:
                starts.append(token.start[0])
            elif token.type == fstring_end and starts:
                inside.update(range(starts.pop() + 1, token.end[0] + 1))
    except (tokenize.TokenError, SyntaxError):
        pass  # the compile that follows says what is wrong
    return inside


def indent_body(body: str, prefix: str = BODY_INDENT) -> tuple[str, set[int]]:
    """``body`` under a ``def`` line: every line that has text and does not begin inside a
    string gets ``prefix``. Returns the text and the numbers (1-based) of those lines."""
    inside = lines_in_strings(body)
    lines = body.split("\n")
    prefixed = {n for n, line in enumerate(lines, 1) if line and n not in inside}
    return "\n".join(prefix + line if n in prefixed else line
                     for n, line in enumerate(lines, 1)), prefixed


def compile_field(scheduler: str, field: Field, body: str, namespace: dict):
    """The function a field's body makes, or None for an empty field. Raises SyntaxError
    with the line number in the field's own text."""
    if is_empty(body):
        return None
    filename = f"<{scheduler}:{field.name}>"
    text, prefixed = indent_body(body)
    source = signature(field) + "\n" + text
    try:
        tree = ast.parse(source, filename)
        _as_written(tree, prefixed)
        code = compile(tree, filename, "exec")
    except SyntaxError as exc:
        if exc.lineno and exc.lineno - 1 in prefixed and exc.offset:
            exc.offset = max(1, exc.offset - len(BODY_INDENT))
        exc.lineno = max(1, (exc.lineno or 1) - 1)
        raise
    linecache.cache[filename] = (len(body), None, body.splitlines(True), filename)
    exec(code, namespace)
    return namespace.pop(field.name)


def _as_written(tree: ast.Module, prefixed: set[int]) -> None:
    """Positions in the field's own text: its first line is line 1, its lines not indented
    (so tracebacks point at the right line and column)."""
    ast.increment_lineno(tree, -1)
    shift = len(BODY_INDENT)
    for node in ast.walk(tree):
        if getattr(node, "lineno", 0) in prefixed and hasattr(node, "col_offset"):
            node.col_offset = max(0, node.col_offset - shift)
        if getattr(node, "end_lineno", 0) in prefixed and \
                hasattr(node, "end_col_offset") and node.end_col_offset is not None:
            node.end_col_offset = max(0, node.end_col_offset - shift)


def field_problems(scheduler: str, bodies: dict[str, str]) -> list[tuple[str, int, str]]:
    """(field, line, message) for every field of ``bodies`` that does not compile."""
    problems = []
    for field in FIELDS:
        try:
            compile_field(scheduler, field, bodies.get(field.name, ""), {"__builtins__": builtins})
        except SyntaxError as exc:
            problems.append(_problem(field, exc))
    return problems


def _problem(field: Field, exc: SyntaxError) -> tuple[str, int, str]:
    """(field, line, message) of what ``compile_field`` raised (it always sets the line)."""
    return field.name, exc.lineno or 1, exc.msg


# the parameters besides the callback fields (a saved module keeps them)
SETTINGS = COMMON_PARMS + [
    ParmTemplate("pdg_maxtasks", "int", 0, "Limit Jobs",
                 "Jobs at once for the default Schedule code; 0: the CPUs."),
]


class PythonScheduler(Scheduler):
    type_name = "pythonscheduler"
    label = "Python Scheduler"
    parm_templates = SETTINGS + [
        ParmTemplate("savetopython", "action", None, "Save To Python",
                     "Save this node out to a Python file, along with its custom callback "
                     "entries."),
    ] + [ParmTemplate(f.name, "code", DEFAULT_CODE[f.name], f.label, f.description, f.group)
         for f in FIELDS]

    def __init__(self, name: str = "", parms: dict | None = None, hip: str = ""):
        super().__init__(name, parms, hip)
        self.compile_fields()

    def compile_fields(self) -> None:
        """(Re)compile every field; raise CallbackSyntaxError listing all that fail."""
        from ..compat import pdg
        namespace = {"__builtins__": builtins, "__name__": f"pythonscheduler.{self.name}",
                     "pdg": pdg}
        problems: list[tuple[str, int, str]] = []
        for field in FIELDS:
            self.__dict__.pop(field.name, None)  # back to the class's method
            try:
                function = compile_field(self.name, field, self.parms.raw(field.name),
                                         namespace)
            except SyntaxError as exc:
                problems.append(_problem(field, exc))
                continue
            if function is not None:
                setattr(self, field.name, types.MethodType(function, self))
        if problems:
            raise CallbackSyntaxError(self.name, problems)

__all__ = ["BODY_INDENT", "DEFAULT_CODE", "FIELDS", "GROUPS", "SETTINGS", "CallbackSyntaxError",
           "Field", "PythonScheduler", "compile_field", "field_problems", "indent_body",
           "is_empty", "lines_in_strings", "signature"]
