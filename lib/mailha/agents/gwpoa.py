"""``ocf:mailha:gwpoa``: the Post Office Agent of one GroupWise post office.

One resource per post office, in a group after its partition's Filesystem and IP address
resources; many can run on one node (fan-out failover), each told apart by its startup file and
bound to its own secondary IP.  Launch, bind, storage and gwha handling are those of
``ocf:mailha:gwia`` (:mod:`mailha.groupwise.agentlib`); the monitor checks the POA process,
then its client/server (1677), message transfer (7101) and HTTP console (7181) ports, and IMAP4
when the startup file enables it, on the secondary IP.
"""

import os

from ..groupwise import agentlib, paths
from ..ocf.agent import Action, Agent
from ..ocf.codes import Misconfigured
from ..ocf.params import AbsPath, Name, Param, Text
from ..service.storage import is_under

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from ..ocf.agent import Context
    from ..ocf.params import Params

PARAMS = [
    Param("post_office_dir", AbsPath(), "Post office directory",
          "The post office's directory on its GroupWise partition, e.g. /mnt/po1/provo1.",
          required=True, unique=True),
    Param("post_office", Name(), "Post office name",
          "Default: the last component of post_office_dir. Gives the default startup file "
          "<post_office_dir>/<post_office>.poa."),
    Param("domain", Name(), "Domain of the post office",
          "Gives the default grpwise name <post_office>.<domain> (launch=grpwise)."),
    Param("startup", AbsPath(), "POA startup file",
          "Default <post_office_dir>/<post_office>.poa (GroupWise 2014 and later).", unique=True),
    Param("binary", AbsPath(), "POA executable", default=paths.GWPOA),
    Param("grpwise_name", Name(), "POA name for grpwise",
          "The POA's gwha.conf section (launch=grpwise). Default: <post_office>.<domain>."),
    *agentlib.common_params("POA"),
    Param("test_user", Text(), "Test user for the synthetic transaction",
          "When set and the POA's IMAP4 is enabled, the second-level monitor also logs in as this user."),
    Param("test_password", Text(), "Password of test_user", secret=True),
]

ACTIONS = [
    Action("start", 120),
    Action("stop", 120),
    Action("monitor", 30, interval=10, depth=0),
    Action("validate-all", 30),
    Action("meta-data", 5),
]

AGENT = Agent(
    "gwpoa",
    "GroupWise Post Office Agent",
    "Starts, stops and monitors the Post Office Agent (POA) of one GroupWise post office, bound "
    "exclusively to its partition's secondary IP (--ip). The monitor checks the POA process, then "
    "(every second_level_monitor-th time) its client/server, message transfer and HTTP ports, and "
    "IMAP4 when enabled, on the secondary IP. Many POAs may run on one node.",
    PARAMS,
    ACTIONS,
)


def poa(p: "Params") -> "agentlib.GwAgent":
    office = p.post_office or os.path.basename(p.post_office_dir.rstrip("/")) or "po"
    name = p.grpwise_name or (f"{office}.{p.domain}" if p.domain else None)
    return agentlib.GwAgent("POA", "poa", p.binary, p.startup or os.path.join(p.post_office_dir, f"{office}.poa"),
                            name)


@AGENT.check
def check_params(p: "Params") -> None:
    agentlib.check_common(p)
    if p.storage_mount and not is_under(p.post_office_dir, p.storage_mount):
        raise Misconfigured(f"post_office_dir {p.post_office_dir} is not under storage_mount {p.storage_mount}")
    if p.launch == agentlib.GRPWISE and not (p.grpwise_name or p.domain):
        raise Misconfigured("launch=grpwise needs grpwise_name (or domain, for <post_office>.<domain>)")


@AGENT.local_check
def check_installed(p: "Params") -> None:
    agentlib.check_installed(p, [poa(p)], p.post_office_dir, "post_office_dir")


@AGENT.handler("validate-all")
def do_validate(ctx: "Context") -> None:
    agentlib.validate(ctx, [poa(ctx.params)])


@AGENT.handler("start")
def do_start(ctx: "Context") -> None:
    agentlib.start(ctx, [poa(ctx.params)])


@AGENT.handler("stop")
def do_stop(ctx: "Context") -> None:
    agentlib.stop(ctx, lambda: [poa(ctx.params)], ("post_office", "binary"))


@AGENT.handler("monitor")
def do_monitor(ctx: "Context") -> int:
    return agentlib.monitor(ctx, [poa(ctx.params)])
