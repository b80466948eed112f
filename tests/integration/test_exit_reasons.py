"""Exit reasons of typical admin mistakes fit in what Pacemaker keeps and still say what to fix.

Pacemaker keeps the last ``ocf-exit-reason:`` line of an agent, cut at 128 bytes; that is what
``pcs status`` and ``crm_mon`` show.  Each row below is a mistake an admin makes with the
installed agents (a wrong port, a missing file, half a pair of credentials...), run with
validate-all (or start, for what only start checks) with paths of the length real ones have.
The reason must fail the action, fit in 128 bytes, name the key fact (the parameter or the file)
and give the fix; whatever does not fit belongs in the log (``OcfError`` detail).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import namedtuple
from pathlib import Path

import pytest
from gwtest import GwLab, secondary_ip

from testkit import free_port

pytestmark = pytest.mark.real_daemon

#: Pacemaker's EXIT_REASON_MAX_LEN (lib/services/services_linux.c): bytes after the prefix.
KEPT = 128
MISSING = "/srv/mailha-nowhere"  # a path that exists on no node

# facts: every one must be in the reason; fixes: at least one of them must be.
Mistake = namedtuple("Mistake", "id agent action params facts fixes")


@pytest.fixture(scope="module")
def short_tmp():
    """A scratch directory with a short name: real paths (/srv/dir/slapd-mail/dse.ldif,
    /mnt/gwia/provo/provo.mta) are short, and pytest's tmp_path is not."""
    path = tempfile.mkdtemp(prefix="m", dir="/tmp")
    os.chmod(path, 0o755)
    yield Path(path)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def setups(short_tmp):
    """What the rows build on: a 389-ds configuration directory (a dse.ldif is all validate-all
    and the start checks read), and a GroupWise domain and post office on a mounted partition
    of the emulator."""
    if os.geteuid() != 0:
        pytest.fail("these tests mount a tmpfs GroupWise partition: run them as root")
    ds = short_tmp / "slapd-mail"
    ds.mkdir()
    ldif_port = free_port()
    (ds / "dse.ldif").write_text(f"dn: cn=config\ncn: config\nnsslapd-port: {ldif_port}\n"
                                 "nsslapd-localuser: dirsrv\n")
    lab_dir = short_tmp / "g"
    lab_dir.mkdir()
    lab = GwLab(lab_dir)
    try:
        dom = lab.domain("provo")
        po = lab.post_office("po1", "provo")
        yield {"ds": str(ds), "ldif_port": ldif_port, "lab": lab, "dom": dom, "po": po}
    finally:
        lab.cleanup()


def ldap(s, **params):
    return {"server_type": "389ds", "config_dir": s["ds"], "port": s["ldif_port"], **params}


def gwia(s, **params):
    return {**s["dom"].params, "ip_address": s["dom"].ip, **params}


def gwpoa(s, **params):
    return {**s["po"].params, "ip_address": s["po"].ip, **params}


def without(params, *names):
    return {k: v for k, v in params.items() if k not in names}


MISTAKES = [
    # -- ldap ------------------------------------------------------------------------------------
    Mistake("ldap-port-out-of-range", "ldap", "validate-all", lambda s: ldap(s, port=70000),
            ["port"], ["set it to a TCP port"]),
    Mistake("ldap-port-with-protocol", "ldap", "validate-all", lambda s: ldap(s, port="389/tcp"),
            ["port"], ["set it to a TCP port"]),
    Mistake("ldap-port-not-the-servers", "ldap", "start", lambda s: ldap(s, port=free_port()),
            ["dse.ldif", "port"], [lambda s: f"set port={s['ldif_port']}"]),
    Mistake("ldap-ssl-port-same-as-port", "ldap", "validate-all", lambda s: ldap(s, ssl_port=s["ldif_port"]),
            ["ssl_port"], ["give", "set"]),
    Mistake("ldap-unknown-server-type", "ldap", "validate-all", lambda s: ldap(s, server_type="sunone"),
            ["server_type"], ["set it to one of"]),
    Mistake("ldap-389ds-without-instance", "ldap", "validate-all",
            lambda s: without(ldap(s), "config_dir"), ["instance", "config_dir"], ["needs", "set"]),
    Mistake("ldap-openldap-without-config", "ldap", "validate-all",
            lambda s: without(ldap(s, server_type="openldap"), "config_dir"), ["config_dir"], ["needs", "set"]),
    Mistake("ldap-openldap-two-configs", "ldap", "validate-all",
            lambda s: ldap(s, server_type="openldap", config_file="/etc/ldap/slapd.conf"),
            ["config_dir", "config_file"], ["needs exactly one", "set only one"]),
    Mistake("ldap-sunds-without-instance-root", "ldap", "validate-all", lambda s: ldap(s, server_type="sunds"),
            ["instance_root"], ["needs", "set"]),
    Mistake("ldap-config-dir-missing", "ldap", "validate-all",
            lambda s: ldap(s, config_dir=f"{MISSING}/slapd-mail"), ["slapd-mail/dse.ldif"], ["mount"]),
    Mistake("ldap-binary-missing", "ldap", "validate-all",
            lambda s: ldap(s, binary="/usr/sbin/ns-slapd2"), ["/usr/sbin/ns-slapd2"], ["install", "set"]),
    Mistake("ldap-binary-is-a-directory", "ldap", "validate-all", lambda s: ldap(s, binary="/"),
            ["binary"], ["install", "set"]),
    Mistake("ldap-bind-dn-without-password", "ldap", "validate-all",
            lambda s: ldap(s, bind_dn="cn=Directory Manager"), ["bind_dn", "password"], ["set both"]),
    Mistake("ldap-test-password-without-user", "ldap", "validate-all",
            lambda s: ldap(s, test_password="Probe-Pass-1"), ["test_user_dn", "test_password"], ["set both"]),
    Mistake("ldap-bad-log-level", "ldap", "validate-all", lambda s: ldap(s, log_level="verbose"),
            ["log_level"], ["set it to one of"]),
    Mistake("ldap-listen-address-host-name", "ldap", "validate-all",
            lambda s: ldap(s, listen_address="ldap.example.com"), ["listen_address"], ["set it to"]),
    Mistake("ldap-relative-pidfile", "ldap", "validate-all", lambda s: ldap(s, pidfile="slapd-mail.pid"),
            ["pidfile"], ["set it to an absolute path"]),
    Mistake("ldap-instance-with-space", "ldap", "validate-all",
            lambda s: without(ldap(s, instance="slapd mail"), "config_dir"), ["instance"], ["set it to"]),
    Mistake("ldap-monitor-program-missing", "ldap", "validate-all",
            lambda s: ldap(s, monitor_program=f"{MISSING}/check-ldap.sh"), ["check-ldap.sh"], ["install", "set"]),
    # -- gwia ------------------------------------------------------------------------------------
    Mistake("gwia-no-domain-dir", "gwia", "validate-all", lambda s: without(gwia(s), "domain_dir"),
            ["domain_dir"], ["set it to an absolute path"]),
    Mistake("gwia-relative-domain-dir", "gwia", "validate-all", lambda s: gwia(s, domain_dir="provo"),
            ["domain_dir"], ["set it to an absolute path"]),
    Mistake("gwia-domain-dir-missing", "gwia", "validate-all",
            lambda s: gwia(s, domain_dir=f"{MISSING}/provo"), ["domain_dir"], ["mount"]),
    Mistake("gwia-wrong-domain-name", "gwia", "validate-all", lambda s: gwia(s, domain="provo2"),
            ["provo2.mta"], ["mount", "set"]),
    Mistake("gwia-startup-file-missing", "gwia", "validate-all",
            lambda s: gwia(s, gwia_startup=os.path.join(s["dom"].layout.directory, "gwia.cfg")),
            ["gwia.cfg"], ["mount", "set"]),
    Mistake("gwia-mta-binary-missing", "gwia", "validate-all",
            lambda s: gwia(s, mta_binary="/opt/novell/groupwise/agents/bin/gwmta2"), ["gwmta2"],
            ["install", "set"]),
    Mistake("gwia-http-user-without-password", "gwia", "validate-all", lambda s: gwia(s, http_user="admin"),
            ["http_user", "http_password"], ["set both"]),
    Mistake("gwia-test-user-without-password", "gwia", "validate-all", lambda s: gwia(s, test_user="probe"),
            ["test_user", "test_password"], ["set both"]),
    Mistake("gwia-set-ip-without-ip-address", "gwia", "validate-all",
            lambda s: without(gwia(s, set_ip="true"), "ip_address"), ["set_ip", "ip_address"], ["needs", "set"]),
    Mistake("gwia-ip-address-host-name", "gwia", "validate-all", lambda s: gwia(s, ip_address="gwia.example.com"),
            ["ip_address"], ["set it to"]),
    Mistake("gwia-ip-address-not-in-startup-file", "gwia", "validate-all",
            lambda s: gwia(s, ip_address=secondary_ip()), ["--ip"], ["set_ip", "set"]),
    Mistake("gwia-unknown-launch", "gwia", "validate-all", lambda s: gwia(s, launch="systemd"),
            ["launch"], ["set it to one of"]),
    Mistake("gwia-storage-mount-not-a-mount-point", "gwia", "validate-all",
            lambda s: gwia(s, storage_mount=s["dom"].layout.directory), ["storage_mount"], ["mount", "set"]),
    Mistake("gwia-bad-log-level", "gwia", "validate-all", lambda s: gwia(s, log_level="ALL"),
            ["log_level"], ["set it to one of"]),
    # -- gwpoa -----------------------------------------------------------------------------------
    Mistake("gwpoa-no-post-office-dir", "gwpoa", "validate-all", lambda s: without(gwpoa(s), "post_office_dir"),
            ["post_office_dir"], ["set it to an absolute path"]),
    Mistake("gwpoa-post-office-dir-missing", "gwpoa", "validate-all",
            lambda s: gwpoa(s, post_office_dir=f"{MISSING}/po1"), ["post_office_dir"], ["mount"]),
    Mistake("gwpoa-wrong-post-office-name", "gwpoa", "validate-all", lambda s: gwpoa(s, post_office="po2"),
            ["po2.poa"], ["mount", "set"]),
    Mistake("gwpoa-binary-missing", "gwpoa", "validate-all",
            lambda s: gwpoa(s, binary="/opt/novell/groupwise/agents/bin/gwpoa2"), ["gwpoa2"], ["install", "set"]),
    Mistake("gwpoa-http-password-without-user", "gwpoa", "validate-all",
            lambda s: gwpoa(s, http_password="Console-Pass-1"), ["http_user", "http_password"], ["set both"]),
    Mistake("gwpoa-grpwise-name-with-space", "gwpoa", "validate-all",
            lambda s: gwpoa(s, launch="grpwise", grpwise_name="po1 provo"), ["grpwise_name"], ["set it to"]),
]


def test_the_table_covers_every_agent_and_enough_mistakes():
    assert len(MISTAKES) >= 23
    assert {m.agent for m in MISTAKES} == {"ldap", "gwia", "gwpoa"}
    assert len({m.id for m in MISTAKES}) == len(MISTAKES)


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda m: m.id)
def test_exit_reason_fits_and_says_what_to_fix(agent_runner, setups, mistake):
    run = agent_runner(mistake.agent)
    result = run(mistake.action, mistake.params(setups))
    assert result.rc in (1, 5, 6), f"{mistake.action} accepted the mistake: {result}"
    assert len(result.exit_reasons) == 1, result.stderr
    reason = result.reason
    assert len(reason.encode("utf-8")) <= KEPT, f"{len(reason.encode())} bytes: {reason}"
    # The framework cuts a longer reason to what Pacemaker keeps, and logs it whole: the agent's
    # own words must fit, the facts and the fix inside them.
    whole = [line.split("in full: ", 1)[1] for line in result.stderr.splitlines() if "exit reason is cut" in line]
    assert not whole, f"{len(whole[0].encode())} bytes, cut: {whole[0]}"
    missing = [fact for fact in mistake.facts if fact not in reason]
    assert not missing, f"{reason!r} does not name {missing}"
    fixes = [fix(setups) if callable(fix) else fix for fix in mistake.fixes]
    assert any(fix in reason for fix in fixes), f"{reason!r} says none of {fixes}"
