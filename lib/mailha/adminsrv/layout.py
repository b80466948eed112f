"""Where an Administration Server keeps what the cluster needs (product facts §3.2).

``start-admin``, ``stop-admin`` and ``restart-admin`` (no options) in the server root; the
processes ``uxwdog -e -d <root>/admin-serv/config`` and several ``ns-httpd -d
<root>/admin-serv/config``, whose binaries are assumed in ``bin/https/bin`` as in the
Netscape-derived servers of the same suite; the configuration in ``admin-serv/config``.
The ``-d`` directory tells the instances of one node apart.
"""

#: Seed 004's AdminPort default.
DEFAULT_PORT = 390
#: The process names, and their order: the watchdog starts the server.
UXWDOG, NS_HTTPD = "uxwdog", "ns-httpd"


def _join(*parts: str) -> str:
    return "/".join([parts[0].rstrip("/")] + [p.strip("/") for p in parts[1:]])


class AdminServer:
    """The Administration Server installed in *server_root* (seed 004's ServerRoot)."""

    __slots__ = ("server_root",)

    def __init__(self, server_root: str) -> None:
        if not server_root.startswith("/"):
            raise ValueError(f"server root {server_root!r} is not an absolute path")
        self.server_root = server_root.rstrip("/") or "/"

    def path(self, *parts: str) -> str:
        return _join(self.server_root, *parts)

    @property
    def start(self) -> str:
        return self.path("start-admin")

    @property
    def stop(self) -> str:
        return self.path("stop-admin")

    @property
    def config_dir(self) -> str:
        """The ``-d`` argument of both processes."""
        return self.path("admin-serv", "config")

    def binary(self, name: str) -> str:
        return self.path("bin", "https", "bin", name)

    @property
    def magnus_conf(self) -> str:
        return self.path("admin-serv", "config", "magnus.conf")

    @property
    def adm_conf(self) -> str:
        return self.path("admin-serv", "config", "adm.conf")

    @property
    def admpw(self) -> str:
        return self.path("admin-serv", "config", "admpw")

    @property
    def pin_file(self) -> str:
        """The trust database password, read at start when it exists (``internal:<password>``)."""
        return self.path("admin-serv", "config", "password.conf")

    @property
    def logs(self) -> str:
        return self.path("admin-serv", "logs")

    def __repr__(self) -> str:
        return f"AdminServer({self.server_root!r})"
