"""The emulated agents as real processes: command line, listeners, protocol answers, durable mail."""

from __future__ import annotations

import base64
import http.client
import imaplib
import os
import poplib
import shutil
import smtplib
import socket
import ssl
import subprocess
import time
from pathlib import Path

import psutil
import pytest
from gwsim import Sim, free_port, port_open, wait_for, write
from gwsim import gwia_config, mta_config

from mailha.proc import ProcessMatch, find
from mailha.sim import mailqueue


def daemon_pid(sim: Sim, binary: str, startup: Path) -> int:
    match = ProcessMatch(exe_names=(str(sim.bin / binary),), args=(("@", str(startup)),))
    return int(wait_for(lambda: [p.pid for p in find(match, every=True)], what=f"{binary} process")[0])


def test_gwia_daemonizes_binds_only_its_ip_and_answers_every_protocol(sim: Sim, gwia_home: Path) -> None:
    ip = sim.address()
    g = gwia_config(gwia_home, ip, extra="--httpuser admin\r\n--httppassword s3cret\r\n")
    launched = sim.run([sim.bin / "gwia", f"@{g.cfg}"])
    assert launched.returncode == 0, launched.stderr
    pid = daemon_pid(sim, "gwia", g.cfg)
    proc = psutil.Process(pid)
    assert proc.name() == "gwia" and proc.cmdline()[1] == str(sim.bin / "gwia")
    assert proc.ppid() != os.getpid()  # detached, like the product started from a shell
    wait_for(lambda: port_open(ip, g.http), what="GWIA HTTP port")

    listening = {(c.laddr.ip, c.laddr.port) for c in proc.connections("tcp") if c.status == psutil.CONN_LISTEN}
    assert listening == {(ip, p) for p in (g.smtp, g.pop, g.imap, g.ldap, g.http)}
    other = ip.rsplit(".", 1)[0] + ".1"
    assert not port_open(other, g.smtp)  # bound to --ip only, not to the whole loopback

    with smtplib.SMTP(ip, g.smtp, timeout=10) as smtp:
        code, text = smtp.ehlo("client.test")
        assert code == 250 and b"gwia.example.test" in text
        assert smtp.noop()[0] == 250 and smtp.rset()[0] == 250
    pop = poplib.POP3(ip, g.pop, timeout=10)
    assert pop.getwelcome().startswith(b"+OK")
    assert pop.user("alice").startswith(b"+OK") and pop.pass_("pw").startswith(b"+OK")
    assert pop.stat() == (0, 0)
    assert pop.quit().startswith(b"+OK")
    imap = imaplib.IMAP4(ip, g.imap, timeout=10)
    assert "IMAP4REV1" in imap.capabilities
    assert imap.login("alice", "pw")[0] == "OK" and imap.noop()[0] == "OK"
    assert imap.logout()[0] == "BYE"

    conn = http.client.HTTPConnection(ip, g.http, timeout=10)
    conn.request("GET", "/")
    denied = conn.getresponse()
    assert denied.status == 401 and denied.getheader("WWW-Authenticate", "").startswith("Basic")
    conn = http.client.HTTPConnection(ip, g.http, timeout=10)
    conn.request("GET", "/", headers={"Authorization": "Basic " + base64.b64encode(b"admin:s3cret").decode()})
    page = conn.getresponse()
    assert page.status == 200 and b"Status: Up" in page.read()

    if shutil.which("ldapsearch"):
        out = subprocess.run(["ldapsearch", "-x", "-H", f"ldap://{ip}:{g.ldap}", "-b", "", "-s", "base", "-LLL", "-o", "nettimeout=10"],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0 and "supportedLDAPVersion: 3" in out.stdout
        missing = subprocess.run(["ldapsearch", "-x", "-H", f"ldap://{ip}:{g.ldap}", "-b", "o=nosuch", "-LLL", "-o", "nettimeout=10"],
                                 capture_output=True, text=True, timeout=30)
        assert missing.returncode == 32  # noSuchObject
    else:
        pytest.fail("ldapsearch (ldap-utils) is required for the LDAP answer check")

    logs = list((gwia_home / "000.prc").iterdir())
    assert len(logs) == 1 and logs[0].name == time.strftime("%m%d") + "gwia.001"
    assert "Agent is up" in logs[0].read_text()
    assert not list(gwia_home.glob("*.pid"))  # no pid file, like the product


def test_smtp_data_is_on_disk_before_the_250(sim: Sim, gwia_home: Path) -> None:
    ip = sim.address()
    g = gwia_config(gwia_home, ip)
    proc = sim.popen([sim.bin / "gwia", f"@{g.cfg}"])
    wait_for(lambda: port_open(ip, g.smtp), what="SMTP port")
    bodies = []
    with smtplib.SMTP(ip, g.smtp, timeout=10) as smtp:
        for n in range(3):
            body = f"Subject: test {n}\r\nMessage-ID: <m{n}@test>\r\n\r\nline one\r\n.starts with a dot\r\n"
            assert smtp.sendmail("sender@example.test", ["a@dom1.test", "b@dom1.test"], body) == {}
            stored = mailqueue.messages(str(gwia_home))  # the 250 has been read: the file must exist now
            assert len(stored) == n + 1
            bodies.append(body)
        smtp.mail("x@example.test")
        assert smtp.docmd("DATA")[0] == 503  # no recipient yet
    texts = [Path(p).read_bytes().decode() for p in mailqueue.messages(str(gwia_home))]
    for text, body in zip(texts, bodies):
        assert text.startswith("X-Mailha-Sim-Mail-From: <sender@example.test>\r\nX-Mailha-Sim-Rcpt-To: <a@dom1.test>, <b@dom1.test>\r\n")
        assert text.endswith(body)
    assert Path(mailqueue.queue_dir(str(gwia_home))) == gwia_home / "receive"
    assert proc.poll() is None


def test_without_ip_the_agent_listens_on_all_addresses(sim: Sim, tmp_path: Path) -> None:
    domain = tmp_path / "dom2"
    domain.mkdir()
    cfg, mtp, http_port = mta_config(domain, None)
    proc = sim.popen([sim.bin / "gwmta", f"@{cfg}"])
    wait_for(lambda: port_open("127.0.0.1", http_port), what="MTA HTTP port")
    listening = {(c.laddr.ip, c.laddr.port) for c in psutil.Process(proc.pid).connections("tcp") if c.status == psutil.CONN_LISTEN}
    assert listening == {("0.0.0.0", mtp), ("0.0.0.0", http_port)}
    assert port_open(sim.address(), mtp)
    assert list((domain / "mslocal").iterdir())  # MTA log under the domain


def test_home_on_the_command_line_and_command_line_overrides(sim: Sim, tmp_path: Path) -> None:
    po = tmp_path / "po1"
    po.mkdir()
    ip = sim.address()
    ports = [str(p) for p in (free_port(ip), free_port(ip), free_port(ip), free_port(ip))]
    write(po / "po1.poa", f"--home {po}\n--ip 127.0.0.1\n--port 1\n;--imap\n")
    proc = sim.popen([sim.bin / "gwpoa", f"@{po / 'po1.poa'}", "--ip", ip, "--port", ports[0], "--mtpinport", ports[1],
                      "--httpport", ports[2], "--imap", "--imapport", ports[3]])
    wait_for(lambda: port_open(ip, int(ports[3])), what="POA IMAP port")
    listening = sorted(c.laddr.port for c in psutil.Process(proc.pid).connections("tcp") if c.status == psutil.CONN_LISTEN)
    assert listening == sorted(map(int, ports))
    assert list((po / "wpcsout/ofs").iterdir())  # POA log under the post office


def test_refuses_to_start_without_a_usable_home(sim: Sim, tmp_path: Path) -> None:
    missing = sim.run([sim.bin / "gwpoa", "--home", str(tmp_path / "not-mounted")])
    assert missing.returncode == 1 and "not found" in missing.stderr
    no_home_cfg = write(tmp_path / "x.mta", "--httpport 1\n")
    no_home = sim.run([sim.bin / "gwmta", f"@{no_home_cfg}"])
    assert no_home.returncode == 1 and "--home switch is required" in no_home.stderr
    bad_cfg = write(tmp_path / "y.mta", "--home /tmp\n--ip 10.0.0.1 extra\n")
    bad = sim.run([sim.bin / "gwmta", f"@{bad_cfg}"])
    assert bad.returncode == 1 and "line 2, column 15" in bad.stderr
    no_file = sim.run([sim.bin / "gwia", f"@{tmp_path / 'nosuch.cfg'}"])
    assert no_file.returncode == 1 and "Unable to open startup file" in no_file.stderr
    assert sim.pids() == []


@pytest.mark.parametrize(
    "payload",
    [b"\x30\x84\xff\xff\xff\xff", b"\x00" * 5000, b"A" * 20000 + b"\r\n", b"\x30\x03\x02\x01", b"GET / HTTP/1.0\r\n" + b"X: y\r\n" * 50],
    ids=["ber-huge-length", "nul-bytes", "long-line", "ber-truncated", "many-headers"],
)
def test_hostile_input_never_takes_the_agent_down(sim: Sim, gwia_home: Path, payload: bytes) -> None:
    ip = sim.address()
    g = gwia_config(gwia_home, ip)
    proc = sim.popen([sim.bin / "gwia", f"@{g.cfg}"])
    wait_for(lambda: port_open(ip, g.http), what="GWIA up")
    for port in (g.smtp, g.pop, g.imap, g.ldap, g.http):
        with socket.create_connection((ip, port), timeout=10) as sock:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
            sock.settimeout(10)
            while sock.recv(65536):  # the agent answers or closes; it must not hang or die
                pass
    assert proc.poll() is None
    with smtplib.SMTP(ip, g.smtp, timeout=10) as smtp:
        assert smtp.noop()[0] == 250


def test_smtp_starttls_with_the_configured_certificate(sim: Sim, gwia_home: Path) -> None:
    ssl_dir = gwia_home.parent.parent.parent / "ssl"  # on the domain's partition, as seed 000 advises
    ssl_dir.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=gwia.example.test",
                    "-keyout", str(ssl_dir / "gwia.key"), "-out", str(ssl_dir / "gwia.crt")], check=True, capture_output=True, timeout=120)
    ip = sim.address()
    g = gwia_config(gwia_home, ip, extra=f"--certfile {ssl_dir / 'gwia.crt'}\r\n--keyfile {ssl_dir / 'gwia.key'}\r\n")
    sim.popen([sim.bin / "gwia", f"@{g.cfg}"])
    wait_for(lambda: port_open(ip, g.smtp), what="SMTP port")
    client_tls = ssl.create_default_context(cafile=str(ssl_dir / "gwia.crt"))
    client_tls.check_hostname = False
    with smtplib.SMTP(ip, g.smtp, timeout=10) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls")
        assert smtp.starttls(context=client_tls)[0] == 220
        smtp.ehlo()
        assert not smtp.has_extn("starttls")
        assert smtp.sendmail("a@x.test", ["b@dom1.test"], "Subject: tls\r\n\r\nover TLS\r\n") == {}
    assert len(mailqueue.messages(str(gwia_home))) == 1


def test_unreadable_certificate_means_no_starttls_and_a_log_line(sim: Sim, gwia_home: Path) -> None:
    ip = sim.address()
    g = gwia_config(gwia_home, ip, extra="--certfile /nonexistent/gwia.crt\r\n--keyfile /nonexistent/gwia.key\r\n")
    sim.popen([sim.bin / "gwia", f"@{g.cfg}"])
    wait_for(lambda: port_open(ip, g.smtp), what="SMTP port")
    with smtplib.SMTP(ip, g.smtp, timeout=10) as smtp:
        smtp.ehlo()
        assert not smtp.has_extn("starttls")
        assert smtp.docmd("STARTTLS")[0] == 454
    log = "".join(p.read_text() for p in (gwia_home / "000.prc").iterdir())
    assert "SSL: cannot load certificate /nonexistent/gwia.crt" in log and "SSL disabled" in log
