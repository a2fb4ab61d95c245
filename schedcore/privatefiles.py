"""Folders and files of a cook that no other user can have made first, or swap.

A working dir may be shared (a project folder of a group, a 1777 scratch folder). What the
cook makes there must be its own: ``pdgtemp`` is a folder only its owner (this user or root)
can replace entries of; the cook's temp dir in it is made fresh, with an unpredictable name,
mode 0700; files are made with ``O_NOFOLLOW`` (and ``O_EXCL`` where they are new), 0600.
Members of the working dir's group are trusted as on a farm; other users are not.
"""

from __future__ import annotations

import contextlib
import errno
import os
import pwd
import secrets
import shutil
import stat
import tempfile

from .errors import CookError

NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def other_owner(path: str) -> str:
    """The name of the user other than this one who made ``path`` (a file, a folder or a
    link), or "" (this user's, or nothing there)."""
    try:
        uid = os.lstat(path).st_uid
    except OSError:
        return ""
    return "" if uid == os.geteuid() else user_name(uid)


def foreign_link(path: str) -> bool:
    """Whether ``path`` is a symbolic link another user made."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISLNK(info.st_mode) and info.st_uid != os.geteuid()


def _others_may_replace(mode: int) -> bool:
    """Every user may rename or delete entries of a folder of this mode."""
    return bool(mode & stat.S_IWOTH) and not mode & stat.S_ISVTX


def check_working_dir(path: str) -> None:
    """Refuse a working dir in which every user may rename ``pdgtemp`` away and put their
    own in its place (writable by others, without the sticky bit of /tmp)."""
    mode = os.stat(path).st_mode
    if _others_may_replace(mode):
        raise CookError(f"the working directory {path} is writable by every user (mode "
                        f"{stat.S_IMODE(mode):o}) without the sticky bit: another user could "
                        f"replace the cook's folder pdgtemp and run code as you. Run "
                        f"'chmod +t' or 'chmod o-w' on it, or set pdg_workingdir to another "
                        f"folder")


def safe_folder(path: str) -> str:
    """Make the folder ``path`` (0755 whatever the umask) or check the one there: a folder
    (a link only when it is this user's) owned by this user or root, whose entries nobody
    but their owners can rename (not writable by others, or sticky). One of this user's
    that others may write gets the sticky bit. Raises CookError saying why and what to do."""
    try:
        os.mkdir(path, 0o755)
    except FileExistsError:
        pass
    me = os.geteuid()
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        if info.st_uid != me:
            raise _unsafe(path, f"is a symbolic link made by {user_name(info.st_uid)}")
        info = os.stat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise CookError(f"{path} is not a folder: remove it, or set pdg_workingdir to "
                        f"another folder")
    if info.st_uid not in (me, 0):
        raise _unsafe(path, f"belongs to the user {user_name(info.st_uid)}, who could "
                            f"replace anything the cook makes in it")
    if _others_may_replace(info.st_mode):
        if info.st_uid != me:
            raise _unsafe(path, "is writable by every user without the sticky bit")
        os.chmod(path, stat.S_IMODE(info.st_mode) | stat.S_ISVTX)
    return path


def _unsafe(path: str, why: str) -> CookError:
    return CookError(f"{path} {why}: the cook does not use it, as another user could run "
                     f"code as you through it. Remove it (its owner or root can), or set "
                     f"pdg_workingdir to another folder")


def cook_temp_dir(workdir: str, prefix: str) -> str:
    """A new folder ``<workdir>/pdgtemp/<prefix><random>``, mode 0700, that nobody else can
    have made or can swap: its name is unpredictable and ``pdgtemp`` is checked."""
    os.makedirs(workdir, exist_ok=True)
    check_working_dir(workdir)
    return tempfile.mkdtemp(prefix=prefix, dir=safe_folder(os.path.join(workdir, "pdgtemp")))


def private_folder(path: str) -> str:
    """Make ``path`` (and its parents) and keep it to its owner (0700)."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        raise OSError(errno.EPERM, "not a folder of this user's", path)
    if stat.S_IMODE(info.st_mode) != 0o700:
        os.chmod(path, 0o700)
    return path


def copy_new(source: str, target: str) -> None:
    """Copy ``source`` to ``target`` as a new file, 0600; nothing when it exists already
    (it was copied before), and never through a link."""
    try:
        fd = os.open(target, NEW_FILE, 0o600)
    except FileExistsError:
        return
    with open(fd, "wb") as out, open(source, "rb") as data:
        out.write(data.read())


def submission_folder(workdir: str) -> str:
    """``<workdir>/pdgtemp/submitted``, where submitted cooks keep their status files and
    logs, made or checked: this user's or root's, in a ``pdgtemp`` that is, and writable by
    no other user (whose link planted as a log was written through, whose swapped status
    file lied). Raises CookError saying why and what to do."""
    os.makedirs(workdir, exist_ok=True)
    check_working_dir(workdir)
    folder = safe_folder(os.path.join(safe_folder(os.path.join(workdir, "pdgtemp")),
                                      "submitted"))
    info = os.stat(folder)
    if info.st_mode & stat.S_IWOTH:
        if info.st_uid != os.geteuid():
            raise CookError(f"{folder} is writable by every user: another user could plant "
                            f"a link where a submitted cook writes its log. Ask "
                            f"{user_name(info.st_uid)} to run 'chmod o-w' on it, or set "
                            f"pdg_workingdir to another folder")
        os.chmod(folder, stat.S_IMODE(info.st_mode) & ~stat.S_IWOTH & ~stat.S_ISVTX)
    return folder


def new_file(path: str, mode: int = 0o666) -> None:
    """Make ``path`` a new, empty file (``mode`` less the umask), never through a link; a
    file or link there already is refused with an OSError naming who made it."""
    try:
        os.close(os.open(path, NEW_FILE, mode))
    except FileExistsError:
        try:
            owner = user_name(os.lstat(path).st_uid)
        except OSError:
            owner = "someone"
        raise FileExistsError(errno.EEXIST, f"it exists already, made by {owner}: a new "
                                            f"file was to be made there", path) from None


def replace_with_copy(source: str, target: str) -> None:
    """Copy ``source`` to ``target`` by a new file beside it (``O_EXCL|O_NOFOLLOW``, an
    unpredictable name) renamed over it: what was at ``target`` (a file or a link someone
    planted) is replaced, never opened or written through. The copy has the source's mode
    and times, without set-id bits and never writable by other users."""
    folder = os.path.dirname(os.path.abspath(target))
    info = os.stat(source)
    mode = stat.S_IMODE(info.st_mode) & 0o775
    while True:
        temp = os.path.join(folder, f".{os.path.basename(target)}.{secrets.token_hex(8)}.tmp")
        try:
            fd = os.open(temp, NEW_FILE, 0o600)
            break
        except FileExistsError:
            continue
    try:
        with open(fd, "wb") as out, open(source, "rb") as data:
            shutil.copyfileobj(data, out)
            out.flush()
            os.fchmod(out.fileno(), mode)
            os.utime(out.fileno(), ns=(info.st_atime_ns, info.st_mtime_ns))
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
