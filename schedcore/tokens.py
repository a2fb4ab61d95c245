"""``@attribute`` references in node parameters (``echo @wedgeindex > out_@pdg_index.txt``).

``@name`` is the first value of attribute ``name``; ``@name.2`` the value at index 2; the
built-ins ``@pdg_id``, ``@pdg_name``, ``@pdg_index``, ``@pdg_frame``, ``@pdg_input`` (first
input file), ``@pdg_inputs`` (all, space-separated) and ``@pdg_output`` (first expected output).
``\\@`` is a literal ``@``; an ``@`` right after a letter or digit (``a@b.org``) is left alone,
after ``_`` it is not (``shape_@wedgeindex.svg``).

In a command (``expand_command``) every value is quoted for the shell where it lands, so a
file named ``x$(id).exr`` stays a name: bare, it becomes one word (``shlex.quote``); inside
``'...'`` or ``"..."`` it is escaped for those quotes; inside the script of ``sh -c '...'``
(a quoted string right after ``-c``) it is quoted for that inner shell, then escaped for the
quotes around the script. ``@pdg_inputs`` is a list: bare, each file is a word of its own
(``ls -d @pdg_inputs`` lists every input file; none: no word); inside quotes the files,
space-separated, stay in those quotes as one word. ``@name:raw`` inserts the value as it is,
for the rare command that builds shell syntax from an attribute.
"""

from __future__ import annotations

import functools
import re
import shlex

from .workitem import WorkItem

_REF = re.compile(r"(?<![A-Za-z0-9\\])@([A-Za-z_]\w*)(?:\.(\d+))?(:raw\b)?")


class TokenError(LookupError):
    """A parameter refers to an attribute the work item does not have."""


def _builtin(item: WorkItem, name: str):
    if name == "pdg_id":
        return item.id
    if name == "pdg_name":
        return item.name
    if name == "pdg_index":
        return item.index
    if name == "pdg_frame":
        return item.frame
    if name == "pdg_input":
        inputs = item.inputFiles
        return inputs[0].path if inputs else ""
    if name == "pdg_inputs":  # a list: several words in a command (expand_command)
        return [o.path for o in item.inputFiles]
    if name == "pdg_output":
        expected = item.expectedOutputFiles
        return expected[0].path if expected else ""
    raise KeyError(name)


def expand_attributes(text: str, item: WorkItem, where: str = "") -> str:
    """Replace every ``@name`` in ``text`` with the item's value; ``TokenError`` if unknown."""
    if "@" not in text:
        return text
    literals, refs = _template(text)
    parts = [literals[0]]
    for (name, index, _raw, _levels), literal in zip(refs, literals[1:], strict=True):
        parts.append(_joined(_value(item, name, index, where)))
        parts.append(literal)
    return "".join(parts)


def expand_command(text: str, item: WorkItem, where: str = "") -> str:
    """``expand_attributes`` for a command line: each value quoted for the shell at the place
    it lands (see the module's docstring); ``@name:raw`` as it is."""
    if "@" not in text:
        return text
    literals, refs = _template(text)
    parts = [literals[0]]
    for (name, index, raw, levels), literal in zip(refs, literals[1:], strict=True):
        value = _value(item, name, index, where)
        parts.append(_joined(value) if raw else _quoted(value, levels))
        parts.append(literal)
    return "".join(parts)


Ref = tuple[str, int, bool, tuple[str, ...]]  # name, index, :raw, the quotes it is in


@functools.lru_cache(maxsize=1024)
def _template(text: str) -> tuple[tuple[str, ...], tuple[Ref, ...]]:
    """``text`` cut at its references: the literal pieces around them (``\\@`` made ``@``)
    and each reference with the quotes it is in. A node's items share their parameter's
    text: it is read once, not once per item."""
    levels = _quote_levels(text)
    literals, refs, last = [], [], 0
    for match in _REF.finditer(text):
        literals.append(text[last:match.start()].replace("\\@", "@"))
        refs.append((match.group(1), int(match.group(2) or 0), bool(match.group(3)),
                     levels[match.start()]))
        last = match.end()
    literals.append(text[last:].replace("\\@", "@"))
    return tuple(literals), tuple(refs)


def _joined(value: str | list[str]) -> str:
    return value if isinstance(value, str) else " ".join(value)


def _value(item: WorkItem, name: str, index: int, where: str) -> str | list[str]:
    if item.hasAttrib(name):
        value = item.attribValue(name, index)
        if value is None:
            raise TokenError(f"{where}@{name}.{index}: attribute {name!r} of {item.name} "
                             f"has only {len(item.attribArray(name) or ())} value(s)")
        return _format(value)
    try:
        builtin = _builtin(item, name)
        return builtin if isinstance(builtin, list) else _format(builtin)
    except KeyError:
        known = sorted(item.attribNames()) + ["pdg_id", "pdg_index", "pdg_input",
                                              "pdg_name", "pdg_output"]
        raise TokenError(f"{where}@{name}: {item.name} has no attribute {name!r} "
                         f"(known: {', '.join(known)})") from None


_SCRIPT_BEFORE = re.compile(r"(?:^|\s)-c\s+$")  # a quoted string after -c is a shell script


def _quote_levels(text: str) -> list[tuple[str, ...]]:
    """For each position of ``text``, the quotes it is in at each shell that reads it: the
    command's own shell first, then the shell of each ``-c '...'`` script it is inside."""
    levels: list[tuple[str, ...]] = [("",)] * len(text)
    _scan(text, 0, len(text), (), levels)
    return levels


def _scan(text: str, start: int, end: int, outer: tuple[str, ...], levels: list) -> None:
    quote, opened, script, escaped = "", start, False, False
    for i in range(start, end):
        char = text[i]
        levels[i] = (*outer, quote)
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote and char == quote:
            if script:  # what the quotes hold is read again, by the shell of -c
                _scan(text, opened + 1, i, (*outer, quote), levels)
            quote = ""
        elif not quote and char in "'\"":
            quote, opened = char, i
            script = bool(_SCRIPT_BEFORE.search(text[start:i]))


def _quoted(value: str | list[str], levels: tuple[str, ...]) -> str:
    """``value`` as one literal word for the innermost shell (a list: a word for each of its
    values, or inside quotes there its values space-separated), escaped for each quote
    around it on the way out."""
    *outer, inner = levels
    if inner:
        value = _escaped(_joined(value), inner)
    elif isinstance(value, list):
        value = " ".join(shlex.quote(word) for word in value)
    else:
        value = shlex.quote(value)
    for quote in reversed(outer):
        value = _escaped(value, quote)
    return value


def _escaped(value: str, quote: str) -> str:
    if quote == "'":
        return value.replace("'", "'\\''")  # close, a literal ', open again
    return re.sub(r'([\\$`"])', r"\\\1", value)


def _format(value) -> str:
    if isinstance(value, float):
        return repr(round(value, 6)) if value != int(value) else str(int(value))
    return str(value)
