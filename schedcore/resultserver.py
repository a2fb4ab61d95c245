"""The result server: jobs on any machine report their status over HTTP.

Two dialects on one port, both on the standard library's HTTP server (HTTP/1.1 keep-alive,
TCP_NODELAY):

- XML-RPC at ``/RPC2`` with Houdini's method names and argument order (reference §4), so a
  job using Houdini's own job helper reports unchanged; ``system.multicall`` included.
- ``POST /reports``: a JSON batch ``{"jobid", "reports": [{"rid", "item", "kind", ...}]}``;
  every report carries an idempotency id (``rid``) so a retried batch is applied once.

Only reports from this cook's jobs are applied: a report carries the cook's secret as its job
id, or as HTTP Basic authorization, which ``xmlrpc.client`` sends for the ``<secret>@`` of the
address jobs are given (``<secret>@host:port``), so a scheduler may put its own job ids in
``PDG_JOBID``; or it comes from a peer that stands in for the secret (``peers``: a process of
the cook's own user on this machine, a host of ``pdg_trustedhosts``). Jobs get a bare
``host:port`` where every peer that can connect is known: on loopback (the kernel names each
connection's user) or when every host is trusted.

The server only checks and forwards reports to its ``sink`` (the scheduler, which queues
them for the engine); ``rpcmethods`` says what each call means. ``GET /`` lists
the cook, ``/status/<id>`` answers an item's status as JSON (or HTML for a browser),
``/log/<id>`` its log text. Every read of item data needs a credential, on loopback too
(there every user of the machine is an outsider): queries the secret, pages the secret or
the read key of the status URIs; without one, a 401 that says only that the server is up.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import http.server
import json
import logging
import os
import selectors
import socket
import threading
import time
import xmlrpc.client
from collections import OrderedDict
from dataclasses import replace
from typing import Protocol

from . import resultpages as pages
from .errors import CookError
from .httpserver import IDLE_TIMEOUT, GuardedHTTPServer
from .peers import TrustedHosts, is_loopback, owners_known, socket_owner
from .reports import Alive, AttributeSet, ItemReport, LogAppended, OutputAdded, Report
from .resultpages import BadRequest, item_ref, parse_query, parse_url, short
from .rpcmethods import XMLRPC_METHODS, ReportError, Request, json_report, multicall_hint
from .workitem import MAX_OUTPUTS, AttribIndexError, WorkItem, checked_attrib_index

log = logging.getLogger(__name__)

MAX_BODY = 8 * 1024 * 1024      # bytes in one request
MAX_OPEN_BODY = 256 * 1024      # bytes in one request without the secret as authorization
MIN_BODY_RATE = 16 * 1024       # bytes a second a body must average, after the grace below
BODY_GRACE = 5.0                # seconds a body may take before the rate is asked of it
MAX_REPORTS = 20_000            # reports in one JSON batch
RATE = 2_000                    # requests per second per connection (burst: one second's)
REMEMBERED_RIDS = 2_000_000     # idempotency ids kept; the oldest are forgotten beyond
WARNED_ATTRIBS = 10_000         # (item, attribute) refusals remembered, each warned once
FIRST_WARNINGS = 5              # refusals of one kind warned one by one; the rest are counted
WARN_DELAY = 1.0                # ... and said as one warning a second later, and at the end
MAX_LOG = 16 * 1024 * 1024      # bytes of an item's log its reports may append
RENDERS = 4                     # pages being made at once (the rest wait, then 503)
RENDER_WAIT = 5.0               # seconds a page waits for its turn
LOG_CUT = ("\n[schedcore: this item's log reached {limit} MB from its reports; what it sent "
           "after that was not kept]\n")

REFUSED = ("job id refused: the report is not from a job of the current cook: it carries "
           "neither the cook's PDG_JOBID nor its secret, from neither the cook's user on "
           "this machine nor a host of pdg_trustedhosts. Jobs send the secret when they "
           "report to $PDG_RESULT_SERVER as given (<secret>@host:port). A scheduler that "
           "builds its own address must keep its '<secret>@', or list the farm's hosts or "
           "network in pdg_trustedhosts")
UNAUTHORIZED = ("this result server answers only its cook: its pages need the read key "
                "of the status URIs the cook hands out (?key=...), and its queries the cook's "
                "secret, the part before '@' of $PDG_RESULT_SERVER, as HTTP Basic "
                "authorization")
UP = "schedcore result server: up"  # all a caller without a credential learns


class Sink(Protocol):
    """What the server reports to: the scheduler of the cook."""

    def current_job_id(self) -> str: ...
    def find_item(self, ref) -> WorkItem | None: ...
    def post_report(self, report: Report) -> None: ...
    def all_items(self) -> list[WorkItem]: ...
    # optional: ``cookWarning(text)``, a warning in the cook (a Scheduler has it)


class ResultServer:
    """An HTTP server on its own threads; ``address`` is ``(host, port)`` it is bound to."""

    # processes of the cook's user on this machine stand in for the secret; False makes
    # every peer an outsider unless it is a trusted host (a test, from the cook's own user)
    own_user_trusted = True

    def __init__(self, sink: Sink, host: str = "127.0.0.1", port: int = 0, rate: int = RATE,
                 idle_timeout: float = IDLE_TIMEOUT, max_connections: int | None = None,
                 min_body_rate: int = MIN_BODY_RATE, body_grace: float = BODY_GRACE,
                 trusted: TrustedHosts | None = None):
        self.sink = sink
        self.trusted = trusted or TrustedHosts()
        self.rate = rate  # requests per second per connection
        # a body must come at min_body_rate bytes a second on average, after body_grace s
        self.min_body_rate, self.body_grace = min_body_rate, body_grace
        self._rids: OrderedDict[str, None] = OrderedDict()
        self._rids_lock = threading.Lock()
        self.refused = 0  # reports refused since start (wrong job id, unknown item, bad)
        self._refusals = _Refusals()
        self._warned: set[tuple] = set()
        self._warned_lock = threading.Lock()
        self._warnings: dict[str, list] = {}  # kind: [warned, unwarned, last text]
        self._warn_later: threading.Timer | None = None
        self._logged: dict[int, int] = {}  # item id: bytes of log its reports appended
        self._logged_lock = threading.Lock()
        self._outputs_taken: dict[int, int] = {}  # item id: new outputs its reports added
        self._outputs_lock = threading.Lock()
        self.renders = threading.BoundedSemaphore(RENDERS)
        self._http = _listen(host, port, max_connections, idle_timeout)
        self._http.owner = self
        self._stopping = False
        self._wake_read, self._wake_write = os.pipe()
        self._thread = threading.Thread(target=self._serve, name="schedcore-resultserver",
                                        daemon=True)
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._http.server_address[:2]
        return str(host), int(port)

    def stop(self) -> None:
        """Stop at once: the loop is woken, not polled (``serve_forever`` looks for a stop
        every poll interval, which every cook paid at its end)."""
        if self._stopping:
            return
        self._stopping = True
        os.write(self._wake_write, b"x")
        self._thread.join()
        self._http.server_close()
        self._http.close_connections()
        self._refusals.say_unshown()
        self._say_unwarned(last=True)
        os.close(self._wake_read)
        os.close(self._wake_write)

    def _serve(self) -> None:
        """``serve_forever`` that sleeps until a connection comes or ``stop`` wakes it."""
        with selectors.DefaultSelector() as selector:
            selector.register(self._http, selectors.EVENT_READ)
            selector.register(self._wake_read, selectors.EVENT_READ)
            while not self._stopping:
                for key, _events in selector.select():
                    if key.fileobj is self._http and not self._stopping:
                        # socketserver's own step of serve_forever (not in its stubs)
                        self._http._handle_request_noblock()  # type: ignore[attr-defined]
                self._http.service_actions()

    @property
    def http(self) -> GuardedHTTPServer:
        """The HTTP server: its limits and counters (``connections()``, ``evicted``...)."""
        return self._http

    def find(self, ref) -> WorkItem | None:
        """The item a report or a URL names; None for a reference no item can have."""
        if isinstance(ref, str):
            ref = item_ref(ref)
        elif type(ref) is int and not 0 <= ref < 10**18:
            ref = None
        return None if ref is None else self.sink.find_item(ref)

    # -- applying reports (handler threads) ----------------------------------------------
    def authorized(self, header: str | None) -> bool:
        """Whether an ``Authorization: Basic`` header carries the cook's secret, as its user
        name (what ``xmlrpc.client`` sends for ``<secret>@host:port``) or its password."""
        scheme, _, value = (header or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, _, password = decoded.partition(":")
        return self._is_secret(user) or self._is_secret(password)

    def trusts(self, peer: tuple, server_side: tuple) -> bool:
        """Whether a connection stands in for the secret (``peers``): a process of the cook's
        own user on this machine, or a host of ``pdg_trustedhosts``."""
        return self.trusted.admits(str(peer[0])) or (
            self.own_user_trusted and socket_owner(peer, server_side) == os.geteuid())

    @property
    def needs_secret(self) -> bool:
        """Whether jobs must carry the secret: some host that could connect is neither
        trusted nor known to be running as the cook's user."""
        host = self.address[0]
        if self.trusted.everyone:
            return False
        return not (is_loopback(host) and self.own_user_trusted and owners_known())

    def _is_secret(self, text) -> bool:
        expected = self.sink.current_job_id()
        return isinstance(text, str) and bool(expected) and \
            hmac.compare_digest(text.encode(), expected.encode())

    def check_job_id(self, job_id, authorized: bool = False) -> None:
        """A report is taken when its job id is the cook's secret, or its request carried
        the secret (then the job id is the scheduler's to choose)."""
        if not authorized and not self._is_secret(job_id):
            raise ReportError(REFUSED)

    def read_key(self) -> str:
        """A credential for the pages only, carried in the status URIs the cook hands out
        (``?key=``): whoever sees a URI may read, never report. Derived from the cook's
        secret, so it changes with every cook."""
        secret = self.sink.current_job_id()
        return hmac.new(secret.encode(), b"schedcore pages", "sha256").hexdigest()[:32] \
            if secret else ""

    def check_reader(self, authorized: bool, key: str = "") -> None:
        """Pages and queries need the secret (pages: or the read key), wherever the server
        listens: on loopback every user of this machine can connect, and an item's data
        carries what its job needs (a shared server's token among it)."""
        if authorized:
            return
        expected = self.read_key()
        if not (key and expected and hmac.compare_digest(key.encode(), expected.encode())):
            raise ReportError(UNAUTHORIZED)

    def apply(self, report: ItemReport, rid: str | None = None) -> str:
        """Check one report (its values cast already) and forward it to the cook, naming its
        item by id; returns "applied" or "duplicate"."""
        item = self.find(report.item)
        if item is None:
            raise ReportError(f"no work item {short(repr(report.item))} in this cook")
        if isinstance(report, AttributeSet):
            report = self._checked_index(item, report)
        new_output = isinstance(report, OutputAdded) and self._new_output(item, report)
        if rid is not None:
            with self._rids_lock:
                if rid in self._rids:
                    return "duplicate"
                self._rids[rid] = None
                if len(self._rids) > REMEMBERED_RIDS:
                    self._rids.popitem(last=False)
        if new_output:
            self._take_output(item)
        if isinstance(report, LogAppended):
            text = self._capped_log(item, report.text)
            if text is None:
                return "applied"  # beyond the item's log limit: not kept, and said once
            report = replace(report, text=text)
        if not isinstance(report, Alive):  # a sign of life changes nothing
            self.sink.post_report(replace(report, item=item.id))
        return "applied"

    def _capped_log(self, item: WorkItem, text: str) -> str | None:
        """The log text a report appends, cut at ``MAX_LOG`` bytes of the item's log from its
        reports (a note says where); None once the item's log is full."""
        size = len(text.encode("utf-8", "replace"))
        key = getattr(item, "id", id(item))
        with self._logged_lock:
            used = self._logged.get(key, 0)
            if used > MAX_LOG:
                return None
            if used + size <= MAX_LOG:
                self._logged[key] = used + size
                return text
            self._logged[key] = MAX_LOG + 1  # full: what comes next is dropped
        room = MAX_LOG - used
        kept = text.encode("utf-8", "replace")[:room].decode("utf-8", "ignore")
        self.warn_once((key, "log"), f"{getattr(item, 'name', item)}: its log reached "
                       f"{MAX_LOG // 2**20} MB from its reports; the rest is not kept",
                       kind="log")
        return kept + LOG_CUT.format(limit=MAX_LOG // 2**20)

    def _new_output(self, item: WorkItem, report: OutputAdded) -> bool:
        """Whether the output report adds an output to its item (not one of a path it has),
        raising ReportError once the item's job added ``MAX_OUTPUTS`` (checked here, before
        the engine: the job learns why, the cook gets one warning for the item). Counted by
        ``_take_output`` once the report is known not to be a retried one."""
        localize = getattr(self.sink, "localizePath", None)
        path = localize(report.path) if callable(localize) else report.path
        if item.outputFile(path) is not None:
            return False  # a path the item has (a job run again): it adds nothing
        key = getattr(item, "id", id(item))
        with self._outputs_lock:
            if self._outputs_taken.get(key, 0) < MAX_OUTPUTS:
                return True
        name = getattr(item, "name", item)
        self.warn_once((key, "outputs"), f"{name}: output reports refused: its job reported "
                       f"{MAX_OUTPUTS:,} outputs, the most an item keeps; those after them "
                       f"are not kept", kind="output report refused")
        raise ReportError(f"{name}: output {short(repr(report.path))} refused: an item keeps "
                          f"at most {MAX_OUTPUTS:,} outputs from its job")

    def _take_output(self, item: WorkItem) -> None:
        key = getattr(item, "id", id(item))
        with self._outputs_lock:
            self._outputs_taken[key] = self._outputs_taken.get(key, 0) + 1

    def _checked_index(self, item: WorkItem, report: AttributeSet) -> AttributeSet:
        """The attribute report with its index checked here, before it reaches the engine:
        the job learns why, the cook gets a warning (once per item and attribute)."""
        name = report.name
        try:
            return replace(report, index=checked_attrib_index(name, report.index))
        except AttribIndexError as exc:
            self.warn_once((getattr(item, "id", None), name),
                           f"{getattr(item, 'name', item)}: attribute report refused: {exc}",
                           kind="attribute report refused")
            raise ReportError(str(exc)) from None

    def warn_once(self, key: tuple, text: str, kind: str = "") -> None:
        """A warning in the cook, once per ``key``; of one ``kind`` the first
        ``FIRST_WARNINGS`` one by one, then their number in one warning ``WARN_DELAY``
        seconds later, and when the server stops (a job refused 100,000 times would otherwise
        bury the cook's log)."""
        kind = kind or str(key[-1])
        with self._warned_lock:
            if key in self._warned:
                return
            if len(self._warned) < WARNED_ATTRIBS:
                self._warned.add(key)
            counts = self._warnings.setdefault(kind, [0, 0, ""])
            if counts[0] < FIRST_WARNINGS:
                counts[0] += 1
            else:
                counts[1] += 1
                counts[2] = text
                if self._warn_later is None and not self._stopping:
                    self._warn_later = threading.Timer(WARN_DELAY, self._say_unwarned)
                    self._warn_later.daemon = True
                    self._warn_later.start()
                return
        self._warn(text)

    @staticmethod
    def _unwarned_text(kind: str, counts: list) -> str:
        text = (f"{counts[1]:,} more warnings like the above ({kind}), not shown one by one "
                f"(the first {FIRST_WARNINGS} of a kind are); the last: {counts[2]}")
        counts[1], counts[2] = 0, ""
        return text

    def _say_unwarned(self, last: bool = False) -> None:
        with self._warned_lock:
            if self._warn_later is not None and last:
                self._warn_later.cancel()
            self._warn_later = None
            texts = [self._unwarned_text(kind, counts)
                     for kind, counts in self._warnings.items() if counts[1]]
        for text in texts:
            self._warn(text)
            if last:  # the cook may be past reading its warnings: its log has it
                log.warning("result server: %s", text)

    def _warn(self, text: str) -> None:
        warn = getattr(self.sink, "cookWarning", None)
        try:
            if warn is not None:
                warn(text)
        except RuntimeError:  # the cook has just ended: the log below still has it
            log.warning("result server: %s", text)

    def refuse(self, why: str, peer) -> None:
        self.refused += 1
        self._refusals.say(why, peer)


class _Refusals:
    """The log of refused reports: each one said, up to ``SHOWN`` per ``WINDOW`` seconds,
    the rest counted and said as one line (a job stuck in a loop of bad reports, or an
    outsider knocking, would otherwise bury the cook's log)."""

    SHOWN, WINDOW = 10, 10.0

    def __init__(self):
        self._lock = threading.Lock()
        self._window = -self.WINDOW  # when the current window began
        self._shown = self._unshown = 0
        self._last = ("", "")

    def say(self, why: str, peer) -> None:
        with self._lock:
            now = time.monotonic()
            if now - self._window >= self.WINDOW:
                self._say_unshown()
                self._window, self._shown = now, 0
            if self._shown < self.SHOWN:
                self._shown += 1
                log.warning("result server: refused a report from %s: %s", peer, why)
            else:
                self._unshown += 1
                self._last = (peer, why)

    def say_unshown(self) -> None:
        with self._lock:
            self._say_unshown()

    def _say_unshown(self) -> None:
        if self._unshown:
            log.warning("result server: refused %d more reports, not shown one by one "
                        "(at most %d a %g s); the last from %s: %s", self._unshown,
                        self.SHOWN, self.WINDOW, *self._last)
            self._unshown = 0


class _HTTPServer(GuardedHTTPServer):
    owner: ResultServer


def _listen(host: str, port: int, max_connections: int | None,
            idle_timeout: float) -> _HTTPServer:
    """The bound server, or a ``CookError`` that says why it cannot listen there."""
    if type(port) is not int or not 0 <= port <= 65535:
        raise CookError(f"the result server cannot listen on port {port}: a port is 0 (any "
                        f"free port) to 65535 (pdg_resultserverport)")
    try:
        return _HTTPServer((host, port), _Handler, max_connections, idle_timeout)
    except socket.gaierror as exc:
        raise CookError(f"the result server cannot listen on {host!r}: no such address "
                        f"({exc.strerror}); set pdg_resultserverbind to an address of this "
                        f"machine, 127.0.0.1 (this machine only) or 0.0.0.0 (a farm)") from None
    except (OSError, UnicodeError) as exc:
        why = getattr(exc, "strerror", None) or exc
        raise CookError(f"the result server cannot listen on {host}:{port}: {why} "
                        f"(pdg_resultserverbind, pdg_resultserverport)") from None


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive
    server_version = "schedcore-resultserver"
    server: _HTTPServer

    def setup(self) -> None:
        # bounds every read and write of it; per server, so set on the handler
        self.timeout = self.server.idle_timeout  # type: ignore[misc]
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._rate = self.server.owner.rate
        self._tokens, self._refilled = float(self._rate), time.monotonic()
        self._replied = False
        self._trusted_peer: bool | None = None

    def log_message(self, format, *args) -> None:
        log.debug("result server: %s " + format, self.client_address[0], *args)

    def send_error(self, code, message=None, explain=None) -> None:
        """An unreadable request line leaves the version at HTTP/0.9, which has no status
        line (Python 3.10 then sends the error page alone): answer as HTTP/1.0 instead."""
        if self.request_version == "HTTP/0.9":
            self.request_version = "HTTP/1.0"
        super().send_error(code, message, explain)

    # -- plumbing ------------------------------------------------------------------------
    def _reply(self, code: int, body: bytes, content_type: str,
               headers: dict | None = None) -> None:
        self._replied = True
        self.send_response(code)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
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

    def _too_many(self) -> None:
        self.close_connection = True
        self._error(429, f"too many requests: at most {self._rate} a second per connection")

    def _serve(self, work) -> None:
        """One request, answered whatever happens in it."""
        self._replied = False
        try:
            work()
        except BadRequest as exc:
            self.close_connection = True
            self._error(exc.code, str(exc))
        except OSError:  # the client went away, stopped reading or fell silent
            self.close_connection = True
        except Exception as exc:  # a bug here: the client still gets an answer
            log.debug("result server: %s %s failed", self.command, short(self.path),
                      exc_info=True)
            self.close_connection = True
            if not self._replied:
                self._error(500, f"the result server could not answer: "
                                 f"{type(exc).__name__}: {short(str(exc))}")
        finally:
            self.server.idle(self.connection)

    def _content_length(self) -> int | None:
        length = self.headers.get("Content-Length")
        if length is None or not (length.isascii() and length.isdigit()):
            self.close_connection = True
            self._error(411, "a Content-Length header is required")
            return None
        if len(length) > 12 or int(length) > MAX_BODY:
            self.close_connection = True  # the body is not read: the connection is spent
            self._error(413, f"request of {short(length)} bytes refused: at most {MAX_BODY}")
            return None
        return int(length)

    # -- POST: reports -----------------------------------------------------------------
    def do_POST(self) -> None:
        self._serve(self._post)

    def _post(self) -> None:
        if not self._allowed():
            self._too_many()
            return
        size = self._content_length()
        if size is None:
            return
        # the credential before the body: a body is charged to the cook's budget only when
        # its request carries the secret; without it, to a small budget of its own of which
        # each peer address holds a share (pdgcmd given a bare host:port, a stranger)
        peer = None if self._authorized() else self.client_address[0]
        if peer is not None and size > MAX_OPEN_BODY:
            self.close_connection = True
            self._error(413, f"request of {size} bytes without the cook's secret refused: "
                             f"at most {MAX_OPEN_BODY}. A job sends the secret as HTTP Basic "
                             f"authorization when it reports to $PDG_RESULT_SERVER as the "
                             f"scheduler gives it (<secret>@host:port)")
            return
        if not self.server.reserve(size, peer):
            self.close_connection = True
            self._error(503, "the result server holds too many request bodies now: try again")
            return
        try:
            # read while the connection may still be closed to make room: a client that
            # trickles its body holds no place another needs
            body = self._read_body(size)
            if body is None or not self.server.busy(self.connection):
                self.close_connection = True
                return
            self._route_post(body)
        finally:
            self.server.release(size, peer)

    def _read_body(self, size: int) -> bytes | None:
        """The body, read as it comes; None when the client closed first. A body slower than
        the minimum rate (on average, after a grace) is cut off with a 408: a trickle of a
        byte now and then holds its budget no longer than the grace."""
        owner = self.server.owner
        start, got, chunks = time.monotonic(), 0, []
        try:
            while got < size:
                allowed = start + owner.body_grace + got / owner.min_body_rate \
                    - time.monotonic()
                if allowed <= 0:
                    raise TimeoutError
                self.connection.settimeout(min(allowed, self.server.idle_timeout))
                chunk = self.rfile.read1(min(size - got, 65536))
                if not chunk:
                    return None
                chunks.append(chunk)
                got += len(chunk)
        except TimeoutError:
            self.close_connection = True
            self._error(408, f"the request's body came slower than {owner.min_body_rate} "
                             f"bytes a second ({got} of {size} bytes in "
                             f"{time.monotonic() - start:.1f} s): closed")
            return None
        finally:
            self.connection.settimeout(self.server.idle_timeout)
        return b"".join(chunks)

    def _route_post(self, body: bytes) -> None:
        path = parse_url(self.path).path
        if path in ("/RPC2", "/", "/RPC2/"):
            self._xmlrpc(body)
        elif path == "/reports":
            self._reports(body)
        else:
            self._error(404, f"no endpoint {short(path)}: POST to /RPC2 (XML-RPC) or "
                             f"/reports (JSON)")

    def _xmlrpc(self, body: bytes) -> None:
        try:
            params, method = xmlrpc.client.loads(body, use_builtin_types=True)
        except Exception as exc:  # expat, or an XML-RPC structure it cannot read
            self._error(400, f"malformed XML-RPC request: {short(str(exc), 200)}")
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

    def _authorized(self) -> bool:
        """The secret in the request, or a peer that stands in for it (asked once per
        connection)."""
        if self.server.owner.authorized(self.headers.get("Authorization")):
            return True
        if self._trusted_peer is None:
            self._trusted_peer = self.server.owner.trusts(self.client_address,
                                                          self.connection.getsockname())
        return self._trusted_peer

    def _multicall(self, params):
        if len(params) != 1 or not isinstance(params[0], list):
            return xmlrpc.client.Fault(1, "system.multicall takes one list of calls")
        results = []
        hint = multicall_hint(params[0])
        for call in params[0]:
            if not isinstance(call, dict) or not isinstance(call.get("params"), list):
                results.append({"faultCode": 1, "faultString": "expected "
                                "{'methodName': ..., 'params': [...]}"})
                continue
            answer = self._call(call.get("methodName"), tuple(call["params"]), hint)
            if isinstance(answer, xmlrpc.client.Fault):
                results.append({"faultCode": answer.faultCode,
                                "faultString": answer.faultString})
            else:
                results.append([answer])
        return results

    def _call(self, method, params, hint=None):
        owner = self.server.owner
        spec = XMLRPC_METHODS.get(method) if isinstance(method, str) else None
        if spec is None:
            known = ", ".join(sorted(XMLRPC_METHODS))
            owner.refuse(f"unknown method {short(repr(method))}", self.client_address[0])
            return xmlrpc.client.Fault(1, f"unknown method {short(repr(method))} (known: {known})")
        try:
            if len(params) not in spec.arities:
                counts = " or ".join(map(str, spec.arities))
                raise ReportError(f"{method} takes {counts} arguments, got {len(params)}")
            if spec.job_id:
                owner.check_job_id(params[-1], self._authorized())
                params = params[:-1]
            else:
                owner.check_reader(self._authorized())
            answer = spec.run(Request(owner, hint), *params)
            return True if answer is None else answer
        except (ReportError, TypeError, ValueError, OverflowError, RecursionError) as exc:
            owner.refuse(f"{method}: {exc}", self.client_address[0])
            return xmlrpc.client.Fault(2, f"{method}: {short(str(exc), 500)}")

    def _reports(self, body: bytes) -> None:
        owner = self.server.owner
        try:
            batch = json.loads(body)
        except RecursionError:
            self._error(400, "malformed JSON: nested too deeply")
            return
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
            owner.check_job_id(batch.get("jobid"), self._authorized())
        except ReportError as exc:
            self._error(403, str(exc))
            return
        self._json(200, {"results": [self._one_report(r) for r in batch["reports"]]})

    def _one_report(self, report) -> dict:
        owner = self.server.owner
        rid = report.get("rid") if isinstance(report, dict) else None
        try:
            return {"rid": rid, "status": owner.apply(json_report(report), rid)}
        except (ReportError, TypeError, ValueError, OverflowError, RecursionError) as exc:
            owner.refuse(str(exc), self.client_address[0])
            return {"rid": rid, "status": "error", "error": short(str(exc), 500)}

    # -- GET: status, logs ---------------------------------------------------------------
    def do_GET(self) -> None:
        self._serve(self._get)

    def _get(self) -> None:
        if not self.server.busy(self.connection):
            self.close_connection = True
            return
        if not self._allowed():
            self._too_many()
            return
        url = parse_url(self.path)
        query = parse_query(url)
        key = query.get("key", [""])[0]
        try:
            self.server.owner.check_reader(self._authorized(), key)
        except ReportError as exc:
            self.server.owner.refuse(str(exc), self.client_address[0])
            self._reply(401, json.dumps({"server": UP, "error": str(exc)}).encode(),
                        "application/json",
                        {"WWW-Authenticate": 'Basic realm="schedcore cook", charset="UTF-8"'})
            return
        self._page(url, query, key if key.isascii() and key.isalnum() else "")

    def _page(self, url, query: dict, key: str) -> None:
        parts = [p for p in url.path.split("/") if p]
        sink = self.server.owner.sink
        wants_html = "html" in query or "html" in url.query.split("&") \
            or "text/html" in self.headers.get("Accept", "")
        if not parts:
            start, count = pages.page_span(query)
            with self._render_turn():
                body = pages.cook_listing(sink.all_items(), start, count, key, wants_html)
            self._reply(200, body, "text/html; charset=utf-8" if wants_html
                        else "application/json")
            return
        if len(parts) == 2 and parts[0] in ("status", "log"):
            item = self.server.owner.find(parts[1])
            if item is None:
                self._json(404, {"error": f"no work item {short(repr(parts[1]))} in this cook"})
            elif parts[0] == "log":
                self._log(item, query)
            else:
                with self._render_turn():
                    body = (pages.item_page(pages.status(item), key) if wants_html
                            else json.dumps(pages.status(item))).encode()
                self._reply(200, body, "text/html; charset=utf-8" if wants_html
                            else "application/json")
            return
        self._json(404, {"error": f"no page {short(url.path)}: try /, /status/<id> or "
                                  f"/log/<id> (?tail=BYTES, or a Range header)"})

    @contextlib.contextmanager
    def _render_turn(self):
        """At most ``RENDERS`` pages made at once (each made of every item it lists): a
        page waits ``RENDER_WAIT`` seconds for its turn, then is a 503."""
        renders = self.server.owner.renders
        if not renders.acquire(timeout=RENDER_WAIT):
            raise BadRequest(503, f"the result server is making {RENDERS} pages already: "
                                  f"try again in a moment")
        try:
            yield
        finally:
            renders.release()

    def _log(self, item: WorkItem, query: dict) -> None:
        """The log streamed from its file: a client that does not read holds one chunk."""
        handle, size = pages.open_log(item)
        with handle:
            start, end, partial = pages.log_span(size, query.get("tail", [None])[0],
                                                 self.headers.get("Range"))
            self._replied = True
            self.send_response(206 if partial else 200)
            if partial:
                self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(end - start))
            self.end_headers()
            self.server.idle(self.connection)  # a reader that stalls may be closed for room
            if not pages.stream(handle, start, end, self.wfile.write):
                self.close_connection = True  # the file shrank: the length was a promise

