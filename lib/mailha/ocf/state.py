"""Small per-resource state kept across invocations: the monitor cadence counter, the pids
and endpoint summaries the lifecycle remembers.

Each user keeps its own keys under its own prefix (``monitor.``, ``pid.``, ``endpoints.``) and
forgets only those (:meth:`StateFile.forget`): resetting the cadence after a start must not
drop what the start has just learnt.

It lives under ``HA_RSCTMP`` (a tmpfs cleared at boot, like resource-agents' pseudo-resource
files), one file per agent and instance of ``key=value`` lines (``json`` would cost a monitor
more to import than to run), replaced atomically so a killed agent never leaves a torn file.
Losing it is harmless: the next monitor simply runs the second level.
"""

import posix  # not os: see mailha.proc

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Dict, Mapping, Optional

DEFAULT_RSCTMP = "/run/resource-agents"
# Values may hold a parameter's non-ASCII bytes as surrogates (Python 3.6 in the C locale):
# they are written back as the bytes they stand for.
_ERRORS = "surrogateescape"
MAX_SIZE = 64 << 10  # a few keys per user; more is not a file this module wrote


_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-")


def file_name(instance: str) -> str:
    """A short ASCII file name for a resource id; ids that had to change get a checksum so two
    different resources never share a state file."""
    safe = "".join(ch if ch in _SAFE else "_" for ch in instance)[:100]
    if safe != instance or not safe:
        import zlib

        safe = f"{safe}-{zlib.crc32(instance.encode('utf-8', 'surrogateescape')):08x}"
    return safe


class StateFile:
    def __init__(self, agent: str, instance: str, environ: "Mapping[str, str]") -> None:
        base = environ.get("HA_RSCTMP") or DEFAULT_RSCTMP
        self.path = f"{base.rstrip('/')}/mailha/{agent}-{file_name(instance)}.state"  # os.path.join's result
        # read once per run: Pacemaker runs one operation per resource at a time
        self._data: Optional[Dict[str, str]] = None

    def load(self) -> "Dict[str, str]":
        if self._data is None:
            self._data = self._read()
        return dict(self._data)

    def _read(self) -> "Dict[str, str]":
        from ..files import read_text

        # Anything odd (a FIFO, a huge or garbled file) is lost state, which is harmless.
        try:
            text = read_text(self.path, MAX_SIZE, "state file", errors=_ERRORS)
        except (OSError, UnicodeDecodeError):
            return {}
        data = {}
        for line in text.split("\n"):  # not splitlines(): a value may hold \x1e, \x85 or \u2028
            key, sep, value = line.partition("=")
            if sep and key:
                data[key] = value
        return data

    def save(self, data: "Mapping[str, object]") -> None:
        from ..files import replace_text

        kept = {str(key): str(value) for key, value in data.items()
                if key and "=" not in str(key) and "\n" not in f"{key}{value}"}
        text = "".join(f"{key}={value}\n" for key, value in kept.items())
        try:
            replace_text(self.path, text, errors=_ERRORS)
        except FileNotFoundError:  # the first save since boot: make the directory (os only then)
            import os

            os.makedirs(self.path.rpartition("/")[0], mode=0o755, exist_ok=True)
            replace_text(self.path, text, errors=_ERRORS)
        self._data = kept

    def clear(self) -> None:
        self._data = {}
        try:
            posix.unlink(self.path)
        except FileNotFoundError:
            pass

    def get(self, key: str, default: str = "") -> str:
        return self.load().get(key, default)

    def put(self, key: str, value: str) -> None:
        """Set *key*, writing the file only when the value changes.  Losing state is harmless
        (the next run recomputes it), so a missing state directory is not an error."""
        data = self.load()
        if data.get(key) != value:
            data[key] = value
            self._save_quietly(data)

    def forget(self, prefix: str) -> None:
        """Drop every key that starts with *prefix* (one user's keys), keeping the others."""
        self.update(prefix, {})

    def update(self, prefix: str, values: "Mapping[str, str]") -> None:
        """Make *values* the keys under *prefix* (one user's keys), keeping the others; one
        write, and none when nothing changes."""
        data = self.load()
        kept = {k: v for k, v in data.items() if not k.startswith(prefix)}
        kept.update(values)
        if kept != data:
            self._save_quietly(kept)

    def count(self, key: str) -> int:
        """The counter *key* (0 when unset or garbled), not advanced."""
        raw = self.get(key, "0")
        return int(raw) if raw.isdigit() and len(raw) < 12 else 0

    def tick(self, key: str) -> int:
        """Return the counter *key* and advance it by one (the first call returns 0)."""
        value = self.count(key)
        # No state dir: every monitor is then a "first" one, which is the safe side.
        self.put(key, str(value + 1))
        return value

    def _save_quietly(self, data: "Mapping[str, object]") -> None:
        try:
            self.save(data)
        except OSError:
            pass  # no state directory: the next run recomputes what was lost
