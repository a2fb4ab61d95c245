"""The standard library's threading HTTP server, made to hold on an open network.

``http.server`` parses requests well and is fast enough here (one thread per connection),
but it trusts its clients: it keeps any number of connections, each for as long as the client
likes, and its accept loop spins when the process runs out of file descriptors. This server
adds what a server that anyone on a farm network can reach needs:

- a cap on connections, below the process's descriptor limit; when it is reached, the
  connection idle the longest (between requests, or still sending its headers or body) is
  closed to make room, and when every connection is inside a request the newcomer gets 503;
- an idle timeout on every read and write;
- accept errors (out of descriptors, of memory) are paused on with a growing back-off, and a
  descriptor is freed by closing the longest-idle connection; the loop never exits on them;
- a budget of request-body bytes in memory at once across all connections, for requests that
  carried the cook's credential; requests without one have a small budget of their own, and
  each peer address a share of it, so bytes from strangers never hold what the cook's jobs
  need;
- an exception in a handler is logged, never printed on the process's stderr.
"""

from __future__ import annotations

import errno
import http.server
import json
import logging
import socket
import threading
import time
from collections import OrderedDict

from .jobs.pdgserver import connection_cap  # one rule for both servers

log = logging.getLogger(__name__)

IDLE_TIMEOUT = 30.0              # seconds a connection may stay silent (read or write)
MAX_CONNECTIONS = 512            # at most; lowered to a quarter of the descriptor limit
BODY_BUDGET = 64 * 1024 * 1024   # request-body bytes held at once, all connections together
OPEN_BUDGET = 4 * 1024 * 1024    # the same, for requests without the credential
OPEN_PEER_BUDGET = 1024 * 1024   # of which one peer address may hold this much
MAX_ACCEPT_PAUSE = 0.5           # seconds, the longest pause after an accept error
# errors of accept() that a pause may cure; the others (a connection reset before it was
# accepted) need none
SCARCE = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


class GuardedHTTPServer(http.server.ThreadingHTTPServer):
    """``ThreadingHTTPServer`` with the limits above; handlers call ``busy`` and ``idle``
    around the work of a request and ``reserve``/``release`` around a body."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, handler, max_connections: int | None = None,
                 idle_timeout: float = IDLE_TIMEOUT, body_budget: int = BODY_BUDGET,
                 open_budget: int = OPEN_BUDGET, open_peer_budget: int = OPEN_PEER_BUDGET):
        self.max_connections = max_connections or connection_cap(MAX_CONNECTIONS)
        self.idle_timeout = idle_timeout
        self._guard = threading.Lock()
        self._idle: OrderedDict[socket.socket, None] = OrderedDict()  # oldest first
        self._busy: set[socket.socket] = set()
        self._body_free = self._body_budget = body_budget
        self._open_free = self._open_budget = open_budget
        self.open_peer_budget = open_peer_budget
        self._open_held: dict[str, int] = {}  # peer address -> open body bytes it holds
        self._pause = 0.0
        self._closing = False
        self.evicted = self.turned_away = self.accept_errors = 0
        super().__init__(address, handler)

    # -- accepting -------------------------------------------------------------------------
    def get_request(self):
        try:
            request = self.socket.accept()
        except BlockingIOError:
            raise
        except OSError as exc:
            self._accept_failed(exc)
            raise  # the base class's loop drops the attempt and carries on
        self._pause = 0.0
        return request

    def _accept_failed(self, exc: OSError) -> None:
        # the connection stays queued, so the selector fires again at once: without a pause
        # the loop would spin a core for as long as the shortage lasts
        self.accept_errors += 1
        if exc.errno not in SCARCE:
            return
        self._evict_oldest()  # gives a descriptor back for the next accept
        self._pause = min(max(self._pause * 2, 0.01), MAX_ACCEPT_PAUSE)
        if self._pause == MAX_ACCEPT_PAUSE or self.accept_errors == 1:
            log.warning("result server: cannot accept connections (%s): pausing %.2f s",
                        exc.strerror, self._pause)
        time.sleep(self._pause)

    def verify_request(self, request, client_address) -> bool:
        with self._guard:
            room = len(self._idle) + len(self._busy) < self.max_connections \
                or self._evict_oldest_locked()
            if room:
                self._idle[request] = None
        if not room:
            self.turned_away += 1
            _say_busy(request)
        return room

    def shutdown_request(self, request) -> None:
        with self._guard:
            self._idle.pop(request, None)
            self._busy.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address) -> None:
        # the base class prints a traceback on stderr: a client's doing goes to the log
        log.debug("result server: a connection from %s ended with an error", client_address,
                  exc_info=True)

    # -- connections -------------------------------------------------------------------
    def busy(self, conn) -> bool:
        """The connection starts the work of a request; False when it was closed to make
        room meanwhile."""
        with self._guard:
            if conn not in self._idle:
                return False
            del self._idle[conn]
            self._busy.add(conn)
            return True

    def idle(self, conn) -> None:
        """The connection waits for its client again: it may be closed to make room (at
        once, when the server is stopping)."""
        with self._guard:
            if conn in self._busy:
                self._busy.discard(conn)
                self._idle[conn] = None
            closing = self._closing
        if closing:
            _wake(conn)

    def connections(self) -> int:
        with self._guard:
            return len(self._idle) + len(self._busy)

    def _evict_oldest(self) -> None:
        with self._guard:
            self._evict_oldest_locked()

    def _evict_oldest_locked(self) -> bool:
        if not self._idle:
            return False
        conn, _ = self._idle.popitem(last=False)
        self.evicted += 1
        _wake(conn)
        return True

    def close_connections(self) -> None:
        """At stop: idle connections end now, not at their idle timeout; one inside a request
        finishes its answer first (the last report of a cook is answered as it ends it)."""
        with self._guard:
            self._closing = True
            conns = list(self._idle)
        for conn in conns:
            _wake(conn)

    # -- request bodies ----------------------------------------------------------------
    def reserve(self, size: int, peer: str | None = None) -> bool:
        """Room for a body of ``size`` bytes: in the budget of requests that carried the
        credential (``peer`` None), or in the open budget and ``peer``'s share of it."""
        with self._guard:
            if peer is None:
                if size > self._body_free:
                    return False
                self._body_free -= size
                return True
            held = self._open_held.get(peer, 0)
            if size > self._open_free or held + size > self.open_peer_budget:
                return False
            self._open_free -= size
            self._open_held[peer] = held + size
            return True

    def release(self, size: int, peer: str | None = None) -> None:
        with self._guard:
            if peer is None:
                self._body_free = min(self._body_budget, self._body_free + size)
                return
            self._open_free = min(self._open_budget, self._open_free + size)
            left = self._open_held.pop(peer, 0) - size
            if left > 0:
                self._open_held[peer] = left

    def bodies_free(self) -> tuple[int, int]:
        """Bytes free in the budget with the credential and in the open one."""
        with self._guard:
            return self._body_free, self._open_free


def _wake(conn) -> None:
    """Shut a connection down: its thread, blocked in a read or a write, ends and closes it."""
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _say_busy(conn) -> None:
    """503 to a connection there is no room for, without waiting on its client."""
    body = json.dumps({"error": "the result server has no room for another connection "
                                "now: try again"}).encode()
    head = ("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n")
    try:
        conn.setblocking(False)
        conn.send(head.encode() + body)
    except OSError:
        pass
