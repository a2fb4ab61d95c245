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
object. Every request carries the server's token (random, known only through the cook).
"""

import argparse
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
from contextlib import redirect_stderr, redirect_stdout

MAX_MESSAGE = 64 * 1024 * 1024
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
            _write(conn, dict(message, token=info.get("token", "")))
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


def stop(info, grace=5.0):
    """Stop the server: ``quit``, or, when it does not answer and runs on this machine, a
    signal (one that Houdini's helper reported speaks no ``quit``: a signal when it runs
    here, else nothing). True once it is gone (or was already)."""
    local = info.get("hostname") == socket.gethostname()
    if info.get("kind") == "pdgcmd":  # Houdini's helper reported it: not our protocol
        local = str(info.get("host")) in ("127.0.0.1", "localhost", "::1")
        if not local:
            return False
        _signal(info.get("pid"), signal.SIGTERM)
    else:
        try:
            request(info, {"op": "quit"}, timeout=grace)
        except ServerError:
            if not local:
                return False
            _signal(info.get("pid"), signal.SIGTERM)
    if local:  # return once the process is gone
        deadline = time.monotonic() + grace
        while _signal(info.get("pid"), 0) and time.monotonic() < deadline:
            time.sleep(0.02)
        if _signal(info.get("pid"), 0):
            _signal(info.get("pid"), signal.SIGKILL)
    return True


def _signal(pid, sig):
    """Send ``sig``; whether the process was there. A pid a job reported is checked first:
    0 or below would signal a whole process group (the cook's), 1 is init."""
    try:
        pid = int(pid)
        if pid <= 1 or pid == os.getpid():
            return False
        os.kill(pid, sig)
        return True
    except (ProcessLookupError, PermissionError, TypeError, ValueError, OverflowError):
        return False


def _write(conn, message):
    body = json.dumps(message).encode("utf-8")
    conn.sendall(struct.pack(">I", len(body)) + body)


def _read(conn):
    head = _read_exactly(conn, 4)
    if head is None:
        return None
    (size,) = struct.unpack(">I", head)
    if size > MAX_MESSAGE:
        raise ValueError("a message of %d bytes is too large" % size)
    body = _read_exactly(conn, size)
    if body is None:
        return None
    message = json.loads(body.decode("utf-8"))
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
    """Runs commands in one namespace; one at a time, each connection on a thread."""

    def __init__(self, listener, token, watch=None):
        self.listener = listener
        self.token = token
        self.watch = watch  # callable: is the cook that started us still there?
        self.scope = {"__name__": "__pdgserver__"}
        self.commands = 0
        self._running = threading.Lock()
        self._stopping = threading.Event()

    def serve(self):
        self.listener.settimeout(0.5)
        if self.watch is not None:
            threading.Thread(target=self._watch, daemon=True).start()
        while not self._stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:  # shut down by stop()
                break
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()
        self.listener.close()

    def stop(self):
        self._stopping.set()
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes accept() at once
        except OSError:
            pass

    def _watch(self):
        misses = 0
        while not self._stopping.wait(WATCH_PERIOD):
            misses = 0 if self.watch() else misses + 1
            if misses >= WATCH_MISSES:
                log("the cook that started this server is gone: stopping")
                self.stop()

    def _handle(self, conn):
        with conn:
            try:
                conn.settimeout(30)
                message = _read(conn)
                if message is None:
                    return
                conn.settimeout(None)
                _write(conn, self._answer(message))
            except (OSError, ValueError) as exc:
                log("a request failed: %s" % exc)

    def _answer(self, message):
        if not hmac.compare_digest(str(message.get("token", "")).encode(),
                                   self.token.encode()):
            return {"ok": False, "error": "wrong token: this request is not from the cook "
                                          "that started the server"}
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
                return dict(self._run(message), ok=True)
        return {"ok": False, "error": "unknown op %r (ping, exec, quit)" % (op,)}

    def _run(self, message):
        """Run a command's code with ``work_item`` reporting for the item that sent it."""
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
        with redirect_stdout(output), redirect_stderr(output):
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


def log(text):
    sys.stdout.write("pdgserver %d: %s\n" % (os.getpid(), text))
    sys.stdout.flush()


def _result_server():
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
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1" if loopback else "0.0.0.0", args.port))
    listener.listen(64)
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


if __name__ == "__main__":
    sys.exit(main())
