"""A shared Python command server, and how to talk to it.

Copied into the script dir of every cook; standard library only, Python 3.8 or newer.

The job of a Python Server Begin work item runs ``python pdgserver.py --name NAME``: it binds
a port, leaves the server running in a session of its own, reports the server's address to
the result server (the scheduler keeps it with ``setSharedServerInfo``) and exits, which cooks
the item. The server runs the code of Command Send items one at a time, in one namespace kept
between commands: load a heavy module or scene once, use it in every item. ``work_item`` in
that code reports what it sets to the result server for the item that sent it.
``endSharedServer`` sends ``quit``. Should the cook die without ending it, the server notices
that the cook's result server no longer answers for it and stops by itself.

Protocol: one request per connection; each way a 4-byte big-endian length and a UTF-8 JSON
object. A request starts with the server's token (random, known only through the cook) as a
frame of its own, checked before the server reads anything more: who lacks it gets a refusal
and costs the server a few bytes.
"""

import argparse
import errno
import hmac
import io
import json
import linecache
import os
import secrets
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from collections import OrderedDict

# typing's constant, without importing typing in every server: the checker sees the modules
# of the package where the server imports the copies beside it
TYPE_CHECKING = False

MAX_MESSAGE = 64 * 1024 * 1024
MAX_TOKEN = 256          # bytes of the token frame, read before the token is known good
AUTH_TIMEOUT = 5.0       # seconds a new connection has to send its token
READ_TIMEOUT = 30.0      # seconds of silence while a request arrives
MAX_CONNECTIONS = 256    # at most; lowered to a quarter of the descriptor limit
MAX_ACCEPT_PAUSE = 0.5   # seconds, the longest pause after an accept error
SCARCE = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
WATCH_PERIOD = float(os.environ.get("PDG_SERVER_WATCH_PERIOD", "10"))  # seconds
WATCH_MISSES = 3  # the cook is taken for gone after this many unanswered checks


class ServerError(Exception):
    """The shared server could not be reached, or refused the request."""


# == the client side (schedulers and Command Send jobs) ====================================
def request(info, message, timeout=None):
    """Send ``message`` to the server ``info`` describes; its answer. ``timeout`` bounds the
    wait for the answer (None: as long as the command runs)."""
    where = "%s:%s" % (info.get("host"), info.get("port"))
    try:
        with socket.create_connection((info["host"], int(info["port"])), timeout=10) as conn:
            conn.settimeout(timeout)
            _write_frame(conn, str(info.get("token", "")).encode("utf-8"))
            _write(conn, message)
            answer = _read(conn)
    except (OSError, ValueError) as exc:
        raise ServerError("the shared server at %s did not answer: %s"
                          % (where, exc.strerror if isinstance(exc, OSError) and exc.strerror
                             else exc)) from None
    if answer is None:
        raise ServerError("the shared server at %s closed the connection" % where)
    if not answer.get("ok"):
        raise ServerError("the shared server at %s refused: %s" % (where, answer.get("error")))
    return answer


def stop(info, grace=5.0, cook=""):
    """Stop the server: ``quit``, or, when it does not answer and runs on this machine, a
    signal (one that Houdini's helper reported speaks no ``quit``: a signal when it runs
    here, else nothing). The pid is what a job reported: a signal goes only to a process
    that carries the marker of ``cook`` (every process of its jobs does), never to another
    process of the user. True once it is gone (or was already)."""
    local = info.get("hostname") == socket.gethostname()
    pid = info.get("pid")
    if info.get("kind") == "pdgcmd":  # Houdini's helper reported it: not our protocol
        local = str(info.get("host")) in ("127.0.0.1", "localhost", "::1")
        if not local:
            return False
    # known as the cook's before it is asked to quit: an exiting process's environment
    # reads empty, and it would pass for gone while it still exits
    ours = _process_of_cook(pid, cook) if local else None
    if info.get("kind") == "pdgcmd":
        _signal(pid, signal.SIGTERM, cook)
    else:
        try:
            request(info, {"op": "quit"}, timeout=grace)
        except ServerError:
            if not local:
                return False
            _signal(pid, signal.SIGTERM, cook)
    if ours is not None:  # return once the process is gone
        deadline = time.monotonic() + grace
        while _running(ours) and time.monotonic() < deadline:
            time.sleep(0.02)
        if _running(ours):
            ours.kill()
    return True


def _signal(pid, sig, cook):
    """Send ``sig`` to a process of ``cook``'s jobs (see :func:`_process_of_cook`); whether
    it was there. A pid 0 or below would signal a whole process group (the cook's)."""
    proc = _process_of_cook(pid, cook)
    try:
        if proc is None:
            return False
        os.kill(proc.pid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def _process_of_cook(pid, cook):
    """Process ``pid`` (psutil's, which knows it from a later one of the same pid) when it
    carries ``SCHEDCORE_COOK=cook``, else None (the cook's side only: psutil is not needed
    where this module serves)."""
    import psutil

    try:
        pid = int(pid)
        if pid <= 1 or pid == os.getpid() or not cook:  # 1 is init; never the cook itself
            return None
        proc = psutil.Process(pid)
        return proc if proc.environ().get("SCHEDCORE_COOK") == cook else None
    except (psutil.Error, TypeError, ValueError, OverflowError):
        return None


def _running(proc):
    """Whether a psutil process is still there and not yet a zombie."""
    import psutil

    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _write(conn, message):
    _write_frame(conn, json.dumps(message).encode("utf-8"))


def _write_frame(conn, body):
    conn.sendall(struct.pack(">I", len(body)) + body)


def _read_frame(conn, limit):
    """A frame's bytes; None when the connection closed; ValueError beyond ``limit``."""
    head = _read_exactly(conn, 4)
    if head is None:
        return None
    (size,) = struct.unpack(">I", head)
    if size > limit:
        raise ValueError("a frame of %d bytes is too large (at most %d)" % (size, limit))
    return _read_exactly(conn, size)


def _read(conn):
    body = _read_frame(conn, MAX_MESSAGE)
    if body is None:
        return None
    try:
        message = json.loads(body.decode("utf-8"))
    except RecursionError:
        raise ValueError("a message nested too deeply") from None
    if not isinstance(message, dict):
        raise ValueError("a message must be a JSON object")
    return message


def _read_exactly(conn, size):
    chunks = []
    while size:
        chunk = conn.recv(min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


# == the server ==============================================================================
class CommandServer:
    """Runs commands in one namespace; one at a time, each connection on a thread.

    Connections are capped (``max_connections``): when the cap is reached, the oldest one that
    has not sent its token yet is closed to make room, and without such a one the newcomer is
    closed. Accept errors (out of descriptors) pause and carry on: only ``stop`` ends it."""

    def __init__(self, listener, token, watch=None, max_connections=None,
                 auth_timeout=AUTH_TIMEOUT):
        self.listener = listener
        self.token = token
        self.watch = watch  # callable: is the cook that started us still there?
        self.scope = {"__name__": "__pdgserver__"}
        self.commands = 0
        self.max_connections = max_connections or connection_cap()
        self.auth_timeout = auth_timeout
        self.evicted = self.turned_away = self.accept_errors = 0
        self._running = threading.Lock()
        self._stopping = threading.Event()
        self._guard = threading.Lock()
        self._unproven = OrderedDict()  # connections yet to send the token, oldest first
        self._proven = set()
        self._pause = 0.0

    def serve(self):
        installed = _capture_output()
        try:
            self._accept_loop()
        finally:
            if installed:
                sys.stdout, sys.stderr = _CONSOLE["out"], _CONSOLE["err"]

    def _accept_loop(self):
        self.listener.settimeout(0.5)
        if self.watch is not None:
            threading.Thread(target=self._watch, daemon=True).start()
        while not self._stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError as exc:
                if self._stopping.is_set():  # shut down by stop()
                    break
                self._accept_failed(exc)
                continue
            self._pause = 0.0
            if self._admit(conn):
                threading.Thread(target=self._handle, args=(conn,), daemon=True).start()
        self.listener.close()

    def stop(self):
        self._stopping.set()
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes accept() at once
        except OSError:
            pass

    def connections(self):
        with self._guard:
            return len(self._unproven) + len(self._proven)

    def _accept_failed(self, exc):
        # the connection stays queued: without a pause, accept would fail again at once and
        # spin a core for as long as the shortage lasts
        self.accept_errors += 1
        if exc.errno in SCARCE:
            with self._guard:
                self._evict_locked()  # gives a descriptor back for the next accept
        self._pause = min(max(self._pause * 2, 0.01), MAX_ACCEPT_PAUSE)
        if self._pause == MAX_ACCEPT_PAUSE or self.accept_errors == 1:
            log("cannot accept connections (%s): pausing %.2f s"
                % (exc.strerror or exc, self._pause))
        self._stopping.wait(self._pause)

    def _admit(self, conn):
        with self._guard:
            full = len(self._unproven) + len(self._proven) >= self.max_connections
            if not full or self._evict_locked():
                self._unproven[conn] = None
                return True
        self.turned_away += 1
        conn.close()
        return False

    def _evict_locked(self):
        if not self._unproven:
            return False
        conn, _ = self._unproven.popitem(last=False)
        self.evicted += 1
        try:  # its thread, waiting for the token, reads the end and closes it
            conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        return True

    def _proved(self, conn):
        with self._guard:
            if conn not in self._unproven:  # closed to make room meanwhile
                return False
            del self._unproven[conn]
            self._proven.add(conn)
            return True

    def _forget(self, conn):
        with self._guard:
            self._unproven.pop(conn, None)
            self._proven.discard(conn)

    def _watch(self):
        misses = 0
        while not self._stopping.wait(WATCH_PERIOD):
            misses = 0 if self.watch() else misses + 1
            if misses >= WATCH_MISSES:
                log("the cook that started this server is gone: stopping")
                self.stop()

    def _handle(self, conn):
        try:
            with conn:
                self._serve_one(conn)
        except (OSError, ValueError) as exc:
            log("a request failed: %s" % exc)
        except Exception as exc:  # never a traceback from what a client sent
            log("a request failed: %s: %s" % (type(exc).__name__, exc))
        finally:
            self._forget(conn)

    def _serve_one(self, conn):
        """The token first, and only with it the request: a stranger's frame is never read."""
        conn.settimeout(self.auth_timeout)
        token = _read_frame(conn, MAX_TOKEN)
        if token is None:
            return
        if not hmac.compare_digest(token, self.token.encode("utf-8")):
            _write(conn, {"ok": False, "error": "wrong token: this request is not from the "
                                                "cook that started the server"})
            return
        if not self._proved(conn):
            return
        conn.settimeout(READ_TIMEOUT)
        message = _read(conn)
        if message is None:
            return
        conn.settimeout(None)
        _write(conn, self._answer(message))

    def _answer(self, message):
        op = message.get("op")
        if op == "ping":
            return {"ok": True, "pid": os.getpid(), "commands": self.commands}
        if op == "quit":
            log("asked to stop after %d commands" % self.commands)
            self.stop()
            return {"ok": True}
        if op == "exec":
            with self._running:
                self.commands += 1
                try:
                    return dict(self._run(message), ok=True)
                except (KeyError, TypeError, AttributeError, ValueError) as exc:
                    return {"ok": False, "error": "a malformed exec request (%s: %s)"
                            % (type(exc).__name__, exc)}
        return {"ok": False, "error": "unknown op %r (ping, exec, quit)" % (op,)}

    def _run(self, message):
        """Run a command's code with ``work_item`` reporting for the item that sent it."""
        if TYPE_CHECKING:
            from . import pdgjob, pdgjob_python
        else:
            import pdgjob
            import pdgjob_python
        item, env = message.get("item") or {}, message.get("env") or {}
        reporter = pdgjob.Reporter(env.get("PDG_RESULT_SERVER", ""), env.get("PDG_JOBID", ""),
                                   item.get("id"))
        reporter.local_dir = env.get("PDG_DIR", "")
        source = str(message.get("script", ""))
        filename = str(message.get("script_name", "<command>"))
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        self.scope["work_item"] = pdgjob_python.JobWorkItem(item, reporter)
        output, status = io.StringIO(), 0
        with _captured(output):  # this thread's output only: the server's own goes to its log
            try:
                exec(compile(source, filename, "exec"), self.scope)
            except SystemExit as exc:
                status = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
            except BaseException:
                traceback.print_exc()
                status = 1
        try:
            reporter.flush()  # before answering: the item's results arrive before its end
        except pdgjob.ReportError as exc:
            output.write("pdgserver: %s\n" % exc)
            status = status or 3
        return {"status": status, "output": output.getvalue()}


def connection_cap(wanted=MAX_CONNECTIONS):
    """A quarter of the descriptor limit at most: the commands need descriptors too."""
    try:
        import resource
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):
        return wanted
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(8, min(wanted, soft // 4))


# == output: a command's goes to its item, the server's own to the server's log =============
_CONSOLE = {"out": sys.stdout, "err": sys.stderr}  # where the server's own lines go
_capture = threading.local()


class _ThreadOutput(io.TextIOBase):
    """``sys.stdout``/``sys.stderr`` while serving: a thread running a command writes to that
    command's output, every other thread to the server's own stream."""

    def __init__(self, name):
        self._name = name

    def _target(self):
        return getattr(_capture, "output", None) or _CONSOLE[self._name]

    def writable(self):
        return True

    def write(self, text):
        return self._target().write(text)

    def flush(self):
        self._target().flush()


def _capture_output():
    """Install the per-thread streams; True when this call did."""
    if isinstance(sys.stdout, _ThreadOutput):
        return False
    _CONSOLE.update(out=sys.stdout, err=sys.stderr)
    sys.stdout, sys.stderr = _ThreadOutput("out"), _ThreadOutput("err")
    return True


class _captured:
    def __init__(self, output):
        self._output = output

    def __enter__(self):
        _capture_output()
        _capture.output = self._output

    def __exit__(self, *exc):
        _capture.output = None


def log(text):
    console = _CONSOLE["out"]
    console.write("pdgserver %d: %s\n" % (os.getpid(), text))
    console.flush()


def _result_server():
    if TYPE_CHECKING:
        from . import pdgjob
    else:
        import pdgjob
    address = os.environ.get("PDG_RESULT_SERVER", "")
    if not address:
        raise SystemExit("pdgserver: PDG_RESULT_SERVER is not set: run this as a cook's job")
    try:
        _, host, port = pdgjob.split_address(address)
    except pdgjob.ReportError as exc:
        raise SystemExit("pdgserver: %s" % exc) from None
    return host, port


def _address_toward(host):
    """This machine's address on the route to ``host`` (the other jobs reach it there)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect((host, 1))
            return probe.getsockname()[0]
        except OSError:
            return socket.gethostbyname(socket.gethostname())


def _cook_watch():
    """A check that the cook is still there: a keepalive for this item, one try."""
    if TYPE_CHECKING:
        from . import pdgjob
    else:
        import pdgjob
    reporter = pdgjob.Reporter()

    def alive():
        body = json.dumps({"jobid": reporter.job_id, "reports": [
            {"kind": "keepalive", "item": reporter.item, "rid": secrets.token_hex(8)}]})
        try:
            answer = reporter._send(body.encode("utf-8"))
        except Exception:
            reporter._close()
            return False
        return all(r.get("status") != "error" for r in answer.get("results", []))
    return alive


def main(argv=None):
    parser = argparse.ArgumentParser(prog="pdgserver.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", required=True, help="the shared server's name in the cook")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    args = parser.parse_args(argv)
    result_host, _ = _result_server()
    # listen where the cook's jobs are: this machine only when the cook is local
    loopback = result_host in ("127.0.0.1", "localhost", "::1")
    listener = _listen("127.0.0.1" if loopback else "0.0.0.0", args.port, args.name)
    host = "127.0.0.1" if loopback else _address_toward(result_host)
    port = listener.getsockname()[1]
    token = secrets.token_hex(16)
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:  # the server: a session of its own, so the job's end does not end it
        os.setsid()
        status = 0
        try:
            log("serving %s on %s:%d" % (args.name, host, port))
            CommandServer(listener, token, _cook_watch()).serve()
        except BaseException:
            traceback.print_exc()
            status = 1
        finally:
            sys.stdout.flush()
            os._exit(status)
    listener.close()
    if TYPE_CHECKING:
        from . import pdgjob
    else:
        import pdgjob
    info = {"host": host, "port": port, "pid": pid, "token": token,
            "hostname": socket.gethostname(), "kind": "python"}
    try:
        pdgjob.reporter().report("sharedserver", flush=True, name=args.name, info=info)
    except pdgjob.ReportError as exc:
        sys.stderr.write("pdgserver: %s; stopping the server\n" % exc)
        stop(info)
        return 3
    return 0


def _listen(address, port, name):
    """The bound listener, or SystemExit with what to change."""
    if not 0 <= port <= 65535:
        raise SystemExit("pdgserver: shared server %r cannot listen on port %d: a port is 0 "
                         "(any free port) to 65535 (the Server Port parameter)" % (name, port))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((address, port))
        listener.listen(128)
    except OSError as exc:
        listener.close()
        raise SystemExit("pdgserver: shared server %r cannot listen on %s:%d: %s (the Server "
                         "Port parameter; 0 takes any free port)"
                         % (name, address, port, exc.strerror or exc)) from None
    return listener


if __name__ == "__main__":
    sys.exit(main())
