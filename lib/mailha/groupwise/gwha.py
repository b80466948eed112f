"""``/etc/opt/novell/groupwise/gwha.conf``: the agents a node knows by name.

Layout (product facts §1.4, partly unverified): a ``[gwha]`` section with global settings, then
one section per agent named as ``grpwise`` names it (MTA ``domain``, POA ``post_office.domain``,
GWIA ``gwia.domain``) with ``server = <binary>``, ``command = /etc/init.d/grpwise``,
``startup = <startup file>``, ``delay`` and ``wait``.  Comments start with ``;`` or ``#``.
"""

import configparser
from collections import namedtuple

from .paths import GWHA_CONF
from .switches import AgentKind

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import List, Optional

GLOBAL_SECTION = "gwha"
#: The largest gwha.conf read: a section of a few lines per agent.
MAX_SIZE = 1 << 20


class GwhaAgent(namedtuple("GwhaAgent", "name server startup command delay wait")):
    """One agent section: ``name`` as grpwise names it, ``server`` (binary), ``startup`` (file),
    ``command`` (its init script or None), ``delay`` and ``wait`` (seconds)."""

    __slots__ = ()

    @property
    def kind(self) -> "Optional[AgentKind]":
        return AgentKind.from_binary(self.server)

    def argv(self) -> "List[str]":
        """How the agent is launched: ``<server> @<startup>``."""
        return [self.server, f"@{self.startup}"]


# namedtuple(defaults=...) is Python 3.7 and later
GwhaAgent.__new__.__defaults__ = (None, 2.0, 10.0)


def parse_gwha_conf(text: str) -> "List[GwhaAgent]":
    parser = configparser.RawConfigParser(strict=False, inline_comment_prefixes=(";", "#"), interpolation=None)
    parser.read_string(text)
    agents = []
    for section in parser.sections():
        if section.lower() == GLOBAL_SECTION:
            continue
        items = parser[section]
        server, startup = items.get("server"), items.get("startup")
        if not server or not startup:
            continue  # not an agent section
        agents.append(
            GwhaAgent(
                name=section,
                server=server.strip(),
                startup=startup.strip().lstrip("@"),
                command=(items.get("command") or "").strip() or None,
                delay=_number(items.get("delay"), 2.0),
                wait=_number(items.get("wait"), 10.0),
            )
        )
    return agents


def load_gwha_conf(path: str = GWHA_CONF) -> "List[GwhaAgent]":
    """The agents of ``gwha.conf``; an absent file knows none.  Anything but a regular file of at
    most :data:`MAX_SIZE` bytes is an ``OSError`` (:class:`mailha.files.FileRefused`)."""
    from ..files import read_text

    try:
        text = read_text(path, MAX_SIZE, "gwha.conf", errors="replace")
    except FileNotFoundError:
        return []
    return parse_gwha_conf(text)


def find_agent(name: str, path: str = GWHA_CONF) -> "Optional[GwhaAgent]":
    """The agent of this ``grpwise`` name (case-insensitive, as section names are)."""
    for agent in load_gwha_conf(path):
        if agent.name.lower() == name.lower():
            return agent
    return None


def render_gwha_conf(agents: "List[GwhaAgent]", *, header: str = "") -> str:
    """A gwha.conf holding these agents (used by the lab and the emulator tests)."""
    lines = [header.rstrip("\n")] if header else []
    lines += ["[gwha]", "ssl = no", ""]
    for agent in agents:
        lines += [f"[{agent.name}]", f"server = {agent.server}"]
        if agent.command:
            lines.append(f"command = {agent.command}")
        lines += [f"startup = {agent.startup}", f"delay = {agent.delay:g}", f"wait = {agent.wait:g}", ""]
    return "\n".join(lines)


def _number(value: "Optional[str]", default: float) -> float:
    try:
        return float(value) if value not in (None, "") else default
    except ValueError:
        return default


__all__ = ["GwhaAgent", "parse_gwha_conf", "load_gwha_conf", "find_agent", "render_gwha_conf", "GWHA_CONF"]
