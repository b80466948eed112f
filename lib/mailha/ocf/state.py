"""Small per-resource state kept across invocations (the monitor cadence counter).

It lives under ``HA_RSCTMP`` (a tmpfs cleared at boot, like resource-agents' pseudo-resource
files), one JSON file per agent and instance, replaced atomically so a killed agent never leaves
a torn file.  Losing it is harmless: the next monitor simply runs the second level.
"""

from __future__ import annotations

import os
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Mapping

DEFAULT_RSCTMP = "/run/resource-agents"


class StateFile:
    def __init__(self, agent: str, instance: str, environ: Mapping[str, str]) -> None:
        base = environ.get("HA_RSCTMP") or DEFAULT_RSCTMP
        safe = "".join(ch if ch.isalnum() or ch in "_.:-" else "_" for ch in instance)[:200]
        self.path = os.path.join(base, "mailha", f"{agent}-{safe or 'default'}.json")

    def load(self) -> dict[str, Any]:
        import json

        try:
            with open(self.path, encoding="utf-8") as handle:
                data = json.load(handle)
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def save(self, data: Mapping[str, Any]) -> None:
        import json

        directory = os.path.dirname(self.path)
        os.makedirs(directory, mode=0o755, exist_ok=True)
        tmp = f"{self.path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(dict(data), handle)
        os.replace(tmp, self.path)

    def clear(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def tick(self, key: str) -> int:
        """Return the counter *key* and advance it by one (the first call returns 0)."""
        data = self.load()
        value = data.get(key, 0)
        value = value if isinstance(value, int) and value >= 0 else 0
        data[key] = value + 1
        try:
            self.save(data)
        except OSError:
            pass  # no state dir: every monitor is then a "first" one, which is the safe side
        return value
