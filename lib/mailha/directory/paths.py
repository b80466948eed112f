"""Where the directory servers keep their binaries and an instance's files (product facts §3)."""

NS_SLAPD = "/usr/sbin/ns-slapd"  # 389 Directory Server
SLAPD = "/usr/sbin/slapd"  # OpenLDAP
DIRSRV_USER = "dirsrv"  # 389-ds default nsslapd-localuser
OPENLDAP_USER = "openldap"


def ds389_config_dir(instance: str) -> str:
    """``/etc/dirsrv/slapd-NAME``: the directory holding the instance's dse.ldif."""
    return f"/etc/dirsrv/slapd-{instance}"


def ds389_pidfile(instance: str) -> str:
    """The pid file 389-ds writes for an instance by default (its nsslapd-rundir)."""
    return f"/run/dirsrv/slapd-{instance}.pid"


def sunds_pidfile(instance_root: str) -> str:
    """Sun DS 5.x writes ``logs/pid`` in its instance root (serverRoot/slapd-ID)."""
    return f"{instance_root.rstrip('/')}/logs/pid"
