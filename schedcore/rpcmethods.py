"""What the result server makes of a call: the XML-RPC methods of Houdini's job helper
(``pdgcmd.py``, 18.5 and 19.5/20.x, with their real argument lists) and the JSON reports of
``pdgjob``, each turned into reports for the cook or into an answer.

A batch sub-item (a ``subindex`` of 0 or more) is reported as its item: this engine has no
batch items, so a job's sub-items are the item itself.
"""

from __future__ import annotations

import ast
import json
import math
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .reports import (
    Alive,
    AttributeArraySet,
    AttributeSet,
    CacheInvalidated,
    Canceled,
    CustomStateSet,
    Failed,
    ItemReport,
    LogAppended,
    OutputAdded,
    PercentSet,
    SharedServerStarted,
    Started,
    Succeeded,
    UsageReported,
)
from .usage import ItemUsage, UsageError
from .workitem import AttribType, WorkItemState


class ReportError(ValueError):
    """A report that is refused: the text says why."""


@dataclass
class Request:
    """One XML-RPC call being answered: the server, and for a call inside a
    ``system.multicall``, the item its sibling calls name (``sharedserver_started`` names
    none)."""

    server: Any  # the ResultServer: apply(report), sink, warn_once(key, text)
    hint: object = None

    def report(self, *reports: ItemReport) -> None:
        for report in reports:
            self.server.apply(report)


@dataclass(frozen=True)
class Method:
    arities: tuple[int, ...]  # argument counts accepted, the job id included
    run: Callable  # (request, *arguments but the job id) -> answer, None for True
    job_id: bool = True  # the last argument is the job id; without it, a query


# == argument conversions =================================================================
def _text(value) -> str:
    """Paths arrive as xmlrpc Binary (bytes) from Houdini's helper, or as strings."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8")
    if isinstance(value, xmlrpc.client.Binary):
        return value.data.decode("utf-8")
    if not isinstance(value, str):
        raise ReportError(f"expected text, got {type(value).__name__}")
    return value


def _seconds(value) -> float:
    seconds = float(value)
    if not math.isfinite(seconds):
        raise ReportError(f"a duration of {value!r} seconds")
    return seconds


def _output(ref, path, tag, checksum) -> OutputAdded:
    return OutputAdded(ref, _text(path), _text(tag) or "file", int(checksum))


def _outputs(ref, paths, tags, checksums) -> list[OutputAdded]:
    """``result_array``'s lists: 20.x sends no checksums (``[]``) unless the job gave them;
    a missing tag or checksum is "" or 0, as pdgcmd pads them."""
    if not all(isinstance(v, list) for v in (paths, tags, checksums)) \
            or len(tags) > len(paths) or len(checksums) > len(paths):
        raise ReportError("result_array takes a list of paths, and lists of tags and "
                          "checksums no longer than it")
    tags = tags + [""] * (len(paths) - len(tags))
    checksums = checksums + [0] * (len(paths) - len(checksums))
    return [_output(ref, *row) for row in zip(paths, tags, checksums, strict=True)]


# pdg.workItemLogType: Error, Warning and Message get a prefix, Raw (pdgcmd's default) none
_LOG_PREFIX = {0: "ERROR: ", 1: "WARNING: ", 2: ""}


def _log_text(text, log_type=3) -> str:
    text = _text(text)
    prefix = _LOG_PREFIX.get(int(log_type))
    if prefix is None:
        return text
    return prefix + _line(text)


def _line(text) -> str:
    text = _text(text)
    return text if text.endswith("\n") else text + "\n"


def _pyobject(value):
    """``setPyObjectAttrib`` sends ``repr()`` of an object: a Python literal is taken (code is
    never run here), and kept only if it is plain data the journal and ``--json`` can hold."""
    try:
        value = ast.literal_eval(_text(value)) if not isinstance(value, (dict, list)) \
            else value
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise ReportError("a Python object attribute must be the repr() of a literal "
                          "(numbers, text, lists, tuples, dicts, True/False/None)") from None
    return _plain(value)


def _plain(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _plain(v) for k, v in value.items()}
    raise ReportError(f"a {type(value).__name__} cannot be an attribute value here: only "
                      f"numbers, text, lists and dicts with text keys")


def _dict(value) -> dict:
    """``setDictAttrib`` sends a dictionary's string form: JSON, or a Python dict's repr."""
    if not isinstance(value, dict):
        text = _text(value)
        try:
            value = json.loads(text)
        except ValueError:
            value = _pyobject(text)
    if not isinstance(value, dict):
        raise ReportError("a dictionary attribute's value must be a dictionary")
    return _plain(value)


def _string(value) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return _text(value)


def _file(value) -> str:
    """A file attribute: its path (an object's fields arrive as a struct with ``path``)."""
    if isinstance(value, dict) and "path" in value:
        value = value["path"]
    return _string(value)


_CASTS: dict[AttribType, Callable[[Any], Any]] = {
    AttribType.Int: int, AttribType.Float: float, AttribType.String: _string,
    AttribType.File: _file, AttribType.PyObject: _pyobject, AttribType.Dict: _dict}


def attribute(ref, name, type: AttribType, value, index=0) -> AttributeSet:
    """An attribute report, its value converted to its type here: a bad one is refused at
    the door. The index is checked by the server (``checked_attrib_index``)."""
    return AttributeSet(ref, name, type, _cast(name, type, value), index)


def attribute_array(ref, name, type: AttribType, values) -> AttributeArraySet:
    if not isinstance(values, list):
        raise ReportError(f"attribute {name!r}: expected a list of values")
    return AttributeArraySet(ref, name, type, tuple(_cast(name, type, v) for v in values))


def _cast(name: str, type: AttribType, value):
    try:
        return _CASTS[type](value)
    except (TypeError, ValueError, OverflowError) as exc:
        why = f": {exc}" if isinstance(exc, ReportError) else ""
        raise ReportError(f"attribute {name!r}: {value!r} is not a {type.name}{why}") from None


def _written_type(values: list) -> AttribType:
    """``writeAttribute`` (deprecated) sends values without a type: its first decides."""
    first = values[0] if values else None
    if isinstance(first, bool) or isinstance(first, int):
        return AttribType.Int
    if isinstance(first, float):
        return AttribType.Float
    if isinstance(first, (str, bytes, bytearray)):
        return AttribType.String
    raise ReportError("write_attr takes a non-empty list of text, int or float values")


# == the methods ==========================================================================
def _attrib(type: AttribType) -> Method:
    def run(req, ref, subindex, name, value, index):
        req.report(attribute(ref, _text(name), type, value, index))
    return Method((6,), run)


def _attrib_array(type: AttribType) -> Method:
    def run(req, ref, subindex, name, values):
        req.report(attribute_array(ref, _text(name), type, values))
    return Method((5,), run)


def _pyobject_attrib(req, ref, subindex, name, value):
    req.report(attribute(ref, _text(name), AttribType.PyObject, value))


def _write_attr(req, item_name, name, values):
    if not isinstance(values, list):
        values = [values]
    req.report(attribute_array(_text(item_name), _text(name), _written_type(values), values))


def _success_and_results(req, ref, outputs, duration):
    req.report(*outputs, Succeeded(ref, _seconds(duration)))


def _append_log(req, ref, *args):
    """18.5 and 20.x: ``(id, subindex, text, log type)``; older helpers ``(id, text)``."""
    if len(args) == 1:
        req.report(LogAppended(ref, _log_text(args[0])))
    else:
        req.report(LogAppended(ref, _log_text(args[1], args[2])))


def _percent(req, ref, *args):
    """20.x: ``(id, subindex, percent)``; older helpers ``(id, percent)``."""
    percent = float(args[-1])
    if not math.isfinite(percent):
        raise ReportError(f"a cook percent of {args[-1]!r}")
    req.report(PercentSet(ref, percent))


def _shared_server(req, message):
    """``reportServerStarted`` sends the server (name, pid, host, port, proto_type) with no
    item: the item is the one its sibling ``result`` calls of the multicall name."""
    if not isinstance(message, dict) or not isinstance(message.get("name"), str) \
            or not isinstance(message.get("host"), str):
        raise ReportError("sharedserver_started takes {'name', 'pid', 'host', 'port', "
                          "'proto_type'}")
    if req.hint is None:
        raise ReportError("sharedserver_started names no work item: send it in a "
                          "system.multicall with the item's result calls, as pdgcmd's "
                          "reportServerStarted does")
    try:
        port = int(message.get("port"))
    except (TypeError, ValueError):
        raise ReportError(f"sharedserver_started: port {message.get('port')!r} is no "
                          f"number") from None
    info = {"host": message["host"], "port": port, "pid": message.get("pid"),
            "proto_type": message.get("proto_type", ""), "kind": "pdgcmd"}
    req.report(SharedServerStarted(req.hint, message["name"], info))


def _item(req, ref):
    item = req.server.sink.find_item(ref)
    if item is None:
        raise ReportError(f"no work item {ref!r} in this cook")
    return item


def _job_slots(req, ref):
    """A scheduler without slots has nothing to take back or give: the item must exist."""
    _item(req, ref)
    return True


def _check_ready(req, ref, subindex):
    """1: ready to cook (a running item is); 2: it cannot cook (failed or canceled), which
    makes pdgcmd's ``waitUntilReady`` stop instead of polling for ever."""
    state = _item(req, ref).state
    return 2 if state in (WorkItemState.CookedFail, WorkItemState.CookedCancel) else 1


def _add_sub_item(req, ref):
    """No batch items here: no sub item is added (-1), and the cook says so once."""
    item = _item(req, ref)
    req.server.warn_once((getattr(item, "id", ref), "add_sub_item_batch"),
                         f"{getattr(item, 'name', ref)}: the job asked to add a sub item to "
                         f"its batch (add_sub_item_batch); this cook has no batch items, so "
                         f"none was added", kind="add_sub_item_batch")
    return -1


def _workitem_json(req, ref, subindex):
    """The item as a job reads it from its data file (``serializeWorkItem``), as text."""
    item = _item(req, ref)
    serialize = getattr(req.server.sink, "serializeWorkItem", None) or (lambda i: i.to_json())
    for _ in range(3):  # the engine may change the item meanwhile: read again
        try:
            return json.dumps(serialize(item), default=str)
        except RuntimeError:
            continue
    raise ReportError(f"work item {ref!r} is changing too fast to be read; ask again")


def usage_report(ref, fields) -> UsageReported:
    """``workItemUsage``: what a job used and where it ran, as a struct (JSON object) of
    ``ItemUsage`` fields; a bad field is refused, naming it."""
    try:
        return UsageReported(ref, ItemUsage.from_json(fields))
    except UsageError as exc:
        raise ReportError(f"workItemUsage: {exc}") from None


def _failed(ref, reason: str = "") -> Failed:
    return Failed(ref, reason or "the job reported that it failed")


def _report(kind: Callable[[Any], ItemReport]):
    """A method that reports ``kind`` for the item it names, whatever else it sends."""
    return lambda req, ref, *ignored: req.report(kind(ref))


# method -> what it takes and does. Arguments are pdgcmd's, the job id last where it sends one.
XMLRPC_METHODS: dict[str, Method] = {
    "start_cook": Method((2,), _report(Started)),
    "start_cook_batch": Method((3,), _report(Started)),
    "success": Method((3,), lambda req, ref, d: req.report(Succeeded(ref, _seconds(d)))),
    "success_batch": Method((4,), lambda req, ref, sub, d:
                            req.report(Succeeded(ref, _seconds(d)))),
    "failed": Method((2,), _report(_failed)),
    "failed_batch": Method((3,), _report(_failed)),
    "cancelled": Method((2,), _report(Canceled)),
    "cancelled_batch": Method((3,), _report(Canceled)),
    "result": Method((5,), lambda req, ref, path, tag, checksum:
                     req.report(_output(ref, path, tag, checksum))),
    "result_batch": Method((6,), lambda req, ref, path, tag, sub, checksum:
                           req.report(_output(ref, path, tag, checksum))),
    "success_and_result": Method((6,), lambda req, ref, path, tag, checksum, duration:
                                 _success_and_results(req, ref, [_output(ref, path, tag,
                                                                         checksum)], duration)),
    "success_and_result_batch": Method(
        (7,), lambda req, ref, path, tag, sub, checksum, duration:
        _success_and_results(req, ref, [_output(ref, path, tag, checksum)], duration)),
    "result_array": Method((5,), lambda req, ref, paths, tags, sums:
                           req.report(*_outputs(ref, paths, tags, sums))),
    "result_array_batch": Method((6,), lambda req, ref, sub, paths, tags, sums:
                                 req.report(*_outputs(ref, paths, tags, sums))),
    **{f"set_{t.name.lower()}_attrib": _attrib(t) for t in AttribType
       if t != AttribType.PyObject},
    **{f"set_{t.name.lower()}_attrib_array": _attrib_array(t) for t in AttribType
       if t != AttribType.PyObject},
    "set_pyobject_attrib": Method((5,), _pyobject_attrib),
    "write_attr": Method((4,), _write_attr),
    "append_log": Method((3, 5), _append_log),
    "warning": Method((3,), lambda req, ref, text:
                      req.report(LogAppended(ref, "warning: " + _line(text)))),
    "keepalive": Method((2,), _report(Alive)),
    "set_cook_percent": Method((3, 4), _percent),
    "set_custom_state": Method((4,), lambda req, ref, sub, state:
                               req.report(CustomStateSet(ref, _text(state)))),
    "invalidate_cache": Method((3,), _report(CacheInvalidated)),
    "sharedserver_started": Method((2,), _shared_server),
    "acquire_job_slots": Method((2,), _job_slots),
    "release_job_slots": Method((2,), _job_slots),
    "check_ready_batch": Method((2,), _check_ready, job_id=False),
    "get_workitem_json": Method((2,), _workitem_json, job_id=False),
    "add_sub_item_batch": Method((1,), _add_sub_item, job_id=False),
    # ours, not Houdini's: workItemUsage(id, {field: value, ...}, jobid)
    "workItemUsage": Method((3,), lambda req, ref, fields: req.report(usage_report(ref, fields))),
}


def multicall_hint(calls: list):
    """The item a ``system.multicall``'s calls name (for ``sharedserver_started``)."""
    for call in calls:
        if isinstance(call, dict) and call.get("methodName") != "sharedserver_started" \
                and isinstance(call.get("params"), list) and call["params"]:
            return call["params"][0]
    return None


# == JSON reports (pdgjob) ================================================================
# kind -> (argument names, their checks); the value types a JSON report may carry
_FIELDS: dict[str, tuple[tuple[str, Any, Any], ...]] = {
    "start_cook": (),
    "success": (("duration", (int, float), 0.0),),
    "failed": (("reason", str, ""),),
    "cancelled": (),
    "result": (("path", str, None), ("tag", str, "file"), ("checksum", int, 0)),
    "attrib": (("name", str, None), ("type", str, None),
               ("value", (int, float, str, dict, list), None), ("index", int, 0)),
    "attrib_array": (("name", str, None), ("type", str, None), ("values", list, None)),
    "log": (("text", str, None),),
    "warning": (("text", str, None),),
    "keepalive": (),
    "percent": (("percent", (int, float), None),),
    "custom_state": (("state", str, None),),
    "invalidate_cache": (),
    # a shared server started by this item's job: its name and how to reach it
    "sharedserver": (("name", str, None), ("info", dict, None)),
    # what the job used and where it ran: ItemUsage's fields
    "usage": (("usage", dict, None),),
}


def json_report(report) -> ItemReport:
    """One JSON report, its values checked and cast."""
    if not isinstance(report, dict):
        raise ReportError("a report must be an object")
    kind = report.get("kind")
    fields = _FIELDS.get(kind) if isinstance(kind, str) else None
    if fields is None:
        raise ReportError(f"unknown report kind {kind!r} (known: {', '.join(sorted(_FIELDS))})")
    if "item" not in report:
        raise ReportError(f"{kind}: no 'item'")
    args = []
    for name, types, default in fields:
        value = report.get(name, default)
        if value is None or isinstance(value, bool) or not isinstance(value, types):
            raise ReportError(f"{kind}: field {name!r} missing or of the wrong type")
        args.append(value)
    if kind == "sharedserver" and not (isinstance(args[1].get("host"), str)
                                        and type(args[1].get("port")) is int):
        raise ReportError("sharedserver: 'info' needs a 'host' (text) and a 'port' (number)")
    if kind in ("attrib", "attrib_array"):
        try:
            args[1] = AttribType[args[1]]
        except KeyError:
            raise ReportError(f"{kind}: type {args[1]!r} is not one of "
                              f"{', '.join(t.name for t in AttribType)}") from None
    return _JSON_KINDS[str(kind)](report["item"], *args)


def _json_duration(ref, duration) -> Succeeded:
    return Succeeded(ref, _seconds(duration))


# the JSON kinds (pdgjob's wire words) as reports
_JSON_KINDS: dict[str, Callable[..., ItemReport]] = {
    "start_cook": Started, "success": _json_duration, "failed": _failed,
    "cancelled": Canceled, "result": OutputAdded, "attrib": attribute,
    "attrib_array": attribute_array, "log": LogAppended,
    "warning": lambda ref, text: LogAppended(ref, "warning: " + _line(text)),
    "keepalive": Alive, "percent": PercentSet, "custom_state": CustomStateSet,
    "invalidate_cache": CacheInvalidated, "sharedserver": SharedServerStarted,
    "usage": usage_report,
}
