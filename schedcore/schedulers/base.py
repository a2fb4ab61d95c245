"""The scheduler base class: every PDG callback with a documented default, and the services a
scheduler calls on itself (reference §1 and §2).

Callbacks run on the engine thread, called through the engine's guarded dispatcher: an
exception fails the item (or the cook) with its traceback and never the process. Notifications
(``workItemSucceeded``...) may be called from any thread: they are queued to the engine.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from .. import process
from ..compat.services import HoudiniServices
from ..errors import CookError
from ..jobs import pdgserver
from ..parms import ParmSet, ParmTemplate, spare_of
from ..peers import TrustedHosts, is_loopback
from ..privatefiles import (
    cook_temp_dir,
    copy_new,
    foreign_link,
    other_owner,
    private_folder,
    replace_with_copy,
)
from ..reports import (
    AttributeArraySet,
    AttributeSet,
    Canceled,
    CookErrorSaid,
    CookWarningSaid,
    Failed,
    LogAppended,
    OutputAdded,
    Report,
    Started,
    Succeeded,
    UsageReported,
)
from ..results import ScheduleResult, TickResult
from ..usage import ItemUsage
from ..workitem import AttribType, WorkItem
from . import submission
from .context import CookContext
from .jobprocesses import JobProcesses

if TYPE_CHECKING:
    from ..resultserver import ResultServer

JOB_MODULES = Path(__file__).resolve().parent.parent / "jobs"


def local_ip() -> str:
    """This machine's address on its default route (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"

def _digest(path: Path) -> bytes:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.digest()


def write_private(path: str, text: str) -> None:
    """Write a file only its owner may read: item data carries the result server's address
    (the cook's secret) and a shared server's token, which let anyone who reads them report
    for the cook or run code in the server. Never through a link."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o600)
    with open(fd, "w", encoding="utf-8") as handle:
        os.fchmod(fd, 0o600)  # a file that was there keeps no wider mode
        handle.write(text)


def python_for_jobs() -> str:
    """See ``Scheduler.applicationBin``."""
    chosen = os.environ.get("SCHEDCORE_PYTHON")
    if chosen:
        return chosen
    if getattr(sys, "frozen", False):
        return shutil.which("python3") or sys.executable
    return sys.executable


COMMON_PARMS = [
    ParmTemplate("pdg_workingdir", "string", "$HIP", "Working Directory",
                 "The directory where the work will be generating intermediate files and "
                 "output. The intermediate files will be placed in a subdirectory. Typically "
                 "$HIP is used. For running jobs on the farm, the working directory would "
                 "typically be a mounted directory on all client machines."),
    ParmTemplate("pdg_waitforfailures", "bool", False, "Block on Failed Work Items",
                 "Houdini's toggle, read by scheduler code through isWaitForFailures. The "
                 "cook here ends once nothing more can run; it does not wait for failed "
                 "items to be retried."),
    ParmTemplate("pdg_tickperiod", "float", 0.5, "Tick Period",
                 "Seconds between onTick calls."),
    ParmTemplate("pdg_maxitems", "int", 30, "Max Items Per Tick",
                 "onSchedule calls between two ticks; -1 for no limit. When it is reached and "
                 "more items are ready, the next tick comes at once."),
    ParmTemplate("pdg_resultserverbind", "string", "127.0.0.1", "Result Server Interface",
                 "The address the result server listens on: 127.0.0.1 for jobs on this "
                 "machine, 0.0.0.0 (or one interface's address) for jobs on a farm."),
    ParmTemplate("pdg_resultserverport", "int", 0, "Result Server Port",
                 "0: any free port."),
    ParmTemplate("pdg_trustedhosts", "string", "", "Trusted Hosts",
                 "Hosts whose reports are taken without the cook's secret: addresses, "
                 "networks (10.1.0.0/16) or host names, separated by spaces; * for every "
                 "host, as Houdini takes them. Processes of your own user on this machine are "
                 "always trusted. Use it for a farm whose scheduler builds the result server's "
                 "address itself (ip:port) and so drops the secret."),
    ParmTemplate("pdg_resultserverhost", "string", "", "Result Server Address For Jobs",
                 "The host jobs connect to. Empty: the interface listened on, or this "
                 "machine's IP address when it listens on all of them (farm machines often "
                 "cannot resolve this machine's name)."),
]


class Scheduler(HoudiniServices):
    """A PDG scheduler. Subclass it and implement at least ``onSchedule``.

    Besides the callbacks and services here, it has the Houdini services of
    ``compat.services`` (``self[name] = value``, ``context``, ``resolveEnvParams``...). Its
    own state has underscored names: a subclass may use ``self.jobs``, ``self.logs`` and the
    like for its own; ``name`` (the node's) and ``parms`` are the scheduler's."""

    type_name = "scheduler"
    label = "Scheduler"
    parm_templates: list[ParmTemplate] = COMMON_PARMS
    # parameters whose choices the scheduler can list (Houdini's menu scripts): the studio
    # asks ``parm_menu`` when the menu beside such a field opens
    menu_parms: frozenset[str] = frozenset()

    def __init__(self, name: str = "", parms: dict | None = None, hip: str = ""):
        self.name = name or self.type_name
        self.parms = ParmSet(self.parm_templates, parms or {}, hip or os.getcwd(), self.name)
        self._hip_given = bool(hip)  # made in code without one: a cook gives its network's
        self._cook: CookContext | None = None  # the cook it serves (attach)
        self._local_dir = self._remote_dir = ""
        self._cook_env: dict | None = None
        self._server: ResultServer | None = None  # the result server, once started
        self._temp: tuple[tuple[str, int], str] | None = None  # (working dir, cook), name
        self._processes = JobProcesses()  # what startJob started (jobprocesses)
        self._processes.user_jobs = lambda: self.__dict__.get("jobs")
        if "jobs" not in self.__dict__ and not hasattr(type(self), "jobs"):
            # a plain attribute, the same dict by default: a subclass may replace it
            self.jobs = self._processes.running
        self._shared_servers: dict[str, dict] = {}

    def parm_menu(self, parm: str) -> list[str]:
        """The choices for parameter ``parm`` (one of ``menu_parms``), read from the farm
        when asked (it may take a moment); raises ``SchedcoreError`` saying why when they
        cannot be read."""
        return []

    @classmethod
    def create(cls, name: str, parms: dict | None, hip: str) -> Scheduler:
        """An instance for a scheduler node of a network (what the engine calls). When
        ``parms`` is a ``NodeValues`` (``SchedulerSpec.values()``), the node's spare
        parameters join the type's, so ``self["name"]`` reads them."""
        instance = cls(name, parms, hip)
        instance.parms.declare(spare_of(parms))
        return instance

    def attach(self, cook: CookContext | None) -> None:
        """Serve ``cook`` (None: no cook). A scheduler made in code without a ``$HIP``
        takes its cook's network's folder."""
        self._cook = cook
        if cook is not None and not self._hip_given:
            self.parms.hip = cook.hip

    def __getitem__(self, name: str):
        """``self["pdg_workingdir"].evaluateString()``, as in Houdini."""
        return self.parms[name]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    # == callbacks PDG calls ============================================================
    def onStart(self) -> bool:
        """When the scheduler is created for a cook session. Set up lasting state."""
        return True

    def onStop(self) -> bool:
        """When the scheduler is removed. Clean up what ``onStart`` set up; the default
        stops the result server."""
        self.stopCallbackServer()
        return True

    def onStartCook(self, static: bool, cook_set) -> bool:
        """Before any item of a cook is scheduled. False or an exception fails the cook.

        The default sets the working dir from ``pdg_workingdir``."""
        workdir = os.path.abspath(self["pdg_workingdir"].evaluateString())
        try:
            os.makedirs(workdir, exist_ok=True)
        except OSError as exc:
            raise CookError(f"the working directory {workdir} cannot be created "
                            f"({exc.strerror}); set pdg_workingdir to a folder you can "
                            f"write to") from None
        self.setWorkingDir(workdir, workdir)
        return True

    def onStopCook(self, cancel: bool) -> bool:
        """When the cook completed (``cancel`` False) or is canceled: with ``cancel`` True,
        jobs may still run; cancel them and return once they are gone. May run twice."""
        return True

    def onSchedule(self, work_item: WorkItem) -> ScheduleResult:
        """A work item is ready: submit it. Return ``Succeeded`` when it was submitted (it
        reports later), ``CookSucceeded``/``CookFailed``/``CookCanceled`` when it finished
        here, ``Failed`` when it could not be submitted, ``Deferred`` to be asked again later,
        ``FullDeferred`` for no more ``onSchedule`` calls until the next tick or report."""
        raise NotImplementedError(f"{type(self).__name__} does not implement onSchedule")

    def onScheduleStatic(self, dependencies, dependents, ready_items) -> None:
        """A static cook: the whole graph up front (item -> items it depends on / that depend
        on it, and the items ready now). The default does nothing: items then come to
        ``onSchedule`` as they become ready."""

    def onTick(self) -> TickResult:
        """Every ``pdg_tickperiod`` seconds while cooking. Poll running jobs here.
        ``SchedulerReady``; ``SchedulerBusy`` (no ``onSchedule`` until a tick says ready);
        ``SchedulerCancelCook``."""
        return TickResult.SchedulerReady

    def onSchedulePassEnd(self) -> None:
        """Called after each pass of ``onSchedule`` calls, once the ready items were offered:
        a scheduler that collects what ``onSchedule`` accepted submits it here at once (one
        request to its farm for the pass, not one per item). Not a Houdini callback; the
        default does nothing. An exception stops the cook: the pass's items would wait for
        ever."""

    def submitAsJob(self, graph_file: str, node_path: str) -> str:
        """Cook the whole network as one standalone job; return its status URI, or "" when
        this scheduler cannot. ``graph_file`` is the saved network, relative to the working
        dir; ``node_path`` the node to cook up to ("" for all). The default runs
        ``schedcore cook`` as a detached process on this machine: the submitter may exit and
        the cook carries on, writing its progress to the JSON file the URI names."""
        workdir = self._workdir(True)
        name, folder, _ = submission.new(graph_file, workdir, self._workdir(False))
        status = os.path.join(folder, f"{name}.json")
        command = [python_for_jobs(), "-m", "schedcore.cli", "cook",
                   os.path.join(workdir, graph_file), "--status-file", status,
                   *self.submitted_hip()]
        if node_path:
            command += ["--node", node_path]
        log = os.path.join(folder, f"{name}.log")
        submission.queued(status, graph_file, log, host=socket.gethostname())
        pid = submission.start_detached(command, workdir, log)
        # with its pid, a cook that dies before it writes its status is seen to be dead (it
        # takes far longer to start than this takes)
        submission.queued(status, graph_file, log, host=socket.gethostname(), pid=pid)
        return Path(status).as_uri()

    def submitted_hip(self) -> list[str]:
        """``--hip`` for the submitted ``schedcore cook``: the copy in the working dir cooks
        with its original's ``$HIP`` (where its scripts are, what its paths are relative
        to), not the working dir it was copied into."""
        return ["--hip", self.parms.hip] if self.parms.hip else []

    def endSharedServer(self, sharedserver_name: str) -> bool:
        """Close a shared server instance. True on success. The default stops a server
        ``pdgserver`` started (Python Server Begin) and forgets it; the engine calls it for
        every server still known at the end of a cook."""
        info = self.getSharedServerInfo(sharedserver_name)
        if info is None:
            return False
        self.clearSharedServerInfo(sharedserver_name)
        return pdgserver.stop(info, cook=self._cook.cook_id if self._cook else "")

    def workItemResultServerAddr(self) -> str:
        """Where jobs report (the result server), "" when it is not running: ``host:port``
        when every peer that can connect is known without the secret (on loopback the kernel
        names the user of each connection; or every host is trusted), else
        ``<secret>@host:port``.
        The cook's secret rides as the address's user name: Houdini's job helper and
        ``xmlrpc.client`` send it as HTTP Basic authorization, so a job may carry any job id
        its scheduler chose in ``PDG_JOBID`` and still be known for one of the cook's."""
        if self._server is None:
            return ""
        secret = self.current_job_id()
        if secret and self._server.needs_secret:
            return f"{secret}@{self._server_host_port()}"
        return self._server_host_port()

    def result_server_problem(self) -> str:
        """Why jobs could not reach the result server at the address this scheduler hands
        them (its ``workItemResultServerAddr``, which farm schedulers override), or "". The
        engine asks once ``onStartCook`` returned."""
        if self._server is None:
            return ""
        try:
            given = str(self.workItemResultServerAddr())
        except Exception:  # said where the scheduler itself calls it
            return ""
        host = given.rpartition("@")[2].rpartition(":")[0].strip("[]")
        bound = self._server.address[0]
        if not host or bound in ("0.0.0.0", "::", host):
            return ""
        try:
            found = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
        except (OSError, UnicodeError):
            return (f"{self.name} hands its jobs the result server's address {given!r}, "
                    f"whose host does not resolve here; jobs on this machine cannot report")
        if bound in found or (is_loopback(bound) and all(map(is_loopback, found))):
            return ""
        return (f"{self.name} hands its jobs the result server's address {host}, but the "
                f"server listens on {bound} only, so they cannot report: set "
                f"pdg_resultserverbind to 0.0.0.0 (or to {host})")

    def _server_host_port(self) -> str:
        """``host:port`` of the result server as jobs on other machines reach it."""
        assert self._server is not None  # workItemResultServerAddr asks only when it runs
        bound, port = self._server.address
        host = self["pdg_resultserverhost"].evaluateString() or bound
        if host in ("0.0.0.0", "::", ""):
            host = local_ip()
        return f"{host}:{port}"

    def transferFile(self, file_path: str) -> bool:
        """Copy a file the work needs into the working dir, unless an identical copy is
        there already. True when the file is in place."""
        source = Path(file_path)
        target = Path(self._workdir(True)) / source.name
        if not foreign_link(str(target)):  # another user's link is replaced, whatever it names
            if source.resolve() == target.resolve():
                return True
            # by content: a file of the same size and a newer time may be another folder's
            # network of the same name, and cooking it would report another cook's success
            if target.is_file() and target.stat().st_size == source.stat().st_size \
                    and _digest(target) == _digest(source):
                return True
        target.parent.mkdir(parents=True, exist_ok=True)
        # a new file renamed over the target: a file or link planted there is replaced,
        # never opened and written through (as copying onto it did)
        try:
            replace_with_copy(str(source), str(target))
        except PermissionError as exc:  # a file of another user's in a sticky folder
            owner = other_owner(str(target))
            made = f", made by {owner}" if owner else ""
            raise OSError(exc.errno, f"cannot replace it{made} ({exc.strerror}): remove it "
                                     f"(its owner or root can), or set pdg_workingdir to "
                                     f"another folder", str(target)) from None
        return True

    def getLogURI(self, work_item: WorkItem) -> str:
        """URI of the item's log (``file:///...``), or "". The default names the log file
        ``startJob`` writes, for the items whose job it started; "" for the others (a farm
        scheduler that starts its jobs otherwise knows where their logs are)."""
        if work_item.id not in self._processes.running:
            return ""
        return Path(self._subdir("logs", True), f"{work_item.name}.log").as_uri()

    def getStatusURI(self, work_item: WorkItem) -> str:
        """URI of the item's status on the result server (JSON; HTML for a browser), or ""."""
        if self._server is None:
            return ""
        # the read key, never the cook's secret: whoever sees a URI may read, not report
        return (f"http://{self._server_host_port()}/status/{work_item.id}"
                f"?key={self._server.read_key()}")

    def onCancelWorkItems(self, work_items: list[WorkItem], node) -> None:
        """Cancel these queued or running items."""

    def applicationBin(self, name: str, work_item: WorkItem | None) -> str:
        """Path of an application for commands. ``python`` is the interpreter jobs run
        Python with: ``$SCHEDCORE_PYTHON`` when set, else this Python; in the packaged studio
        (which is no Python itself) a ``python3`` on the PATH, else the studio's own
        interpreter (it runs a script given as its first argument)."""
        if name in ("python", "python3"):
            return python_for_jobs()
        return shutil.which(name) or name

    # == services: directories ==========================================================
    # Houdini's services never call a method a subclass may override (they are C++ there):
    # these call the private implementations below, never ``self.tempDir`` and the like,
    # so an override built on them (``tempDir`` on ``workingDir``) cannot recurse.
    def setWorkingDir(self, local: str, remote: str) -> None:
        self._local_dir, self._remote_dir = str(local), str(remote)
        self._cook_env = None

    def workingDir(self, local: bool = True) -> str:
        return self._workdir(local)

    def tempDir(self, local: bool = True) -> str:
        """``<working dir>/pdgtemp/<pid>-<random>`` for a process's first cook (a ``schedcore
        cook``), ``<pid>-<number>-<random>`` for its later ones (the studio cooks many
        times): each cook's logs, data and scripts are its own. It is made fresh (mode 0700,
        a name nobody can guess) on first use, so no one else can have put files there."""
        return self._tempdir(local)

    def scriptDir(self, local: bool = True) -> str:
        return self._subdir("scripts", local)

    def logDir(self, local: bool = True) -> str:
        return self._subdir("logs", local)

    def dataDir(self, local: bool = True) -> str:
        return self._subdir("data", local)

    def _workdir(self, local: bool) -> str:
        if not self._local_dir:
            workdir = self["pdg_workingdir"].evaluateString()
            Scheduler.setWorkingDir(self, workdir, workdir)
        return self._local_dir if local else self._remote_dir

    def _tempdir(self, local: bool) -> str:
        number = self._cook.number if self._cook is not None else 1
        key = (self._workdir(True), number)
        if self._temp is None or self._temp[0] != key:
            prefix = f"{os.getpid()}-" if number == 1 else f"{os.getpid()}-{number}-"
            self._temp = (key, os.path.basename(cook_temp_dir(key[0], prefix)))
        return os.path.join(self._workdir(local), "pdgtemp", self._temp[1])

    def _subdir(self, name: str, local: bool) -> str:
        return os.path.join(self._tempdir(local), name)

    def make_cook_dirs(self) -> None:
        """Make the cook's temp dir with its scripts, logs and data folders, and put the
        job-side modules (``pdgjob``, ``pdgcmd``) in the script dir: the engine calls it after
        ``onStartCook``, so they exist before the first ``onSchedule``, as in Houdini."""
        private_folder(self._subdir("logs", True))
        self._copy_job_modules()

    def createJobDirsAndSerializeWorkItems(self, work_item: WorkItem) -> str:
        """Make the job dirs, copy the job-side modules into the script dir and write
        ``<temp>/data/<item>.json``; returns that file's path."""
        for folder in (self._subdir("scripts", True), self._subdir("logs", True)):
            private_folder(folder)
        self._copy_job_modules()
        path = os.path.join(self._subdir("data", True), f"{work_item.name}.json")
        write_private(path, json.dumps(Scheduler.serializeWorkItem(self, work_item)))
        return path

    def serializeWorkItem(self, work_item: WorkItem) -> dict:
        data = work_item.to_json()
        data["payload"] = self._cook.payload(work_item) if self._cook else None
        server = work_item.attribValue("sharedserver")
        if server is not None:  # how the job reaches the shared server it names
            data["sharedserver"] = self.getSharedServerInfo(str(server))
        return data

    def _copy_job_modules(self) -> None:
        """The job-side modules into the script dir; and the data dir made private, as every
        scheduler calls this before its first job."""
        private_folder(self._subdir("data", True))
        script_dir = private_folder(self._subdir("scripts", True))
        for source in JOB_MODULES.glob("*.py"):
            target = os.path.join(script_dir, source.name)
            if not os.path.exists(target):
                copy_new(str(source), target)

    def expandCommandTokens(self, command: str, work_item: WorkItem | None) -> str:
        """Replace the ``__PDG_*__`` tokens; ``work_item`` may be None."""
        if "__PDG_" not in command:
            return command
        tokens = {
            "__PDG_DIR__": self._workdir(False),
            "__PDG_TEMP__": self._tempdir(False),
            "__PDG_SHARED_TEMP__": self._tempdir(False),
            "__PDG_SCRIPTDIR__": self._subdir("scripts", False),
            "__PDG_RESULT_SERVER__": self.workItemResultServerAddr(),
            "__PDG_PYTHON__": self.applicationBin("python", work_item),
            "__PDG_HYTHON__": self.applicationBin("hython", work_item),
            "__PDG_HFS__": os.environ.get("HFS", ""),
        }
        if work_item is not None:
            tokens.update({"__PDG_ITEM_NAME__": work_item.name,
                           "__PDG_ITEM_ID__": str(work_item.id),
                           "__PDG_INDEX__": str(work_item.index)})
        for token, value in tokens.items():
            command = command.replace(token, value)
        return command

    def localizePath(self, path: str) -> str:
        return path.replace("__PDG_DIR__", self._workdir(True))

    def delocalizePath(self, path: str) -> str:
        local = self._workdir(True)
        return "__PDG_DIR__" + path[len(local):] if local and path.startswith(local) else path

    def pdgEnvironment(self, work_item: WorkItem) -> dict[str, str]:
        """The ``PDG_*`` variables every job gets (reference §4)."""
        if self._cook_env is None:  # the same for every item until the dirs change
            self._cook_env = {
                "PDG_RESULT_SERVER": self.workItemResultServerAddr(),
                "PDG_DIR": self._workdir(False),
                "PDG_TEMP": self._tempdir(False),
                "PDG_SHARED_TEMP": self._tempdir(False),
                "PDG_SCRIPTDIR": self._subdir("scripts", False),
                "PDG_JOBID": self._cook.job_id if self._cook else "",
                "PDG_JOBID_VAR": "PDG_JOBID",
                # names the cook in every process of its jobs, which inherit it: with
                # PDG_ITEM_ID, how a job's processes are found wherever they went
                "SCHEDCORE_COOK": self._cook.cook_id if self._cook else "",
            }
        return {**self._cook_env, "PDG_ITEM_NAME": work_item.name,
                "PDG_ITEM_ID": str(work_item.id), "PDG_INDEX": str(work_item.index)}

    def jobEnvironment(self, work_item: WorkItem) -> dict[str, str]:
        """A job's whole environment: this process's, then :meth:`jobVariables`."""
        env = dict(os.environ)
        env.update(self.jobVariables(work_item))
        return env

    def jobVariables(self, work_item: WorkItem) -> dict[str, str]:
        """What a job's environment has beyond the cook's: the item's own variables
        (``work_item.environment``), then the ``PDG_*`` variables, which win."""
        own = work_item._environment
        pdg = self.pdgEnvironment(work_item)
        return {**own, **pdg} if own else pdg

    # == services: the result (callback) server ========================================
    def startCallbackServer(self) -> None:
        """Start the result server jobs report to, unless it runs already."""
        if self._server is None:
            from ..resultserver import ResultServer
            self._server = ResultServer(self, self["pdg_resultserverbind"].evaluateString(),
                                        self["pdg_resultserverport"].evaluateInt(),
                                        trusted=self._trusted_hosts())
            self._cook_env = None

    def _trusted_hosts(self) -> TrustedHosts:
        text = self["pdg_trustedhosts"].evaluateString() if "pdg_trustedhosts" in self.parms \
            else ""
        trusted = TrustedHosts(text)
        if trusted.unknown and self._cook is not None:
            self.cookWarning(f"{self.name}: pdg_trustedhosts names hosts that do not resolve "
                             f"here, so they are not trusted: {', '.join(trusted.unknown)}")
        return trusted

    def stopCallbackServer(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
            self._cook_env = None

    def isCallbackServerRunning(self) -> bool:
        return self._server is not None

    # what the result server asks (its threads)
    def current_job_id(self) -> str:
        return self._cook.job_id if self._cook else ""

    def find_item(self, ref) -> WorkItem | None:
        return self._cook.find(ref) if self._cook else None

    def all_items(self) -> list[WorkItem]:
        return self._cook.items() if self._cook else []

    # == services: job processes on this machine =========================================
    def maxTasks(self) -> int:
        """Jobs at once: ``pdg_maxtasks`` when the scheduler has it (0: the CPUs)."""
        wanted = self["pdg_maxtasks"].evaluateInt() if "pdg_maxtasks" in self.parms else 0
        return wanted if wanted > 0 else max(1, os.cpu_count() or 1)

    def startJob(self, work_item: WorkItem, command: str):
        """Start ``command`` for ``work_item`` as a process of its own session, without
        waiting for it, wrapped by the job-side module so that it reports its start and its
        outcome to the result server. Its output goes to the item's log file. The job is
        kept (by item id) for ``pollJobs``, ``killJobs`` and ``waitJobs``; ``self.jobs`` is
        the same dict unless a subclass put its own there."""
        self._copy_job_modules()
        private_folder(self._subdir("logs", True))
        wrapper = [self.applicationBin("python", work_item),
                   os.path.join(self._subdir("scripts", True), "pdgjob.py"), "--run", "--", command]
        log_path = os.path.join(self._subdir("logs", True), f"{work_item.name}.log")
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
        with open(os.open(log_path, flags, 0o600), "ab") as log:
            job = subprocess.Popen(wrapper, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, env=self.jobEnvironment(work_item),
                                   cwd=self._workdir(True), start_new_session=True)
        self._processes.add(work_item.id, job)
        return job

    def pollJobs(self) -> None:
        """Forget the jobs whose item has finished or whose process has ended; an item
        whose process ended without reporting (killed, crashed) fails."""
        self._processes.poll(self.find_item, lambda item_id, why: self.workItemFailed(
            item_id, -1, why))

    def killJob(self, job) -> None:
        """Kill a job started by ``startJob`` with its whole process tree."""
        process.kill_tree(job)

    def killJobs(self) -> None:
        """Kill every running job with its process tree; their items are canceled."""
        self._processes.kill_all(self.killJob, self.workItemCancelled)

    def reap_started_jobs(self) -> None:
        """Forget the jobs of ``startJob`` whose processes have ended, and reap them: the
        engine calls it once it killed what a failed ``onStopCook`` left running."""
        self._processes.reap()

    def waitJobs(self, timeout: float = 10.0) -> None:
        """Return once every job process is gone; one still there after ``timeout`` seconds
        is killed with its tree."""
        self._processes.wait(timeout, self.killJob)

    # == services: shared servers, graph, messages ======================================
    def getSharedServers(self) -> dict[str, dict]:
        return dict(self._shared_servers)

    def getSharedServerInfo(self, name: str) -> dict | None:
        return self._shared_servers.get(name)

    def setSharedServerInfo(self, name: str, info: dict) -> None:
        self._shared_servers[name] = dict(info)

    def clearSharedServerInfo(self, name: str) -> None:
        self._shared_servers.pop(name, None)

    def dependencyGraph(self):
        """``(dependencies, dependents, ready)`` of this scheduler's items in the cook."""
        return self._cook.dependency_graph(self) if self._cook else ({}, {}, [])

    def cookError(self, message: str) -> None:
        """Report an error: the cook fails (after this tick) and the message is shown."""
        self.post_report(CookErrorSaid(str(message)))

    def cookWarning(self, message: str) -> None:
        self.post_report(CookWarningSaid(str(message)))

    # == notifications: a job's progress (any thread) ===================================
    def workItemStartCook(self, item, index: int = -1) -> None:
        self.post_report(Started(item))

    def workItemSucceeded(self, item, index: int = -1, cook_duration: float = 0.0) -> None:
        self.post_report(Succeeded(item, float(cook_duration)))

    def workItemFailed(self, item, index: int = -1, reason: str = "",
                       cook_duration: float = 0.0) -> None:
        self.post_report(Failed(item, str(reason or ""), float(cook_duration)))

    def workItemCancelled(self, item, index: int = -1) -> None:
        self.post_report(Canceled(item))

    workItemCanceled = workItemCancelled

    def workItemFileResult(self, item, subindex: int, path: str, tag: str = "file",
                           checksum: int = 0) -> None:
        self.post_report(OutputAdded(item, path, tag, checksum))

    def workItemSetAttribute(self, item, subindex: int, name: str, type, value,
                             index: int = 0) -> None:
        self.post_report(AttributeSet(item, name, AttribType(type), value, index))

    def workItemSetAttributeArray(self, item, subindex: int, name: str, type,
                                  values) -> None:
        self.post_report(AttributeArraySet(item, name, AttribType(type), tuple(values)))

    def workItemAppendLog(self, item, text: str) -> None:
        self.post_report(LogAppended(item, text))

    def workItemUsage(self, item, usage: ItemUsage | dict | None = None, **fields) -> None:
        """Record what an item's job used and where it ran, from any thread, at any time
        (also after the item ended: a farm's accounting comes late): an ``ItemUsage``, or
        its fields by name, e.g. ``workItemUsage(item, native_id="4711", host="node7",
        cpu_user=12.5, peak_rss=2**30, exit_code=0)``. Only the fields given change; a field
        that is not one, or a value of the wrong kind, raises ``UsageError`` saying which."""
        if not isinstance(usage, ItemUsage):
            usage = ItemUsage.from_json({**(usage or {}), **fields})
        elif fields:
            usage = usage.merged(ItemUsage.from_json(fields))
        self.post_report(UsageReported(item, usage), wake=False)

    def post_report(self, report: Report, wake: bool = True) -> None:
        """Queue a report for the cook (any thread); an output's path is localized here.
        ``wake=False``: the engine may read it within ``Engine.QUIET`` seconds instead of at
        once (a busy scheduler saves the engine a wake-up per report)."""
        if self._cook is None:
            raise RuntimeError(f"{self.name}: {type(report).__name__} outside a cook")
        if isinstance(report, OutputAdded):
            report = replace(report, path=self.localizePath(report.path))
        self._cook.post(report, self, wake=wake)
