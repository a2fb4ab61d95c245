"""Starting job processes and killing whole process trees (POSIX)."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess

import psutil

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


def start(command: str, stdin, log, env: dict, cwd: str) -> subprocess.Popen:
    """Start ``command`` in a new session (so its tree can be killed), output to ``log``."""
    return subprocess.Popen(command_argv(command), stdin=stdin, stdout=log,
                            stderr=subprocess.STDOUT, env=env, cwd=cwd,
                            start_new_session=True)


def kill_tree(proc: subprocess.Popen, grace: float = 2.0) -> None:
    """Terminate ``proc``, its process group and every descendant (even those that started
    sessions of their own); SIGKILL what is left after ``grace`` seconds; return once they
    have exited."""
    try:
        descendants = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        descendants = []
    _signal_group(proc.pid, signal.SIGTERM)
    for child in descendants:
        _signal(child, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        pass
    _signal_group(proc.pid, signal.SIGKILL)
    for child in descendants:
        _signal(child, signal.SIGKILL)
    proc.wait()
    psutil.wait_procs(descendants, timeout=grace)  # return only once they are gone


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _signal(process: psutil.Process, sig: int) -> None:
    try:
        process.send_signal(sig)
    except psutil.Error:
        pass
