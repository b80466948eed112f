"""``ocf:mailha:gwia``: the GroupWise Internet Agent of a GWIA domain, with the domain's MTA.

Seed 000 (GroupWise interoperability guide, 1.6) puts the GWIA in its own domain on its own
GroupWise partition and secondary IP; the partition's load script starts the MTA and then the
GWIA, the unload script stops them the other way round, and gwha must be kept from restarting
them meanwhile.  This agent is that pair of scripts as one Pacemaker resource, in a group after
the partition's Filesystem and IP address resources:

* start: the MTA, until it answers on the secondary IP; then the GWIA, until SMTP (and POP3,
  IMAP4, LDAP as its startup file enables them) answers there;
* stop: the GWIA (it may take minutes to finish its queues), then the MTA, escalating to
  SIGKILL before the operation's timeout;
* monitor: both processes of this domain; every ``second_level_monitor``-th time every
  listener of both on the secondary IP; a test user's POP3/IMAP4 login; a monitor program.

``manage_mta=false`` leaves the MTA to another resource (a domain whose MTA serves more).
The machinery both GroupWise agents share is :mod:`mailha.groupwise.agentlib`.
"""

import os

from ..groupwise import agentlib, paths
from ..ocf.agent import Action, Agent
from ..ocf.codes import Misconfigured
from ..ocf.params import AbsPath, Boolean, Name, Param, Text
from ..service.storage import is_under

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import List

    from ..ocf.agent import Context
    from ..ocf.params import Params

PARAMS = [
    Param("domain_dir", AbsPath(), "GWIA domain directory",
          "The domain's directory on the GWIA partition (worksheet item 2, domain database location), "
          "e.g. /mnt/gwia/provo.", required=True, unique=True),
    Param("domain", Name(), "GWIA domain name",
          "The domain's name (worksheet item 2). Default: the last component of domain_dir. Gives the "
          "default MTA startup file <domain_dir>/<domain>.mta and the grpwise names."),
    Param("manage_mta", Boolean(), "Manage the domain's MTA too",
          "true: start the MTA before the GWIA and stop it after. false: manage the GWIA alone (its MTA "
          "is another resource, ordered before this one).", default="true"),
    Param("mta_startup", AbsPath(), "MTA startup file",
          "Default <domain_dir>/<domain>.mta (GroupWise 2014 and later).", unique=True),
    Param("gwia_startup", AbsPath(), "GWIA startup file (gwia.cfg)",
          "Default <domain_dir>/wpgate/gwia/gwia.cfg. Older systems keep it in "
          "/opt/novell/groupwise/agents/share/gwia.cfg, which is node-local: copy it to the partition.",
          unique=True),
    Param("mta_binary", AbsPath(), "MTA executable", default=paths.GWMTA),
    Param("gwia_binary", AbsPath(), "GWIA executable", default=paths.GWIA),
    Param("mta_name", Name(), "MTA name for grpwise",
          "The MTA's gwha.conf section (launch=grpwise). Default: the domain name."),
    Param("gwia_name", Name(), "GWIA name for grpwise",
          "The GWIA's gwha.conf section (launch=grpwise). Default: gwia.<domain>."),
    *agentlib.common_params("MTA and GWIA"),
    Param("test_user", Text(), "Test user for the synthetic transaction",
          "When set, the second-level monitor also logs in over POP3 (or IMAP4 when POP3 is off) as "
          "this GroupWise user."),
    Param("test_password", Text(), "Password of test_user", secret=True),
]

ACTIONS = [
    Action("start", 180),
    Action("stop", 300),  # a busy GWIA can take minutes to finish its queues (seed 000)
    Action("monitor", 60, interval=20, depth=0),
    Action("validate-all", 30),
    Action("meta-data", 5),
]

AGENT = Agent(
    "gwia",
    "GroupWise Internet Agent with its domain's MTA",
    "Starts, stops and monitors the GroupWise Internet Agent (GWIA) of one GWIA domain and, unless "
    "manage_mta=false, the domain's MTA: MTA first, GWIA second; stopped in reverse order. Both must "
    "bind exclusively to the partition's secondary IP (--ip), so that Postfix can keep port 25 on "
    "the node's own address. The monitor checks both processes, then their listeners (SMTP, POP3, "
    "IMAP4, LDAP as gwia.cfg enables them; MTP and HTTP of the MTA) on the secondary IP. Advise a "
    "stop timeout of 300 s: a busy GWIA finishes its queues before it exits.",
    PARAMS,
    ACTIONS,
)


def domain_name(p: "Params") -> str:
    return p.domain or os.path.basename(p.domain_dir.rstrip("/")) or "domain"


def agents(p: "Params") -> "List[agentlib.GwAgent]":
    """The MTA (unless manage_mta=false) and the GWIA, in start order."""
    domain = domain_name(p)
    gwia = agentlib.GwAgent("GWIA", "gwia", p.gwia_binary,
                            p.gwia_startup or os.path.join(p.domain_dir, "wpgate", "gwia", "gwia.cfg"),
                            p.gwia_name or f"gwia.{domain}")
    if not p.manage_mta:
        return [gwia]
    mta = agentlib.GwAgent("MTA", "mta", p.mta_binary, p.mta_startup or os.path.join(p.domain_dir, f"{domain}.mta"),
                           p.mta_name or domain)
    return [mta, gwia]


@AGENT.check
def check_params(p: "Params") -> None:
    agentlib.check_common(p)
    if p.storage_mount and not is_under(p.domain_dir, p.storage_mount):
        raise Misconfigured(f"domain_dir {p.domain_dir} is not under storage_mount {p.storage_mount}")
    if p.mta_startup and p.gwia_startup and p.mta_startup == p.gwia_startup:
        raise Misconfigured("mta_startup and gwia_startup name the same file")


@AGENT.local_check
def check_installed(p: "Params") -> None:
    agentlib.check_installed(p, agents(p), p.domain_dir, "domain_dir")


@AGENT.handler("validate-all")
def do_validate(ctx: "Context") -> None:
    agentlib.validate(ctx, agents(ctx.params))


@AGENT.handler("start")
def do_start(ctx: "Context") -> None:
    agentlib.start(ctx, agents(ctx.params))


@AGENT.handler("stop")
def do_stop(ctx: "Context") -> None:
    # A default here could stop another resource's agents (its MTA, another domain's).
    agentlib.stop(ctx, lambda: agents(ctx.params), ("domain", "manage_mta", "mta_binary", "gwia_binary"))


@AGENT.handler("monitor")
def do_monitor(ctx: "Context") -> int:
    return agentlib.monitor(ctx, agents(ctx.params))
