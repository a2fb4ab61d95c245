"""``@attribute`` references in node parameters (``echo @wedgeindex > out_@pdg_index.txt``).

``@name`` is the first value of attribute ``name``; ``@name.2`` the value at index 2; the
built-ins ``@pdg_id``, ``@pdg_name``, ``@pdg_index``, ``@pdg_frame``, ``@pdg_input`` (first
input file), ``@pdg_inputs`` (all, space-separated) and ``@pdg_output`` (first expected output).
``\\@`` is a literal ``@``; an ``@`` right after a letter or digit (``a@b.org``) is left alone,
after ``_`` it is not (``shape_@wedgeindex.svg``).
"""

from __future__ import annotations

import re

from .workitem import WorkItem

_REF = re.compile(r"(?<![A-Za-z0-9\\])@([A-Za-z_]\w*)(?:\.(\d+))?")


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
    if name == "pdg_inputs":
        return " ".join(o.path for o in item.inputFiles)
    if name == "pdg_output":
        expected = item.expectedOutputFiles
        return expected[0].path if expected else ""
    raise KeyError(name)


def expand_attributes(text: str, item: WorkItem, where: str = "") -> str:
    """Replace every ``@name`` in ``text`` with the item's value; ``TokenError`` if unknown."""
    if "@" not in text:
        return text

    def sub(match: re.Match) -> str:
        name, index = match.group(1), int(match.group(2) or 0)
        if item.hasAttrib(name):
            value = item.attribValue(name, index)
            if value is None:
                raise TokenError(f"{where}@{name}.{index}: attribute {name!r} of {item.name} "
                                 f"has only {len(item.attribArray(name))} value(s)")
            return _format(value)
        try:
            return _format(_builtin(item, name))
        except KeyError:
            known = sorted(item.attribNames()) + ["pdg_id", "pdg_index", "pdg_input",
                                                  "pdg_name", "pdg_output"]
            raise TokenError(f"{where}@{name}: {item.name} has no attribute {name!r} "
                             f"(known: {', '.join(known)})") from None

    return _REF.sub(sub, text).replace("\\@", "@")


def _format(value) -> str:
    if isinstance(value, float):
        return repr(round(value, 6)) if value != int(value) else str(int(value))
    return str(value)
