"""Monitor depths shared by every agent.

The levels follow seed 004's agents, in Pacemaker's terms:

1. first level, every monitor: the instance's processes exist (cheap: no network);
2. second level: the service answers its protocol on its address.  It runs every
   ``second_level_monitor``-th monitor (1 = every time, 0 = never; the cadence counter lives in
   ``HA_RSCTMP``), and every time when ``OCF_CHECK_LEVEL`` >= 10;
3. synthetic transaction (log in as a test user) with the second level when a test user is
   configured, and every time when ``OCF_CHECK_LEVEL`` >= 20;
4. ``monitor_program``: the admin's own check, run after the others pass, with seed 004's exit
   codes: 0 or 110 running, 1 or 100 not running, anything else an error.

A probe (interval 0) asks only "is it running here?": first level only.
"""

from .cadence import COUNTER, STATE_PREFIX, counts, levels_due as _levels_due
from .ocf.codes import GenericError, Rc
from .ocf.params import Boolean, Command, Integer, Param

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Callable, Dict, Optional, Sequence, Tuple

    from .ocf.agent import Context
    from .ocf.params import Params

PROGRAM_RUNNING = (0, 110)
PROGRAM_STOPPED = (1, 100)
#: Share of the remaining budget one deep check may use, so a hung service is reported
#: as a failure by us rather than as a timeout by Pacemaker.
CHECK_SHARE = 0.8


def cadence_param(what: str, default: int = 1) -> "Param":
    """The ``second_level_monitor`` parameter every agent has; *what* says what level 2 checks."""
    return Param("second_level_monitor", Integer(0, 1000), "Second-level monitor cadence",
                 f"{what} every Nth monitor: 1 every time, 3 every third, 0 never (seed 004's "
                 "SecondLevelMonitor). OCF_CHECK_LEVEL=10 on a monitor operation forces it every time.",
                 default=str(default), reloadable=True)


PROGRAM_PARAM = Param(
    "monitor_program", Command(), "Custom monitor program",
    "Run after the other checks pass, with arguments, never through a shell. Exit 0 or 110: running; "
    "1 or 100: not running; anything else: failed (seed 004's MonitorProgram).", reloadable=True)

PROGRAM_PARAMS_PARAM = Param(
    "monitor_program_params", Boolean(), "Pass the parameters to monitor_program",
    "true: monitor_program gets the resource's parameters as OCF_RESKEY_NAME variables, as a shell "
    "agent's helper would, except the secret ones (passwords), which it never gets. false: only "
    "OCF_RESOURCE_INSTANCE.", default="false", reloadable=True)


class MonitorPlan:
    """What one agent checks at each level.  Deep checks get a timeout in seconds and raise
    :class:`~mailha.ocf.codes.OcfError` on failure."""

    def __init__(self, running: "Callable[[], bool]", service: "Optional[Callable[[float], None]]" = None,
                 transaction: "Optional[Callable[[float], None]]" = None, every: int = 1,
                 program: "Optional[Sequence[str]]" = None) -> None:
        self.running = running
        self.service = service
        self.transaction = transaction
        self.every = every
        self.program = program


def levels_due(ctx: "Context", every: int) -> "Tuple[bool, bool]":
    """Which deep levels this monitor runs: (service, transaction); advances the cadence
    counter when it counts (:mod:`mailha.cadence`)."""
    count = ctx.state.tick(COUNTER) if counts(ctx.check_level, every) else 0
    return _levels_due(ctx.check_level, every, count)


def run(ctx: "Context", plan: "MonitorPlan") -> int:
    """Run the levels of *plan* that are due and return the OCF result."""
    if not plan.running():
        return Rc.NOT_RUNNING
    if ctx.is_probe:
        return Rc.SUCCESS
    service_due, transaction_due = levels_due(ctx, plan.every)
    if service_due and plan.service is not None:
        plan.service(ctx.budget.share(CHECK_SHARE))
    if transaction_due and plan.transaction is not None:
        plan.transaction(ctx.budget.share(CHECK_SHARE))
    if plan.program:
        return run_program(ctx, plan.program)
    return Rc.SUCCESS


def reset(ctx: "Context") -> None:
    """Forget the cadence (after start): the first monitor then runs every level.  Only the
    monitor's own keys: what the start remembered (pids, endpoints) stays."""
    ctx.state.forget(STATE_PREFIX)


def check_program(p: "Params") -> None:
    """A local check for start and validate-all: the monitor program can be run here."""
    argv = p.as_dict().get("monitor_program")
    if argv:
        from .files import check_executable

        check_executable(argv[0], "monitor_program", "install it here or correct monitor_program")


def program_env(ctx: "Context") -> "Dict[str, str]":
    """The monitor program's environment: a product command's (:func:`mailha.run.product_env`),
    the resource's name and operation (``OCF_RESKEY_CRM_meta_*``: interval, timeout), and its
    non-secret parameters when ``monitor_program_params`` asks."""
    from .ocf.params import META_PREFIX, RESKEY
    from .run import product_env

    env = product_env(ctx.environ)
    env["OCF_RESOURCE_INSTANCE"] = ctx.instance
    env.update((k, v) for k, v in ctx.environ.items() if k.startswith(RESKEY + META_PREFIX))
    p = ctx.params
    if p.as_dict().get("monitor_program_params"):
        secrets = {prm.name for prm in ctx.agent.params if prm.secret}
        for name in p.as_dict():
            if name not in secrets and p.given(name):
                env[RESKEY + name] = ctx.environ.get(RESKEY + name, "")
    return env


def run_program(ctx: "Context", argv: "Sequence[str]") -> int:
    """Run the admin's monitor program within the budget and map its exit code."""
    from .run import run_command

    timeout = ctx.budget.share(CHECK_SHARE)
    result = run_command(argv, timeout, env=program_env(ctx))
    ctx.log.debug("monitor_program exited %d: %s", result.returncode, result.last_line)
    if result.timed_out:
        raise GenericError(f"monitor_program {argv[0]} gave no answer within {timeout:.1f}s")
    if result.returncode in PROGRAM_RUNNING:
        return Rc.SUCCESS
    if result.returncode in PROGRAM_STOPPED:
        ctx.log.warning("monitor_program %s reports the service down: %s", argv[0], result.last_line)
        return Rc.NOT_RUNNING
    raise GenericError(f"monitor_program {argv[0]} exited {result.returncode} (state unknown): "
                       f"{result.last_line}")
