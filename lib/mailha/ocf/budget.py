"""The time budget of one action, from ``OCF_RESKEY_CRM_meta_timeout``.

Pacemaker kills an agent that overruns its operation timeout and, for a stop, fences the node.
Every wait in an agent therefore asks the budget how long it may take, and stop keeps a reserve
to kill what is left before the budget ends.
"""

import time
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Callable, Optional

#: Fraction of the timeout kept back for the agent's own bookkeeping and process exit.
SAFETY_FRACTION = 0.05
#: Seconds kept back at least (Python exit, writing the exit reason).
SAFETY_MIN = 0.5


def wait_until(condition: "Callable[[], bool]", deadline: float, first: float = 0.05,
               longest: float = 1.0) -> bool:
    """Poll *condition* with a growing interval until it holds or the monotonic *deadline*
    passes; return whether it held.  The interval starts at *first* so a fast service is seen
    quickly, and grows to *longest* so a slow one is not hammered."""
    interval = first
    while True:
        if condition():
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(interval, left))
        interval = min(interval * 2, longest)


class Budget:
    """Deadline arithmetic on the monotonic clock."""

    def __init__(self, timeout: float, started: "Optional[float]" = None) -> None:
        self.timeout = timeout
        self.started = time.monotonic() if started is None else started
        margin = max(SAFETY_MIN, timeout * SAFETY_FRACTION)
        self.deadline = self.started + max(0.0, timeout - margin)

    @classmethod
    def from_env(cls, environ, default: float) -> "Budget":
        """Budget from ``OCF_RESKEY_CRM_meta_timeout`` (milliseconds), else *default* seconds."""
        raw = (environ or {}).get("OCF_RESKEY_CRM_meta_timeout", "")
        try:
            timeout = int(raw) / 1000.0
        except ValueError:
            timeout = default
        return cls(timeout if timeout > 0 else default)

    def remaining(self) -> float:
        """Seconds left before the deadline (never negative)."""
        return max(0.0, self.deadline - time.monotonic())

    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def until(self, reserve: float) -> float:
        """An absolute deadline that leaves *reserve* seconds of this budget unused."""
        return max(time.monotonic(), self.deadline - reserve)

    def share(self, fraction: float, cap: "Optional[float]" = None) -> float:
        """A timeout for one step: *fraction* of what is left, at most *cap* seconds."""
        value = self.remaining() * fraction
        return min(value, cap) if cap is not None else value

    def wait_for(self, condition: "Callable[[], bool]", deadline: "Optional[float]" = None,
                 first: float = 0.05, longest: float = 1.0) -> bool:
        """:func:`wait_until` the condition holds, within this budget (and *deadline*)."""
        end = self.deadline if deadline is None else min(deadline, self.deadline)
        return wait_until(condition, end, first, longest)
