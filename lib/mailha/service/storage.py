"""The instance's files on this node: shared storage mounted, its configuration files read, and
the directories a start may create (whether a program is there:
:func:`mailha.files.check_executable`).

These checks run at start and validate-all only (raising :class:`NotInstalled`: this node
only); a probe must answer "not running" with the storage unmounted, and stop must work
without it.
"""

import os

from ..ocf.codes import GenericError, Misconfigured, NotInstalled

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import List, Optional


def mount_point_of(path: str) -> str:
    """The mount point of the file system holding *path* (of its nearest existing ancestor)."""
    path = os.path.abspath(path)
    while not os.path.exists(path):
        path = os.path.dirname(path)
    while not os.path.ismount(path):
        path = os.path.dirname(path)
    return path


def is_under(path: str, directory: str) -> bool:
    """*path* is *directory* or inside it, as whole path components."""
    path, directory = os.path.normpath(path), os.path.normpath(directory)
    return directory == "/" or path == directory or path.startswith(directory.rstrip("/") + "/")


def check_mounted(directory: str, mount: "Optional[str]", what: str, storage: str = "its file system") -> None:
    """*directory* (named by the parameter *what*) is on mounted shared storage.

    With *mount* (the parameter ``storage_mount``), that must be a mount point here; without
    it, the directory must be on some file system other than ``/``: a directory on the root
    file system means the storage is not mounted and we would see an empty mount point, or
    worse, start on a stale local copy.  ``mount=/`` accepts a local directory."""
    if mount:
        if not os.path.ismount(mount):
            raise NotInstalled(f"storage_mount {mount} is not a mount point: mount {storage} first",
                               detail="a Filesystem resource before this one in the group")
    elif mount_point_of(directory) == "/":
        # Pacemaker keeps 128 bytes of a reason: what and the fix first, the (long) path last.
        raise NotInstalled(f"{what} is on / (not mounted): mount {storage} or set storage_mount ({directory})")
    if not os.path.isdir(directory):
        raise NotInstalled(f"{what} does not exist here: is {storage} mounted? ({directory})")


#: The most of a configuration file an agent reads.
CONFIG_LIMIT = 1 << 20


def read_config(path: str, what: str, missing: str) -> str:
    """A configuration file of the instance, on the shared storage, read at start or
    validate-all: missing (the storage is mounted) is wrong on every node (6, with *missing*
    saying what to check); there but not a regular file of a sane size (a directory, a FIFO,
    a device, 300 MB) is 5, as is a read error.  Bytes that are not UTF-8 are replaced, for the
    parser to refuse with its own message."""
    from ..files import FileRefused, read_text

    try:
        return read_text(path, CONFIG_LIMIT, what, errors="replace")
    except FileNotFoundError:
        raise Misconfigured(f"{what} {path} is missing: {missing}") from None
    except FileRefused as err:
        raise NotInstalled(f"{what} is {err.strerror}: correct it ({path})") from None
    except OSError as err:
        raise NotInstalled(f"cannot read {what}: {err.strerror}: is its storage mounted? ({path})") from None


def make_missing_dirs(path: str, uid: int, gid: int, mode: int = 0o770) -> "List[str]":
    """Create the missing components of *path*, owned by *uid*:*gid*; return those created.

    Only what is missing is created and given to the server's user, because it is new and
    belongs to the instance.  An existing directory is never changed: ``/run`` named as a pid
    file's directory stays root's."""
    missing = []
    current = os.path.abspath(path)
    while not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    created = []
    for directory in reversed(missing):
        try:
            os.mkdir(directory, mode)
        except FileExistsError:
            if not os.path.isdir(directory):
                raise GenericError(f"{directory} exists and is not a directory: remove it or fix the "
                                   f"configuration naming it") from None
            continue  # made meanwhile by someone else: theirs, not ours to chown
        except OSError as err:
            raise GenericError(f"cannot create {directory}: {err.strerror}") from None
        os.chown(directory, uid, gid)
        os.chmod(directory, mode)  # mkdir's mode is cut by the umask
        created.append(directory)
    return created
