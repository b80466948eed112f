"""``python3 -m mailha.sim`` / ``mailha sim``: install the GroupWise emulator."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mailha sim", description="GroupWise emulator (gwmta, gwpoa, gwia, gwha, grpwise)")
    sub = parser.add_subparsers(dest="command", required=True)
    inst = sub.add_parser("install", help="install the emulator's executables under a root")
    inst.add_argument("--root", default="/", help="install root (default /)")
    inst.add_argument("--force", action="store_true", help="overwrite files that are not the emulator's")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.command == "install":
        from .installer import InstallError, install

        try:
            for path in install(args.root, force=args.force):
                print(path)
        except (InstallError, OSError) as exc:
            print(f"mailha sim install: {exc}", file=sys.stderr)
            return 1
    return 0
