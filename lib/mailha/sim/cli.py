"""``python3 -m mailha.sim`` / ``mailha sim``: install the GroupWise emulator, lay out a system, set knobs.

    mailha sim install --root DIR [--force]
    mailha sim layout --base DIR --domain NAME [--ip IP] [--no-gwia] [--po NAME ...] [--root DIR] [--register]
    mailha sim control HOME [--fault F] [--start-delay S] [--stop-delay S] [--ignore-sigterm yes|no]
                            [--exit-code N] [--pid N] [--node NAME] [--process NAME] | --clear
    mailha sim msgsrv --server-root DIR [--instance NAME] [--ip IP] [--directory HOST:PORT]
                      [--directory-base DN] [--users-file FILE] [--port NAME=N ...] [--launchers sbin|bin|msstart] [--autorestart] [--force]
    mailha sim adminsrv --server-root DIR [--ip IP] [--port N] --directory HOST:PORT
                        [--admin-user NAME --admin-password-file FILE] [--force]

Passwords come from files (``user password`` lines, or the password alone), never from the
command line.  The product's default paths are refused except on a lab node.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mailha sim", description=(
        "Product emulators for tests and the lab: GroupWise (gwmta, gwpoa, gwia, gwha, grpwise), "
        "Messaging Server and its Administration Server"))
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
    ctl.add_argument("--process", help="apply only to this daemon (a Messaging Server instance: stored, imapd, ...)")
    ctl.add_argument("--clear", action="store_true", help="remove the control file")

    ms = sub.add_parser("msgsrv", help="lay out and install an emulated Messaging Server instance")
    ms.add_argument("--server-root", required=True)
    ms.add_argument("--instance", help="iMS 5.x instance name (msg-NAME under the server root)")
    ms.add_argument("--ip", help="the virtual IP to bind to (omit: all addresses, as an install leaves it)")
    ms.add_argument("--directory", type=_host_port, help="the user directory, HOST:PORT (local.ugldaphost)")
    ms.add_argument("--directory-base", help="local.ugldapbasedn: logins not in --users-file bind as "
                                             "uid=USER,ou=People,BASE on the directory")
    ms.add_argument("--users-file", help="file of 'user password' lines: the logins the servers accept")
    ms.add_argument("--port", action="append", default=[], type=_service_port, metavar="NAME=N",
                    help="a port other than the default (core, imap, pop, http, smtp, lmtp, ens, job_controller)")
    ms.add_argument("--launchers", choices=("sbin", "bin", "msstart"), default="sbin")
    ms.add_argument("--autorestart", action="store_true", help="local.autorestart on: the watcher restarts crashes")
    ms.add_argument("--force", action="store_true", help="overwrite files that are not the emulator's")

    adm = sub.add_parser("adminsrv", help="lay out and install an emulated Administration Server")
    adm.add_argument("--server-root", required=True)
    adm.add_argument("--ip", help="the virtual IP (magnus.conf Address; omit: every address)")
    adm.add_argument("--port", type=int, default=390)
    adm.add_argument("--directory", type=_host_port, required=True,
                     help="the configuration directory, HOST:PORT (adm.conf ldapurl)")
    adm.add_argument("--admin-user", help="the administrator admpw accepts")
    adm.add_argument("--admin-password-file", help="file holding the administrator's password")
    adm.add_argument("--force", action="store_true", help="overwrite files that are not the emulator's")
    return parser


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def _service_port(text: str) -> tuple[str, int]:
    from .msgsrv.builder import DEFAULT_PORTS

    name, sep, port = text.partition("=")
    if not sep or name not in DEFAULT_PORTS or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r}: give NAME=PORT, NAME one of {', '.join(DEFAULT_PORTS)}")
    return name, int(port)


def _read_secret_lines(path: str) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        return [line.strip() for line in handle.read(64 * 1024).splitlines() if line.strip()]


def _refuse_existing(conf: str, force: bool) -> None:
    from .installer import InstallError

    if os.path.exists(conf) and not force:
        raise InstallError(f"{conf} exists: a server is laid out there already (--force writes it anew)")


def _msgsrv(args: argparse.Namespace) -> list[str]:
    from mailha.msgsrv.layout import Instance

    from .msgsrv import builder, installer

    users = {}
    for line in _read_secret_lines(args.users_file) if args.users_file else []:
        user, _, password = line.partition(" ")
        if not password:
            raise ValueError(f"{args.users_file}: each line is 'user password'")
        users[user] = password.strip()
    inst = Instance(args.server_root, args.instance)
    installer.refuse_product_path(inst.home, installer.PRODUCT_ROOTS)  # before anything is written
    _refuse_existing(inst.msg_conf, args.force)
    builder.create(inst, ip=args.ip, users=users, autorestart=args.autorestart, directory=args.directory,
                   base_dn=args.directory_base, ports=dict(args.port))
    return [inst.msg_conf, *installer.install(inst, launchers=args.launchers, force=args.force)]


def _adminsrv(args: argparse.Namespace) -> list[str]:
    from mailha.adminsrv.layout import AdminServer

    from .adminsrv import builder, installer

    if bool(args.admin_user) != bool(args.admin_password_file):
        raise ValueError("--admin-user and --admin-password-file go together")
    users = {args.admin_user: _read_secret_lines(args.admin_password_file)[0]} if args.admin_user else None
    admin = AdminServer(args.server_root)
    installer.refuse_product_path(admin.server_root, installer.PRODUCT_ROOTS)
    _refuse_existing(admin.magnus_conf, args.force)
    builder.create(admin, ip=args.ip, port=args.port, directory=args.directory, users=users)
    return [admin.magnus_conf, *installer.install(admin, force=args.force)]


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
                ("process", args.process),
            )
            if value is not None
        }
        print(control.write(args.home, **settings))
    elif args.command in ("msgsrv", "adminsrv"):
        from .installer import InstallError

        try:
            for path in (_msgsrv if args.command == "msgsrv" else _adminsrv)(args):
                print(path)
        except (InstallError, OSError, ValueError, IndexError) as exc:
            print(f"mailha sim {args.command}: {exc}", file=sys.stderr)
            return 1
    return 0
