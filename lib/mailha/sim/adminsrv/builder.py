"""Laying out an emulated Administration Server: ``admin-serv/config`` with ``magnus.conf``,
``adm.conf``, ``admpw`` and, for SSL, a certificate whose key the trust database password
encrypts (the emulator's stand-in for ``cert8.db``/``key3.db``)."""

from __future__ import annotations

import os
import subprocess

from mailha.adminsrv import conf
from mailha.adminsrv.layout import DEFAULT_PORT, AdminServer
from mailha.files import replace_text

CERT, KEY = "mailha-sim-cert.pem", "mailha-sim-key.pem"


def create(admin: AdminServer, *, ip: str | None, port: int = DEFAULT_PORT, directory: tuple[str, int],
           users: dict[str, str] | None = None, db_password: str | None = None) -> None:
    """*ip* None: ``Address`` left out (every address).  *db_password*: SSL on, the key encrypted
    with it.  *users*: ``admpw``'s logins (none: every request is answered)."""
    os.makedirs(admin.config_dir, exist_ok=True)
    os.makedirs(admin.logs, exist_ok=True)
    lines = ["# magnus.conf written by the mailha Administration Server emulator",
             f"ServerName {ip or 'localhost'}", f"Port {port}", "User root",
             f"PidLog {admin.logs}/pid", f"Security {'on' if db_password else 'off'}"]
    if ip:
        lines.insert(3, f"Address {ip}")
    replace_text(admin.magnus_conf, "\n".join(lines) + "\n")
    host, ldap_port = directory
    shown = f"[{host}]" if ":" in host else host
    replace_text(admin.adm_conf, f"ldapurl: ldap://{shown}:{ldap_port}/o=NetscapeRoot\nport: {port}\n")
    replace_text(admin.admpw, "".join(conf.admpw_line(u, p) for u, p in (users or {}).items()), 0o600)
    if db_password:
        make_certificate(admin, ip or "localhost", db_password)


def make_certificate(admin: AdminServer, name: str, password: str) -> None:
    """A self-signed certificate; the key encrypted with *password*, given to openssl on stdin."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-keyout", os.path.join(admin.config_dir, KEY), "-out", os.path.join(admin.config_dir, CERT),
                    "-days", "30", "-subj", f"/CN={name}", "-passout", "stdin"],
                   input=password.encode() + b"\n", check=True, capture_output=True, timeout=60)
