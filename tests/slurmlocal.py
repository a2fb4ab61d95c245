"""A real Slurm on this machine, for the tests, the benchmark and people: munge, slurmctld and
slurmd in a state folder of their own (their config, keys, sockets, spool, logs), ended by
pid. Installs Debian's ``slurm-wlm`` and ``munge`` with apt-get when they are missing and
this runs as root.

    python -m tests.slurmlocal up [--dir DIR]     # prints the export line for SLURM_CONF
    python -m tests.slurmlocal down [--dir DIR]

Standard library only. Nothing outside the state folder is written (apart from the apt
install): munge gets its own key and socket, named in the Slurm config, so a system munge
or Slurm on the machine is left alone.
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DIR = Path(os.environ.get("SCHEDCORE_SLURM_DIR", "/tmp/schedcore-slurm"))
PROGRAMS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "scancel",
            "sinfo", "scontrol")
DAEMONS = ("slurmd", "slurmctld", "munged")  # the order they are ended in
START_TIMEOUT = 60.0


class SlurmUnavailable(RuntimeError):
    """Slurm cannot run here; the message says why (for a test's skip)."""


@dataclass
class LocalSlurm:
    folder: Path
    conf: Path
    started_seconds: float  # to the node idle, not counting an install
    installed_seconds: float  # the apt-get install, 0 when nothing was installed

    def env(self) -> dict[str, str]:
        """What a command of this cluster needs in its environment."""
        return {"SLURM_CONF": str(self.conf)}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def missing_programs() -> list[str]:
    return [p for p in PROGRAMS if shutil.which(p, path=_sbin_path()) is None]


def _sbin_path() -> str:
    return os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


def install() -> float:
    """apt-get install slurm-wlm and munge when missing; the seconds it took (0 when
    nothing was missing). Raises ``SlurmUnavailable`` when it cannot."""
    if not missing_programs():
        return 0.0
    if os.geteuid() != 0:
        raise SlurmUnavailable(f"Slurm is not installed ({', '.join(missing_programs())} "
                               f"missing) and installing it needs root")
    if shutil.which("apt-get") is None:
        raise SlurmUnavailable("Slurm is not installed and there is no apt-get to install it")
    started = time.monotonic()
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                     "slurm-wlm", "munge"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SlurmUnavailable(f"{' '.join(command)} failed: {done.stderr.strip()[-500:]}")
    if missing_programs():
        raise SlurmUnavailable(f"still missing after apt-get: {', '.join(missing_programs())}")
    return time.monotonic() - started


def _config(folder: Path, node: str, cpus: int) -> str:
    ctld_port, node_port = _free_port(), _free_port()
    # more CPUs than the machine has (a benchmark's short jobs): slurmd takes the config's
    overrides = "SlurmdParameters=config_overrides\n" if cpus > (os.cpu_count() or 1) else ""
    return f"""\
ClusterName=schedcore
SlurmctldHost={node}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={node_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={folder}/run/munge.socket
StateSaveLocation={folder}/ctld
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/slurmctld.log
SlurmdLogFile={folder}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=5
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={folder}/jobcomp.txt
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=100
MinJobAge=300
MaxArraySize=100001
MaxJobCount=200000
KillWait=2
InactiveLimit=0
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=300
MessageTimeout=10
MailProg=/bin/true
{overrides}NodeName={node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=2000 State=UNKNOWN
PartitionName=debug Nodes={node} Default=YES MaxTime=INFINITE State=UP
PartitionName=other Nodes={node} MaxTime=INFINITE State=UP
"""


def _pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie of ours counts as gone
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _run_daemon(command: list[str], log: Path, env: dict[str, str]) -> int:
    """Start a daemon detached (through a shell that exits at once): it is no child of
    this process, which may end before it; its pid, which the shell says."""
    started = subprocess.run(
        ["/bin/sh", "-c", '"$@" >> "$DAEMON_LOG" 2>&1 < /dev/null & echo $!', "sh", *command],
        env={**env, "DAEMON_LOG": str(log)}, capture_output=True, text=True, check=True,
        start_new_session=True)
    return int(started.stdout.split()[-1])


def daemon_pids(folder: Path = DEFAULT_DIR) -> set[int]:
    """The pids of the daemons running from ``folder``."""
    pids = {_pid(folder / f"{name}.pid") for name in DAEMONS}
    return {pid for pid in pids if pid is not None and _alive(pid)}


def shared_up(folder: Path) -> LocalSlurm:
    """``up`` once for every process of a test run that asks (pytest-xdist's workers): the
    first starts it, the others use it; each calls ``shared_down`` when done, and the last
    ends it. A failure to start is remembered, so the others skip at once with its reason."""
    import fcntl
    import json
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{folder}.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state_path = Path(f"{folder}.users")
        state = json.loads(state_path.read_text()) if state_path.exists() else {}
        if state.get("failed"):
            raise SlurmUnavailable(state["failed"])
        if state.get("users") and daemon_pids(folder) and (folder / "slurm.conf").exists():
            state["users"] += 1
            cluster = LocalSlurm(folder, folder / "slurm.conf", 0.0, 0.0)
        else:
            try:
                cluster = up(folder)
            except SlurmUnavailable as exc:
                state_path.write_text(json.dumps({"failed": str(exc)}))
                raise
            state = {"users": 1}
        state_path.write_text(json.dumps(state))
        return cluster


def shared_down(folder: Path) -> None:
    import fcntl
    import json
    with open(f"{folder}.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state_path = Path(f"{folder}.users")
        state = json.loads(state_path.read_text()) if state_path.exists() else {}
        state["users"] = max(0, state.get("users", 1) - 1)
        if not state["users"]:
            down(folder)
            shutil.rmtree(folder, ignore_errors=True)
            state_path.unlink(missing_ok=True)  # the lock stays: another may wait on it
            return
        state_path.write_text(json.dumps(state))


def _wait_until(check, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise SlurmUnavailable(f"{what} within {timeout:g} s; {log}:\n{_tail(log)}")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-1500:] if log.exists() else ""


def up(folder: Path = DEFAULT_DIR, cpus: int = 2, allow_install: bool = True) -> LocalSlurm:
    """Start munge, slurmctld and slurmd in ``folder`` (ending those a previous run left
    there first) and wait until the node is idle."""
    installed = install() if allow_install else 0.0
    if missing_programs():
        raise SlurmUnavailable(f"Slurm is not installed ({', '.join(missing_programs())} "
                               f"missing)")
    if os.geteuid() != 0:
        raise SlurmUnavailable("a local Slurm is started as root (slurmd runs jobs as their "
                               "users)")
    started = time.monotonic()
    down(folder)
    shutil.rmtree(folder, ignore_errors=True)
    for sub in ("munge", "run", "ctld", "spool"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o755)
    node = socket.gethostname().split(".")[0]
    conf = folder / "slurm.conf"
    conf.write_text(_config(folder, node, cpus))
    env = {**os.environ, "SLURM_CONF": str(conf),
           "PATH": _sbin_path()}
    munge, run = folder / "munge", folder / "run"  # the key private, the socket for all
    key = munge / "munge.key"
    subprocess.run(["mungekey", "--create", f"--keyfile={key}"], check=True,
                   capture_output=True, env=env)
    try:
        munge_user = pwd.getpwnam("munge")
        os.chown(munge, munge_user.pw_uid, munge_user.pw_gid)
        os.chown(key, munge_user.pw_uid, munge_user.pw_gid)
        os.chown(run, munge_user.pw_uid, munge_user.pw_gid)
        as_munge = ["setpriv", f"--reuid={munge_user.pw_uid}", f"--regid={munge_user.pw_gid}",
                    "--clear-groups"] if shutil.which("setpriv") else []
    except KeyError:
        as_munge = []
    os.chmod(key, 0o400)
    os.chmod(munge, 0o700)
    os.chmod(run, 0o755)
    munge_log = run / "munged.log"
    munged = [*as_munge, "munged", "--foreground", f"--socket={run}/munge.socket",
              f"--key-file={key}", f"--pid-file={run}/munged.pid",
              f"--seed-file={munge}/munged.seed", f"--log-file={munge_log}"]
    if not as_munge:
        munged.append("--force")
    (folder / "munged.pid").write_text(str(_run_daemon(munged, folder / "munged.out", env)))
    _wait_until(lambda: (run / "munge.socket").exists(), 15, "munged did not start",
                folder / "munged.out")
    ctld_log = folder / "slurmctld.log"
    (folder / "slurmctld.pid").write_text(str(_run_daemon(
        ["slurmctld", "-D", "-i", "-f", str(conf)], folder / "slurmctld.out", env)))
    (folder / "slurmd.pid").write_text(str(_run_daemon(
        ["slurmd", "-D", "-f", str(conf), "-N", node], folder / "slurmd.out", env)))

    def idle() -> bool:
        for name in DAEMONS:
            if not _alive(_pid(folder / f"{name}.pid")):
                raise SlurmUnavailable(f"{name} ended at its start; {folder}/{name}.out:\n"
                                       + _tail(folder / f"{name}.out"))
        done = subprocess.run(["sinfo", "--noheader", "--format=%t", f"--nodes={node}"],
                              capture_output=True, text=True, env=env)
        return done.returncode == 0 and done.stdout.strip() == "idle"
    _wait_until(idle, START_TIMEOUT, "the Slurm node did not become idle", ctld_log)
    return LocalSlurm(folder, conf, time.monotonic() - started, installed)


def stop_daemon(folder: Path, name: str, timeout: float = 10.0) -> None:
    """End one daemon of ``folder`` by its pid (TERM, then KILL)."""
    pid = _pid(folder / f"{name}.pid")
    if not _alive(pid):
        return
    assert pid is not None
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.05)


def start_controller(folder: Path = DEFAULT_DIR) -> None:
    """Start slurmctld again (after ``stop_daemon(folder, "slurmctld")``), keeping its state."""
    conf = folder / "slurm.conf"
    env = {**os.environ, "SLURM_CONF": str(conf), "PATH": _sbin_path()}
    (folder / "slurmctld.pid").write_text(str(_run_daemon(
        ["slurmctld", "-D", "-f", str(conf)], folder / "slurmctld.out", env)))

    def answers() -> bool:
        return subprocess.run(["sinfo", "--noheader"], capture_output=True,
                              env=env).returncode == 0
    _wait_until(answers, START_TIMEOUT, "slurmctld did not answer again",
                folder / "slurmctld.log")


def down(folder: Path = DEFAULT_DIR) -> None:
    """End the daemons ``up`` started in ``folder``, by pid. Jobs still running go with
    slurmd's stop (Slurm kills them when the node comes back; the controller forgets them)."""
    if (folder / "slurm.conf").exists() and _alive(_pid(folder / "slurmctld.pid")):
        subprocess.run(["scancel", "--full", "--user=root"], capture_output=True,
                       env={**os.environ, "SLURM_CONF": str(folder / "slurm.conf")})
    for name in DAEMONS:
        stop_daemon(folder, name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.slurmlocal",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["up", "down"])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="the state folder")
    parser.add_argument("--cpus", type=int, default=2)
    args = parser.parse_args(argv)
    if args.action == "down":
        down(args.dir)
        return 0
    try:
        cluster = up(args.dir, args.cpus)
    except SlurmUnavailable as exc:
        print(f"slurmlocal: {exc}", file=sys.stderr)
        return 1
    print(f"# Slurm up in {cluster.started_seconds:.1f} s"
          + (f" (apt-get install {cluster.installed_seconds:.1f} s)"
             if cluster.installed_seconds else ""), file=sys.stderr)
    print(f"export SLURM_CONF={cluster.conf}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
