"""Running a product's own commands (start scripts, stop scripts, monitor programs).

Always without a shell, with stdin closed, in a new session so that a timeout can end the
command and everything it spawned, and with its output kept for the log and the exit reason.
Always with a product environment (:func:`product_env`) unless the caller builds one: the
agent's own environment holds the resource's parameters, secrets among them, and a daemon's
environment can be read by other root tools for as long as it runs.
"""

import os
import signal
import subprocess

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Dict, Mapping, Optional, Sequence


#: What every product command runs with: messages and number formats a parser can rely on.
PRODUCT_LOCALE = "C"


def product_env(environ: "Optional[Mapping[str, str]]" = None) -> "Dict[str, str]":
    """*environ* (default: this process's) without any ``OCF_RESKEY_*`` and with ``LC_ALL=C``.

    The resource's parameters, the secret ones among them, stay in the agent."""
    source = os.environ if environ is None else environ
    env = {k: v for k, v in source.items() if not k.startswith("OCF_RESKEY_")}
    env["LC_ALL"] = PRODUCT_LOCALE
    return env


class CommandResult:
    __slots__ = ("argv", "returncode", "output", "timed_out")

    def __init__(self, argv: "Sequence[str]", returncode: int, output: str, timed_out: bool) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.output = output
        self.timed_out = timed_out

    @property
    def last_line(self) -> str:
        lines = [line for line in self.output.splitlines() if line.strip()]
        return lines[-1].strip() if lines else ""


def run_command(argv: "Sequence[str]", timeout: float, cwd: str = "/",
                env: "Optional[Mapping[str, str]]" = None) -> "CommandResult":
    """Run *argv* for at most *timeout* seconds; on timeout kill its whole process group.

    Output goes to an anonymous temporary file, not a pipe: a daemon forked by the command may
    keep its inherited descriptors, and waiting for a pipe's end would then wait for the daemon.
    Never raises for the command's own failure: a missing program gives returncode 127 and a
    timeout gives returncode -9 with ``timed_out`` set.  *env* None means :func:`product_env`."""
    import tempfile

    with tempfile.TemporaryFile() as output:
        try:
            child = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=output,
                                     stderr=subprocess.STDOUT, cwd=cwd,
                                     env=product_env() if env is None else dict(env), start_new_session=True)
        except OSError as err:
            return CommandResult(argv, 127, f"{argv[0]}: {err.strerror}", False)
        try:
            child.wait(timeout=max(0.01, timeout))
            timed_out = False
        except subprocess.TimeoutExpired:
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            child.wait()
            timed_out = True
        output.seek(0)
        text = output.read(65536).decode("utf-8", "replace")
    return CommandResult(argv, child.returncode, text, timed_out)
