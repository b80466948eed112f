"""Laying out a Messaging Server instance for the emulator: directories, the configuration
files in their real formats, the login users.  Used by tests, the lab and admins rehearsing."""

from __future__ import annotations

import os

from mailha.msgsrv.layout import Instance

USERS_FILE = "mailha-sim-users"  # <config>/: "user password" lines (the emulator's directory)

DEFAULT_PORTS = {"core": 49994, "imap": 143, "pop": 110, "http": 80, "smtp": 25, "lmtp": 225, "ens": 7997,
                 "job_controller": 27442}


def users_file(inst: Instance) -> str:
    return os.path.join(inst.config_dir, USERS_FILE)


def create(inst: Instance, *, ip: str | None = None, ports: dict[str, int] | None = None,
           users: dict[str, str] | None = None, enable: dict[str, bool] | None = None,
           autorestart: bool = False, directory: tuple[str, int] | None = None,
           base_dn: str | None = None) -> Instance:
    """Write the instance's configuration: ``msg.conf`` (ports, enable flags, autorestart,
    ``service.listenaddr`` when *ip*), ``dispatcher.cnf`` (SMTP and LMTP services),
    ``job_controller.cnf`` (``TCP_PORT``), ``ImapProxyAService.cfg`` (the MMP) and the users.
    *ip* None leaves the instance unbound (all addresses), as an install leaves it.  *directory*:
    the user directory's (host, port), ``local.ugldaphost``/``local.ugldapport``; *base_dn*
    ``local.ugldapbasedn``, where logins not in the users file are checked."""
    port = {**DEFAULT_PORTS, **(ports or {})}
    for path in (inst.config_dir, inst.imta_config_dir, os.path.join(inst.home, "data", "proc"),
                 os.path.join(inst.home, "data", "store"), os.path.join(inst.home, "log")):
        os.makedirs(path, exist_ok=True)
    flags = {"service.imap.enable": True, "service.pop.enable": True, "service.http.enable": True,
             "local.imta.enable": True, "local.sched.enable": True, "local.ens.enable": True,
             "local.mmp.enable": False, **(enable or {})}
    lines = ["! msg.conf written by the mailha Messaging Server emulator: configutil -o NAME -v VALUE",
             f'local.watcher.port = "{port["core"]}"', f'service.imap.port = "{port["imap"]}"',
             f'service.pop.port = "{port["pop"]}"', f'service.http.port = "{port["http"]}"',
             f'local.ens.port = "{port["ens"]}"', f'local.autorestart = "{1 if autorestart else 0}"']
    lines += [f'{flag} = "{1 if on else 0}"' for flag, on in flags.items()]
    if ip:
        lines.append(f'service.listenaddr = "{ip}"')
    if directory:
        lines += [f'local.ugldaphost = "{directory[0]}"', f'local.ugldapport = "{directory[1]}"']
    if base_dn:
        lines.append(f'local.ugldapbasedn = "{base_dn}"')
    _write(inst.msg_conf, lines)
    bound = [f"INTERFACE_ADDRESS={ip}"] if ip else []
    _write(inst.dispatcher_cnf, [
        "! dispatcher.cnf (mailha emulator)", "MIN_PROCS=1", "MAX_PROCS=1", "",
        "[SERVICE=SMTP]", f"PORT={port['smtp']}", "IMAGE=IMTA_BIN:tcp_smtp_server", *bound, "",
        "[SERVICE=LMTP]", f"PORT={port['lmtp']}", "IMAGE=IMTA_BIN:tcp_lmtp_server", *bound])
    _write(inst.job_controller_cnf, ["! job_controller.cnf (mailha emulator)",
                                     f"TCP_PORT={port['job_controller']}", *bound, "", "[POOL=DEFAULT]", "JOB_LIMIT=10"])
    mmp = [f"default:ImapPort {port['imap']}", f"default:PopPort {port['pop']}", "default:BacksidePort 143"]
    _write(inst.mmp_conf, ["# ImapProxyAService.cfg (mailha emulator)", *mmp] + ([f"default:BindAddress {ip}"] if ip else []))
    path = users_file(inst)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.writelines(f"{user} {password}\n" for user, password in (users or {}).items())
    return inst


def _write(path: str, lines: list[str]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


def mailbox(inst: Instance, user: str) -> str:
    """Where the store keeps *user*'s delivered messages."""
    return os.path.join(inst.home, "data", "store", "user", user.split("@", 1)[0].lower())
