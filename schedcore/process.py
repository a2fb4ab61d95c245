"""Starting job processes and killing them with every process they started (POSIX).

A job's processes are found three ways, so that none outlives its cook:

- its process group, its session and its descendants, at the moment of the kill;
- its marker: every job carries ``SCHEDCORE_COOK=<cook id>`` and ``PDG_ITEM_ID`` in its
  environment, which every process it starts inherits, wherever it goes (double fork,
  ``setsid``); :func:`kill_tree` and :func:`kill_owned` look for it in every process;
- on Linux, while a Local Scheduler cooks, the cooking process is the child subreaper of its
  jobs (:func:`become_subreaper`): a process whose parent exits comes back to the cook
  instead of init, and is reaped there when it exits (:func:`reap_orphans`). macOS has no
  subreaper: there the marker alone finds such processes.

What escapes: a process that clears or replaces its environment (``env -i``, a daemon that
execs with an environment of its own) *and* starts a session of its own (``setsid``) *and*
leaves the job's tree (its parent exited) before the kill. On Linux it is then the cook's
child, reaped when it ends, but nothing names it as the job's.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from typing import Protocol

import psutil

MARKER = "SCHEDCORE_COOK"  # names the cook of every job process: the engine's cook_id
ITEM_VAR = "PDG_ITEM_ID"  # with the marker, names the job

# Characters that need a shell; a command without them runs directly (one process, not two).
_SHELL_SYNTAX = set("|&;<>()$`*?[]#~{}!\n")
_QUOTING = set("\"'\\")


def command_argv(command: str) -> list[str]:
    """The argv that runs ``command``: split it when it is a plain command line, or hand it
    to ``/bin/sh -c`` when it uses shell syntax (pipes, redirection, variables...)."""
    if not _SHELL_SYNTAX.intersection(command):
        if not _QUOTING.intersection(command):
            argv = command.split()
        else:
            try:
                argv = shlex.split(command)
            except ValueError:  # unbalanced quotes: let the shell say what is wrong
                argv = []
        if argv and "=" not in argv[0]:
            return argv
    return ["/bin/sh", "-c", command]


class Job(Protocol):
    """What a cook needs of a job's process: a :class:`JobProcess` or a ``Popen``."""

    @property
    def pid(self) -> int: ...
    @property
    def returncode(self) -> int | None: ...
    def poll(self) -> int | None: ...
    def wait(self, timeout: float | None = None) -> int: ...


def start(command: str, stdin, log, env: dict, cwd: str, *, marker: dict | None = None,
          programs: Programs | None = None) -> JobProcess | subprocess.Popen[bytes]:
    """Start ``command`` in a new session (so its tree can be killed), output to ``log``
    (stdin and log: descriptors or files). A job started here whose environment (or
    ``marker``, the job's variables when ``env`` is encoded: :func:`encode_environment`) has
    its marker is known to the orphan reaper. ``programs`` finds the program once per cook
    instead of once per job. Where it can, the process is started as ``Popen`` starts it but
    without ``Popen`` (:class:`JobProcess`), which costs a busy cook more than the start."""
    argv = command_argv(command)
    executable = programs(argv[0]) if programs is not None else None
    key = _orphans.starting(env if marker is None else marker)
    proc: JobProcess | subprocess.Popen[bytes]
    try:
        if _fork_exec is None:
            proc = subprocess.Popen(argv, executable=executable, stdin=stdin, stdout=log,
                                    stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                    start_new_session=True)
        else:
            proc = JobProcess(_spawn(argv, executable or argv[0], _fileno(stdin),
                                     _fileno(log), env, cwd), argv)
    except BaseException:
        _orphans.started(key, None)
        raise
    _orphans.started(key, proc.pid)
    return proc


class JobProcess:
    """A job's process as :func:`start` makes it: what a cook needs of a ``Popen`` (``pid``,
    ``returncode``, ``poll``, ``wait``), waited for the way ``Popen`` waits."""

    def __init__(self, pid: int, args: list[str]):
        self.pid, self.args = pid, args
        self.returncode: int | None = None
        # what the kernel counted for it and the descendants it waited for, as it was reaped
        self.rusage: resource.struct_rusage | None = None
        self._lock = threading.Lock()  # one waitpid at a time: a pid is reaped once

    def poll(self) -> int | None:
        if self.returncode is None and self._lock.acquire(False):
            try:
                self._wait(os.WNOHANG)
            finally:
                self._lock.release()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if timeout is None:
            with self._lock:
                self._wait(0)
            assert self.returncode is not None  # a blocking waitpid has set it
            return self.returncode
        deadline, delay = time.monotonic() + timeout, 0.0005
        while (code := self.poll()) is None:  # as Popen does: a timed waitpid does not exist
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise subprocess.TimeoutExpired(self.args, timeout)
            time.sleep(min(delay, remaining))
            delay = min(2 * delay, 0.05)
        return code

    def _wait(self, flags: int) -> None:  # under the lock
        if self.returncode is not None:
            return
        try:  # wait4: the reaping says what the job's tree used, with no polling
            pid, status, rusage = os.wait4(self.pid, flags)
        except ChildProcessError:  # reaped elsewhere: Popen says 0 too
            pid, status, rusage = self.pid, 0, None
        if pid == self.pid:
            self.rusage = rusage
            self.returncode = os.waitstatus_to_exitcode(status)


def _fileno(file) -> int:
    return file if isinstance(file, int) else file.fileno()


def _spawn(argv: list[str], executable: str, stdin: int, log: int, env: dict,
           cwd: str) -> int:
    """Start ``argv`` as ``Popen(argv, executable=executable, stdin=stdin, stdout=log,
    stderr=STDOUT, env=env, cwd=cwd, start_new_session=True)`` does (the same call into
    ``_posixsubprocess``, vfork included); raise what it would raise; return the pid."""
    if env and not isinstance(next(iter(env)), bytes):
        env = encode_environment(env)
    if any(b"=" in name for name in env):
        raise ValueError("illegal environment variable name")  # as Popen says
    env_list = [name + b"=" + value for name, value in env.items()]
    if "/" in executable:
        executables = [os.fsencode(executable)]
    else:  # along the job's PATH, as Popen tries it
        executables = [os.path.join(os.fsencode(folder), os.fsencode(executable))
                       for folder in os.get_exec_path(env)]
    report, report_end = os.pipe()  # the child says here why it could not exec
    try:
        if report_end < 3:  # the child's stdin, stdout and stderr take 0-2
            low, report_end = report_end, fcntl.fcntl(report_end, fcntl.F_DUPFD_CLOEXEC, 3)
            os.close(low)
        pid = _fork_exec(argv, executables, cwd, env_list, stdin, log, report, report_end)
    except BaseException:
        os.close(report)
        raise
    finally:
        os.close(report_end)
    try:
        failure = os.read(report, 50000)  # nothing: the exec closed it
    finally:
        os.close(report)
    if not failure:
        return pid
    os.waitpid(pid, 0)  # it exits once it has said why
    raise _exec_error(failure, executable, cwd)


def _exec_error(failure: bytes, executable: str, cwd: str) -> Exception:
    """The exception ``Popen`` raises for what its child reported."""
    try:
        name, hex_number, message = failure.split(b":", 2)
        number = int(hex_number, 16)
    except ValueError:
        return subprocess.SubprocessError(f"bad exception data from the child: {failure!r}")
    if name != b"OSError":
        return subprocess.SubprocessError(message.decode(errors="replace"))
    if message == b"noexec" and sys.version_info >= (3, 13):  # before exec, not in chdir
        return OSError(number, os.strerror(number))
    # "noexec:chdir" (and "noexec" before 3.13): the working dir could not be entered
    where = cwd if message.startswith(b"noexec") else executable
    return OSError(number, os.strerror(number), where)  # FileNotFoundError for ENOENT...


def _fork_exec_for(version: tuple[int, int]):
    """``_posixsubprocess.fork_exec`` called as ``Popen`` of this Python calls it, for the
    versions whose call is known; None elsewhere (``Popen`` then starts every job)."""
    try:
        from _posixsubprocess import fork_exec
    except ImportError:  # not POSIX, or not CPython
        return None
    if version == (3, 10):
        def call(argv, executables, cwd, env_list, stdin, log, report, report_end):
            return fork_exec(argv, executables, True, (report_end,), cwd, env_list, stdin, -1,
                             -1, log, -1, log, report, report_end, True, True, None, None,
                             None, -1, None)
    elif (3, 11) <= version <= (3, 13):
        def call(argv, executables, cwd, env_list, stdin, log, report, report_end):
            return fork_exec(argv, executables, True, (report_end,), cwd, env_list, stdin, -1,
                             -1, log, -1, log, report, report_end, True, True, -1, None, None,
                             None, -1, None, True)
    else:
        return None
    return call


_fork_exec = _fork_exec_for(sys.version_info[:2])


def encode_environment(env: dict[str, str]) -> dict[bytes, bytes]:
    """``env`` encoded as the new process gets it. ``Popen`` encodes a ``str`` environment
    for every process it starts; a cook's jobs share all of theirs but a few variables, so
    the shared part is encoded once per cook."""
    return {os.fsencode(name): os.fsencode(value) for name, value in env.items()}


class Programs:
    """Where each program a cook's jobs run lives, found once along the jobs' ``PATH``:
    ``Popen`` tries every folder of it, one failed ``execve`` after another, for each job.
    A name with a slash, a ``PATH`` with a relative folder (the job's working dir decides)
    or a program not found is left to ``Popen``, which then says what is wrong."""

    def __init__(self, path: str | None):
        folders = (os.defpath if path is None else path).split(os.pathsep)
        self._path = os.pathsep.join(folders) if all(map(os.path.isabs, folders)) else None
        self._found: dict[str, str | None] = {}

    def __call__(self, name: str) -> str | None:
        if self._path is None or "/" in name:
            return None
        if name not in self._found:
            self._found[name] = shutil.which(name, path=self._path)
        return self._found[name]


# == killing ===========================================================================
def kill_tree(proc: Job, grace: float = 2.0, env: dict | None = None) -> None:
    """Terminate ``proc`` (a session leader, as :func:`start` makes it), its process group,
    every descendant (even those that started sessions of their own), every process still
    in its session, and every process that carries its job's marker (``SCHEDCORE_COOK`` and
    ``PDG_ITEM_ID`` of ``env``, else of ``proc``'s own environment) wherever it went;
    SIGKILL what is left after ``grace`` seconds; return once they have exited, the orphans
    this process adopted reaped. What escapes is said at the top of this module: a process
    that cleared its environment, started a session of its own and left the tree."""
    marker = _marker(env) if env is not None else _marker_of(proc)
    victims = _victims(proc.pid, marker)
    _signal_group(proc.pid, signal.SIGTERM)
    _signal_all(victims.values(), signal.SIGTERM)
    deadline = time.monotonic() + grace
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        pass
    _wait_gone(victims.values(), deadline - time.monotonic())
    for pid, found in _victims(proc.pid, marker).items():  # started since the first look
        victims.setdefault(pid, found)
    _signal_group(proc.pid, signal.SIGKILL)
    _signal_all(victims.values(), signal.SIGKILL)
    proc.wait()
    _wait_gone(victims.values(), grace)
    _reap_adopted(victims.values())


def _reap_adopted(victims) -> None:
    """Reap, each by its pid, the victims that are children of this process: orphans it
    adopted as a subreaper. None is a Popen child: those are in this process's session or
    in one of their own, never in a job's tree, and carry no job's marker but their own."""
    me = os.getpid()
    for proc in victims:
        try:
            if proc.is_running() and proc.ppid() == me:
                os.waitpid(proc.pid, os.WNOHANG)
        except (psutil.Error, ChildProcessError):
            pass


def kill_owned(var: str, value, grace: float = 2.0) -> list[int]:
    """Terminate every process (but this one) of this user whose environment has
    ``var=value`` (or, ``value`` a function, a value of ``var`` for which it is true);
    SIGKILL what is left after ``grace`` seconds; return the pids of those found, once they
    have exited. An empty ``value`` matches nothing. Only processes of this (real) user are
    found, root's own for root: never another user's, whatever its environment says. A
    child of this process is left for its owner to reap (a ``subprocess.Popen`` would report
    0 for a status taken from it);
    adopted orphans of jobs are reaped (:func:`reap_orphans`)."""
    if not value:
        return []
    match = {var: value}
    owned = {proc.pid: proc for proc in _owned(match)}
    _signal_all(owned.values(), signal.SIGTERM)
    alive = _wait_gone(owned.values(), grace)
    late = [proc for proc in _owned(match) if proc.pid not in owned]  # forked since
    owned.update((proc.pid, proc) for proc in late)
    _signal_all([*alive, *late], signal.SIGKILL)
    _wait_gone([*alive, *late], grace)
    reap_orphans()
    return sorted(owned)


def _wait_gone(processes, timeout: float) -> list[psutil.Process]:
    """Wait until each process has exited (a zombie has); return those still running after
    ``timeout`` seconds. Reaps nothing, unlike ``psutil.wait_procs`` for a child."""
    deadline = time.monotonic() + timeout
    alive = list(processes)
    while alive:
        alive = [proc for proc in alive if _running(proc)]
        if not alive or time.monotonic() >= deadline:
            break
        time.sleep(0.01)
    return alive


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _marker(env: dict) -> dict[str, str] | None:
    """The variables that name a job, or None when it carries no marker."""
    cook, item = env.get(MARKER), env.get(ITEM_VAR)
    return {MARKER: cook, ITEM_VAR: item} if cook and item is not None else None


def _marker_of(proc: Job) -> dict[str, str] | None:
    if proc.returncode is not None:  # reaped: its pid may be another process's by now
        return None
    try:
        return _marker(psutil.Process(proc.pid).environ())
    except psutil.Error:  # gone, or a zombie: its descendants are found through the tree
        return None


def _victims(pid: int, marker: dict[str, str] | None) -> dict[int, psutil.Process]:
    """The descendants of ``pid`` (a session leader), the processes still in its session and
    those carrying ``marker``; not ``pid`` itself (the caller's Popen child, which it waits
    for) nor this process."""
    found: dict[int, psutil.Process] = {}
    try:
        found.update((child.pid, child) for child in psutil.Process(pid).children(True))
    except psutil.Error:
        pass
    for proc in _owned(marker or {}, session=pid):
        found.setdefault(proc.pid, proc)
    found.pop(pid, None)
    return found


def _owned(match: dict[str, str], session: int = 0) -> list[psutil.Process]:
    """Every other process whose environment has all of ``match`` (when it is not empty), or
    that is in ``session``."""
    me, uid, owned = os.getpid(), os.getuid(), []
    for proc in psutil.process_iter():
        try:
            if proc.pid != me and (session and os.getsid(proc.pid) == session or
                                   match and proc.uids().real == uid and
                                   _matches(proc.environ(), match)):
                owned.append(proc)
        except (psutil.Error, OSError):  # gone, a zombie, or not ours to read
            pass
    return owned


def _matches(env: dict, match: dict) -> bool:
    return all(value(env.get(var)) if callable(value) else env.get(var) == value
               for var, value in match.items())


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _signal_all(processes, sig: int) -> None:
    for process in processes:
        try:
            process.send_signal(sig)  # psutil checks that the pid is still that process
        except psutil.Error:
            pass


# == the subreaper: orphans of jobs come back to the cook (Linux) =======================
_PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>
_subreaper_lock = threading.Lock()
_subreaper_holds = 0  # cooks running here that asked for it
_subreaper_pid = 0  # the process that is a subreaper now (a fork's child is not)


def become_subreaper() -> bool:
    """Make this process the child subreaper of its descendants (Linux) while a cook runs;
    each call is ended by one :func:`stop_subreaper`. A job's process whose parent exits
    (double fork, ``(cmd &)``) is then reparented to this process, not to init, so it stays
    in the job's tree and is reaped here when it exits (see :func:`reap_orphans`). Returns
    whether this process is one; False elsewhere (macOS has no subreaper: the environment
    marker alone finds such processes).

    Only while cooks run: a subreaper also adopts what it meant to let go, such as a
    submitted cook detached through a shell, which would then stay its zombie when it
    ends."""
    global _subreaper_holds, _subreaper_pid
    with _subreaper_lock:
        if _subreaper_pid != os.getpid():  # first here, or a fork's child
            _subreaper_holds = 0
            _subreaper_pid = os.getpid() if _prctl_subreaper(1) else 0
        if _subreaper_pid:
            _subreaper_holds += 1
        return _subreaper_pid != 0


def stop_subreaper() -> None:
    """End one :func:`become_subreaper`; the last one makes this process an ordinary parent
    again (orphans adopted until then stay its children, and :func:`reap_orphans` still
    reaps them)."""
    global _subreaper_holds, _subreaper_pid
    with _subreaper_lock:
        if _subreaper_pid != os.getpid() or _subreaper_holds == 0:
            return
        _subreaper_holds -= 1
        if _subreaper_holds == 0:
            _prctl_subreaper(0)
            _subreaper_pid = 0


def is_subreaper() -> bool:
    return _subreaper_pid != 0 and _subreaper_pid == os.getpid()


def _prctl_subreaper(on: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, on, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def reap_orphans() -> list[int]:
    """Reap the orphans of jobs started by :func:`start` that this process adopted as a
    subreaper and that have exited; return their pids.
    Only processes known to be no Popen child of ours are waited for, each by its pid: a
    ``waitpid(-1)`` would take the exit status of a job that ``subprocess`` still waits for
    (it would then report 0 for a failed job)."""
    return _orphans.sweep()


def orphans_usage(marker: dict | None) -> tuple[float, float, int] | None:
    """What the orphans of the job of ``marker`` reaped so far used: user and system CPU
    seconds (summed) and the largest resident set (KiB on Linux); None when none was
    reaped. Each is counted once: the next call starts from nothing."""
    return _orphans.take_usage(marker)


class _Orphans:
    """The processes this subreaper adopted from the jobs started by :func:`start`.

    A child of ours is adopted, not a Popen child, when it carries the marker of a job
    started here and is not that job's own process, or when it is a zombie in the session
    of such a job (a job is a session leader; a Popen child is in ours or in a session of
    its own). An adopted child with a cleared environment that exits before a sweep sees it,
    outside its job's session, cannot be told from a Popen child: it stays a zombie until
    this process ends."""

    _STARTING = 0  # a job's process being started: its pid is not known yet
    _COOKS_KEPT = 8  # the cooks whose jobs are remembered (their orphans may outlive them)

    def __init__(self):
        self._lock = threading.Lock()
        self._jobs: dict[str, dict[str, int]] = {}  # cook id -> item id -> its job's pid
        self._job_pids: set[int] = set()  # every pid of those jobs, kept as they start
        # pid -> creation time (against pid reuse), the (cook, item) it is an orphan of
        self._adopted: dict[int, tuple[float, tuple[str, str] | None]] = {}
        # (cook, item) -> CPU and peak memory of its orphans reaped: counted in its job
        self._usage: dict[tuple[str, str], tuple[float, float, int]] = {}
        self._pid = os.getpid()

    def starting(self, env: dict) -> tuple[str, str] | None:
        marker = _marker(env) if is_subreaper() else None
        if marker is None:
            return None
        key = (marker[MARKER], marker[ITEM_VAR])
        with self._lock:
            if self._pid != os.getpid():  # a fork's child: its parent's jobs are not its own
                self._jobs, self._job_pids, self._adopted = {}, set(), {}
                self._usage = {}
                self._pid = os.getpid()
            if key[0] not in self._jobs and len(self._jobs) >= self._COOKS_KEPT:
                oldest = self._jobs.pop(next(iter(self._jobs)))
                self._job_pids.difference_update(oldest.values())
            self._jobs.setdefault(key[0], {})[key[1]] = self._STARTING
        return key

    def started(self, key: tuple[str, str] | None, pid: int | None) -> None:
        if key is None:
            return
        with self._lock:
            items = self._jobs.setdefault(key[0], {})
            if pid is None:
                items.pop(key[1], None)
            else:
                items[key[1]] = pid
                self._job_pids.add(pid)

    def sweep(self) -> list[int]:
        with self._lock:
            if not self._jobs or self._pid != os.getpid():  # none started, or a fork's child
                return []
            for pid in _children():
                if pid not in self._adopted and pid not in self._job_pids:
                    self._adopt(pid)
            return self._reap()

    def take_usage(self, marker: dict | None) -> tuple[float, float, int] | None:
        if not marker or MARKER not in marker or ITEM_VAR not in marker:
            return None
        with self._lock:
            return self._usage.pop((marker[MARKER], marker[ITEM_VAR]), None)

    def _adopt(self, pid: int) -> None:
        try:
            proc = psutil.Process(pid)
            key: tuple[str, str] | None = None
            if proc.status() == psutil.STATUS_ZOMBIE:
                session = os.getsid(pid)
                ours = session in self._job_pids
                key = self._job_of(session) if ours else None
            else:
                marker = _marker(proc.environ())
                started = marker and self._jobs.get(marker[MARKER], {}).get(marker[ITEM_VAR])
                ours = bool(started) and started != pid  # not while it is starting
                if ours and marker:
                    key = (marker[MARKER], marker[ITEM_VAR])
            if ours:
                self._adopted[pid] = (proc.create_time(), key)
        except (psutil.Error, OSError):
            pass

    def _job_of(self, pid: int) -> tuple[str, str] | None:
        """The (cook, item) whose job's process is ``pid``."""
        for cook, items in self._jobs.items():
            for item, job_pid in items.items():
                if job_pid == pid:
                    return cook, item
        return None

    def _count(self, key: tuple[str, str] | None, rusage) -> None:
        """Add a reaped orphan's usage to its job's (kept for the few jobs not asked yet)."""
        if key is None:
            return
        user, system, peak = self._usage.get(key, (0.0, 0.0, 0))
        self._usage[key] = (user + rusage.ru_utime, system + rusage.ru_stime,
                            max(peak, rusage.ru_maxrss))
        while len(self._usage) > 4096:  # orphans of jobs whose scheduler never asks
            del self._usage[next(iter(self._usage))]

    def _reap(self) -> list[int]:
        reaped = []
        for pid, (created, key) in list(self._adopted.items()):
            try:
                if psutil.Process(pid).create_time() != created:
                    raise psutil.NoSuchProcess(pid)  # reaped elsewhere; the pid is reused
                done, _status, rusage = os.wait4(pid, os.WNOHANG)
                if done == 0:
                    continue  # still running
                self._count(key, rusage)
                reaped.append(pid)
            except (psutil.Error, ChildProcessError):
                pass  # reaped elsewhere (psutil waits for its victims' pids)
            del self._adopted[pid]
        return reaped


def _children() -> list[int]:
    """The children of this process's main thread: the kernel gives orphans to the first
    live thread of their subreaper, the main one (Popen children of other threads are
    listed under those, and are none of ours to reap). Through psutil where /proc lacks it."""
    try:  # one pread of a file kept open: every syscall here costs a busy cook twice
        fd = _children_file()
        text = chunk = os.pread(fd, 65536, 0)
        while len(chunk) == 65536:  # a short read is the end
            text += (chunk := os.pread(fd, 65536, len(text)))
        return [int(pid) for pid in text.split()]
    except (OSError, ValueError):
        return [child.pid for child in psutil.Process().children()]


_children_fd: tuple[int, int] | None = None  # (pid, descriptor) of the children list


def _children_file() -> int:
    global _children_fd
    pid = os.getpid()
    if _children_fd is None or _children_fd[0] != pid:
        if _children_fd is not None:  # a fork's child: that one lists its parent's children
            os.close(_children_fd[1])
        _children_fd = (pid, os.open(f"/proc/self/task/{pid}/children",
                                     os.O_RDONLY | os.O_CLOEXEC))
    return _children_fd[1]


_orphans = _Orphans()
