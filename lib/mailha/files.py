"""Reading the small files an agent trusts: startup and configuration files, pid and state files.

Such a file sits where an admin, a package or another program can put anything: a FIFO (whose
``open()`` blocks until a writer comes), a device (``/dev/zero`` never ends; opening
``/dev/watchdog`` arms the node's watchdog), a directory, or a huge file copied there by mistake.
:func:`read_bytes` never opens anything but a regular file, cannot block in ``open()``, and reads
at most its limit, so an agent fails at once with a reason the admin can act on.

Errors are :class:`OSError` (callers that handle "cannot read" keep working); the ones this
module adds are :class:`FileRefused`.  Importing it costs nothing beyond ``posix`` and ``stat``.
"""

import errno
import posix  # not os: see mailha.proc (the path checks below import os.path where they are used)
import stat

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    import os
    from typing import Optional, Tuple, Union

    PathArg = Union[str, "os.PathLike[str]"]

KiB = 1024
MiB = 1024 * KiB

# O_NONBLOCK: open() of a FIFO returns at once instead of waiting for a writer; O_NOCTTY: a
# terminal named by mistake does not become the agent's controlling terminal.
_OPEN_FLAGS = posix.O_RDONLY | posix.O_NONBLOCK | posix.O_NOCTTY | posix.O_CLOEXEC
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


class FileRefused(OSError):
    """A file that exists but is not one to read: not a regular file, or bigger than its limit.

    ``strerror`` says what is wrong in words that read well after "cannot read PATH: " in an
    exit reason ("a FIFO, not a regular file"); ``str()`` is the whole sentence ("startup file
    /gw/dom.mta is a FIFO, not a regular file"); ``what`` is the kind of file the caller expected."""

    def __init__(self, code: int, strerror: str, filename: str, what: str) -> None:
        super().__init__(code, strerror, filename)
        self.what = what

    def __str__(self) -> str:
        return f"{self.what} {self.filename} is {self.strerror}"


def size_text(size: int) -> str:
    """A byte count as people read it: ``512 bytes``, ``1.5 MiB``, ``12 GiB``."""
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            value = size / scale
            return f"{value:.0f} {unit}" if value >= 10 or value == int(value) else f"{value:.1f} {unit}"
    return f"{size} bytes"


def _not_regular(mode: int, path: str, what: str) -> FileRefused:
    kind = next((name for test, name in _KINDS if test(mode)), "not a plain file")
    code = errno.EISDIR if stat.S_ISDIR(mode) else errno.EINVAL
    return FileRefused(code, f"{kind}, not a regular file", path, what)


def _too_big(path: str, what: str, limit: int, size: "Optional[int]") -> FileRefused:
    # The size is unknown when the file grew while being read (or stat said 0, as in /proc).
    # Just past the limit, "1.0 KiB, more than the 1 KiB" would read as a contradiction: bytes.
    if size is None:
        found = "more"
    elif size >= limit + limit // 10:
        found = f"{size_text(size)}, more"
    else:
        found = f"{size} bytes, more"
    return FileRefused(errno.EFBIG, f"{found} than the {size_text(limit)} a {what} can be: is it the right file?",
                       path, what)


def read_bytes_and_stat(path: "PathArg", limit: int, what: str = "file") -> "Tuple[bytes, os.stat_result]":
    """The contents of the regular file *path* (at most *limit* bytes) and its ``fstat``.

    Raises :class:`FileRefused` for anything but a regular file or for a file bigger than
    *limit*, and the usual ``OSError`` (``FileNotFoundError``, ``PermissionError``) otherwise.
    *what* names the file in messages ("startup file", "dse.ldif")."""
    name = posix.fspath(path)
    # stat first, so that no device is ever opened (opening some has effects); fstat after the
    # open, because the path may have been replaced in between.
    mode = posix.stat(name).st_mode
    if not stat.S_ISREG(mode):
        raise _not_regular(mode, name, what)
    fd = posix.open(name, _OPEN_FLAGS)
    try:
        st = posix.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _not_regular(st.st_mode, name, what)
        if st.st_size > limit:
            raise _too_big(name, what, limit, st.st_size)
        chunks = []
        size = 0
        # One read of the whole file and one that sees its end, in the usual case; never a
        # buffer of *limit* bytes for a small file.
        chunk_size = max(st.st_size + 1, 64 * KiB)
        while size <= limit:
            chunk = posix.read(fd, min(chunk_size, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise _too_big(name, what, limit, None)
        return b"".join(chunks), st
    finally:
        posix.close(fd)


def read_bytes(path: "PathArg", limit: int, what: str = "file") -> bytes:
    """The contents of the regular file *path*, at most *limit* bytes (see
    :func:`read_bytes_and_stat` for the errors)."""
    return read_bytes_and_stat(path, limit, what)[0]


def read_text(path: "PathArg", limit: int, what: str = "file", encoding: str = "utf-8",
              errors: str = "strict") -> str:
    """:func:`read_bytes`, decoded (``UnicodeDecodeError`` with *errors* ``strict``)."""
    return read_bytes(path, limit, what).decode(encoding, errors)


def replace_text(path: str, text: str, mode: int = 0o644, errors: str = "strict") -> None:
    """Write *path* whole: *text* (UTF-8) goes to a file beside it, which is then renamed over
    it, so a reader (an agent Pacemaker starts meanwhile) sees the old file or the new one,
    never half of one."""
    partial = f"{path}.{posix.getpid()}.new"
    try:
        with open(partial, "w", encoding="utf-8", errors=errors) as handle:
            handle.write(text)
        posix.chmod(partial, mode)
        posix.replace(partial, path)
    except BaseException:
        try:
            posix.unlink(partial)
        except FileNotFoundError:
            pass
        raise


__all__ = ["FileRefused", "KiB", "MiB", "check_executable", "read_bytes", "read_bytes_and_stat", "read_text",
           "fsync_directory", "replace_text", "rewrite", "size_text", "stamp"]


def stamp(path: str) -> str:
    """What changes when the file at *path* is edited or replaced: size, mtime and inode, for
    caches keyed on a file (one ``stat``).  Raises :class:`OSError`."""
    st = posix.stat(path)
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"


def rewrite(path: str, data: bytes, backup: "Optional[str]" = None) -> bool:
    """Replace the file at *path* with *data*, keeping its mode and owner, so that a reader
    sees the old file or the new one and a power cut leaves one of them: a file beside it,
    fsync, rename, fsync of the directory.  With *backup*, the old file is first copied there
    (its mode, owner and times kept); an existing file at *backup* is never replaced
    (``FileExistsError``).  Returns False, writing nothing, when *path* already holds *data*.
    For an instance's own configuration files, edited by an agent at start."""
    import os
    import shutil
    import tempfile

    st = os.stat(path)
    if read_bytes(path, max(st.st_size, 1) + 1, "file") == data:
        return False
    directory = os.path.dirname(os.path.abspath(path))
    if backup is not None:
        keep_copy(path, backup)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.mailha-tmp.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), st.st_mode & 0o7777)
            _keep_owner(handle.fileno(), st)
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_directory(directory)
    return True


def keep_copy(path: str, backup: str) -> None:
    """Copy the file at *path* to *backup*, its mode, owner and times kept, durably; an existing
    file at *backup* is never replaced (``FileExistsError``): the first backup is the one from
    before the cluster."""
    import os
    import shutil

    st = os.stat(path)
    with open(path, "rb") as source, open(backup, "xb") as copy:  # "x": never over another
        shutil.copyfileobj(source, copy)
        _keep_owner(copy.fileno(), st)
        copy.flush()
        os.fsync(copy.fileno())
    shutil.copystat(path, backup)
    fsync_directory(os.path.dirname(os.path.abspath(backup)))


def fsync_directory(path: str) -> None:
    """Make a rename or a new file in the directory *path* durable (a power cut keeps it)."""
    fd = posix.open(path, posix.O_RDONLY | posix.O_CLOEXEC)
    try:
        posix.fsync(fd)
    finally:
        posix.close(fd)


def _keep_owner(fd: int, st: "os.stat_result") -> None:
    try:
        posix.fchown(fd, st.st_uid, st.st_gid)
    except PermissionError:
        pass  # not root: the file keeps our owner, as any editor would leave it


def check_executable(path: str, what: str, fix: str = "install it here or set the parameter naming it") -> None:
    """*path* is an executable regular file (``binary=/`` is a directory, not a program).
    The fix comes before the path: Pacemaker keeps 128 bytes of the reason."""
    import os.path  # start and validate-all only

    if not os.path.isfile(path) or not posix.access(path, posix.X_OK):
        from .ocf.codes import NotInstalled

        state = "a directory" if os.path.isdir(path) else "missing or not executable"
        raise NotInstalled(f"{what} is {state}: {fix} ({path})")
