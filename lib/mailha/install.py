"""The agents' executables, written for one way of installing mailha.

An OCF agent is an executable file in ``$OCF_ROOT/resource.d/mailha/``; ours are a few lines
that import the agent from the library.  Pacemaker starts one for every monitor of every
resource, so they start the interpreter as cheaply as it goes: ``-IS``, without ``site`` (the
.pth files of the distribution's package directory cost a monitor several milliseconds) and
without the user's environment (``PYTHONPATH``, user site-packages).  The directories that hold
mailha and the modules it needs (psutil, lxml, pyparsing) are written into the file instead,
when it is installed, never guessed when it runs:

* the .deb: ``/usr/bin/python3`` and ``/usr/lib/python3/dist-packages`` (the tree's
  ``ocf/NAME`` files, which a test keeps equal to :func:`script`);
* the .rpm: ``/usr/bin/python3`` and ``%{python3_sitelib}`` plus ``%{python3_sitearch}`` (psutil
  and lxml are compiled, under lib64 on RHEL and SLES), written by the spec;
* a pip or venv install: that environment's python and the directories it finds the modules
  in, asked of it at install time::

    /opt/mailha/bin/mailha install-agents               # into /usr/lib/ocf/resource.d/mailha
    mailha install-agents --dir /tmp/agents --python /usr/bin/python3.6

Kept free of newer syntax: RHEL 8 and SLES 15 run it on Python 3.6.
"""

import argparse
import json
import os
import subprocess
import sys

from .files import replace_text

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import List, Optional, Sequence

PROVIDER = "mailha"
#: Each agent and the one line its executable says about it (the agent's module is mailha.agents.NAME).
AGENTS = {
    "gwia": "GroupWise Internet Agent with its domain's MTA.",
    "gwpoa": "GroupWise Post Office Agent of one post office.",
    "msgsrv": "Messaging Server instance or service set (core, services, MMP).",
    "adminsrv": "Sun ONE / Sun Java System Administration Server.",
    "ldap": "directory server (389-ds, OpenLDAP, Sun DS) of a mail system.",
}
DEFAULT_DIR = os.path.join("/usr/lib/ocf/resource.d", PROVIDER)
#: The Python modules the agents import from outside the standard library.
MODULES = ("mailha", "psutil", "lxml", "pyparsing")
#: Where the .deb puts them (and what the tree's ocf/NAME files say).
DEBIAN_PATHS = ("/usr/lib/python3/dist-packages",)

_TEMPLATE = '''\
#!{python} -IS
# ocf:mailha:{name} - {summary}
# The agent is declared in the mailha library; this file only runs it.  -IS: no site, no user
# environment; the library's directories were written here when the agent was installed.
import sys

# after the standard library, where site would put them
sys.path += {paths}
try:
    from mailha.service.fastpath import replay

    replay("{name}")  # a recurring monitor that the last full one's record answers ends here
    from mailha.agents.{name} import AGENT
except ImportError as err:  # the library missing or half-replaced: an exit reason, no traceback
    sys.stderr.write(("ocf-exit-reason:the mailha library cannot be loaded: reinstall the mailha package "
                      "(%s)" % err)[:143] + "\\n")
    sys.exit(5)  # OCF_ERR_INSTALLED: not usable on this node

AGENT.main()
'''


def script(name: str, python: str, paths: "Sequence[str]") -> str:
    """The executable of agent *name* run by the interpreter *python* (an absolute path) with
    the library found in *paths* (absolute directories, searched in that order)."""
    _check_interpreter(python)
    relative = [p for p in paths if not os.path.isabs(p)]
    if not paths or relative:
        raise ValueError(f"the library's directories must be absolute paths: {list(relative or paths)!r}")
    listed = "[" + ", ".join(json.dumps(p) for p in paths) + "]"
    return _TEMPLATE.format(python=python, name=name, summary=AGENTS[name], paths=listed)


def _check_interpreter(python: str) -> None:
    if not os.path.isabs(python) or any(c.isspace() for c in python):
        # The kernel reads the interpreter line up to the first blank: a path with one would
        # name another program.
        raise ValueError(f"the interpreter must be an absolute path without blanks: {python!r}")


_FIND = """
import importlib.util, json, os, sys
found = []
for name in sys.argv[1:]:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.origin:
        sys.exit("no module " + name)
    origin = os.path.abspath(spec.origin)  # a package's __init__.py, or a module (pyparsing 2)
    place = os.path.dirname(os.path.dirname(origin) if spec.submodule_search_locations else origin)
    if place not in found:
        found.append(place)
print(json.dumps(found))
"""


def library_paths(python: str) -> "List[str]":
    """The directories *python* loads mailha, psutil, lxml and pyparsing from, as it runs now
    (its site-packages, a venv's, PYTHONPATH): asked of that interpreter, at install time."""
    try:
        done = subprocess.run([python, "-c", _FIND] + list(MODULES), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        raise ValueError(f"cannot run {python}: {exc}") from None
    if done.returncode != 0:
        raise ValueError(f"{python} cannot load what the agents need: {done.stderr.strip()[-200:]}")
    return json.loads(done.stdout)


def install(directory: str, python: str, paths: "Optional[Sequence[str]]" = None,
            names: "Optional[Sequence[str]]" = None) -> "List[str]":
    """Write the agents (all by default) into *directory*, created when missing, for *python*
    with the library in *paths* (by default where *python* finds it); returns the paths
    written.  Each file is replaced whole (written beside it, then renamed), so a Pacemaker
    operation running meanwhile sees the old or the new agent, never half of one."""
    _check_interpreter(python)
    paths = list(dict.fromkeys(paths)) if paths else library_paths(python)  # once each, in order
    texts = {name: script(name, python, paths) for name in names or sorted(AGENTS)}
    os.makedirs(directory, mode=0o755, exist_ok=True)
    written = []
    for name, text in texts.items():
        path = os.path.join(directory, name)
        replace_text(path, text, 0o755)
        written.append(path)
    return written


def main(argv: "Optional[Sequence[str]]" = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mailha install-agents",
        description="Write the OCF agents (ocf:mailha:NAME) for this Python installation of mailha.")
    parser.add_argument("--dir", default=DEFAULT_DIR, help=f"where the agents go (default {DEFAULT_DIR})")
    parser.add_argument("--python", default=sys.executable,
                        help="the interpreter on their first line (default: the one running this, %(default)s)")
    parser.add_argument("--path", action="append", metavar="DIR",
                        help="a directory holding mailha or psutil, lxml, pyparsing (repeat it; default: "
                             "where the interpreter finds them now)")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="only these agents (default: all of %s)" % ", ".join(sorted(AGENTS)))
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(AGENTS))
    if unknown:
        parser.error(f"no such agent: {', '.join(unknown)} (agents: {', '.join(sorted(AGENTS))})")
    try:
        for path in install(args.dir, args.python, args.path, args.names):
            print(path)
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"mailha install-agents: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":  # the RPM build runs it so, from its build tree
    sys.exit(main())
