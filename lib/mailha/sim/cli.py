"""``python3 -m mailha.sim`` / ``mailha sim``: install the GroupWise emulator, lay out a system, set knobs.

    mailha sim install --root DIR [--force]
    mailha sim layout --base DIR --domain NAME [--ip IP] [--no-gwia] [--po NAME ...] [--root DIR] [--register]
    mailha sim control HOME [--fault F] [--start-delay S] [--stop-delay S] [--ignore-sigterm yes|no]
                            [--exit-code N] [--pid N] [--node NAME] | --clear
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mailha sim", description="GroupWise emulator (gwmta, gwpoa, gwia, gwha, grpwise)")
    sub = parser.add_subparsers(dest="command", required=True)
    inst = sub.add_parser("install", help="install the emulator's executables under a root")
    inst.add_argument("--root", required=True,
                      help="install root: a test directory, or / on a lab node (the product's own paths)")
    inst.add_argument("--force", action="store_true", help="overwrite files that are not the emulator's")

    lay = sub.add_parser("layout", help="create a domain (MTA, GWIA) and post offices with startup files")
    lay.add_argument("--base", required=True, help="directory on the GroupWise partition")
    lay.add_argument("--domain", required=True)
    lay.add_argument("--ip", help="secondary IP address (omit: --ip stays commented out, all addresses)")
    lay.add_argument("--no-gwia", action="store_true")
    lay.add_argument("--po", action="append", default=[], help="post office name (repeatable)")
    lay.add_argument("--root", default="/", help="where the emulator is installed (for gwha.conf)")
    lay.add_argument("--register", action="store_true", help="add the agents to gwha.conf under --root")

    ctl = sub.add_parser("control", help="write an agent's control file (<home>/mailha-sim.json)")
    ctl.add_argument("home")
    ctl.add_argument("--fault", choices=("none", "crash", "hang", "freeze", "bindfail"))
    ctl.add_argument("--start-delay", type=float)
    ctl.add_argument("--stop-delay", type=float)
    ctl.add_argument("--ignore-sigterm", choices=("yes", "no"))
    ctl.add_argument("--exit-code", type=int)
    ctl.add_argument("--pid", type=int, help="apply only to this process")
    ctl.add_argument("--node", help="apply only on this node (uname -n)")
    ctl.add_argument("--clear", action="store_true", help="remove the control file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.command == "install":
        from .installer import InstallError, install

        try:
            for path in install(args.root, force=args.force):
                print(path)
        except (InstallError, OSError) as exc:
            print(f"mailha sim install: {exc}", file=sys.stderr)
            return 1
    elif args.command == "layout":
        from . import layout

        domain = layout.create_domain(args.base, args.domain, ip=args.ip, gwia=not args.no_gwia)
        offices = [layout.create_post_office(args.base, po, args.domain, ip=args.ip) for po in args.po]
        for path in [domain.mta_startup, domain.gwia_startup, *(po.poa_startup for po in offices)]:
            if path:
                print(path)
        if args.register:
            print(layout.register(args.root, domain, *offices))
    elif args.command == "control":
        from . import control

        if args.clear:
            try:
                os.unlink(control.control_path(args.home))
            except FileNotFoundError:
                pass
            return 0
        settings = {
            key: value
            for key, value in (
                ("fault", args.fault), ("start_delay", args.start_delay), ("stop_delay", args.stop_delay),
                ("ignore_sigterm", None if args.ignore_sigterm is None else args.ignore_sigterm == "yes"),
                ("exit_code", args.exit_code), ("pid", args.pid), ("node", args.node),
            )
            if value is not None
        }
        print(control.write(args.home, **settings))
    return 0
