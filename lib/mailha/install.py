"""The agents' executables, written for one way of installing mailha.

An OCF agent is an executable file in ``$OCF_ROOT/resource.d/mailha/``; ours are a few lines
that import the agent from the library.  The interpreter named on the first line must be the
one whose library path holds mailha: ``/usr/bin/python3`` for the .deb and the .rpm (the tree's
``ocf/NAME`` files, which a test keeps equal to :func:`script`), the environment's own python
for a pip or venv install::

    /opt/mailha/bin/mailha install-agents               # into /usr/lib/ocf/resource.d/mailha
    mailha install-agents --dir /tmp/agents --python /usr/bin/python3.6

Kept free of newer syntax: RHEL 8 and SLES 15 run it on Python 3.6.
"""

import argparse
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import List, Optional, Sequence

PROVIDER = "mailha"
#: Each agent and the one line its executable says about it (the agent's module is mailha.agents.NAME).
AGENTS = {
    "gwia": "GroupWise Internet Agent with its domain's MTA.",
    "gwpoa": "GroupWise Post Office Agent of one post office.",
    "ldap": "directory server (389-ds, OpenLDAP, Sun DS) of a mail system.",
}
DEFAULT_DIR = os.path.join("/usr/lib/ocf/resource.d", PROVIDER)

_TEMPLATE = '''\
#!{python}
# ocf:mailha:{name} - {summary}
# The agent is declared in the mailha library; this file only runs it.
try:
    from mailha.agents.{name} import AGENT
except ImportError as err:  # the library missing or half-replaced: an exit reason, no traceback
    import sys

    sys.stderr.write(("ocf-exit-reason:the mailha library cannot be loaded: reinstall the mailha package "
                      "(%s)" % err)[:143] + "\\n")
    sys.exit(5)  # OCF_ERR_INSTALLED: not usable on this node

AGENT.main()
'''


def script(name: str, python: str) -> str:
    """The executable of agent *name* run by the interpreter *python* (an absolute path)."""
    if not os.path.isabs(python) or any(c.isspace() for c in python):
        # The kernel reads the interpreter line up to the first blank: a path with one would
        # name another program.
        raise ValueError(f"the interpreter must be an absolute path without blanks: {python!r}")
    return _TEMPLATE.format(python=python, name=name, summary=AGENTS[name])


def install(directory: str, python: str, names: "Optional[Sequence[str]]" = None) -> "List[str]":
    """Write the agents (all by default) into *directory*, created when missing; returns the
    paths written.  Each file is replaced whole (written beside it, then renamed), so a
    Pacemaker operation running meanwhile sees the old or the new agent, never half of one."""
    os.makedirs(directory, mode=0o755, exist_ok=True)
    written = []
    for name in names or sorted(AGENTS):
        path = os.path.join(directory, name)
        text = script(name, python)
        partial = f"{path}.{os.getpid()}.new"
        with open(partial, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(partial, 0o755)
        os.replace(partial, path)
        written.append(path)
    return written


def main(argv: "Optional[Sequence[str]]" = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mailha install-agents",
        description="Write the OCF agents (ocf:mailha:NAME) for this Python installation of mailha.")
    parser.add_argument("--dir", default=DEFAULT_DIR, help=f"where the agents go (default {DEFAULT_DIR})")
    parser.add_argument("--python", default=sys.executable,
                        help="the interpreter on their first line (default: the one running this, %(default)s)")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="only these agents (default: all of %s)" % ", ".join(sorted(AGENTS)))
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(AGENTS))
    if unknown:
        parser.error(f"no such agent: {', '.join(unknown)} (agents: {', '.join(sorted(AGENTS))})")
    try:
        for path in install(args.dir, args.python, args.names):
            print(path)
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"mailha install-agents: {exc}\n")
        return 1
    return 0
