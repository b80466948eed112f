"""Start, stop and monitor a :class:`~mailha.service.model.Service`: one call each.

* :func:`start` checks that the service's addresses are here and its ports free, runs the
  agent's product step (*prepare*), then launches the members in order, each within its share
  of the budget, and returns when every member's process runs, its product check passes and
  every endpoint answers on its address.  A member already running is not launched again.
* :func:`stop` stops the members in reverse order, each with its graceful command (or
  SIGTERM), then kills whatever remains of it before its share of the deadline: stop never
  times out.  Parameters that cannot identify the instance make it kill nothing it cannot
  identify; parameters that fail the agent's static checks name nothing that could have
  started, so such a stop succeeds at once.
* :func:`monitor` runs the levels of :mod:`mailha.monitor`: every member's process, every
  endpoint, the test user's login, the admin's program.

Product commands run with :func:`mailha.run.product_env`: no ``OCF_RESKEY_*``, ``LC_ALL=C``.
"""

import os
import time

from ..ocf.codes import GenericError, Rc

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Callable, Dict, List, Optional, Sequence

    from ..ocf.agent import Context
    from ..proc import ProcessMatch, ProcInfo
    from .model import Command, Member, Service

#: A launcher may return just before its daemon shows up: a member not seen yet counts as
#: having exited only after this many seconds.
APPEAR_GRACE = 5.0
#: Longest single probe while waiting for a start: a server that hangs is asked again.
WAIT_PROBE_CAP = 5.0
#: Reserve kept, per member still to stop, out of what remains of the stop budget.
STOP_RESERVE_CAP = 30.0
STOP_RESERVE_SHARE = 0.2
#: Reserve kept, per member still to start, out of what remains of the start budget: the
#: rest is the member's own (a store recovering after a crash may need most of the timeout).
START_RESERVE_CAP = 60.0
START_RESERVE_SHARE = 0.2
#: State key prefix of the pids remembered for members without pid files.
PID_PREFIX = "pid."


# -- finding members ---------------------------------------------------------------------------


def locate(ctx: "Context", member: "Member") -> "List[ProcInfo]":
    """The member's running processes, trying first the pid found last when it has no pid file
    (kept in the resource's state, written only when it changes)."""
    from ..proc import find

    if member.remember is None:
        return find(member.match)
    key = PID_PREFIX + member.remember
    known = ctx.state.get(key)
    found = find(member.match, known_pid=int(known) if known.isdigit() and len(known) < 10 else None)
    ctx.state.put(key, str(found[0].pid) if found else "")
    return found


def every_process(member: "Member") -> "List[ProcInfo]":
    from ..proc import find

    return find(member.match, every=True)


# -- start --------------------------------------------------------------------------------------


def start(ctx: "Context", service: "Service", prepare: "Optional[Callable[[], None]]" = None) -> None:
    """Bring *service* up and return when it answers; raise an OCF error otherwise.

    *prepare* is the agent's product step before any launch (editing configuration that the
    server rewrites itself while it runs); it runs only when some member must be launched."""
    from .. import monitor

    require_addresses(service)
    running = [every_process(member) for member in service.members]
    if not all(running):
        own = {info.pid for found in running for info in found}
        require_free_ports(service, [m for m, up in zip(service.members, running) if not up], own)
        if prepare is not None:
            prepare()
    budget = ctx.budget
    for index, member in enumerate(service.members):
        later = len(service.members) - index - 1
        deadline = budget.until(min(START_RESERVE_CAP, budget.remaining() * START_RESERVE_SHARE) * later)
        if running[index]:
            ctx.log.info("the %s is already running", member.label)
        elif member.launch is not None and not every_process(member):
            # (an earlier member's command may have started it: a product script starts several)
            launch(ctx, member.label, member.launch, deadline)
        wait_until_answering(ctx, service, member, deadline)
        ctx.log.info("the %s answers on %s%s", member.label, service.host_of(member),
                     "".join(f", {p.name} {p.port}" for p in member.endpoints))
    monitor.reset(ctx)
    for member in service.members:
        if member.remember is not None:
            locate(ctx, member)  # the first monitor then finds it without a scan


def require_addresses(service: "Service") -> None:
    """Every address the service binds to is configured on this node."""
    from .. import net

    for address in sorted({a for a in map(service.address_of, service.members) if a}):
        try:
            local = net.is_local_address(address)
        except (OSError, ValueError) as err:
            raise GenericError(f"cannot tell whether {address} is configured here: {err}") from None
        if not local:
            raise GenericError(f"the virtual IP {address} is not configured on this node: start the IP "
                               f"address resource first (same group, before this one)")


def require_free_ports(service: "Service", members: "List[Member]", own: "set") -> None:
    """No other process holds a port of a member still to launch.  All are checked before any
    launch: a second member that cannot bind must not leave the first half-started."""
    from .ports import held_by_others

    for member in members:
        address = service.address_of(member)
        taken = held_by_others(member.endpoints, address, own)
        if taken:
            raise GenericError(f"cannot start the {member.label}: {'; '.join(taken)}: stop that process or "
                               f"bind it to another address")


def launch(ctx: "Context", label: str, command: "Command", deadline: float) -> None:
    """Run the launch command within the member's share of the start (until *deadline*): a
    launcher may wait for its server to be ready, as ``start-msg store`` waits for the store's
    recovery."""
    from ..run import product_env, run_command

    timeout = max(0.0, deadline - time.monotonic())
    ctx.log.info("starting the %s: %s", label, " ".join(command.argv))
    # "/" as the usual working directory: a daemon keeping ours would hold storage busy at umount.
    result = run_command(command.argv, timeout=timeout, cwd=command.cwd, env=product_env(ctx.environ))
    program = os.path.basename(command.argv[0])  # the whole command is in the log line above
    if result.timed_out:
        raise GenericError(f"{program} did not return within {timeout:.0f}s starting the {label}")
    if result.returncode not in command.ok:
        raise GenericError(f"{program} exited {result.returncode} starting the {label}: "
                           f"{result.last_line or 'no output'}")


def wait_until_answering(ctx: "Context", service: "Service", member: "Member", deadline: float) -> None:
    """Wait until the member's process runs, its product check passes and its endpoints answer.

    A rejected probe login counts as answering: the service is up, and the monitor reports it
    as degraded."""
    from ..ocf.codes import Degraded
    from . import probing

    started = time.monotonic()
    state = {"seen": False, "last": "", "warned": False}

    def ready() -> bool:
        processes = every_process(member)
        if not processes:
            if state["seen"] or time.monotonic() - started > APPEAR_GRACE:
                raise GenericError(f"the {member.label} exited during start{member.log_hint}")
            return False
        state["seen"] = True
        if member.ready is not None:
            why = member.ready(processes)
            if why:
                state["last"] = why
                return False
        probe_until = min(deadline, time.monotonic() + WAIT_PROBE_CAP)
        try:
            probing.check(member.label, member.endpoints, service.host_of(member), probe_until)
        except Degraded as err:
            if not state["warned"]:
                ctx.log.warning("%s", err.reason)
                state["warned"] = True
        except GenericError as err:
            state["last"] = err.reason
            return False
        return True

    if not ctx.budget.wait_for(ready, deadline):
        raise GenericError(f"the {member.label} did not answer within the start timeout: "
                           f"{state['last'] or 'not running'}{member.log_hint}")


# -- stop ---------------------------------------------------------------------------------------


def stop(ctx: "Context", build: "Callable[[], Service]", product: "ProcessMatch",
         identity: "Sequence[str]" = ()) -> None:
    """Stop the service that *build* declares, within the budget; raise only when a process of
    the instance survives.

    When a parameter that identifies the instance could not be used (the framework dropped it:
    junk, or a cibsecret that could not be loaded), no process is killed on a guess: with no
    process of the *product* on this node the stop succeeds with a warning; with one, it fails
    (fencing is then the safe outcome: a false success could leave a second writer on shared
    storage).  Parameters declared unique or required identify the instance; *identity* names
    the others whose default would find another instance's processes (the product type, the
    binary)."""
    from ..ocf.codes import Misconfigured

    unusable = identity_unusable(ctx, identity)
    service = None
    try:
        if not unusable:
            service = build()
    except Misconfigured as err:
        # Parameters that fail the agent's static checks: a start with them was refused before
        # it launched anything, so nothing of theirs runs here.  (Pacemaker stops a resource with
        # the parameters it was started with: this is the stop after a probe or a start that
        # said "not configured".)  Failing would fence a node for a typo.
        ctx.log.warning("stop: %s: nothing these parameters could have started runs", err.reason)
        return
    if service is None:
        from ..proc import find

        names = ", ".join(sorted(unusable))
        others = find(product, every=True)
        if not others:
            ctx.log.warning("stop: %s unusable, but no %s process runs here: nothing to stop", names,
                            "/".join(product.exe_names))
            return
        seen = ", ".join(f"{info.pid} ({info.comm})" for info in others[:3])
        raise GenericError(f"stop killed nothing: bad {names} cannot identify the instance, and pid(s) {seen} "
                           f"might be it")
    budget = ctx.budget
    order = list(reversed(service.members))
    for index, member in enumerate(order):
        later = len(order) - index - 1
        reserve = min(STOP_RESERVE_CAP, budget.remaining() * STOP_RESERVE_SHARE) * later
        stop_member(ctx, member, budget.until(reserve))


def identity_unusable(ctx: "Context", identity: "Sequence[str]" = ()) -> "set":
    """Parameters that identify the instance (declared unique or required, or named in
    *identity*) and that the framework could not use for this stop."""
    dropped = ctx.params.unusable
    if not dropped:
        return set()
    return {prm.name for prm in ctx.agent.params
            if (prm.unique or prm.required or prm.name in identity) and prm.name in dropped}


def stop_member(ctx: "Context", member: "Member", deadline: float) -> None:
    """Graceful command (or SIGTERM), then SIGKILL, before *deadline*."""
    from ..proc import stop as stop_processes

    processes = every_process(member)
    if not processes:
        ctx.log.info("the %s is already stopped", member.label)
        return
    graceful = None
    command = member.stop
    if command is not None:
        from ..run import product_env, run_command

        env = product_env(ctx.environ)

        def graceful(until: float) -> None:
            result = run_command(command.argv, timeout=until - time.monotonic(), cwd=command.cwd, env=env)
            if result.returncode not in command.ok:
                ctx.log.info("%s exited %d: %s", command.argv[0], result.returncode, result.last_line)

    result = stop_processes(processes, deadline, graceful=graceful)
    ctx.log.info("%s: %s", member.label, result.describe())
    if every_process(member):
        raise GenericError(f"the {member.label} survived the stop: {result.describe()}")


# -- monitor ------------------------------------------------------------------------------------


def monitor(ctx: "Context", service: "Service", program_env: "Optional[Dict[str, str]]" = None) -> int:
    """The monitor levels of :mod:`mailha.monitor` for *service*; returns the OCF code.

    First level: every member's process (none: not running; some: failed).  Second level:
    every endpoint on its address.  Transaction: the test user logs in on the endpoints marked
    ``login``."""
    from .. import monitor as levels
    from . import fastpath

    p = ctx.params
    inputs = fastpath.stamps(service)  # before anything reads them
    found: "List[ProcInfo]" = []
    plan = levels.MonitorPlan(
        running=lambda: running(ctx, service, found),
        service=lambda timeout: check_endpoints(service, timeout),
        transaction=(lambda timeout: check_login(service, timeout)) if service.login else None,
        every=p.second_level_monitor,
        program=p.monitor_program,
    )
    try:
        rc = levels.run(ctx, plan)
    except Exception:
        fastpath.save(ctx, service, found, inputs, Rc.ERR_GENERIC)  # never replay a failure
        raise
    fastpath.save(ctx, service, found, inputs, rc)
    return rc


def running(ctx: "Context", service: "Service", found: "Optional[List[ProcInfo]]" = None) -> bool:
    """Whether the service runs: every member (True), none (False), some (GenericError).
    *found* gets the first process of each running member."""
    located = [(member, locate(ctx, member)) for member in service.members]
    up = [member for member, processes in located if processes]
    if found is not None:
        found.extend(processes[0] for _, processes in located if processes)
    if not up:
        return False
    if len(up) < len(service.members):
        down = " and ".join(m.label for m in service.members if m not in up)
        alive = " and ".join(m.label for m in up)
        raise GenericError(f"the {down} is not running (the {alive} is)")
    return True


def check_endpoints(service: "Service", timeout: float) -> None:
    from . import probing

    deadline = time.monotonic() + timeout
    for member in service.members:
        probing.check(member.label, member.endpoints, service.host_of(member), deadline)
        if member.check is not None:
            member.check(max(0.0, deadline - time.monotonic()))


def check_login(service: "Service", timeout: float) -> None:
    """The test user logs in on the first endpoint of each member that allows it."""
    from ..ocf.codes import Degraded
    from . import probing

    deadline = time.monotonic() + timeout
    tried = 0
    for member in service.members:
        points = [point for point in member.endpoints if point.login][:1]
        tried += len(points)
        probing.check(member.label, points, service.host_of(member), deadline, login=service.login)
    if not tried:
        raise Degraded("a test user is set but no listener of this resource takes a login: enable one or "
                       "unset the test user")
