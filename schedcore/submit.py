"""Submit As Job: the saved network cooked headless as one standalone job, which carries on
when the submitter exits, and a status URI to follow it by."""

from __future__ import annotations

import inspect
import json
import os
import socket
import stat
import threading
import time
import traceback
from pathlib import Path
from typing import TypeGuard
from urllib.parse import unquote, urlparse

import psutil

from . import cooklock
from .cooklock import CookBusy
from .cooksetup import houdini_session
from .errors import CookError, SchedcoreError, SchedulerCodeError
from .events import CookFinished, ItemAdded, ItemStateChanged
from .journal import journal_path
from .network import Network
from .privatefiles import submission_folder, user_name
from .registry import scheduler_types
from .status import write_status


def submit(network: Network, scheduler: str | None = None, node: str | None = None) -> str:
    """Hand the network's file to ``scheduler`` (a scheduler node; default: the network's
    default) to cook as one job; returns the job's status URI."""
    if not network.path:
        raise SchedcoreError("save the network first: Submit As Job cooks the saved file")
    spec = network.scheduler(scheduler or network.default_scheduler)
    instance = scheduler_types()[spec.type].create(spec.name, spec.values(),
                                                   network.hip)
    workdir = os.path.abspath(instance["pdg_workingdir"].evaluateString())
    journal = journal_path(workdir, network.path)
    running = cooklock.holder(journal)
    if running is not None:  # refused here, at once (the cook would refuse it later)
        raise CookBusy(cooklock.busy_message(running, network.path, Path(f"{journal}.lock")))
    submission_folder(workdir)  # checked before anything is copied or queued
    copy = os.path.join(workdir, Path(network.path).name)
    _own_copy(copy, network.path)
    instance.setWorkingDir(workdir, workdir)
    instance.transferFile(network.path)  # the network into the working dir, unless unchanged
    _own_copy(copy, network.path)  # as it was copied: the file the submitted cook loads
    houdini_session(network)
    try:
        uri = instance.submitAsJob(Path(network.path).name, node or "")
    except Exception as exc:  # the scheduler's own code: say where, keep the rest
        raise SchedulerCodeError(f"{spec.name} ({spec.type}): submitAsJob raised "
                                 f"{type(exc).__name__}: {exc}{_raised_at(exc, instance)}") \
            from None
    if isinstance(uri, (tuple, list)) and uri:  # Houdini 18+: (status URI, job id)
        uri = uri[0]
    if not uri:
        raise SchedcoreError(f"{spec.name} ({spec.type}) cannot submit a network as a job")
    if not isinstance(uri, str):
        raise SchedulerCodeError(f"{spec.name} ({spec.type}): submitAsJob returned {uri!r}; "
                                 f"it returns the status URI (text), or (URI, job id)")
    return uri


def _raised_at(exc: Exception, instance) -> str:
    """`` (at file:line)``, the last line of the scheduler's own module the error passed."""
    source = inspect.getsourcefile(type(instance)) or ""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == source]
    return f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""


def _own_copy(copy: str, original: str) -> None:
    """The network Submit As Job copies into the working dir, and the submitted cook loads:
    no link and no file of another user's (who could change it before the cook loads it,
    or have it written through), and writable by no other user."""
    try:
        info = os.lstat(copy)
    except FileNotFoundError:
        return
    me = os.geteuid()
    if stat.S_ISLNK(info.st_mode) and info.st_uid == me \
            and Path(copy).resolve() == Path(original).resolve():
        return  # the network itself, linked by its user
    why = (f"is a symbolic link made by {user_name(info.st_uid)}"
           if stat.S_ISLNK(info.st_mode) else
           f"was made by the user {user_name(info.st_uid)}" if info.st_uid not in (me, 0)
           else "is not a file" if not stat.S_ISREG(info.st_mode) else "")
    if why:
        raise CookError(f"{copy} {why}: Submit As Job would cook it in place of "
                        f"{original}, or write it through. Remove it (its owner or root "
                        f"can), or set pdg_workingdir to another folder")
    if info.st_mode & stat.S_IWOTH and info.st_uid == me:
        os.chmod(copy, stat.S_IMODE(info.st_mode) & ~stat.S_IWOTH)


class StatusFile:
    """An engine-event subscriber keeping ``path`` up to date: at most twice a second, a
    change is written within half a second even when nothing follows it, and the end at
    once. Counts by state, and whether the cook is over and went well."""

    PERIOD = 0.5

    def __init__(self, path: str | Path, network: str = ""):
        self.path = Path(path)
        self.counts: dict[str, int] = {}
        self._lock = threading.Lock()  # the engine's thread and the trailing write's
        self._written = 0.0
        self._later: threading.Timer | None = None
        self._done = False
        self._about = {**_submitted(self.path), "network": network,
                       "host": socket.gethostname(), "pid": os.getpid(), "started": time.time(),
                       "pid_started": _own_start()}
        self._write({"state": "cooking"})

    def __call__(self, event) -> None:
        with self._lock:
            if isinstance(event, ItemAdded):
                state = event.state.name
                self.counts[state] = self.counts.get(state, 0) + 1
            elif isinstance(event, ItemStateChanged):
                self.counts[event.old.name] -= 1
                self.counts[event.new.name] = self.counts.get(event.new.name, 0) + 1
            elif isinstance(event, CookFinished):
                result = event.result
                self._done = True
                if self._later is not None:
                    self._later.cancel()
                self._write({"state": "canceled" if result.canceled else "finished",
                             "ok": result.ok, "errors": result.errors})
                return
            else:
                return
            wait = self._written + self.PERIOD - time.monotonic()
            if wait <= 0:
                self._write({"state": "cooking"})
            elif self._later is None:  # the last change before a quiet spell is written too
                self._later = threading.Timer(wait, self._trailing)
                self._later.daemon = True
                self._later.start()

    @staticmethod
    def failed(path: str | Path, network: str, why: str) -> None:
        """The status of a cook that could not start (a bad network, say)."""
        write_status(path, {**_submitted(Path(path)), "state": "finished", "ok": False,
                            "errors": [why], "network": network,
                            "host": socket.gethostname(), "pid": os.getpid()})

    def _trailing(self) -> None:
        with self._lock:
            self._later = None
            if not self._done:
                self._write({"state": "cooking"})

    def _write(self, data: dict) -> None:
        self._written = time.monotonic()
        write_status(self.path, {**data, **self._about,
                                 "counts": {s: n for s, n in self.counts.items() if n}})


def _submitted(path: Path) -> dict:
    """What Submit As Job wrote about the cook before it started (its log, its Dask task),
    kept when the cook writes its status."""
    try:
        queued = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(queued, dict) or queued.get("state") != "queued":
        return {}
    return {k: v for k, v in queued.items() if k in ("log", "dask_scheduler", "dask_task")}


def read_status(uri: str) -> dict:
    """A submitted cook's status from its URI (or the file's path). A cook on this machine
    whose process is gone without saying it finished is ``"state": "died"``."""
    path = unquote(urlparse(uri).path) if uri.startswith("file:") else uri
    try:
        status = json.loads(_status_text(path))
    except OSError as exc:
        raise SchedcoreError(f"{path}: cannot read the status ({exc.strerror}): is it the URI "
                             f"Submit As Job printed, on a folder this machine sees?") from None
    except (ValueError, RecursionError):  # RecursionError: JSON nested too deep
        raise SchedcoreError(f"{path}: not a status file (not JSON it can read)") from None
    if not isinstance(status, dict) or "state" not in status:
        raise SchedcoreError(f"{path}: not a status file (no 'state')")
    for name, value in status.items():
        if name in _FIELDS and not _FIELDS[name][0](value):
            raise SchedcoreError(f"{path}: not a status file: {name!r} is "
                                 f"{_shown(value)}, not {_FIELDS[name][1]}")
    if status["state"] in ("queued", "cooking") and "pid" in status \
            and status.get("host") == socket.gethostname():
        other = _another_program(status)
        if other or not _alive(status["pid"]):
            status["errors"] = [
                f"the cook (process {status['pid']}) ended without finishing: killed, or its "
                f"machine went down{other}; `schedcore cook --resume` goes on from its "
                f"journal" if status["state"] == "cooking" else
                f"the cook (process {status['pid']}) ended before it started{other}: its log "
                f"{status.get('log', '')} says why"]
            status["state"] = "died"
    return status


STATUS_LIMIT = 16 * 2**20  # bytes: a status holds counts and the cook's errors


def _status_text(path: str) -> str:
    """The text of the status file ``path``: a regular file of at most ``STATUS_LIMIT``
    bytes. A FIFO (read for ever, waiting for a writer) or a device (/dev/zero: read until
    memory ran out) is refused."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with open(fd, "rb") as handle:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise SchedcoreError(f"{path}: not a status file (not a regular file: "
                                 f"{'a FIFO' if stat.S_ISFIFO(mode) else 'a device or folder'})")
        data = handle.read(STATUS_LIMIT + 1)
    if len(data) > STATUS_LIMIT:
        raise SchedcoreError(f"{path}: not a status file (over {STATUS_LIMIT >> 20} MB)")
    return data.decode("utf-8", errors="replace")


def _text(value) -> bool:
    return isinstance(value, str)


def _counts(value) -> bool:
    return isinstance(value, dict) and all(
        type(n) is int and n >= 0 for n in value.values())


def _texts(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _time(value) -> bool:
    return value is None or _number(value)


# the fields a status file has (status.write_status), each with the type it must have
_FIELDS = {
    "state": (_text, "a word such as cooking or finished"),
    "counts": (_counts, "a mapping of state names to counts"),
    "errors": (_texts, "a list of messages"),
    "ok": (lambda v: isinstance(v, bool), "true or false"),
    "pid": (lambda v: type(v) is int, "a process id"),
    "host": (_text, "a host name"), "log": (_text, "a path"), "network": (_text, "a path"),
    "started": (_time, "a time in seconds"), "pid_started": (_time, "a time in seconds"),
}


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# seconds two readings of one process's start time may differ by (Linux derives it from the
# boot time, which it gives in whole seconds)
START_SLACK = 2.0


def _own_start() -> float | None:
    try:
        return psutil.Process().create_time()
    except psutil.Error:
        return None


def _another_program(status: dict) -> str:
    """", or why the live process of the status's pid is not its cook: it started at
    another time than the cook recorded (``pid_started``), or, for a status written before
    that was recorded, after the status itself was first written (``started``): the pid
    was reused."""
    pid = status["pid"]
    if type(pid) is not int or not 0 < pid < 2**31:
        return ""
    try:
        began = psutil.Process(pid).create_time()
    except psutil.Error:
        return ""
    recorded, written = status.get("pid_started"), status.get("started")
    if _number(recorded):
        reused = abs(began - recorded) > START_SLACK
    elif _number(written):
        reused = began > written + START_SLACK
    else:
        return ""  # nothing to tell them apart by
    if not reused:
        return ""
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(began))
    return f" (process {pid} is now another program, started {when})"


def _number(value) -> TypeGuard[float]:
    return type(value) in (int, float) and value == value and abs(value) < 1e12


def _alive(pid) -> bool:
    """Whether the process ``pid`` of this machine still runs (a zombie does not: it ended,
    its parent has not reaped it yet). A pid that is no positive number names no process."""
    if type(pid) is not int or not 0 < pid < 2**31:
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        return True  # someone else's: not ours to call dead
