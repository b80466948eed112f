"""Reading and changing ``cn=config`` in a 389 Directory Server ``dse.ldif``.

The server rewrites dse.ldif itself, so edits are made only while it is stopped, change only the
lines of the attributes concerned, keep a backup, and replace the file atomically with its owner
and mode.  LDIF continuation lines (a leading space) are honoured when reading.
"""

import os
import shutil
import time

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Dict, List, Optional, Tuple

CONFIG_DN = "cn=config"
#: The largest dse.ldif read: a few MiB with many replication agreements, schema and indexes.
MAX_SIZE = 64 << 20


def _entries(lines: "List[str]"):
    """Yield (start, end, dn) of each entry, with line indexes into *lines*."""
    start = 0
    for index in range(len(lines) + 1):
        if index == len(lines) or not lines[index].strip():
            if index > start:
                first = lines[start]
                dn = first[3:].strip() if first.lower().startswith("dn:") else ""
                yield start, index, dn
            start = index + 1


def _unfold(lines: "List[str]") -> "List[Tuple[int, str]]":
    """Logical lines (continuations joined) with the index of their first physical line."""
    logical: List[Tuple[int, str]] = []
    for index, line in enumerate(lines):
        if line.startswith(" ") and logical:
            first, text = logical[-1]
            logical[-1] = (first, text + line[1:])
        elif not line.startswith("#"):
            logical.append((index, line))
    return logical


def _read(path: str, errors: str) -> str:
    from ..files import read_text

    return read_text(path, MAX_SIZE, "dse.ldif", errors=errors)


def read_config(path: str) -> "Dict[str, str]":
    """The attributes of the ``cn=config`` entry, lower-cased names, first value each.

    Anything but a regular file of at most :data:`MAX_SIZE` bytes is an ``OSError``
    (:class:`mailha.files.FileRefused`)."""
    return _config(_read(path, "replace").splitlines())


def _config(lines: "List[str]") -> "Dict[str, str]":
    for start, end, dn in _entries(lines):
        if dn.lower() == CONFIG_DN:
            values: Dict[str, str] = {}
            for _, text in _unfold(lines[start:end]):
                name, sep, value = text.partition(":")
                if sep and not value.startswith(":"):  # base64 values are not config we read
                    values.setdefault(name.strip().lower(), value.strip())
            return values
    return {}


def set_config(path: str, changes: "Dict[str, Optional[str]]") -> "Optional[str]":
    """Set (or with ``None`` remove) single-valued attributes of ``cn=config``.

    Returns the backup file's path, or ``None`` when the file already said so."""
    text = _read(path, "surrogateescape")
    lines = text.split("\n")
    found = next(((start, end) for start, end, dn in _entries(lines) if dn.lower() == CONFIG_DN), None)
    if found is None:
        raise ValueError(f"{path} has no cn=config entry")
    start, end = found

    wanted = {name.lower(): value for name, value in changes.items()}
    current = _config(text.splitlines())
    if all(current.get(name) == value for name, value in wanted.items()):
        return None
    block = lines[start:end]
    kept: List[str] = []
    skipping = False
    for line in block:
        if skipping and line.startswith(" "):
            continue
        name = line.partition(":")[0].strip().lower()
        skipping = name in wanted and not line.startswith(" ")
        if not skipping:
            kept.append(line)
    for name, value in changes.items():
        if value is not None:
            kept.append(f"{name}: {value}")
    lines[start:end] = kept

    backup = f"{path}.mailha-bak.{time.strftime('%Y%m%d%H%M%S')}"
    shutil.copy2(path, backup)
    stat = os.stat(path)
    tmp = f"{path}.mailha-tmp"
    with open(tmp, "w", encoding="utf-8", errors="surrogateescape") as handle:
        handle.write("\n".join(lines))
        handle.flush()
        os.fsync(handle.fileno())
    os.chown(tmp, stat.st_uid, stat.st_gid)
    os.chmod(tmp, stat.st_mode & 0o7777)
    os.replace(tmp, path)
    return backup
