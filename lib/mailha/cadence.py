"""Which monitor levels are due: the rule of :mod:`mailha.monitor`, as plain values.

Kept apart from :mod:`mailha.monitor` (which declares parameters, and so imports the
framework's parameter types) so that the recurring monitor's fast path
(:mod:`mailha.service.fastpath`) applies the very same rule at the cost of one small module.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Tuple

CHECK_LEVEL_SERVICE = 10
CHECK_LEVEL_TRANSACTION = 20
#: The monitor's keys in the resource's state file (one user's prefix: see mailha.ocf.state).
STATE_PREFIX = "monitor."
#: The cadence counter: monitors run since the last start.
COUNTER = STATE_PREFIX + "count"


def counts(check_level: int, every: int) -> bool:
    """Whether this monitor advances the cadence counter: only a cadence of 2 or more needs
    one, and ``OCF_CHECK_LEVEL`` >= 10 runs the second level without it."""
    return check_level < CHECK_LEVEL_SERVICE and every > 1


def levels_due(check_level: int, every: int, count: int = 0) -> "Tuple[bool, bool]":
    """(service, transaction): the deep levels a monitor runs, given ``OCF_CHECK_LEVEL``, the
    cadence *every* (``second_level_monitor``) and, when :func:`counts`, the counter's value."""
    if check_level >= CHECK_LEVEL_TRANSACTION:
        return True, True
    if check_level >= CHECK_LEVEL_SERVICE:
        return True, False
    if every <= 0:
        return False, False
    if every == 1:
        return True, True  # every monitor: no counter to keep, no state file written
    due = count % every == 0
    return due, due
