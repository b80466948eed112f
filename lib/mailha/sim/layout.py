"""Lay out a small GroupWise system on disk for the emulator: directories, startup files, gwha.conf.

The startup files look like the ones GroupWise 2014+ writes (the file in the domain or post
office folder, comments, commented-out switches), so the agents' parsers and editors meet the
real thing.  Used by the lab, by tests and by admins rehearsing a cluster.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from mailha.groupwise import paths
from mailha.groupwise.gwha import GwhaAgent, load_gwha_conf, render_gwha_conf


@dataclass(frozen=True)
class DomainLayout:
    name: str
    directory: str
    mta_startup: str
    gwia_home: str | None
    gwia_startup: str | None


@dataclass(frozen=True)
class PostOfficeLayout:
    name: str
    domain: str
    directory: str
    poa_startup: str


def _switch(name: str, value: object | None, enabled: bool) -> str:
    text = f"--{name}" if value is None else f"--{name} {value}"
    return text if enabled else f";{text}"


def _write(path: str, lines: list[str]) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


def create_domain(
    base: str,
    name: str,
    *,
    ip: str | None = None,
    gwia: bool = True,
    mta_ports: dict[str, int] | None = None,
    gwia_ports: dict[str, int] | None = None,
    gwia_services: tuple[str, ...] = ("smtp", "pop", "imap", "ldap"),
) -> DomainLayout:
    """``<base>/<name>`` with ``<name>.mta`` and, with ``gwia``, ``wpgate/gwia/gwia.cfg``.

    ``ip=None`` leaves ``--ip`` commented out: the agents then listen on all addresses, the
    misconfiguration the cluster agent must refuse.  Ports default to the products'.
    """
    directory = os.path.join(base, name)
    mp = {"msgtranport": 7100, "httpport": 7180, **(mta_ports or {})}
    mta = _write(
        os.path.join(directory, f"{name}.mta"),
        [
            ";-------------------------------------------------------------------",
            f"; GroupWise MTA startup file for domain {name} (mailha emulator layout)",
            ";-------------------------------------------------------------------",
            f"--home {directory}",
            ";",
            "; Bind exclusively to the partition's secondary IP address.",
            _switch("ip", ip or "0.0.0.0", ip is not None),
            f"--msgtranport {mp['msgtranport']}",
            f"--httpport {mp['httpport']}",
            ";--httpuser admin",
            ";--httppassword change-me",
        ],
    )
    gwia_home = gwia_cfg = None
    if gwia:
        gwia_home = os.path.join(directory, "wpgate", "gwia")
        gp = {"smtpport": 25, "popport": 110, "imapport": 143, "ldapport": 389, "httpport": 9850, **(gwia_ports or {})}
        gwia_cfg = _write(
            os.path.join(gwia_home, "gwia.cfg"),
            [
                ";-------------------------------------------------------------------",
                f"; GroupWise Internet Agent startup file, domain {name} (mailha emulator layout)",
                ";-------------------------------------------------------------------",
                f"--home {gwia_home}",
                f"--dhome {directory}",
                _switch("ip", ip or "0.0.0.0", ip is not None),
                f"--hn gwia.{name}.example.test",
                _switch("smtp", None, "smtp" in gwia_services),
                f"--smtpport {gp['smtpport']}",
                _switch("pop", None, "pop" in gwia_services),
                f"--popport {gp['popport']}",
                _switch("imap", None, "imap" in gwia_services),
                f"--imapport {gp['imapport']}",
                _switch("ldap", None, "ldap" in gwia_services),
                f"--ldapport {gp['ldapport']}",
                f"--httpport {gp['httpport']}",
                ";--certfile /path/on/the/partition/gwia.crt",
                ";--keyfile /path/on/the/partition/gwia.key",
            ],
        )
        for sub in ("receive", "send", "result", "defer", "wpcsin", "wpcsout", "000.prc"):
            os.makedirs(os.path.join(gwia_home, sub), exist_ok=True)
    return DomainLayout(name, directory, mta, gwia_home, gwia_cfg)


def create_post_office(
    base: str, name: str, domain: str, *, ip: str | None = None, ports: dict[str, int] | None = None
) -> PostOfficeLayout:
    """``<base>/<name>`` with ``<name>.poa``; ports default to the product's."""
    directory = os.path.join(base, name)
    pp = {"port": 1677, "mtpinport": 7101, "httpport": 7181, **(ports or {})}
    poa = _write(
        os.path.join(directory, f"{name}.poa"),
        [
            ";-------------------------------------------------------------------",
            f"; GroupWise POA startup file for post office {name}.{domain} (mailha emulator layout)",
            ";-------------------------------------------------------------------",
            f"--home {directory}",
            _switch("ip", ip or "0.0.0.0", ip is not None),
            f"--port {pp['port']}",
            f"--mtpinport {pp['mtpinport']}",
            f"--httpport {pp['httpport']}",
            ";--imap",
        ],
    )
    return PostOfficeLayout(name, domain, directory, poa)


def gwha_agents(root: str, *items: DomainLayout | PostOfficeLayout) -> list[GwhaAgent]:
    """The gwha.conf sections of these domains and post offices, for executables under ``root``."""
    def binary(path: str) -> str:
        return os.path.join(root, path.lstrip("/"))

    command = binary(paths.GRPWISE_INIT)
    agents = []
    for item in items:
        if isinstance(item, DomainLayout):
            agents.append(GwhaAgent(item.name, binary(paths.GWMTA), item.mta_startup, command=command))
            if item.gwia_startup:
                agents.append(GwhaAgent(f"gwia.{item.name}", binary(paths.GWIA), item.gwia_startup, command=command, wait=60))
        else:
            agents.append(GwhaAgent(f"{item.name}.{item.domain}", binary(paths.GWPOA), item.poa_startup, command=command))
    return agents


def register(root: str, *items: DomainLayout | PostOfficeLayout) -> str:
    """Add (or replace, by name) these agents in ``<root>/etc/opt/novell/groupwise/gwha.conf``."""
    conf = os.path.join(root, paths.GWHA_CONF.lstrip("/"))
    new = gwha_agents(root, *items)
    names = {a.name.lower() for a in new}
    kept = [a for a in load_gwha_conf(conf) if a.name.lower() not in names]
    os.makedirs(os.path.dirname(conf), exist_ok=True)
    tmp = f"{conf}.mailha-tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(render_gwha_conf(kept + new, header="; gwha.conf written by mailha.sim.layout"))
    os.replace(tmp, conf)
    return conf
