"""The ``mailha`` command: one entry point for the tools that ship with the agents.

    mailha demo            the README's main job
    mailha lab ...         the namespace Pacemaker lab (see ``mailha lab --help``)
    mailha sim ...         the GroupWise emulator (see ``mailha sim --help``)
    mailha version

Sub-commands are imported only when used.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Sequence

COMMANDS = {
    "demo": ("mailha.demo", "run the demo: the lab with the directory and GroupWise groups, and two power-off drills"),
    "lab": ("mailha.lab.cli", "a real Pacemaker cluster in network namespaces on this machine"),
    "sim": ("mailha.sim.cli", "the GroupWise emulator: install it, run agents"),
}


def usage() -> str:
    lines = ["usage: mailha COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<8} {text}" for name, (_, text) in COMMANDS.items()]
    lines.append(f"  {'version':<8} print the version")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        sys.stdout.write(usage())
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name in ("version", "--version"):
        from . import __version__

        print(f"mailha {__version__}")
        return 0
    if name not in COMMANDS:
        sys.stderr.write(f"mailha: unknown command {name!r}\n{usage()}")
        return 2
    import importlib

    module = importlib.import_module(COMMANDS[name][0])
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
