"""Declaring an agent and running one action of it.

An agent is a declaration (name, descriptions, :class:`~mailha.ocf.params.Param` list,
:class:`Action` list) plus handlers registered with :meth:`Agent.handler`.  :meth:`Agent.run`
does what every agent must do and no agent should write again: choose the action, answer
``meta-data``/``usage``, parse parameters, set up logging and the time budget, run the checks,
call the handler, and turn whatever happens into an exit code and at most one exit reason.
No Python traceback ever reaches Pacemaker.
"""

import os
import posix
import sys
import time

from .codes import REASON_MAX, NotInstalled, OcfError, Rc, Unimplemented, fit, one_line
from .params import parse_params, unknown_params

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Callable, Dict, List, Mapping, Optional, Sequence

    from .budget import Budget
    from .log import Logger
    from .params import Param, Params
    from .state import StateFile

    Handler = Callable[["Context"], "int | None"]
    Check = Callable[[Params], None]

#: What starts an exit reason on stderr (unless ``OCF_EXIT_REASON_PREFIX`` says otherwise).
EXIT_REASON_MARK = "ocf-exit-reason:"

#: Actions OCF defines; asking for one an agent lacks gives OCF_ERR_UNIMPLEMENTED.
OCF_ACTIONS = ("start", "stop", "monitor", "validate-all", "meta-data", "usage", "status",
               "promote", "demote", "notify", "reload", "reload-agent", "migrate_to",
               "migrate_from", "recover", "methods")


class Action:
    """An action as advertised in the metadata, with its advised timeout in seconds."""

    __slots__ = ("name", "timeout", "interval", "depth")

    def __init__(self, name: str, timeout: float, interval: "Optional[float]" = None,
                 depth: "Optional[int]" = None) -> None:
        self.name = name
        self.timeout = timeout
        self.interval = interval
        self.depth = depth


class Context:
    """Everything a handler needs about the current invocation."""

    def __init__(self, agent: "Agent", action: str, environ: "Mapping[str, str]", params: "Params",
                 budget: "Budget", log: "Logger") -> None:
        self.agent = agent
        self.action = action
        self.environ = environ
        self.params = params
        self.budget = budget
        self.log = log
        self.instance = environ.get("OCF_RESOURCE_INSTANCE", "") or agent.name
        self.interval_ms = _int_or_none(environ.get("OCF_RESKEY_CRM_meta_interval"))
        self.check_level = _int_or_none(environ.get("OCF_CHECK_LEVEL")) or 0
        self._state: Optional[StateFile] = None

    @property
    def is_probe(self) -> bool:
        """A one-time monitor (interval 0): "is it running here?", asked on every node."""
        return self.action == "monitor" and self.interval_ms == 0

    @property
    def state(self) -> "StateFile":
        """Per-resource state under ``HA_RSCTMP`` (created on first use)."""
        if self._state is None:
            from .state import StateFile

            self._state = StateFile(self.agent.name, self.instance, self.environ)
        return self._state


def _int_or_none(raw: "Optional[str]") -> "Optional[int]":
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


class Agent:
    """An OCF resource agent, declared."""

    def __init__(self, name: str, shortdesc: str, longdesc: str, params: "Sequence[Param]",
                 actions: "Sequence[Action]", version: str = "1.0") -> None:
        self.name = name
        self.shortdesc = shortdesc
        self.longdesc = longdesc
        self.params = list(params)
        self.actions = list(actions)
        self.version = version
        self.handlers: Dict[str, Handler] = {}
        #: Rules across parameters that hold on every node; they raise ``Misconfigured``.  Not
        #: run for stop.
        self.checks: List[Check] = []
        #: Checks of this node (binaries, files, mounts); they raise ``NotInstalled``.  Run
        #: for start and validate-all only: monitor and stop must work with storage unmounted.
        self.local_checks: List[Check] = []
        self._redact: Callable[[str], str] = str

    # -- declaration ------------------------------------------------------------------------

    def handler(self, action: str) -> "Callable[[Handler], Handler]":
        """Decorator registering the function that implements *action*."""
        def register(func: "Handler") -> "Handler":
            self.handlers[action] = func
            return func
        return register

    def check(self, func: "Check") -> "Check":
        self.checks.append(func)
        return func

    def local_check(self, func: "Check") -> "Check":
        self.local_checks.append(func)
        return func

    def declaration_errors(self) -> "List[str]":
        """Mistakes in the declaration (the test suite asserts there are none)."""
        errors = [e for p in self.params for e in p.declaration_errors()]
        names = [p.name for p in self.params]
        errors += [f"parameter {n} declared twice" for n in set(names) if names.count(n) > 1]
        for action in self.actions:
            if (action.name not in ("meta-data", "validate-all", "usage") and action.name not in self.handlers
                    and self._default_handler(action.name) is None):
                errors.append(f"action {action.name} is advertised but has no handler")
        errors += self._reload_declaration_errors(names)
        return errors

    def _reload_declaration_errors(self, names: "List[str]") -> "List[str]":
        errors = []
        for param in self.params:
            if param.replaced_with and param.replaced_with not in names:
                errors.append(f"{param.name}: replaced_with names {param.replaced_with}, "
                              "which is not declared")
        if "reload-agent" in self.handlers or any(a.name == "reload-agent" for a in self.actions):
            if not self.reloadable_params():
                # Pacemaker would reload for nothing: every change restarts the resource anyway.
                errors.append("reload-agent is declared but no parameter is reloadable")
        return errors

    # -- reload-agent (OCF 1.1) -------------------------------------------------------------

    def reloadable_params(self) -> "List[str]":
        """Names of the parameters a ``reload-agent`` applies (changing any other one restarts)."""
        return [p.name for p in self.params if p.reloadable]

    def reload_action(self) -> "Optional[Action]":
        """The ``reload-agent`` action OCF 1.1 metadata advertises: none without reloadable
        parameters; else the declared one, or the framework's (with validate-all's timeout:
        that is all it does)."""
        if not self.reloadable_params():
            return None
        for action in self.actions:
            if action.name == "reload-agent":
                return action
        return Action("reload-agent", self.action_timeout("validate-all"))

    def _default_handler(self, action: str) -> "Optional[Handler]":
        """What runs *action* when the agent registered no handler for it, if anything."""
        if action == "reload-agent" and self.reloadable_params():
            return _reload_agent
        return None

    # -- running ----------------------------------------------------------------------------

    def usage(self) -> str:
        names = {a.name for a in self.actions} | {"meta-data", "usage", "validate-all"}
        if self.reload_action() is not None:
            names.add("reload-agent")
        return f"usage: {self.name} {{{'|'.join(sorted(names))}}}\n"

    def metadata(self, version: str = "1.0") -> str:
        """The metadata document in OCF *version* ("1.0" or "1.1")."""
        from .metadata import render

        return render(self, version)

    def action_timeout(self, name: str) -> float:
        for action in self.actions:
            if action.name == name:
                return action.timeout
        reload = self.reload_action() if name == "reload-agent" else None
        return reload.timeout if reload is not None else 20.0

    def run(self, argv: "Sequence[str]", environ: "Mapping[str, str]") -> int:
        """Run one action and return its exit code; never raises.

        With ``OCF_TRACE_RA=1``, or ``trace_ra=1`` on the operation (what ``crm resource
        trace`` sets), the action also leaves a redacted trace file, as the shell agents do:
        see :func:`mailha.ocf.log.start_trace`."""
        from . import log as ocflog

        action = argv[1] if len(argv) > 1 else environ.get("__OCF_ACTION", "")
        if not ocflog.trace_wanted(environ):
            return self._run(action, environ)
        started = time.monotonic()
        trace = ocflog.start_trace(self, action, environ)
        rc = None
        try:
            rc = self._run(action, environ)
        finally:
            ocflog.end_trace(trace, rc, time.monotonic() - started)
        return rc

    def _run(self, action: str, environ: "Mapping[str, str]") -> int:
        from . import log as ocflog

        label = one_line(action, 40)  # what messages show: an action name is untrusted text
        instance = environ.get("OCF_RESOURCE_INSTANCE", "") or self.name
        self._log = ocflog.setup(self.name, instance, environ)
        self._redact = str
        started = time.monotonic()
        try:
            if action == "meta-data":
                from .metadata import version_for

                return self._print(self.metadata(version_for(environ)))
            if action in ("usage", "help", "methods", "-h", "--help"):
                return self._print(self.usage())
            if not action:
                sys.stderr.write(self.usage())
                return Rc.ERR_ARGS
            rc = self._dispatch(action, environ)
        except OcfError as err:
            rc = self._failed(action, label, environ, err)
        except Exception as err:  # noqa: BLE001 - the contract: no traceback reaches Pacemaker
            import traceback

            reason = f"internal error in {label}: {type(err).__name__}: {err}"
            self._log.error("%s failed: %s", label, reason)
            self._log.debug_file("%s", traceback.format_exc())
            self._exit_reason(environ, reason)
            rc = Rc.ERR_GENERIC
        except KeyboardInterrupt:
            self._exit_reason(environ, f"{label} interrupted")
            rc = Rc.ERR_GENERIC
        self._log.debug("%s finished with rc %d after %.3fs", label, rc, time.monotonic() - started)
        return rc

    def _dispatch(self, action: str, environ: "Mapping[str, str]") -> int:
        from . import log as ocflog
        from .budget import Budget

        instance = environ.get("OCF_RESOURCE_INSTANCE", "") or self.name
        handler = self.handlers.get(action) or self._default_handler(action)
        if action != "validate-all" and handler is None:
            if action in OCF_ACTIONS:
                raise Unimplemented(f"action '{action}' is not implemented by {self.name}")
            raise Unimplemented(f"unknown action {one_line(action, 40)!r}: {self.usage().strip()}")

        # Stop never fails for a parameter: a failed stop is a fenced node, and Pacemaker runs
        # stop even when it cannot load the CIB secrets.  What stop cannot use counts as not
        # set (params.unusable tells the handler which), with one warning each.
        probe = action == "monitor" and environ.get("OCF_RESKEY_CRM_meta_interval") == "0"
        params = parse_params(self.params, environ, instance, tolerant=action == "stop", secrets_optional=probe)
        level = params.log_level if "log_level" in params.as_dict() else None
        self._log = ocflog.setup(self.name, instance, environ, level, params.secret_values)
        self._redact = self._log.redact
        for problem in params.problems.values():
            self._log.warning("%s: %s", action, problem)
        budget = Budget.from_env(environ, self.action_timeout(action))
        ctx = Context(self, action, environ, params, budget, self._log)

        # Stop never runs the cross-parameter checks: a stop that fails is a fenced node, and a
        # configuration edited while the resource runs must not keep it from stopping.  Nor
        # does a probe that lacks a secret this node cannot load: "bind_dn needs password"
        # would then be untrue, and the probe needs neither.
        if action != "stop" and not (probe and params.unusable):
            for check in self.checks:
                check(params)
        if action in ("start", "validate-all"):
            for name in unknown_params(self.params, environ):
                self._log.warning("unknown parameter '%s' is ignored: is it misspelt?", name)
            for check in self.local_checks:
                check(params)
        if handler is None:  # validate-all: the checks above are all there is to it
            return Rc.SUCCESS
        result = handler(ctx)
        return Rc.SUCCESS if result is None else int(result)

    def _failed(self, action: str, label: str, environ: "Mapping[str, str]", err: "OcfError") -> int:
        probe = action == "monitor" and environ.get("OCF_RESKEY_CRM_meta_interval") == "0"
        told = f"{err.reason} ({err.detail})" if err.detail else err.reason  # the log gets the detail
        if err.rc == Rc.NOT_RUNNING or (probe and isinstance(err, NotInstalled)):
            # A probe asks "is it running here?": files on unmounted shared storage mean no.
            self._log.info("not running: %s", told)
            return Rc.NOT_RUNNING
        if err.rc == Rc.DEGRADED:  # running: a warning on every such monitor, not an error
            self._log.warning("running, degraded: %s", told)
            self._exit_reason(environ, err.reason)
            return err.rc
        self._log.error("%s failed: %s", label, told)
        self._exit_reason(environ, err.reason)
        return err.rc

    def _exit_reason(self, environ: "Mapping[str, str]", reason: str) -> None:
        prefix = environ.get("OCF_EXIT_REASON_PREFIX", EXIT_REASON_MARK)
        # Redact before squashing and cutting: either could hide a secret from the redactor.
        whole = one_line(self._redact(reason), 4096)
        # Pacemaker takes what follows the last marker anywhere on stderr: a value quoted in
        # the reason must not start a reason of its own.
        whole = whole.replace(EXIT_REASON_MARK, EXIT_REASON_MARK[:-1] + " :")
        line, cut = fit(whole, REASON_MAX)
        if cut:
            self._log.info("the exit reason is cut to %d bytes; in full: %s", REASON_MAX, whole)
        from .log import trace_exit_reason

        trace_exit_reason(line)  # an OCF_TRACE_RA trace records what Pacemaker is told
        text = f"{prefix}{line}\n"
        # Bytes where there is a buffer: Pacemaker's limit counts UTF-8 bytes, whatever encoding
        # the locale would give stderr (ASCII with escapes under Python 3.6 in the C locale).
        sys.stderr.flush()
        buffer = getattr(sys.stderr, "buffer", None)
        if buffer is None:
            sys.stderr.write(text)
            sys.stderr.flush()
        else:
            buffer.write(text.encode("utf-8", "backslashreplace"))
            buffer.flush()

    @staticmethod
    def _print(text: str) -> int:
        sys.stdout.write(text)
        sys.stdout.flush()
        return Rc.SUCCESS

    def main(self) -> None:
        """Entry point of an agent executable: runs the action, then leaves at once.

        The interpreter's teardown (freeing every module and object) costs a monitor a few
        milliseconds for nothing: once what the action wrote is flushed, the process ends with
        ``os._exit``.  Nothing else is pending: logs and state files are closed after each
        write, and no thread runs."""
        rc = self.run(sys.argv, os.environ)
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            posix._exit(rc)  # os._exit itself; every agent exit (the fast path's too) goes through it


def _reload_agent(ctx: "Context") -> None:
    """The framework's ``reload-agent``, for agents whose reloadable parameters need nothing
    done to the service: the monitor's cadence and program and the log level are read afresh
    by every action, so the next one uses the new values.

    By the time this runs the parameters have parsed and passed the checks that hold on every
    node, as for validate-all (a bad value is 6, as the start after a restart would say).  The
    checks of this node have not run: they ask "can it start here?" (binaries, files, mounts),
    which the start of the running service answered, and Pacemaker records a reload that
    returns an error as a failed start, which bans the resource from the node: a check failing
    here would turn a new monitor cadence into a failover.  What a reloadable parameter could
    break (a monitor_program missing here) the next monitor reports, and the next start checks."""
    # A misspelt name is no parameter of ours, so Pacemaker reloaded for it instead of restarting.
    for name in unknown_params(ctx.agent.params, ctx.environ):
        ctx.log.warning("unknown parameter '%s' is ignored: is it misspelt?", name)
    ctx.log.info("reload-agent: %s apply from the next action on; the service is left alone",
                 ", ".join(ctx.agent.reloadable_params()))
