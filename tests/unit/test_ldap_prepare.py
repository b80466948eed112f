"""ocf:mailha:ldap's preparation of a 389-ds instance before its start, on a node where the
instance was never created (its storage arrived by failover)."""

import os
import pwd

import pytest

from mailha.agents import ldap
from mailha.directory import paths
from mailha.ocf import log as ocflog
from mailha.ocf.agent import Context
from mailha.ocf.budget import Budget
from mailha.ocf.codes import NotInstalled
from mailha.ocf.params import parse_params

ME = pwd.getpwuid(os.getuid()).pw_name


def start_context(tmp_path, **params) -> Context:
    environ = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "OCF_RESOURCE_INSTANCE": "dir-ldap",
               "HA_RSCTMP": str(tmp_path / "rsctmp"), "OCF_RESKEY_CRM_meta_timeout": "60000"}
    environ.update({f"OCF_RESKEY_{k}": v for k, v in params.items()})
    return Context(ldap.AGENT, "start", environ, parse_params(ldap.AGENT.params, environ, "dir-ldap"),
                   Budget.from_env(environ, 60.0), ocflog.setup("ldap", "dir-ldap", environ))


def write_dse(config_dir, rundir) -> None:
    os.makedirs(config_dir)
    with open(os.path.join(config_dir, "dse.ldif"), "w") as f:
        f.write("dn: cn=config\nobjectClass: top\nobjectClass: extensibleObject\ncn: config\n"
                f"nsslapd-port: 3389\nnsslapd-localuser: {ME}\nnsslapd-rundir: {rundir}\n\n")


def test_the_default_pid_files_directory_is_created_on_a_node_that_never_ran_dscreate(tmp_path, monkeypatch):
    # The instance's rundir is on the shared storage; the default pid file is in /run/dirsrv,
    # which the distribution makes only where dscreate ran (found on the Vagrant lab's VMs).
    default_pid = tmp_path / "run" / "dirsrv" / "slapd-dir.pid"
    monkeypatch.setattr(paths, "ds389_pidfile", lambda instance: str(default_pid))
    config_dir = str(tmp_path / "srv" / "etc")
    write_dse(config_dir, str(tmp_path / "srv" / "run"))
    ctx = start_context(tmp_path, server_type="389ds", instance="dir", config_dir=config_dir, port="3389")
    ldap.prepare_389ds(ctx)
    assert default_pid.parent.is_dir()
    assert default_pid.parent.stat().st_uid == os.getuid()


def test_a_pid_file_set_elsewhere_still_needs_its_directory(tmp_path):
    config_dir = str(tmp_path / "etc")
    write_dse(config_dir, str(tmp_path / "run"))
    ctx = start_context(tmp_path, server_type="389ds", instance="dir", config_dir=config_dir, port="3389",
                        pidfile=str(tmp_path / "elsewhere" / "slapd.pid"))
    with pytest.raises(NotInstalled, match="pidfile's directory"):
        ldap.prepare_389ds(ctx)
    assert not (tmp_path / "elsewhere").exists()
