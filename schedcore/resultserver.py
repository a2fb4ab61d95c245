"""The result server: jobs on any machine report their status over HTTP.

Two dialects on one port, both on the standard library's HTTP server (HTTP/1.1 keep-alive,
TCP_NODELAY):

- XML-RPC at ``/RPC2`` with Houdini's method names and argument order (reference §4), so a
  job using Houdini's own job helper reports unchanged; ``system.multicall`` included.
- ``POST /reports``: a JSON batch ``{"jobid", "reports": [{"rid", "item", "kind", ...}]}``;
  every report carries an idempotency id (``rid``) so a retried batch is applied once.

Only reports carrying this cook's job id are applied; the server only checks and forwards them
to its ``sink`` (the scheduler, which queues them for the engine). ``GET /`` lists the cook,
``/status/<id>`` answers an item's status as JSON (or HTML for a browser), ``/log/<id>`` its
log text.
"""

from __future__ import annotations

import hmac
import html
import http.server
import json
import logging
import socket
import threading
import time
import xmlrpc.client
from collections import OrderedDict
from typing import Protocol
from urllib.parse import urlparse

from .workitem import AttribIndexError, AttribType, WorkItem, checked_attrib_index

log = logging.getLogger(__name__)

MAX_BODY = 8 * 1024 * 1024      # bytes in one request
MAX_REPORTS = 20_000            # reports in one JSON batch
RATE = 2_000                    # requests per second per connection (burst: one second's)
REMEMBERED_RIDS = 2_000_000     # idempotency ids kept; the oldest are forgotten beyond
WARNED_ATTRIBS = 10_000         # (item, attribute) refusals warned about once in the cook


class ReportError(ValueError):
    """A report that is refused: the text says why."""


class Sink(Protocol):
    """What the server reports to: the scheduler of the cook."""

    def current_job_id(self) -> str: ...
    def find_item(self, ref) -> WorkItem | None: ...
    def apply_report(self, kind: str, item: WorkItem, *args) -> None: ...
    def all_items(self) -> list[WorkItem]: ...
    # optional: ``cookWarning(text)``, a warning in the cook (a Scheduler has it)


# kind -> (argument names, their checks); the value types a JSON report may carry
_FIELDS = {
    "start_cook": (),
    "success": (("duration", (int, float), 0.0),),
    "failed": (("reason", str, ""),),
    "cancelled": (),
    "result": (("path", str, None), ("tag", str, "file"), ("checksum", int, 0)),
    "attrib": (("name", str, None), ("type", str, None), ("value", (int, float, str), None),
               ("index", int, 0)),
    "attrib_array": (("name", str, None), ("type", str, None), ("values", list, None)),
    "log": (("text", str, None),),
    "warning": (("text", str, None),),
    "keepalive": (),
    "percent": (("percent", (int, float), None),),
    # a shared server started by this item's job: its name and how to reach it
    "sharedserver": (("name", str, None), ("info", dict, None)),
}


class ResultServer:
    """An HTTP server on its own threads; ``address`` is ``(host, port)`` it is bound to."""

    def __init__(self, sink: Sink, host: str = "127.0.0.1", port: int = 0, rate: int = RATE):
        self.sink = sink
        self.rate = rate  # requests per second per connection
        self._rids: OrderedDict[str, None] = OrderedDict()
        self._rids_lock = threading.Lock()
        self.refused = 0  # reports refused since start (wrong job id, unknown item, bad)
        self._warned: set[tuple] = set()
        self._warned_lock = threading.Lock()
        self._http = _HTTPServer((host, port), _Handler)
        self._http.owner = self
        self._thread = threading.Thread(target=self._http.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="schedcore-resultserver", daemon=True)
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        return self._http.server_address[:2]

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join()

    # -- applying reports (handler threads) ----------------------------------------------
    def check_job_id(self, job_id) -> None:
        expected = self.sink.current_job_id()
        if not isinstance(job_id, str) or not expected \
                or not hmac.compare_digest(job_id.encode(), expected.encode()):
            raise ReportError("job id refused: the report is not from a job of the "
                              "current cook (PDG_JOBID)")

    def apply(self, kind: str, ref, args: tuple, rid: str | None = None) -> str:
        """Check one report and forward it; returns "applied" or "duplicate"."""
        args = _cast_values(kind, args)
        item = self.sink.find_item(ref)
        if item is None:
            raise ReportError(f"no work item {ref!r} in this cook")
        if kind == "attrib":
            args = self._checked_index(item, args)
        if rid is not None:
            with self._rids_lock:
                if rid in self._rids:
                    return "duplicate"
                self._rids[rid] = None
                if len(self._rids) > REMEMBERED_RIDS:
                    self._rids.popitem(last=False)
        self.sink.apply_report(kind, item, *args)
        return "applied"

    def _checked_index(self, item: WorkItem, args: tuple) -> tuple:
        """The attribute report with its index checked here, before it reaches the engine:
        the job learns why, the cook gets a warning (once per item and attribute)."""
        name, type, value, index = args
        try:
            return name, type, value, checked_attrib_index(name, index)
        except AttribIndexError as exc:
            self._warn_once((getattr(item, "id", None), name),
                            f"{getattr(item, 'name', item)}: attribute report refused: {exc}")
            raise ReportError(str(exc)) from None

    def _warn_once(self, key: tuple, text: str) -> None:
        with self._warned_lock:
            if key in self._warned:
                return
            if len(self._warned) < WARNED_ATTRIBS:
                self._warned.add(key)
        warn = getattr(self.sink, "cookWarning", None)
        try:
            if warn is not None:
                warn(text)
        except RuntimeError:  # the cook has just ended: the log below still has it
            log.warning("result server: %s", text)

    def refuse(self, why: str, peer) -> None:
        self.refused += 1
        log.warning("result server: refused a report from %s: %s", peer, why)


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    owner: ResultServer


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive
    server_version = "schedcore-resultserver"
    timeout = 120                   # an idle connection is closed after this many seconds
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._rate = self.server.owner.rate
        self._tokens, self._refilled = float(self._rate), time.monotonic()

    def log_message(self, format, *args) -> None:  # noqa: A002 -- the base class's name
        log.debug("result server: %s " + format, self.client_address[0], *args)

    # -- plumbing ------------------------------------------------------------------------
    def _reply(self, code: int, body: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, code: int, data) -> None:
        self._reply(code, json.dumps(data).encode(), "application/json")

    def _error(self, code: int, message: str) -> None:
        self.server.owner.refuse(message, self.client_address[0])
        self._json(code, {"error": message})

    def _allowed(self) -> bool:
        """Token bucket per connection: ``rate`` requests a second."""
        now = time.monotonic()
        self._tokens = min(self._rate, self._tokens + (now - self._refilled) * self._rate)
        self._refilled = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    def _body(self) -> bytes | None:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.close_connection = True
            self._error(411, "a Content-Length header is required")
            return None
        if int(length) > MAX_BODY:
            self.close_connection = True  # the body is not read: the connection is spent
            self._error(413, f"request of {length} bytes refused: at most {MAX_BODY}")
            return None
        return self.rfile.read(int(length))

    # -- POST: reports -----------------------------------------------------------------
    def do_POST(self) -> None:
        if not self._allowed():
            self.close_connection = True
            self._error(429, f"too many requests: at most {self._rate} a second per "
                             f"connection")
            return
        body = self._body()
        if body is None:
            return
        path = urlparse(self.path).path
        if path in ("/RPC2", "/", "/RPC2/"):
            self._xmlrpc(body)
        elif path == "/reports":
            self._reports(body)
        else:
            self._error(404, f"no endpoint {path}: POST to /RPC2 (XML-RPC) or /reports (JSON)")

    def _xmlrpc(self, body: bytes) -> None:
        try:
            params, method = xmlrpc.client.loads(body, use_builtin_types=True)
        except Exception as exc:  # expat, or an XML-RPC structure it cannot read
            self._error(400, f"malformed XML-RPC request: {exc}")
            return
        if method == "system.multicall":
            answer = self._multicall(params)
        else:
            answer = self._call(method, params)
        if isinstance(answer, xmlrpc.client.Fault):
            data = xmlrpc.client.dumps(answer, methodresponse=True, allow_none=True)
        else:
            data = xmlrpc.client.dumps((answer,), methodresponse=True, allow_none=True)
        self._reply(200, data.encode(), "text/xml")

    def _multicall(self, params):
        if len(params) != 1 or not isinstance(params[0], list):
            return xmlrpc.client.Fault(1, "system.multicall takes one list of calls")
        results = []
        for call in params[0]:
            if not isinstance(call, dict) or not isinstance(call.get("params"), list):
                results.append({"faultCode": 1, "faultString": "expected "
                                "{'methodName': ..., 'params': [...]}"})
                continue
            answer = self._call(call.get("methodName"), tuple(call["params"]))
            if isinstance(answer, xmlrpc.client.Fault):
                results.append({"faultCode": answer.faultCode,
                                "faultString": answer.faultString})
            else:
                results.append([answer])
        return results

    def _call(self, method, params):
        owner = self.server.owner
        handler = XMLRPC_METHODS.get(method) if isinstance(method, str) else None
        if handler is None:
            known = ", ".join(sorted(XMLRPC_METHODS))
            owner.refuse(f"unknown method {method!r}", self.client_address[0])
            return xmlrpc.client.Fault(1, f"unknown method {method!r} (known: {known})")
        try:
            arity, convert = handler
            if len(params) != arity:
                raise ReportError(f"{method} takes {arity} arguments, got {len(params)}")
            owner.check_job_id(params[-1])
            kind, ref, args = convert(*params[:-1])
            owner.apply(kind, ref, args)
            return True
        except (ReportError, TypeError, ValueError, OverflowError) as exc:  # int(inf): Overflow
            owner.refuse(f"{method}: {exc}", self.client_address[0])
            return xmlrpc.client.Fault(2, f"{method}: {exc}")

    def _reports(self, body: bytes) -> None:
        owner = self.server.owner
        try:
            batch = json.loads(body)
        except ValueError as exc:
            self._error(400, f"malformed JSON: {exc}")
            return
        if not isinstance(batch, dict) or not isinstance(batch.get("reports"), list):
            self._error(400, 'expected {"jobid": ..., "reports": [...]}')
            return
        if len(batch["reports"]) > MAX_REPORTS:
            self._error(413, f"{len(batch['reports'])} reports in one batch: at most "
                             f"{MAX_REPORTS}")
            return
        try:
            owner.check_job_id(batch.get("jobid"))
        except ReportError as exc:
            self._error(403, str(exc))
            return
        results = []
        for report in batch["reports"]:
            rid = report.get("rid") if isinstance(report, dict) else None
            try:
                kind, ref, args = _json_report(report)
                results.append({"rid": rid, "status": owner.apply(kind, ref, args, rid)})
            except ReportError as exc:
                owner.refuse(str(exc), self.client_address[0])
                results.append({"rid": rid, "status": "error", "error": str(exc)})
        self._json(200, {"results": results})

    # -- GET: status, logs ---------------------------------------------------------------
    def do_GET(self) -> None:
        if not self._allowed():
            self.close_connection = True
            self._error(429, f"too many requests: at most {self._rate} a second per "
                             f"connection")
            return
        url = urlparse(self.path)
        parts = [p for p in url.path.split("/") if p]
        sink = self.server.owner.sink
        wants_html = "html" in url.query or "text/html" in self.headers.get("Accept", "")
        if not parts:
            items = [_status(item) for item in sink.all_items()]
            if wants_html:
                self._reply(200, _cook_page(items).encode(), "text/html; charset=utf-8")
            else:
                self._json(200, {"items": items})
            return
        if len(parts) == 2 and parts[0] in ("status", "log"):
            item = sink.find_item(parts[1])
            if item is None:
                self._json(404, {"error": f"no work item {parts[1]!r} in this cook"})
            elif parts[0] == "log":
                self._reply(200, _log_text(item).encode(), "text/plain; charset=utf-8")
            elif wants_html:
                self._reply(200, _item_page(_status(item)).encode(), "text/html; charset=utf-8")
            else:
                self._json(200, _status(item))
            return
        self._json(404, {"error": f"no page {url.path}: try /, /status/<id> or /log/<id>"})


# == reports: XML-RPC arguments and JSON fields -> (kind, item, args) =====================
def _text(value) -> str:
    """Paths arrive as xmlrpc Binary (bytes) from Houdini's helper, or as strings."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8")
    if isinstance(value, xmlrpc.client.Binary):
        return value.data.decode("utf-8")
    if not isinstance(value, str):
        raise ReportError(f"expected text, got {type(value).__name__}")
    return value


def _attrib(kind: AttribType):
    def convert(ref, subindex, name, value, index):
        return "attrib", ref, (_text(name), kind, value, index)  # index: checked in apply
    return 6, convert


def _attrib_array(kind: AttribType):
    def convert(ref, subindex, name, values):
        if not isinstance(values, list):
            raise ReportError("expected a list of values")
        return "attrib_array", ref, (_text(name), kind, values)
    return 5, convert


def _results(ref, paths, tags, checksums):
    if not (isinstance(paths, list) and isinstance(tags, list)
            and isinstance(checksums, list) and len(paths) == len(tags) == len(checksums)):
        raise ReportError("result_array takes three lists of the same length")
    return "results", ref, (tuple((_text(p), _text(t), int(c))
                                  for p, t, c in zip(paths, tags, checksums, strict=True)),)


# method -> (argument count including the job id, converter of the other arguments)
XMLRPC_METHODS = {
    "start_cook": (2, lambda ref: ("start_cook", ref, ())),
    "start_cook_batch": (3, lambda ref, sub: ("start_cook", ref, ())),
    "success": (3, lambda ref, duration: ("success", ref, (float(duration),))),
    "success_batch": (4, lambda ref, sub, duration: ("success", ref, (float(duration),))),
    "failed": (2, lambda ref: ("failed", ref, ("",))),
    "failed_batch": (3, lambda ref, sub: ("failed", ref, ("",))),
    "cancelled": (2, lambda ref: ("cancelled", ref, ())),
    "cancelled_batch": (3, lambda ref, sub: ("cancelled", ref, ())),
    "result": (5, lambda ref, path, tag, checksum:
               ("result", ref, (_text(path), _text(tag), int(checksum)))),
    "success_and_result": (6, lambda ref, path, tag, checksum, duration:
                           ("results_success", ref,
                            (((_text(path), _text(tag), int(checksum)),), float(duration)))),
    "result_array": (5, _results),
    "set_string_attrib": _attrib(AttribType.String),
    "set_int_attrib": _attrib(AttribType.Int),
    "set_float_attrib": _attrib(AttribType.Float),
    "set_file_attrib": _attrib(AttribType.File),
    "set_string_attrib_array": _attrib_array(AttribType.String),
    "set_int_attrib_array": _attrib_array(AttribType.Int),
    "set_float_attrib_array": _attrib_array(AttribType.Float),
    "set_file_attrib_array": _attrib_array(AttribType.File),
    "append_log": (3, lambda ref, text: ("log", ref, (_text(text),))),
    "warning": (3, lambda ref, text: ("warning", ref, (_text(text),))),
    "keepalive": (2, lambda ref: ("keepalive", ref, ())),
    "set_cook_percent": (3, lambda ref, percent: ("percent", ref, (float(percent),))),
}


def _json_report(report) -> tuple[str, object, tuple]:
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
    return kind, report["item"], tuple(args)


_CASTS = {AttribType.Int: int, AttribType.Float: float, AttribType.String: str,
          AttribType.File: str}


def _cast_values(kind: str, args: tuple) -> tuple:
    """Attribute values converted to their type here, so a bad one is refused at the door."""
    if kind not in ("attrib", "attrib_array"):
        return args
    name, type, value = args[:3]
    cast = _CASTS.get(type)
    if cast is None:
        raise ReportError(f"attribute {name!r}: type {type.name} cannot be reported")
    try:
        if kind == "attrib":
            return (name, type, cast(value), *args[3:])
        return (name, type, [cast(v) for v in value])
    except (TypeError, ValueError):
        raise ReportError(f"attribute {name!r}: {value!r} is not a {type.name}") from None


# == status pages ==========================================================================
def _status(item: WorkItem) -> dict:
    for _ in range(3):  # the engine may change the item meanwhile: read again
        try:
            data = item.to_json()
            break
        except RuntimeError:
            continue
    else:
        data = {"id": item.id, "name": item.name, "state": item.state.name}
    data.pop("command", None)
    return data


def _log_text(item: WorkItem) -> str:
    if item.log_file:
        try:
            with open(item.log_file, encoding="utf-8", errors="replace") as handle:
                return handle.read()
        except OSError as exc:
            return f"(the log {item.log_file} cannot be read: {exc.strerror})\n"
    return item.log or "(no log)\n"


def _cook_page(items: list[dict]) -> str:
    rows = "".join(f"<tr><td><a href='/status/{i['id']}?html'>{html.escape(i['name'])}</a>"
                   f"</td><td>{html.escape(i['node'])}</td><td>{i['state']}</td></tr>"
                   for i in items)
    return (f"<!doctype html><title>cook</title><h1>{len(items)} work items</h1>"
            f"<table><tr><th>item</th><th>node</th><th>state</th></tr>{rows}</table>")


def _item_page(data: dict) -> str:
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td><pre>"
                   f"{html.escape(json.dumps(v, indent=1))}</pre></td></tr>"
                   for k, v in data.items())
    return (f"<!doctype html><title>{html.escape(data['name'])}</title>"
            f"<h1>{html.escape(data['name'])}: {data['state']}</h1>"
            f"<p><a href='/log/{data['id']}'>log</a> · <a href='/?html'>cook</a></p>"
            f"<table>{rows}</table>")
