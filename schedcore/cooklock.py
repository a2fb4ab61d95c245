"""One cook per network per working dir: a lock file beside the network's journal.

The lock is ``flock`` on ``<journal>.lock``, so the kernel (or the NFS lock service) releases
it when the cook's process dies, however it dies. The file says who holds it (host, pid, cook
id, network, start time): a cook refused names the one that runs, and a cook that takes the
lock over from one that died without releasing it learns which jobs were that cook's, to stop
those it left running.

The lock names no value anyone could replay: not the cook's marker (``SCHEDCORE_COOK``, in its
jobs' environment), only a digest of it bound to this lock's own path, so a copy of it in the
lock of another network matches no job. The file is made 0600, never through a link, and a
lock file another user made is not believed: its cook's jobs are not looked for.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import socket
import stat
import time
from pathlib import Path

from .errors import CookError
from .privatefiles import check_working_dir, safe_folder, user_name


class CookBusy(CookError):
    """Another cook of the same network runs in the same working dir."""


class CookLock:
    """The lock of ``journal_path``'s network; ``acquire`` it before the cook writes anything,
    ``release`` it when the cook is over."""

    def __init__(self, journal_path: str | Path):
        self.path = Path(f"{journal_path}.lock")
        self._fd: int | None = None

    def acquire(self, network: str, cook_id: str) -> dict:
        """Take the lock, or raise ``CookBusy`` naming the cook that holds it. Returns what
        a cook that died holding it wrote ({} when the last cook released it), and ``"unlocked"``
        when the folder cannot be locked (some network filesystems): the cook goes on
        unprotected and says so."""
        journal = self.path.parent  # <working dir>/pdgtemp/journal
        os.makedirs(journal.parent.parent, exist_ok=True)
        check_working_dir(str(journal.parent.parent))
        safe_folder(str(journal.parent))
        safe_folder(str(journal))
        fd, replaced = self._open()
        info = os.fstat(fd)
        ours = info.st_uid == os.geteuid()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd)
            os.close(fd)
            raise CookBusy(busy_message(holder, network, self.path)) from None
        except OSError as exc:
            if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                os.close(fd)
                raise
            self._fd = fd
            return {"unlocked": exc.strerror}
        earlier = _read(fd) if ours else ({"foreign": user_name(info.st_uid)}
                                          if _read(fd) else {})
        if replaced:
            earlier = {"foreign": replaced}
        self._fd = fd
        if ours:
            os.fchmod(fd, 0o600)  # one made by an earlier version was 0644
        try:
            _write(fd, {"host": socket.gethostname(), "pid": os.getpid(),
                        "cook": self.digest(cook_id), "network": network,
                        "started": time.time()})
        except OSError:
            pass  # another user's file: who runs is not said, the lock holds all the same
        return earlier

    def _open(self) -> tuple[int, str]:
        """The lock file, opened: this user's (or root's) regular file, never a link. What
        another user put in its place (a file of theirs, which they may hold locked for ever,
        a link, a FIFO) is removed when the folder is this user's, and the user who made it
        returned; elsewhere it is refused, saying whose it is and what to do."""
        me, replaced = os.geteuid(), ""
        for _ in range(3):
            try:
                fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW
                                         | os.O_CLOEXEC, 0o600)
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.EACCES, errno.EPERM, errno.EISDIR):
                    raise
                fd, error = None, exc.strerror
            info = os.fstat(fd) if fd is not None else os.lstat(self.path)
            owner = user_name(info.st_uid)
            if stat.S_ISLNK(info.st_mode):
                what = f"is a symbolic link made by {owner}"
            elif info.st_uid not in (me, 0):
                what = f"was made by the user {owner}, not by a cook of yours"
            elif not stat.S_ISREG(info.st_mode):
                what = "is not a file"
            elif fd is None:
                raise CookError(f"{self.path}, the lock of this network's cooks, belongs to "
                                f"{owner} and cannot be opened ({error}): ask {owner} to "
                                f"remove it, or cook into another working dir (--workdir)")
            else:
                return fd, replaced
            if fd is not None:
                os.close(fd)
            if os.stat(self.path.parent).st_uid != me:
                raise CookError(f"{self.path}, the lock of this network's cooks, {what}: "
                                f"the cook does not use it, and cannot remove it from a "
                                f"folder of {user_name(os.stat(self.path.parent).st_uid)}. "
                                f"Ask {owner} or root to remove it, or cook into another "
                                f"working dir (--workdir)")
            try:  # the folder is this user's: what another user put there goes
                if stat.S_ISDIR(info.st_mode):
                    os.rmdir(self.path)
                else:
                    os.unlink(self.path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise CookError(f"{self.path}, the lock of this network's cooks, {what}, and "
                                f"cannot be removed ({exc.strerror}): remove it") from None
            replaced = owner
        raise CookError(f"{self.path}, the lock of this network's cooks, is replaced again "
                        f"and again by another user's file as the cook makes it: cook into "
                        f"another working dir (--workdir)")

    def digest(self, marker: str) -> str:
        """What the lock says of a cook whose jobs carry ``marker``: bound to this lock's
        path, so it names no job of a cook of another network."""
        return hashlib.sha256(f"{os.path.abspath(self.path)}\0{marker}".encode()).hexdigest()

    def marks(self, digest: str):
        """A test of a job's marker: True for the cook whose digest is ``digest``."""
        return lambda marker: bool(marker) and self.digest(marker) == digest

    def __del__(self) -> None:
        self.release()  # a cook made and never run must not hold its network's lock

    def release(self) -> None:
        """Say the cook ended (an empty file) and unlock; safe to call twice."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass  # the next cook then thinks this one died: it only looks for its jobs
        os.close(fd)  # closing unlocks


def holder(journal_path: str | Path) -> dict | None:
    """Who holds the lock of ``journal_path``'s network now; None when no cook does."""
    path = Path(f"{journal_path}.lock")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if os.fstat(fd).st_uid not in (os.geteuid(), 0):
            return None  # another user's file, no cook's lock: the cook itself removes it
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read(fd) or {"pid": "?", "host": "?"}
    except OSError:
        return None  # cannot tell: the cook itself finds out
    finally:
        os.close(fd)
    return None


def busy_message(holder: dict, network: str, lock: Path) -> str:
    since = holder.get("started")
    when = time.strftime(" since %H:%M:%S", time.localtime(since)) \
        if isinstance(since, (int, float)) else ""
    return (f"another cook of {Path(network).name or 'this network'} is running in this "
            f"working dir (process {holder.get('pid', '?')} on {holder.get('host', '?')}"
            f"{when}, cooking {holder.get('network') or 'it'}): wait for it to end, cancel "
            f"it, or cook into another working dir (--workdir). Its lock: {lock}")


def _read(fd: int) -> dict:
    try:
        data = json.loads(os.pread(fd, 65536, 0) or b"{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(fd: int, data: dict) -> None:
    text = json.dumps(data).encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, text, 0)
