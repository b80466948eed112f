"""The ``mailha`` command: one entry point for the tools that ship with the agents.

    mailha demo            the README's main job
    mailha lab ...         the namespace Pacemaker lab (see ``mailha lab --help``)
    mailha sim ...         the GroupWise emulator (see ``mailha sim --help``)
    mailha install-agents  the OCF agents for a pip or venv install (see ``--help``)
    mailha version

Sub-commands are imported only when used.  The lab, the emulator and the demo ship in the
``mailha-lab`` package, which production nodes do not install: there ``mailha lab`` says so
instead of failing with an ImportError.
"""

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Optional, Sequence

COMMANDS = {
    "demo": ("mailha.demo", "run the demo: the lab with the directory and GroupWise groups, and two power-off drills"),
    "lab": ("mailha.lab.cli", "a real Pacemaker cluster in network namespaces on this machine"),
    "sim": ("mailha.sim.cli", "the GroupWise emulator: install it, run agents"),
    "install-agents": ("mailha.install", "write the OCF agents for this Python installation (pip, venv)"),
}
#: The package that carries the tools (what the ``mailha`` package leaves out) and their modules.
LAB_PACKAGE = "mailha-lab"
LAB_MODULES = ("mailha.lab", "mailha.sim", "mailha.tools", "mailha.demo")


def _in_lab(module: str) -> bool:
    return any(module == lab or module.startswith(lab + ".") for lab in LAB_MODULES)


def needs_lab(name: str) -> bool:
    """Whether the command *name* comes with the mailha-lab package."""
    return name in COMMANDS and _in_lab(COMMANDS[name][0])


def lab_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("mailha.lab") is not None


def usage() -> str:
    lines = ["usage: mailha COMMAND [ARGS...]", "", "commands:"]
    width = max(len(name) for name in COMMANDS)
    lines += [f"  {name:<{width}} {text}" for name, (_, text) in COMMANDS.items()]
    lines.append(f"  {'version':<{width}} print the version")
    missing = [name for name in COMMANDS if needs_lab(name)]
    if missing and not lab_installed():
        lines += ["", f"{', '.join(missing)}: not installed here; they come with the {LAB_PACKAGE} package."]
    return "\n".join(lines) + "\n"


def main(argv: "Optional[Sequence[str]]" = None) -> int:
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

    try:
        module = importlib.import_module(COMMANDS[name][0])
    except ModuleNotFoundError as exc:
        # Only the command's own modules missing means "not installed"; a dependency a lab
        # module lacks is a different problem and keeps its own message.
        module_name = COMMANDS[name][0]
        if not (exc.name and _in_lab(exc.name)
                and (module_name == exc.name or module_name.startswith(exc.name + "."))):
            raise
        sys.stderr.write(f"mailha: '{name}' needs the {LAB_PACKAGE} package (the lab, the GroupWise "
                         f"emulator and the demo), which is not installed here: install {LAB_PACKAGE} "
                         "on a test machine, never on a production node\n")
        return 2
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
