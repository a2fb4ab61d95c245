"""Houdini's job helper, by name: what a job script that does ``import pdgcmd`` calls, with
the arguments of Houdini 18.5's and 19.5/20.x's helpers, carried by ``pdgjob`` (batches,
retries, the cook's secret). Written for schedcore; not SideFX's file.

Copied into the script dir of every cook, beside ``pdgjob``::

    sys.path.insert(0, os.environ["PDG_SCRIPTDIR"])
    import pdgcmd
    pdgcmd.setIntAttrib("frames", 24, 0)
    pdgcmd.addOutputFile("/shared/out/frame.0001.exr", result_data_tag="file/image")
    pdgcmd.workItemSuccess(pdgcmd.getItemIdFromEnv())

Each call is sent at once, as Houdini's are (over one kept connection, with pdgjob's
retries), and raises ``RpcError`` when the result server does not take it, unless the call
says ``raise_exc=False``: a job whose reports were lost fails instead of passing for a
success. Standard library only.
"""

import datetime
import functools
import inspect
import json
import locale
import os
import shlex
import socket
import subprocess
import sys
import time
import xmlrpc.client

_here = os.path.dirname(os.path.abspath(__file__))
if _here not in sys.path:  # pdgjob lives beside this file
    sys.path.insert(0, _here)
TYPE_CHECKING = False  # typing's constant, without importing typing in every job
if TYPE_CHECKING:
    from . import pdgjob
else:
    import pdgjob

LogDefault, LogVerbose = 0, 1
verbose = int(os.environ.get("PDG_VERBOSE", "0") or 0)
disable_timestamps = int(os.environ.get("PDG_DISABLE_TIMESTAMPS", "0") or 0)
disable_rpc = "PDG_RESULT_SERVER" not in os.environ or \
    int(os.environ.get("PDG_DISABLE_RPC", "0") or 0) > 0
theJobid = os.environ.get(os.environ.get("PDG_JOBID_VAR", "PDG_JOBID"), "")
result_server_addr = None
result_client_id = None
batch_poll_delay = float(os.environ.get("PDG_BATCH_POLL_DELAY", "1.0") or 1.0)
_LOG_PREFIX = {0: "ERROR: ", 1: "WARNING: ", 2: ""}  # append_log's log types


class RpcError(Exception):
    """A call the result server did not take."""


# == output, addresses, ids ================================================================
def decode_str(s):
    return s


def is_str(s):
    return isinstance(s, (bytes, bytearray, str))


def setVerbosity(level):
    global verbose
    verbose = int(level)


def printlog(msg, verbosity=LogDefault, timestamp=True, prefix="", end="\n",
             msg_verbosity=None):
    """Print a line (18.5 named the level ``msg_verbosity``, 20.x ``verbosity``)."""
    level = msg_verbosity if msg_verbosity is not None else verbosity
    if level > verbose:
        return
    line = ""
    if timestamp and not disable_timestamps:
        line = "[" + datetime.datetime.now().strftime("%H:%M:%S.%f")[:-3] + "] "
    if prefix:
        line += prefix + ": "
    text = msg.decode(locale.getpreferredencoding(), "replace") \
        if isinstance(msg, (bytes, bytearray)) else str(msg)
    sys.stdout.write(line + text + (end or ""))
    sys.stdout.flush()


def setResultServerAddr(force_server_addr):
    global result_server_addr, disable_rpc, _reporter
    result_server_addr, _reporter = force_server_addr, None
    if force_server_addr:
        disable_rpc = int(os.environ.get("PDG_DISABLE_RPC", "0") or 0) > 0


def getResultServerAddr():
    return result_server_addr or os.environ.get("PDG_RESULT_SERVER")


def getSplitServerHostPort(server_addr):
    """``(host, port)`` of ``[secret@]host:port``."""
    try:
        _, host, port = pdgjob.split_address(server_addr)
    except (pdgjob.ReportError, AttributeError):
        raise RuntimeError("Invalid result server address {0}".format(server_addr)) from None
    return host, port


def setResultClientId(client_id):
    global result_client_id
    result_client_id = client_id


def getResultClientId():
    return result_client_id or os.environ.get("PDG_RESULT_CLIENT_ID", "")


def setRpcDelegate(delegate_obj):
    """Houdini picks XML-RPC or PDGNet here; these reports always go over HTTP."""


def getItemIdFromEnv():
    try:
        return int(os.environ["PDG_ITEM_ID"])
    except KeyError:
        return os.environ.get("PDG_ITEM_NAME")


def _item(workitem_id):
    return workitem_id if workitem_id else getItemIdFromEnv()


def _client_host():
    return socket.getfqdn() or socket.gethostname()


def verboseAnnounce():
    if verbose < LogVerbose:
        return
    host = _client_host()
    printlog("PDG Client is {} [{}] [{}]".format(host, socket.gethostbyname(host),
                                                   getResultClientId()))
    address = getResultServerAddr()
    if address:
        host, port = getSplitServerHostPort(address)
        try:
            printlog("PDG Result Server is {}:{} [{}]".format(
                host, port, socket.gethostbyname(host)))
        except OSError as exc:
            printlog("PDG Result Server is {}:{} but FAILED to resolve:\n{}".format(
                host, port, exc))


# == paths =================================================================================
def delocalizePath(local_path):
    if not is_str(local_path) or os.environ.get("PDG_DELOCALIZE", "1") == "0":
        return local_path
    return _own().delocalize(local_path)


_TOKENS = {"__PDG_DIR__": "PDG_DIR", "__PDG_ITEM_NAME__": "PDG_ITEM_NAME",
           "__PDG_TEMP__": "PDG_TEMP", "__PDG_RESULT_SERVER__": "PDG_RESULT_SERVER",
           "__PDG_INDEX__": "PDG_INDEX", "__PDG_SCRIPTDIR__": "PDG_SCRIPTDIR",
           "__PDG_ITEM_ID__": "PDG_ITEM_ID", "__PDG_SHARED_TEMP__": "PDG_SHARED_TEMP"}


def localizePath(deloc_path):
    """The ``__PDG_*__`` tokens and environment variables of a path, expanded (paths here
    need no path map: they go through ``__PDG_DIR__``)."""
    path = str(deloc_path)
    for token, name in _TOKENS.items():
        if token in path and name in os.environ:
            path = path.replace(token, os.environ[name])
    hfs = os.environ.get("HFS") or os.environ.get("PDG_HFS")
    if hfs:
        path = path.replace("__PDG_HFS__", hfs)
    return os.path.expandvars(os.path.expandvars(path)).replace("\\", "/")


def makeDirSafe(local_path):
    if local_path:
        os.makedirs(local_path, exist_ok=True)


# == reports ===============================================================================
_reporter = None


def _own():
    """The reporter of this module's calls."""
    global _reporter
    if _reporter is None:
        _reporter = pdgjob.Reporter(server=getResultServerAddr() or "", job_id=theJobid)
    return _reporter


def _send(kind, workitem_id, **fields):
    """One report through pdgjob, sent now; nothing when this job has no result server."""
    if disable_rpc:
        return
    try:
        _own().report(kind, flush=True, item=_item(workitem_id), **fields)
    except pdgjob.ReportError as exc:
        raise RpcError(str(exc)) from None


def _honours_raise_exc(function):
    """Houdini's ``raise_exc=False``: a call that could not be sent says so and goes on."""
    signature = inspect.signature(function)

    @functools.wraps(function)
    def call(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except RpcError as exc:
            if signature.bind(*args, **kwargs).arguments.get("raise_exc", True):
                raise
            printlog("pdgcmd: {}".format(exc))
            return None
    return call


def _say(to_stdout, text):
    if to_stdout:
        printlog(text)


@_honours_raise_exc
def workItemStartCook(workitem_id=None, subindex=-1, server_addr=None, to_stdout=True,
                      raise_exc=True):
    _say(to_stdout, "PDG_START: {};{}".format(_item(workitem_id), subindex))
    _send("start_cook", workitem_id)


@_honours_raise_exc
def workItemSuccess(workitem_id=None, subindex=-1, server_addr=None, to_stdout=True,
                    raise_exc=True):
    _say(to_stdout, "PDG_SUCCESS: {};{};0".format(_item(workitem_id), subindex))
    _send("success", workitem_id, duration=0.0)


@_honours_raise_exc
def workItemFailed(workitem_id=None, server_addr=None, to_stdout=True, raise_exc=True):
    _send("failed", workitem_id, reason="")


@_honours_raise_exc
def workItemCancelled(workitem_id=None, server_addr=None, raise_exc=True):
    _send("cancelled", workitem_id)


@_honours_raise_exc
def workItemSetCustomState(custom_state, workitem_id=None, subindex=-1, server_addr=None,
                           to_stdout=True, raise_exc=True):
    _say(to_stdout, "PDG_SET_CUSTOM_STATE: {};{};{}".format(_item(workitem_id), subindex,
                                                             custom_state))
    _send("custom_state", workitem_id, state=str(custom_state))


@_honours_raise_exc
def workItemSetCookPercent(cook_percent, workitem_id=None, subindex=-1, server_addr=None,
                           to_stdout=True, raise_exc=True):
    _say(to_stdout, "PDG_SET_COOK_PERCENT: {};{};{}".format(_item(workitem_id), subindex,
                                                             cook_percent))
    _send("percent", workitem_id, percent=float(cook_percent))


@_honours_raise_exc
def workItemAppendLog(log_data, log_type=3, workitem_id=None, subindex=-1, server_addr=None,
                      to_stdout=True, raise_exc=True):
    _say(to_stdout, "PDG_APPEND_LOG: {};{};{}".format(_item(workitem_id), subindex,
                                                       len(log_data)))
    prefix = _LOG_PREFIX.get(int(log_type))
    text = str(log_data)
    if prefix is not None:
        text = prefix + (text if text.endswith("\n") else text + "\n")
    _send("log", workitem_id, text=text)


@_honours_raise_exc
def warning(message, workitem_id=None, server_addr=None, raise_exc=True):
    _send("warning", workitem_id, text=str(message))


@_honours_raise_exc
def keepalive(workitem_id=None, server_addr=None, raise_exc=True):
    _send("keepalive", workitem_id)


@_honours_raise_exc
def invalidateCache(workitem_id=None, subindex=-1, server_addr=None, raise_exc=True):
    printlog("PDG_INVALIDATE_CACHE: {};{}".format(_item(workitem_id), subindex))
    _send("invalidate_cache", workitem_id)


def _paths(result_data, what="result_data"):
    paths = [result_data] if is_str(result_data) else list(result_data or ())
    if not paths:
        raise TypeError("{} is invalid".format(what))
    if not is_str(paths[0]):
        raise TypeError("{} must be string-like or a list of string-like".format(what))
    return [p.decode("utf-8") if isinstance(p, (bytes, bytearray)) else p for p in paths]


@_honours_raise_exc
def addOutputFile(result_data, workitem_id=None, server_addr=None, result_data_tag="",
                  subindex=-1, and_success=False, to_stdout=True, raise_exc=True,
                  duration=0.0, hash_code=0, batch_size=50):
    for path in map(delocalizePath, _paths(result_data)):
        _say(to_stdout, "PDG_RESULT: {};{};{};{};{}".format(
            _item(workitem_id), subindex, path, result_data_tag, hash_code))
        _send("result", workitem_id, path=path, tag=result_data_tag or "file",
              checksum=int(hash_code))
    if and_success:
        _say(to_stdout, "PDG_SUCCESS: {};{};{}".format(_item(workitem_id), subindex,
                                                        duration))
        _send("success", workitem_id, duration=float(duration))


reportResultData = addOutputFile  # 18.5's name; 20.x keeps it


def addOutputFiles(output_file_array, workitem_id=None, server_addr=None,
                   output_file_tag="", subindex=-1, to_stdout=True, raise_exc=True,
                   duration=0.0, hash_codes=()):
    paths = _paths(output_file_array, "output_file_array")
    tags = [output_file_tag] * len(paths) if is_str(output_file_tag) else \
        list(output_file_tag) + [""] * (len(paths) - len(output_file_tag))
    sums = list(hash_codes) + [0] * (len(paths) - len(hash_codes))
    _say(to_stdout, "PDG_RESULT_ARRAY: {};{};[{} files]".format(_item(workitem_id), subindex,
                                                                 len(paths)))
    for path, tag, checksum in zip(paths, tags, sums):
        _send("result", workitem_id, path=delocalizePath(path), tag=tag or "file",
              checksum=int(checksum))


def _attrib(kind, name, value, index, workitem_id, label):
    printlog("PDG_{}: {};{};{}".format(label, _item(workitem_id), name, value))
    _send("attrib", workitem_id, name=str(name), type=kind, value=value, index=int(index))


def _attrib_array(kind, name, values, workitem_id, label):
    printlog("PDG_{}: {};{};{}".format(label, _item(workitem_id), name, values))
    _send("attrib_array", workitem_id, name=str(name), type=kind, values=list(values))


@_honours_raise_exc
def setStringAttrib(attr_name, attr_value, attr_index=0, workitem_id=None, subindex=-1,
                    server_addr=None, raise_exc=True):
    _attrib("String", attr_name, str(attr_value), attr_index, workitem_id,
            "SET_STRING_ATTRIB")


@_honours_raise_exc
def setIntAttrib(attr_name, attr_value, attr_index=0, workitem_id=None, subindex=-1,
                 server_addr=None, raise_exc=True):
    _attrib("Int", attr_name, int(attr_value), attr_index, workitem_id, "SET_INT_ATTRIB")


@_honours_raise_exc
def setFloatAttrib(attr_name, attr_value, attr_index=0, workitem_id=None, subindex=-1,
                   server_addr=None, raise_exc=True):
    _attrib("Float", attr_name, float(attr_value), attr_index, workitem_id,
            "SET_FLOAT_ATTRIB")


@_honours_raise_exc
def setFileAttrib(attr_name, attr_value, attr_index=0, workitem_id=None, subindex=-1,
                  server_addr=None, raise_exc=True):
    _attrib("File", attr_name, str(attr_value), attr_index, workitem_id, "SET_FILE_ATTRIB")


@_honours_raise_exc
def setDictAttrib(attr_name, attr_value, attr_index=0, workitem_id=None, subindex=-1,
                  server_addr=None, raise_exc=True):
    """``attr_value``: a dict, or its JSON text as 20.x sends it."""
    _attrib("Dict", attr_name, _dict(attr_value), attr_index, workitem_id, "SET_DICT_ATTRIB")


@_honours_raise_exc
def setStringAttribArray(attr_name, attr_value, workitem_id=None, subindex=-1,
                         server_addr=None, raise_exc=True):
    _attrib_array("String", attr_name, [str(v) for v in attr_value], workitem_id,
                  "SET_STRING_ATTRIB_ARRAY")


@_honours_raise_exc
def setIntAttribArray(attr_name, attr_value, workitem_id=None, subindex=-1,
                      server_addr=None, raise_exc=True):
    _attrib_array("Int", attr_name, [int(v) for v in attr_value], workitem_id,
                  "SET_INT_ATTRIB_ARRAY")


@_honours_raise_exc
def setFloatAttribArray(attr_name, attr_value, workitem_id=None, subindex=-1,
                        server_addr=None, raise_exc=True):
    _attrib_array("Float", attr_name, [float(v) for v in attr_value], workitem_id,
                  "SET_FLOAT_ATTRIB_ARRAY")


@_honours_raise_exc
def setFileAttribArray(attr_name, attr_value, workitem_id=None, subindex=-1,
                       server_addr=None, raise_exc=True):
    _attrib_array("File", attr_name, [str(v) for v in attr_value], workitem_id,
                  "SET_FILE_ATTRIB_ARRAY")


@_honours_raise_exc
def setDictAttribArray(attr_name, attr_value, workitem_id=None, subindex=-1,
                       server_addr=None, raise_exc=True):
    _attrib_array("Dict", attr_name, [_dict(v) for v in attr_value], workitem_id,
                  "SET_DICT_ATTRIB_ARRAY")


def _dict(value):
    return json.loads(value) if is_str(value) else dict(value)


@_honours_raise_exc
def setPyObjectAttrib(attr_name, attr_value, workitem_id=None, subindex=-1,
                      server_addr=None, raise_exc=True):
    """``attr_value``: the ``repr()`` of a Python value (only literals are taken)."""
    _rpc("set_pyobject_attrib", _item(workitem_id), subindex, str(attr_name),
         str(attr_value), theJobid)


@_honours_raise_exc
def writeAttribute(attr_name, attr_value, item_name=None, server_addr=None, raise_exc=True):
    """17.5's call, kept by Houdini as deprecated."""
    values = attr_value if isinstance(attr_value, list) else [attr_value]
    _rpc("write_attr", item_name or os.environ["PDG_ITEM_NAME"], str(attr_name), values,
         theJobid)


@_honours_raise_exc
def reportServerStarted(servername, pid, host, port, proto_type, log_fname, workitem_id=None,
                        server_addr=None, raise_exc=True):
    _send("sharedserver", workitem_id, info={
        "name": servername, "pid": pid, "host": host, "port": int(port),
        "proto_type": proto_type})
    for value, tag in ((host, "socket/ip"), (str(port), "socket/port"),
                       (log_fname, "file/text/log")):
        _send("result", workitem_id, path=str(value), tag=tag, checksum=0)


# == queries (XML-RPC, as Houdini's helper asks them) ====================================
def _rpc(method, *args):
    if disable_rpc:
        return None
    address = getResultServerAddr()
    secret, host, port = pdgjob.split_address(address)
    url = "http://{}{}:{}".format(secret + "@" if secret else "", host, port)
    with xmlrpc.client.ServerProxy(url, allow_none=True) as proxy:
        try:
            return getattr(proxy, method)(*args)
        except (xmlrpc.client.Fault, OSError) as exc:
            raise RpcError("{}: {}".format(method, exc)) from None


@_honours_raise_exc
def getWorkItemJSON(workitem_id, subindex, server_addr=None, raise_exc=True):
    return _rpc("get_workitem_json", _item(workitem_id), subindex) or ""


@_honours_raise_exc
def checkReady(workitem_id, subindex, server_addr=None, raise_exc=True):
    answer = _rpc("check_ready_batch", _item(workitem_id), subindex)
    if answer is not None and int(answer) == 2:
        raise RuntimeError("Failed Dependency!")
    return answer is not None and int(answer) == 1


@_honours_raise_exc
def waitUntilReady(workitem_id, subindex, server_addr=None, raise_exc=True):
    while not disable_rpc and not checkReady(workitem_id, subindex):
        time.sleep(batch_poll_delay)


@_honours_raise_exc
def appendSubItem(workitem_id, server_addr=None, raise_exc=True):
    answer = _rpc("add_sub_item_batch", _item(workitem_id))
    return int(answer) if answer else -1


def execBatchPoll(item_name, subindex, server_addr=None):
    waitUntilReady(item_name, subindex, server_addr)


def execStartCook(item_name=None, subindex=-1, server_addr=None, to_stdout=True):
    workItemStartCook(item_name, subindex, server_addr, to_stdout)


def execBatchSuccess(item_name, subindex, server_addr=None, to_stdout=True):
    workItemSuccess(item_name, subindex, server_addr, to_stdout)


def execItemFailed(item_name, server_addr=None, to_stdout=True):
    workItemFailed(item_name, server_addr, to_stdout)


# == processes ============================================================================
def sanitizeEnvironment(sanitize_list):
    """The environment without ``$HFS`` in the search paths named."""
    hfs = os.environ.get("HFS")
    if not sanitize_list or not hfs or sys.platform == "win32":
        return os.environ
    env = dict(os.environ)
    for name in sanitize_list:
        env[name] = ":".join(p for p in env.get(name, "").split(":") if hfs not in p)
    return env


def execCommand(*args, **kwargs):
    """18.5: ``execCommand(command, toolName=None)``, exit 1 when it fails. 20.x:
    ``execCommand(work_item, command, ...)``, the output as messages of ``work_item``; it
    returns the output."""
    if args and is_str(args[0]):
        command = args[0]
        printlog("Executing command: {}".format(command))
        try:
            code = subprocess.call(shlex.split(command))
        except OSError as exc:
            printlog("ERROR: problem executing command {}: {}".format(command, exc))
            sys.exit(1)
        if code != 0:
            sys.exit(1)
        return None
    work_item, command = args[0], args[1]
    sanitize = kwargs.get("sanitizeVars", args[3] if len(args) > 3 else ())
    callback = kwargs.get("log_line_callback")
    work_item.addMessage("Executing command: {}".format(command))
    try:
        done = subprocess.run(shlex.split(command), env=sanitizeEnvironment(sanitize),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except OSError as exc:
        work_item.addError("Problem executing command: '{}'".format(exc), fail_task=True)
        return None
    out = ""
    for line in done.stdout.decode("utf-8", "replace").splitlines():
        work_item.addMessage(line.strip())
        out += line.strip()
        if callback is not None:
            callback(work_item, line)
    if done.returncode != 0:
        work_item.addError("Processed failed with exit code '{}'".format(done.returncode),
                           fail_task=True)
    return out


class PDGPingHelper:
    """Whether the result server answers a connection, asked at most every
    ``min_check_period`` seconds."""

    def __init__(self, host, port, min_check_period):
        self.result_server = (host, port)
        self.min_check_period = min_check_period
        self.next_check_time = time.time() + min_check_period

    def isReachable(self, raise_on_failure=False):
        now = time.time()
        if self.next_check_time > now:
            return True
        self.next_check_time = now + self.min_check_period
        try:
            socket.create_connection(self.result_server, timeout=5).close()
        except OSError as exc:
            printlog("Exception caught while contacting PDG Result Server: {}".format(exc))
            if raise_on_failure:
                raise RpcError("Could not reach PDG Result Server at {}:{}".format(
                    *self.result_server)) from None
            return False
        return True

    def ensureReachable(self):
        return self.isReachable(True)


def main(argv=None):
    import argparse
    parser = argparse.ArgumentParser(description="Report a work item's outcome.")
    group = parser.add_mutually_exclusive_group()
    for flag in ("cancel", "fail", "success"):
        group.add_argument("--" + flag, action="store_true")
    args = parser.parse_args(argv)
    item = getItemIdFromEnv()
    if args.cancel:
        workItemCancelled(item)
    if args.fail:
        workItemFailed(item)
    if args.success:
        workItemSuccess(item)


if __name__ == "__main__":
    main()
