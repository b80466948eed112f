"""``ocf:mailha:adminsrv``: the Sun ONE / Sun Java System Administration Server of a mail system.

Seed 004's ``SunJESAdm`` in Pacemaker's terms: ``start-admin`` in the server root, which
starts the watchdog ``uxwdog`` and its ``ns-httpd`` servers (all run with ``-d
<root>/admin-serv/config``, which tells two installations apart); ``stop-admin``, then whatever
of this installation remains is killed before the deadline.  The trust database password of
an SSL server reaches ``start-admin`` in a pin file made for the start, mode 0600, and removed
when the start is over; never on a command line or in the environment.  The second level is an
HTTP(S) request on the virtual IP, authenticated as the admin user when one is set (a rejected
login reports the resource degraded).  Product knowledge: :mod:`mailha.adminsrv`.
"""

from .. import monitor
from ..adminsrv import conf, layout
from ..ocf.agent import Action, Agent
from ..ocf.codes import Misconfigured, NotInstalled
from ..ocf.log import level_param
from ..ocf.params import AbsPath, Address, Boolean, Param, Port, Text

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from ..adminsrv.layout import AdminServer
    from ..ocf.agent import Context
    from ..ocf.params import Params
    from ..proc import ProcessMatch
    from ..service.model import Service

#: Beside the pin file, on the shared storage, made before it and removed after it: the pin file
#: is the agent's to remove (a start cut off by its timeout, or by a fence, leaves one behind:
#: the next start or stop, on any node, removes it; an admin's own pin file has no marker).
PIN_MARK = ".mailha-pin"

PARAMS = [
    Param("server_root", AbsPath(), "Server root",
          "The directory holding start-admin, stop-admin and admin-serv/config, on the shared storage "
          "(seed 004's ServerRoot), e.g. /var/opt/mps/serverroot.", required=True, unique=True),
    Param("ip_address", Address(), "Virtual IP of the Administration Server",
          "The address it must listen on (seed 004's AdminHost, numeric): start refuses to run unless it "
          "is configured here and is magnus.conf's Address; the second level probes it. Unset: all "
          "addresses, probed on 127.0.0.1."),
    Param("port", Port(), "Administration port", "Seed 004's AdminPort: must be magnus.conf's Port.",
          default=str(layout.DEFAULT_PORT)),
    Param("ssl", Boolean(), "HTTPS on the port", "Seed 004's SSLEnabled: must match magnus.conf's Security.",
          default="false"),
    Param("admin_user", Text(), "Administrator for the second level",
          "When set, the second level's request logs in as this user (seed 004's AdminUser); a rejected "
          "login reports the resource degraded, never stopped."),
    Param("admin_password", Text(), "Password of admin_user", "Seed 004's AdminPasswd.", secret=True),
    Param("ssl_db_password", Text(), "Trust database password",
          "Seed 004's SSLDbPasswd: given to start-admin in admin-serv/config/password.conf, made for the "
          "start with mode 0600 and removed after it. Unset with ssl=true: a password.conf the admin "
          "keeps there is used.", secret=True),
    monitor.cadence_param("An HTTP(S) request on the virtual IP, as admin_user when set"),
    monitor.PROGRAM_PARAM,
    monitor.PROGRAM_PARAMS_PARAM,
    level_param(),
]

ACTIONS = [
    Action("start", 300),  # the server contacts its configuration directory, which may still be starting
    Action("stop", 120),
    Action("monitor", 30, interval=10, depth=0),
    Action("validate-all", 30),
    Action("meta-data", 5),
]

AGENT = Agent(
    "adminsrv",
    "Sun ONE / Sun Java System Administration Server",
    "Starts, stops and monitors the Administration Server of a Messaging Server or Directory Server "
    "installation (uxwdog and its ns-httpd servers), bound to its virtual IP. The monitor finds both "
    "by their binaries and configuration directory, then (every second_level_monitor-th time) sends an "
    "HTTP(S) request to the administration port, as the admin user when one is set.",
    PARAMS,
    ACTIONS,
)


def server(p: "Params") -> "AdminServer":
    return layout.AdminServer(p.server_root)


def process_match(admin: "AdminServer", name: str) -> "ProcessMatch":
    from ..proc import ProcessMatch

    return ProcessMatch(exe_names=(admin.binary(name),), args=(("-d", admin.config_dir),))


def service(ctx: "Context") -> "Service":
    """uxwdog, started by start-admin, then the ns-httpd it runs, which serves the port.

    Both stop with stop-admin: stopping in reverse order, the first member that still runs
    gives it."""
    from ..service.model import Command, Credentials, Endpoint, Member, Service

    p = ctx.params
    admin = server(p)
    auth = Credentials(p.admin_user, p.admin_password, "admin_user/admin_password") if p.admin_user else None
    halt = Command([admin.stop], cwd=admin.server_root)
    hint = f"; see {admin.logs}/error"
    return Service([
        Member("uxwdog", process_match(admin, layout.UXWDOG), launch=Command([admin.start], cwd=admin.server_root),
               stop=halt, remember=layout.UXWDOG, log_hint=hint),
        Member("Administration Server", process_match(admin, layout.NS_HTTPD), stop=halt, remember=layout.NS_HTTPD,
               log_hint=hint, endpoints=(Endpoint("admin", "http", p.port, tls=p.ssl, auth=auth),)),
    ], address=p.ip_address)


def any_server() -> "ProcessMatch":
    """Any Administration Server: what a stop that cannot identify its installation looks for."""
    from ..proc import ProcessMatch

    return ProcessMatch(exe_names=(layout.UXWDOG, layout.NS_HTTPD))


# -- product checks -----------------------------------------------------------------------------


def read_config(path: str, what: str) -> str:
    from ..service.storage import read_config as read

    return read(path, what, "is server_root an Administration Server?")


def check_magnus(p: "Params") -> None:
    """magnus.conf agrees with the parameters (on the shared storage: wrong on every node)."""
    admin = server(p)
    values = conf.parse_magnus(read_config(admin.magnus_conf, "magnus.conf"))
    try:
        have = conf.port(values)
    except conf.ConfError as err:
        raise Misconfigured(f"{err}: set it to {p.port}") from None
    if have != p.port:
        raise Misconfigured(f"port is {p.port} but magnus.conf has Port {have}: make them agree")
    if conf.secure(values) != p.ssl:
        raise Misconfigured(f"ssl is {'true' if p.ssl else 'false'} but magnus.conf has Security "
                            f"{'on' if conf.secure(values) else 'off'}: make them agree")
    from ..net import same_address

    bound = conf.address(values)
    if p.ip_address and not same_address(bound, p.ip_address):
        raise Misconfigured(f"magnus.conf has Address {bound or '(all addresses)'}, not {p.ip_address}: set "
                            f"Address {p.ip_address} there")


def write_pin(ctx: "Context", admin: "AdminServer") -> None:
    """The trust database password for start-admin: a new file, 0600 from its creation.

    Its marker (:data:`PIN_MARK`) is made first, so a start cut off at any point leaves
    nothing the next start or stop does not know to remove."""
    import os

    if os.path.lexists(admin.pin_file) and not pin_is_ours(admin):
        ctx.log.warning("%s exists and is not the agent's: start-admin reads it, ssl_db_password is not "
                        "written", admin.pin_file)
        return
    remove_pin(ctx, admin)
    try:
        line = conf.pin_line(ctx.params.ssl_db_password)
    except conf.ConfError as err:
        raise Misconfigured(f"ssl_db_password: {err}") from None
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    os.close(os.open(admin.pin_file + PIN_MARK, flags, 0o600))
    fd = os.open(admin.pin_file, flags, 0o600)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


def pin_is_ours(admin: "AdminServer") -> bool:
    import os

    return os.path.lexists(admin.pin_file + PIN_MARK)


def remove_pin(ctx: "Context", admin: "AdminServer") -> None:
    """Remove the pin file the agent wrote, here or on the node before (none: nothing to do)."""
    import os

    if not pin_is_ours(admin):
        return
    for path in (admin.pin_file, admin.pin_file + PIN_MARK):  # the marker last: it says whose the file is
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as err:  # left for the next start or stop, which try again
            ctx.log.warning("cannot remove %s: %s", path, err)
            return


# -- declarations ---------------------------------------------------------------------------------


@AGENT.check
def check_params(p: "Params") -> None:
    if bool(p.admin_user) != bool(p.admin_password):
        raise Misconfigured("'admin_user' and 'admin_password' go together: set both or neither")
    if p.ssl_db_password and not p.ssl:
        raise Misconfigured("ssl_db_password is set but ssl is false: set ssl=true or remove the password")


@AGENT.local_check
def check_installed(p: "Params") -> None:
    """This node can run the server: its root (on the shared storage) and commands."""
    import os

    from ..files import check_executable

    monitor.check_program(p)
    admin = server(p)
    if not os.path.isdir(admin.server_root):
        raise NotInstalled(f"server_root {admin.server_root} does not exist here: mount its storage or install "
                           f"the Administration Server")
    for command, what in ((admin.start, "start-admin"), (admin.stop, "stop-admin")):
        check_executable(command, what, "install the Administration Server in server_root")
    if not os.path.isdir(admin.config_dir):
        raise NotInstalled(f"{admin.config_dir} does not exist here: is the storage mounted?")


@AGENT.handler("validate-all")
def do_validate(ctx: "Context") -> None:
    check_magnus(ctx.params)


@AGENT.handler("start")
def do_start(ctx: "Context") -> None:
    import os

    from ..service import lifecycle

    p = ctx.params
    admin = server(p)

    def prepare() -> None:
        from ..service import depends

        check_magnus(p)
        try:
            where = conf.directory(conf.parse_adm(read_config(admin.adm_conf, "adm.conf")))
        except conf.ConfError as err:
            raise Misconfigured(f"{err}: point it at the configuration directory") from None
        depends.wait_reachable(ctx, "the configuration directory (adm.conf ldapurl)", *where)
        if p.ssl_db_password:
            write_pin(ctx, admin)
        elif p.ssl and not os.path.exists(admin.pin_file):
            raise Misconfigured("ssl=true but start-admin has no trust database password: set ssl_db_password "
                                "(or keep a password.conf in admin-serv/config)")

    try:
        lifecycle.start(ctx, service(ctx), prepare)
    finally:
        remove_pin(ctx, admin)


@AGENT.handler("stop")
def do_stop(ctx: "Context") -> None:
    from ..service import lifecycle

    try:
        lifecycle.stop(ctx, lambda: service(ctx), any_server())
    finally:
        if ctx.params.server_root:
            remove_pin(ctx, server(ctx.params))


@AGENT.handler("monitor")
def do_monitor(ctx: "Context") -> int:
    from ..service import lifecycle

    return lifecycle.monitor(ctx, service(ctx))
