"""What one emulated daemon reads from its instance's configuration: where it listens."""

from __future__ import annotations

import os

from mailha.files import read_text
from mailha.msgsrv import cnf, mmpconf, msgconf
from mailha.msgsrv.layout import Instance

MAX = 1 << 20


def instance_of(home: str) -> Instance:
    """The instance whose home is *home* (``.../msg-NAME``: the iMS 5.x layout)."""
    parent, name = os.path.split(home.rstrip("/"))
    return Instance(parent, name[4:]) if name.startswith("msg-") else Instance(home)


def _read(path: str) -> str:
    try:
        return read_text(path, MAX, os.path.basename(path))
    except FileNotFoundError:
        return ""


def values(inst: Instance) -> dict[str, str]:
    return msgconf.parse(_read(inst.msg_conf))


def listeners(inst: Instance, daemon: str) -> list[tuple[str, str, str, int]]:
    """(service, protocol, address, port) of each socket *daemon* binds (address "" = all)."""
    conf = values(inst)
    listen = msgconf.value(conf, msgconf.LISTEN_ADDRESS)
    if daemon == "watcher":
        return [("watcher", "watcher", listen, msgconf.port(conf, "core") or 49994)]
    own = {"imapd": [("imap", "imap4")], "popd": [("pop", "pop3")], "mshttpd": [("http", "http")],
           "enpd": [("ens", "tcp")]}
    if daemon in own:
        return [(name, protocol, listen, msgconf.port(conf, name) or 0) for name, protocol in own[daemon]]
    if daemon == "job_controller":
        text = _read(inst.job_controller_cnf)
        address = cnf.parse(text)[0].options.get(cnf.INTERFACE_ADDRESS, "")
        return [("job_controller", "tcp", address, cnf.job_controller_port(text))]
    if daemon == "dispatcher":
        text = _read(inst.dispatcher_cnf)
        found = []
        for service, protocol in (("SMTP", "smtp"), ("LMTP", "lmtp")):
            section = cnf.section(cnf.parse(text), "SERVICE", service)
            port = cnf.service_port(text, service)
            if section is not None and port:
                found.append((service.lower(), protocol, section.options.get(cnf.INTERFACE_ADDRESS, ""), port))
        return found
    if daemon == "AService":
        mmp = mmpconf.parse(_read(inst.mmp_conf))
        address = mmp.get(mmpconf.BIND_ADDRESS, "")
        return [("imap", "imap4", address, mmpconf.port(mmp, "imap")), ("pop", "pop3", address, mmpconf.port(mmp, "pop"))]
    return []


def watcher_address(inst: Instance) -> tuple[str, int]:
    (_, _, address, port), = listeners(inst, "watcher")
    return address or "127.0.0.1", port


def users(inst: Instance) -> dict[str, str]:
    from .builder import users_file

    found = {}
    for line in _read(users_file(inst)).splitlines():
        user, _, password = line.strip().partition(" ")
        if user:
            found[user.lower()] = password
    return found


def store_pidfile(inst: Instance) -> str:
    return inst.store_pidfiles()[0]


def store_socket(inst: Instance) -> str:
    return os.path.join(inst.home, "data", "proc", "store.sock")
