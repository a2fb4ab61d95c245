"""The built-in TOP node types, by Houdini's names."""

from __future__ import annotations

import os

from ..parms import ParmSet, ParmTemplate, expand_vars
from ..tokens import expand_attributes, expand_command
from ..workitem import WorkItem
from .base import GENERATE_WHEN, NodeType, canceled
from .patterns import Canceled, match


def _expand(parms: ParmSet, name: str, item: WorkItem, expand=expand_attributes) -> str:
    return expand(expand_vars(str(parms.raw(name)), parms.hip), item,
                  where=f"parameter {name!r}: ")


def _check_wedge_attributes(spec) -> list[str]:
    if not isinstance(spec, list):
        return ["expected a list of wedge attributes"]
    problems = []
    for i, attr in enumerate(spec):
        if not isinstance(attr, dict) or not isinstance(attr.get("name"), str):
            problems.append(f"[{i}]: expected an object with a 'name'")
        elif attr.get("type", "float") in ("int", "float"):
            for key in ("start", "end"):
                if not isinstance(attr.get(key, 0), (int, float)):
                    problems.append(f"[{i}].{key}: expected a number")
        elif attr["type"] == "string":
            if not isinstance(attr.get("values"), list) or not attr["values"]:
                problems.append(f"[{i}].values: expected a non-empty list of strings")
        else:
            problems.append(f"[{i}].type: expected 'int', 'float' or 'string', "
                            f"got {attr['type']!r}")
    return problems


class GenericGenerator(NodeType):
    type_name = "genericgenerator"
    label = "Generic Generator"
    description = "Runs a command for each item: itemcount items, or that many per upstream item."
    count_parm = "itemcount"
    parm_templates = [
        ParmTemplate("itemcount", "int", 1, "Item Count",
                     "Items to make (per upstream item when the node has inputs)."),
        ParmTemplate("command", "string", "", "Command",
                     "The command each item runs. @attribute and __PDG_*__ tokens expand; "
                     "shell syntax (pipes, redirection) runs through /bin/sh."),
        ParmTemplate("outputfile", "string", "", "Expected Output File",
                     "A file the command writes; it becomes the item's output when it exists."),
        ParmTemplate("priority", "int", 0, "Priority", "Higher runs first."),
        GENERATE_WHEN,
    ]

    def generate(self, parms, upstream, make):
        deps = (upstream,) if upstream is not None else ()
        for i in range(parms.int("itemcount")):
            index = upstream.index if upstream is not None and parms.int("itemcount") == 1 else i
            item = make(index, deps)
            item.priority = parms.raw("priority")

    def prepare(self, parms, item):
        if parms.raw("outputfile"):
            item.addExpectedOutputFile(_expand(parms, "outputfile", item))
        item.command = _expand(parms, "command", item, expand_command)


class Wedge(NodeType):
    type_name = "wedge"
    label = "Wedge"
    description = "Makes wedgecount variations, each with wedge attributes over ranges or lists."
    in_process = True
    count_parm = "wedgecount"
    parm_templates = [
        ParmTemplate("wedgecount", "int", 4, "Wedge Count", "Variations per upstream item."),
        ParmTemplate("wedgeattributes", "json", [], "Wedge Attributes",
                     'A list of {"name", "type": "int"|"float", "start", "end"} ranges '
                     'and {"name", "type": "string", "values": [...]} lists.',
                     validate=_check_wedge_attributes),
        GENERATE_WHEN,
    ]

    def generate(self, parms, upstream, make):
        count = parms.int("wedgecount")
        deps = (upstream,) if upstream is not None else ()
        for i in range(count):
            item = make(i, deps)
            item.setIntAttrib("wedgeindex", i)
            item.setIntAttrib("wedgecount", count)
            for attr in parms.raw("wedgeattributes"):
                kind = attr.get("type", "float")
                if kind == "string":
                    values = attr["values"]
                    item.setStringAttrib(attr["name"], values[i % len(values)])
                    continue
                start, end = attr.get("start", 0), attr.get("end", 1)
                value = start + (end - start) * (i / (count - 1) if count > 1 else 0.0)
                if kind == "int":
                    item.setIntAttrib(attr["name"], round(value))
                else:
                    item.setFloatAttrib(attr["name"], value)


class FilePattern(NodeType):
    type_name = "filepattern"
    label = "File Pattern"
    description = "One item per file matching a pattern; the file is the item's output."
    in_process = True
    parm_templates = [
        ParmTemplate("pattern", "string", "$HIP/*", "Pattern",
                     "A glob (** for sub-folders); $HIP and @attributes expand."),
        ParmTemplate("tag", "string", "file", "File Tag", "The tag of each matched file."),
        GENERATE_WHEN,
    ]

    def is_dynamic(self, parms, has_inputs):
        # upstream items may write the files the pattern finds: wait for them by default
        when = parms.raw("generatewhen")
        return has_inputs and when in ("automatic", "eachupstreamcooked")

    def generate(self, parms, upstream, make):
        pattern = expand_vars(parms.raw("pattern"), parms.hip)
        if upstream is not None:
            pattern = expand_attributes(pattern, upstream, "parameter 'pattern': ")
        if not os.path.isabs(pattern):
            pattern = os.path.join(parms.hip, pattern)
        deps = (upstream,) if upstream is not None else ()
        try:  # symbolic links to folders are followed, loops not; a cancel stops the walk
            paths = match(pattern, lambda: canceled(make))
        except Canceled:
            return  # the cook is being canceled: nothing to make
        for i, path in enumerate(paths):
            if os.path.isfile(path):
                item = make(i, deps)
                item.setFileAttrib("filename", path)
                item.addOutputFile(path, parms.raw("tag"))


class PythonScript(NodeType):
    type_name = "pythonscript"
    label = "Python Script"
    description = "Runs Python code for each item as a job; outputs and attributes come back."
    parm_templates = [
        ParmTemplate("script", "code", "# work_item: this item (attribValue, inputFiles,\n"
                     "#   addOutputFile, setIntAttrib, setFloatAttrib, setStringAttrib...)\n",
                     "Script", "Python run for each item in its own process."),
        ParmTemplate("priority", "int", 0, "Priority", "Higher runs first."),
        GENERATE_WHEN,
    ]

    def generate(self, parms, upstream, make):
        item = make(upstream.index if upstream else 0, (upstream,) if upstream else ())
        item.priority = parms.raw("priority")

    def prepare(self, parms, item):
        item.command = '"__PDG_PYTHON__" "__PDG_SCRIPTDIR__/pdgjob_python.py"'

    def payload(self, parms, item):
        return {"script": parms.raw("script"), "script_name": f"<{item.node} script>"}


class WaitForAll(NodeType):
    type_name = "waitforall"
    label = "Wait for All"
    description = "One partition item that waits for every upstream item; their outputs are its."
    in_process = True
    partition = True
    whole = True
    parm_templates = []

    def generate_partition(self, parms, upstream, make):
        upstream = upstream or ()
        item = make(0, tuple(upstream))
        item.setIntAttrib("partitionsize", len(upstream))

    def prepare(self, parms, item):
        for output in item.inputFiles:
            item.addOutputFile(output.path, output.tag, output.checksum)


NODE_TYPE_CLASSES = [GenericGenerator, Wedge, FilePattern, PythonScript, WaitForAll]
