"""Report a work item's progress to the result server: the job side.

Copied into the script dir of every cook. Standard library only, Python 3.8 or newer: it runs
on a farm machine with nothing installed. It reads the job's ``PDG_*`` environment, keeps one
HTTP connection to ``$PDG_RESULT_SERVER``, sends reports in batches, and retries with back-off
when the server refuses the connection or does not answer in time. Every report carries an
idempotency id, so a retried batch is applied exactly once.

In a Python job::

    import pdgjob
    pdgjob.setIntAttrib("frames", 24)
    pdgjob.addOutputFile("/shared/out/frame.0001.exr", "file/image")
    pdgjob.workItemSuccess()

From a shell::

    python pdgjob.py --start
    python pdgjob.py --output /shared/out/a.txt --tag file/text
    python pdgjob.py --attr frames Int 24
    python pdgjob.py --success          (or --fail [--reason TEXT], --cancel)
    python pdgjob.py --run -- COMMAND   (report start, run it, report its outcome)
"""

import argparse
import atexit
import base64
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import time
import uuid

BATCH = 256          # reports sent together at most
GIVE_UP = float(os.environ.get("PDG_REPORT_TIMEOUT", "120"))  # seconds of retrying
TIMEOUT = float(os.environ.get("PDG_REPORT_REQUEST_TIMEOUT", "10"))  # seconds per request


class ReportError(Exception):
    """The result server refused a report, or could not be reached in time."""


class Reporter:
    """One connection to the result server and the reports waiting to be sent."""

    def __init__(self, server=None, job_id=None, item=None):
        env = os.environ
        self.server = server if server is not None else env.get("PDG_RESULT_SERVER", "")
        if job_id is None:
            job_id = env.get(env.get("PDG_JOBID_VAR", "PDG_JOBID"), "")
        self.job_id = job_id
        self.item = item if item is not None else _item_from_env()
        self.local_dir = env.get("PDG_DIR", "")
        self.pending = []
        self._conn = None
        self._start = time.time()

    # -- reports ---------------------------------------------------------------------
    def report(self, kind, flush=False, item=None, **fields):
        fields.update(rid=uuid.uuid4().hex, kind=kind,
                      item=self.item if item is None else item)
        self.pending.append(fields)
        if flush or len(self.pending) >= BATCH:
            self.flush()

    def flush(self):
        """Send every waiting report; raise ReportError when the server refused one."""
        while self.pending:
            batch, self.pending = self.pending[:BATCH], self.pending[BATCH:]
            answer = self._post({"jobid": self.job_id, "reports": batch})
            errors = [r.get("error", "?") for r in answer.get("results", [])
                      if r.get("status") == "error"]
            if errors:
                raise ReportError("the result server refused: " + "; ".join(errors))

    def delocalize(self, path):
        path = str(path)
        if self.local_dir and path.startswith(self.local_dir):
            return "__PDG_DIR__" + path[len(self.local_dir):]
        return path

    # -- the connection ----------------------------------------------------------------
    def _post(self, data):
        if not self.server:
            raise ReportError("PDG_RESULT_SERVER is not set: this job cannot report")
        body = json.dumps(data).encode("utf-8")
        deadline = time.monotonic() + GIVE_UP
        delay = 0.05
        while True:
            try:
                return self._send(body)
            except (OSError, http.client.HTTPException, _Retry) as exc:
                self._close()
                if time.monotonic() + delay > deadline:
                    raise ReportError(
                        "the result server at %s did not take the reports for %.0f s "
                        "(last: %s)" % (self.server, GIVE_UP, _describe(exc))) from None
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 2.0)

    def _send(self, body):
        secret, host, port = split_address(self.server)
        if self._conn is None:
            self._conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
            self._conn.connect()
            self._conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        headers = {"Content-Type": "application/json"}
        if secret:  # as xmlrpc.client sends the user name of an address
            headers["Authorization"] = "Basic " + base64.b64encode(
                secret.encode("utf-8")).decode("ascii")
        self._conn.request("POST", "/reports", body, headers)
        response = self._conn.getresponse()
        payload = response.read()
        if response.status == 429 or response.status >= 500:
            raise _Retry("HTTP %d" % response.status)
        try:
            answer = json.loads(payload.decode("utf-8"))
        except ValueError:
            raise _Retry("an answer that is not JSON") from None
        if response.status != 200:
            raise ReportError("the result server refused the reports: %s"
                              % answer.get("error", response.status))
        return answer

    def _close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class _Retry(Exception):
    pass


def split_address(address):
    """``(secret, host, port)`` of ``[secret@]host:port`` (``$PDG_RESULT_SERVER``); the
    secret is "" when the address has none."""
    secret, _, hostport = address.rpartition("@")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise ReportError("PDG_RESULT_SERVER=%r is not [secret@]host:port" % address)
    return secret, host.strip("[]"), int(port)


def _describe(exc):
    if isinstance(exc, socket.timeout):
        return "no answer within %.0f s" % TIMEOUT
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return str(exc) or type(exc).__name__


def _item_from_env():
    value = os.environ.get("PDG_ITEM_ID") or os.environ.get("PDG_ITEM_NAME", "")
    return int(value) if value.isdigit() else value


_reporter = None


def reporter():
    """The job's reporter, made on first use; what is waiting is sent at exit."""
    global _reporter
    if _reporter is None:
        _reporter = Reporter()
        atexit.register(_flush_at_exit)
    return _reporter


def _flush_at_exit():
    try:
        reporter().flush()
    except ReportError as exc:
        sys.stderr.write("pdgjob: %s\n" % exc)


# == Houdini's job-side names ============================================================
def workItemStartCook(item=None):
    reporter().report("start_cook", flush=True, item=item)


def workItemSuccess(item=None, duration=None):
    r = reporter()
    r.report("success", flush=True, item=item,
             duration=float(duration if duration is not None else time.time() - r._start))


def workItemFailed(item=None, reason=""):
    reporter().report("failed", flush=True, item=item, reason=str(reason))


def workItemCancelled(item=None):
    reporter().report("cancelled", flush=True, item=item)


def addOutputFile(path, result_data_tag="", checksum=0, item=None):
    r = reporter()
    r.report("result", item=item, path=r.delocalize(path), tag=result_data_tag or "file",
             checksum=int(checksum))


reportResultData = addOutputFile  # the 17.5 name


def addOutputFiles(paths, result_data_tags=None, checksums=None, item=None):
    paths = list(paths)
    tags = list(result_data_tags or [""] * len(paths))
    sums = list(checksums or [0] * len(paths))
    for path, tag, checksum in zip(paths, tags, sums):
        addOutputFile(path, tag, checksum, item)


def _attrib(kind, name, value, index, item):
    reporter().report("attrib", item=item, name=str(name), type=kind, value=value,
                      index=int(index))


def _attrib_array(kind, name, values, item):
    reporter().report("attrib_array", item=item, name=str(name), type=kind,
                      values=list(values))


def setStringAttrib(name, value, index=0, item=None):
    _attrib("String", name, str(value), index, item)


def setIntAttrib(name, value, index=0, item=None):
    _attrib("Int", name, int(value), index, item)


def setFloatAttrib(name, value, index=0, item=None):
    _attrib("Float", name, float(value), index, item)


def setFileAttrib(name, value, index=0, item=None):
    _attrib("File", name, reporter().delocalize(value), index, item)


def setStringAttribArray(name, values, item=None):
    _attrib_array("String", name, [str(v) for v in values], item)


def setIntAttribArray(name, values, item=None):
    _attrib_array("Int", name, [int(v) for v in values], item)


def setFloatAttribArray(name, values, item=None):
    _attrib_array("Float", name, [float(v) for v in values], item)


def setFileAttribArray(name, values, item=None):
    _attrib_array("File", name, [reporter().delocalize(v) for v in values], item)


def workItemAppendLog(text, item=None):
    reporter().report("log", item=item, text=str(text))


def warning(text, item=None):
    reporter().report("warning", item=item, text=str(text))


def keepalive(item=None):
    reporter().report("keepalive", flush=True, item=item)


def setCookPercent(percent, item=None):
    reporter().report("percent", item=item, percent=float(percent))


def setCustomState(state, item=None):
    """The job's own word for where it is ("rendering"), shown beside the item's state."""
    reporter().report("custom_state", item=item, state=str(state))


def workItemUsage(item=None, **fields):
    """What the job used and where it ran, in the fields of schedcore's ``ItemUsage``
    (``native_id``, ``host``, ``cpu_user``, ``cpu_system``, ``peak_rss`` in bytes...): for a
    farm's accounting, told the cook from the job or a script beside the farm."""
    reporter().report("usage", item=item, usage=fields)


def flush():
    reporter().flush()


# == command line ==========================================================================
def run(command):
    """Report the start, run ``command`` (a list, or one string for the shell), report the
    outcome by its exit code and return that code."""
    workItemStartCook()
    started = time.time()
    if len(command) == 1:
        code = subprocess.call(command[0], shell=True)
    else:
        code = subprocess.call(command)
    if code == 0:
        workItemSuccess(duration=time.time() - started)
    else:
        why = "signal %d" % -code if code < 0 else "exit code %d" % code
        workItemFailed(reason="the command ended with " + why)
    return code


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["--run"]:  # everything after it is the command, as given
        command = argv[2:] if argv[1:2] == ["--"] else argv[1:]
        if not command:
            sys.stderr.write("pdgjob: --run needs a command\n")
            return 2
        try:
            return run(command)
        except ReportError as exc:
            sys.stderr.write("pdgjob: %s\n" % exc)
            return 3
    parser = argparse.ArgumentParser(prog="pdgjob.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--start", action="store_true", help="report that the job started")
    parser.add_argument("--success", action="store_true", help="report success")
    parser.add_argument("--duration", type=float, help="cook duration for --success")
    parser.add_argument("--fail", action="store_true", help="report failure")
    parser.add_argument("--reason", default="", help="why, for --fail")
    parser.add_argument("--cancel", action="store_true", help="report a cancel")
    parser.add_argument("--output", action="append", default=[], metavar="PATH",
                        help="report an output file (repeatable)")
    parser.add_argument("--tag", default="", help="the tag of --output files")
    parser.add_argument("--attr", nargs=3, action="append", default=[],
                        metavar=("NAME", "TYPE", "VALUE"),
                        help="set an attribute; TYPE is Int, Float, String or File")
    parser.add_argument("--log", help="append a line to the item's log")
    parser.epilog = ("--run [--] COMMAND...: report the start, run COMMAND (one argument: "
                     "through the shell), report its outcome and exit with its exit code.")
    args = parser.parse_args(argv)
    try:
        if args.start:
            workItemStartCook()
        for path in args.output:
            addOutputFile(path, args.tag)
        for name, kind, value in args.attr:
            setter = {"Int": setIntAttrib, "Float": setFloatAttrib,
                      "String": setStringAttrib, "File": setFileAttrib}.get(kind)
            if setter is None:
                parser.error("attribute type %r: use Int, Float, String or File" % kind)
            setter(name, value)
        if args.log:
            workItemAppendLog(args.log + "\n")
        if args.success:
            workItemSuccess(duration=args.duration)
        elif args.fail:
            workItemFailed(reason=args.reason)
        elif args.cancel:
            workItemCancelled()
        flush()
    except ReportError as exc:
        sys.stderr.write("pdgjob: %s\n" % exc)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
