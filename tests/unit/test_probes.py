"""Protocol probes against small in-test servers on 127.0.0.1 and a real OpenLDAP slapd."""

import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from typing import Callable, List, Optional, Tuple

import pytest

from mailha import ber, proc
from mailha.probes import AUTH, NETWORK, PROTOCOL, REFUSED, TIMEOUT, TLS, UNAVAILABLE, ProbeError
from mailha.probes import http, imap, ldap, pop3, smtp, tcp
from testkit import CAPTURE_TEXT, accepts, free_port, listening_socket, wait_for

SLAPD = "/usr/sbin/slapd"
PASSWORD = "s3cret-Probe-pw"


# --- a tiny threaded server ----------------------------------------------------------------


class Server:
    """Accepts connections on 127.0.0.1 and runs *handler(conn)* for each, in threads.

    ``tls_context`` wraps accepted sockets (implicit TLS).  Everything is bounded: accept
    waits at most 0.2 s per turn and the server stops when the test ends.
    """

    def __init__(self, handler: "Callable[[socket.socket], None]",
                 tls_context: "Optional[ssl.SSLContext]" = None,
                 host: str = "127.0.0.1"):
        self.handler = handler
        self.tls_context = tls_context
        self.listener = listening_socket(host)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.stopping = threading.Event()
        self.threads: List[threading.Thread] = []
        self.errors: List[BaseException] = []
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except (socket.timeout, OSError):
                continue
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        try:
            if self.tls_context is not None:
                conn = self.tls_context.wrap_socket(conn, server_side=True)
            self.handler(conn)
        except (OSError, ssl.SSLError):
            pass  # the client went away: that is what probes do
        except BaseException as error:  # surfaces in the test through .errors
            self.errors.append(error)
        finally:
            conn.close()

    def close(self) -> None:
        self.stopping.set()
        self.listener.close()
        self.acceptor.join(5)
        for thread in self.threads:
            thread.join(5)


@pytest.fixture
def serve():
    servers: List[Server] = []

    def start(handler, tls_context=None, host="127.0.0.1") -> "Server":
        server = Server(handler, tls_context, host)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()
    for server in servers:
        assert not server.errors, server.errors


def lines_of(conn: socket.socket):
    """Lines the client sends, as text; ends when the client closes."""
    reader = conn.makefile("rb")
    for _ in range(1000):
        line = reader.readline()
        if not line:
            return
        yield line.decode("utf-8", "replace").rstrip("\r\n")


def silent(conn: socket.socket) -> None:
    """Accept, read, never answer, like a frozen daemon; return when the client gives up."""
    for _ in range(1000):
        if not conn.recv(65536):
            return


def refused_port() -> int:
    """A port on 127.0.0.1 where nothing listens (just released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def certificate(tmp_path_factory) -> "Tuple[str, str]":
    """A self-signed certificate for 127.0.0.1, made now with openssl."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60,
    )
    os.chmod(key, 0o644)  # slapd may read it as another user
    return str(cert), str(key)


@pytest.fixture(scope="session")
def server_tls(certificate) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


# --- ProbeError ----------------------------------------------------------------------------


def test_probe_error_is_one_line_and_names_service_address_port():
    error = ProbeError("smtp", "::1", 25, "banner 554\r\nsecond line", PROTOCOL)
    assert str(error) == "smtp [::1]:25: banner 554 second line"
    assert error.kind == PROTOCOL and error.port == 25


# --- tcp -----------------------------------------------------------------------------------


def test_tcp_connect_succeeds_on_a_listening_port(serve):
    server = serve(silent)
    assert tcp.connect("127.0.0.1", server.port, 5).port == server.port


def test_probes_over_ipv6(serve):
    if not socket.has_ipv6:
        pytest.fail("this Python has no IPv6")
    server = serve(smtp_server(), host="::1")
    assert smtp.probe("::1", server.port, timeout=5).greeting.startswith("mail.test")
    with pytest.raises(ProbeError) as caught:
        tcp.connect("::1", refused_port6(), 5)
    assert caught.value.kind == REFUSED and str(caught.value).startswith("tcp [::1]:")


def refused_port6() -> int:
    with socket.socket(socket.AF_INET6) as sock:
        sock.bind(("::1", 0))
        return sock.getsockname()[1]


def test_tcp_connect_refused():
    with pytest.raises(ProbeError) as caught:
        tcp.connect("127.0.0.1", refused_port(), 5)
    assert caught.value.kind == REFUSED


# --- smtp ----------------------------------------------------------------------------------


def smtp_server(banner: str = "220 mail.test ESMTP ready",
                starttls_context: "Optional[ssl.SSLContext]" = None):
    def handle(conn: socket.socket) -> None:
        upgraded: List[ssl.SSLSocket] = []
        try:
            converse(conn, upgraded)
        finally:
            for tls_conn in upgraded:
                tls_conn.close()

    def converse(conn: socket.socket, upgraded: list) -> None:
        conn.sendall(banner.encode() + b"\r\n")
        reader = conn.makefile("rb")
        for _ in range(50):
            line = reader.readline().decode("utf-8", "replace").strip().upper()
            if not line:
                return
            if line.startswith("EHLO"):
                extra = b"250-STARTTLS\r\n" if starttls_context else b""
                conn.sendall(b"250-mail.test\r\n" + extra + b"250 8BITMIME\r\n")
            elif line == "STARTTLS" and starttls_context:
                conn.sendall(b"220 go ahead\r\n")
                reader.close()
                conn = starttls_context.wrap_socket(conn, server_side=True)
                upgraded.append(conn)
                reader = conn.makefile("rb")
            elif line == "NOOP":
                conn.sendall(b"250 OK\r\n")
            elif line == "QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            else:
                conn.sendall(b"502 unknown\r\n")

    return handle


def test_smtp_probe_reads_banner_and_extensions(serve):
    server = serve(smtp_server())
    result = smtp.probe("127.0.0.1", server.port, timeout=5)
    assert result.greeting == "mail.test ESMTP ready"
    assert "8bitmime" in result.details["extensions"]


def test_smtp_wrong_banner_is_a_protocol_error(serve):
    server = serve(smtp_server("554 no service for you"))
    with pytest.raises(ProbeError) as caught:
        smtp.probe("127.0.0.1", server.port, timeout=5)
    assert caught.value.kind == PROTOCOL
    assert "554" in str(caught.value)


def test_smtp_silent_server_times_out(serve):
    server = serve(silent)
    with pytest.raises(ProbeError) as caught:
        smtp.probe("127.0.0.1", server.port, timeout=0.5)
    assert caught.value.kind == TIMEOUT


def test_smtp_trickling_server_is_cut_by_the_overall_deadline(serve):
    # Every single read succeeds within a per-read timeout; only the overall deadline ends this.
    def dribble(conn: socket.socket) -> None:
        for _ in range(400):
            conn.sendall(b"2")
            time.sleep(0.02)  # the server's own pace

    server = serve(dribble)
    with pytest.raises(ProbeError) as caught:
        smtp.probe("127.0.0.1", server.port, timeout=0.5)
    assert caught.value.kind == TIMEOUT


def test_smtp_refused():
    with pytest.raises(ProbeError) as caught:
        smtp.probe("127.0.0.1", refused_port(), timeout=5)
    assert caught.value.kind == REFUSED


def test_smtps_with_self_signed_certificate(serve, server_tls):
    server = serve(smtp_server(), tls_context=server_tls)
    assert smtp.probe("127.0.0.1", server.port, timeout=5, tls=True).greeting.startswith("mail.test")


def test_smtps_verifies_against_ca_file_when_given(serve, server_tls, certificate, tmp_path):
    server = serve(smtp_server(), tls_context=server_tls)
    assert smtp.probe("127.0.0.1", server.port, timeout=5, tls=True, ca_file=certificate[0])
    other = tmp_path / "other.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(tmp_path / "k"), "-out", str(other), "-subj", "/CN=other"],
                   check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    with pytest.raises(ProbeError) as caught:
        smtp.probe("127.0.0.1", server.port, timeout=5, tls=True, ca_file=str(other))
    assert caught.value.kind == TLS
    assert "certificate" in str(caught.value).lower()


def test_tls_probe_against_a_plain_server_is_a_tls_error(serve):
    server = serve(smtp_server())
    with pytest.raises(ProbeError) as caught:
        smtp.probe("127.0.0.1", server.port, timeout=5, tls=True)
    assert caught.value.kind == TLS


def test_smtp_starttls(serve, server_tls):
    server = serve(smtp_server(starttls_context=server_tls))
    result = smtp.probe("127.0.0.1", server.port, timeout=5, starttls=True)
    assert result.greeting.startswith("mail.test")


def test_smtp_starttls_not_offered(serve):
    server = serve(smtp_server())
    with pytest.raises(ProbeError, match="STARTTLS"):
        smtp.probe("127.0.0.1", server.port, timeout=5, starttls=True)


# --- imap ----------------------------------------------------------------------------------


def imap_server(greeting: str = "* OK IMAP4rev1 ready", good_password: str = PASSWORD):
    def handle(conn: socket.socket) -> None:
        conn.sendall(greeting.encode() + b"\r\n")
        for line in lines_of(conn):
            tag, _, rest = line.partition(" ")
            command = rest.split(" ")[0].upper()
            if command == "CAPABILITY":
                conn.sendall(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + tag.encode() + b" OK done\r\n")
            elif command == "LOGIN":
                ok = rest.split(" ")[2].strip('"') == good_password
                conn.sendall(tag.encode() + (b" OK logged in\r\n" if ok else b" NO [AUTHENTICATIONFAILED] bad\r\n"))
            elif command == "LOGOUT":
                conn.sendall(b"* BYE\r\n" + tag.encode() + b" OK bye\r\n")
                return
            else:
                conn.sendall(tag.encode() + b" BAD what\r\n")

    return handle


def test_imap_probe_and_login(serve):
    server = serve(imap_server())
    result = imap.probe("127.0.0.1", server.port, timeout=5, user="probe", password=PASSWORD)
    assert "IMAP4REV1" in result.details["capabilities"]
    assert result.details["logged_in"] is True


def test_imap_bad_password_is_auth_and_never_shows_the_password(serve):
    server = serve(imap_server())
    with pytest.raises(ProbeError) as caught:
        imap.probe("127.0.0.1", server.port, timeout=5, user="probe", password="wrong-" + PASSWORD)
    assert caught.value.kind == AUTH
    assert PASSWORD not in str(caught.value) and "probe" in str(caught.value)


def test_a_password_echoed_by_the_server_is_blanked_out(serve):
    def echo(conn: socket.socket) -> None:
        conn.sendall(b"* OK ready\r\n")
        for line in lines_of(conn):
            tag, _, rest = line.partition(" ")
            if rest.upper().startswith("CAPABILITY"):
                conn.sendall(b"* CAPABILITY IMAP4rev1\r\n" + tag.encode() + b" OK done\r\n")
            else:
                conn.sendall(tag.encode() + f" NO you said {rest}\r\n".encode())

    server = serve(echo)
    with pytest.raises(ProbeError) as caught:
        imap.probe("127.0.0.1", server.port, timeout=5, user="probe", password=PASSWORD)
    assert caught.value.kind == AUTH and PASSWORD not in str(caught.value) and "***" in str(caught.value)


@pytest.mark.parametrize("answer,kind", [
    (b"NO [UNAVAILABLE] User directory unavailable", UNAVAILABLE),
    (b"NO [AUTHENTICATIONFAILED] Invalid credentials", AUTH),
    (b"NO Login failed", AUTH),
])
def test_imap_login_the_server_cannot_check_now_is_unavailable_not_auth(serve, answer, kind):
    def server(conn: socket.socket) -> None:
        conn.sendall(b"* OK ready\r\n")
        for line in lines_of(conn):
            tag, _, rest = line.partition(" ")
            if rest.upper().startswith("CAPABILITY"):
                conn.sendall(b"* CAPABILITY IMAP4rev1\r\n" + tag.encode() + b" OK done\r\n")
            else:
                conn.sendall(tag.encode() + b" " + answer + b"\r\n")

    with pytest.raises(ProbeError) as caught:
        imap.probe("127.0.0.1", serve(server).port, timeout=5, user="probe", password=PASSWORD)
    assert caught.value.kind == kind and PASSWORD not in str(caught.value)


def test_imap_bye_greeting_fails(serve):
    server = serve(imap_server("* BYE too many connections"))
    with pytest.raises(ProbeError) as caught:
        imap.probe("127.0.0.1", server.port, timeout=5)
    assert caught.value.kind == PROTOCOL


def test_imap_silent_server_times_out(serve):
    server = serve(silent)
    with pytest.raises(ProbeError) as caught:
        imap.probe("127.0.0.1", server.port, timeout=0.5)
    assert caught.value.kind == TIMEOUT


def test_imaps(serve, server_tls):
    server = serve(imap_server(), tls_context=server_tls)
    assert imap.probe("127.0.0.1", server.port, timeout=5, tls=True).details["logged_in"] is False


# --- pop3 ----------------------------------------------------------------------------------


def pop3_server(greeting: str = "+OK POP3 ready"):
    def handle(conn: socket.socket) -> None:
        conn.sendall(greeting.encode() + b"\r\n")
        for line in lines_of(conn):
            command, _, argument = line.partition(" ")
            command = command.upper()
            if command == "USER":
                conn.sendall(b"+OK\r\n")
            elif command == "PASS":
                conn.sendall(b"+OK in\r\n" if argument == PASSWORD else b"-ERR [AUTH] invalid\r\n")
            elif command == "QUIT":
                conn.sendall(b"+OK bye\r\n")
                return
            else:
                conn.sendall(b"-ERR what\r\n")

    return handle


def test_pop3_probe_and_login(serve):
    server = serve(pop3_server())
    result = pop3.probe("127.0.0.1", server.port, timeout=5, user="probe", password=PASSWORD)
    assert result.greeting == "+OK POP3 ready" and result.details["logged_in"]


def test_pop3_bad_password_is_auth(serve):
    server = serve(pop3_server())
    with pytest.raises(ProbeError) as caught:
        pop3.probe("127.0.0.1", server.port, timeout=5, user="probe", password="nope")
    assert caught.value.kind == AUTH and "nope" not in str(caught.value)


@pytest.mark.parametrize("answer,kind", [
    (b"-ERR [SYS/TEMP] User directory unavailable", UNAVAILABLE),
    (b"-ERR [AUTH] Authentication failed", AUTH),
    (b"-ERR no", AUTH),
])
def test_pop3_login_the_server_cannot_check_now_is_unavailable_not_auth(serve, answer, kind):
    def server(conn: socket.socket) -> None:
        conn.sendall(b"+OK ready\r\n")
        for line in lines_of(conn):
            conn.sendall(b"+OK\r\n" if line.startswith("USER") else answer + b"\r\n")

    with pytest.raises(ProbeError) as caught:
        pop3.probe("127.0.0.1", serve(server).port, timeout=5, user="probe", password=PASSWORD)
    assert caught.value.kind == kind and PASSWORD not in str(caught.value)


def test_pop3_error_greeting(serve):
    server = serve(pop3_server("-ERR maintenance"))
    with pytest.raises(ProbeError) as caught:
        pop3.probe("127.0.0.1", server.port, timeout=5)
    assert caught.value.kind == PROTOCOL and "maintenance" in str(caught.value)


def test_pop3_silent_server_times_out(serve):
    server = serve(silent)
    with pytest.raises(ProbeError) as caught:
        pop3.probe("127.0.0.1", server.port, timeout=0.5)
    assert caught.value.kind == TIMEOUT


def test_a_password_with_a_line_break_is_never_sent(serve):
    """"x\r\nDELE 1" would be a command of its own on the server: refused as bad credentials."""
    seen: List[str] = []

    def record(conn: socket.socket) -> None:
        conn.sendall(b"+OK POP3 ready\r\n")
        for line in lines_of(conn):
            seen.append(line)
            conn.sendall(b"+OK\r\n")

    server = serve(record)
    with pytest.raises(ProbeError) as caught:
        pop3.probe("127.0.0.1", server.port, timeout=5, user="probe", password="x\r\nDELE 1")
    assert caught.value.kind == AUTH and "line break" in str(caught.value) and "DELE" not in str(caught.value)
    assert not any("DELE" in line or "PASS" in line for line in seen)


def test_smtp_multiline_banner_and_extension_parameters(serve):
    def server_side(conn: socket.socket) -> None:
        conn.sendall(b"220-mail.test ESMTP\r\n220 second line\r\n")
        for line in lines_of(conn):
            verb = line.split(" ")[0].upper()
            if verb == "EHLO":
                conn.sendall(b"250-mail.test\r\n250-SIZE 10240000\r\n250-AUTH PLAIN LOGIN\r\n250 PIPELINING\r\n")
            elif verb == "QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            else:
                conn.sendall(b"250 ok\r\n")

    result = smtp.probe("127.0.0.1", serve(server_side).port, timeout=5)
    assert result.greeting == "mail.test ESMTP second line"
    assert result.details["extensions"] == ["auth", "pipelining", "size"]


def test_smtp_garbage_is_a_protocol_error(serve):
    def garbage(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

    with pytest.raises(ProbeError) as caught:
        smtp.probe("127.0.0.1", serve(garbage).port, timeout=5)
    assert caught.value.kind == PROTOCOL and "no SMTP reply" in str(caught.value)


def test_imap_preauth_greeting_and_a_server_closing_mid_answer(serve):
    def closing(conn: socket.socket) -> None:
        conn.sendall(b"* PREAUTH ready\r\n")
        for _line in lines_of(conn):
            conn.sendall(b"* CAPABILITY IMAP4rev1\r\n")
            return  # no tagged answer

    with pytest.raises(ProbeError) as caught:
        imap.probe("127.0.0.1", serve(closing).port, timeout=5)
    assert caught.value.kind == NETWORK and "closed" in str(caught.value)


# --- http ----------------------------------------------------------------------------------


def http_server(status: str = "200 OK", need_auth: "Optional[str]" = None):
    def handle(conn: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request and len(request) < 65536:
            chunk = conn.recv(4096)
            if not chunk:
                return
            request += chunk
        answer = status
        if need_auth is not None:
            import base64

            expected = "Authorization: Basic " + base64.b64encode(need_auth.encode()).decode()
            if expected not in request.decode():
                answer = "401 Unauthorized"
        body = b"hello"
        conn.sendall(f"HTTP/1.1 {answer}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)

    return handle


def test_http_probe_ok(serve):
    server = serve(http_server())
    assert http.probe("127.0.0.1", server.port, timeout=5).details["status"] == 200


def test_http_unexpected_status(serve):
    server = serve(http_server("503 Service Unavailable"))
    with pytest.raises(ProbeError, match="503") as caught:
        http.probe("127.0.0.1", server.port, timeout=5)
    assert caught.value.kind == PROTOCOL


def test_http_basic_auth(serve):
    server = serve(http_server(need_auth=f"probe:{PASSWORD}"))
    assert http.probe("127.0.0.1", server.port, timeout=5, user="probe", password=PASSWORD).details["status"] == 200
    with pytest.raises(ProbeError) as caught:
        http.probe("127.0.0.1", server.port, timeout=5, user="probe", password="bad")
    assert caught.value.kind == AUTH


# Pacemaker hands parameters over as UTF-8 bytes.  Python 3.6 in Pacemaker's C locale decodes
# the environment as ASCII, so "é" arrives as the two surrogates of its bytes; 3.7 and later
# decode it as UTF-8.  Either way the server must get the bytes the admin typed.
ESCAPED_UTF8_PASSWORD = "pw-\udcc3\udca9"  # "pw-é" as Python 3.6 reads it from a C-locale environment


@pytest.mark.parametrize("password", ["pw-\u00e9", ESCAPED_UTF8_PASSWORD])
def test_http_basic_auth_sends_the_passwords_utf8_bytes(serve, password):
    server = serve(http_server(need_auth="probe:pw-\u00e9"))
    assert http.probe("127.0.0.1", server.port, timeout=5, user="probe", password=password).details["status"] == 200


@pytest.mark.parametrize("text", ["cn=\u00e9", "cn=\udcc3\udca9"])
def test_ber_strings_are_the_parameters_utf8_bytes(text):
    assert ber.decode(ber.octet_string(text)).as_bytes() == "cn=\u00e9".encode("utf-8")


def test_https_and_silent(serve, server_tls):
    server = serve(http_server(), tls_context=server_tls)
    assert http.probe("127.0.0.1", server.port, timeout=5, tls=True).details["status"] == 200
    quiet = serve(silent)
    with pytest.raises(ProbeError) as caught:
        http.probe("127.0.0.1", quiet.port, timeout=0.5)
    assert caught.value.kind == TIMEOUT


def test_http_garbage_answer(serve):
    server = serve(lambda conn: (conn.recv(4096), conn.sendall(b"SSH-2.0-OpenSSH\r\n\r\n")))
    with pytest.raises(ProbeError) as caught:
        http.probe("127.0.0.1", server.port, timeout=5)
    assert caught.value.kind == PROTOCOL


def read_request(conn: socket.socket) -> "List[str]":
    """The request line and headers the client sent, up to the blank line."""
    lines = []
    for line in lines_of(conn):
        if not line:
            return lines
        lines.append(line)
    return lines


def test_http_request_and_a_status_line_sent_byte_by_byte(serve):
    seen: List[List[str]] = []

    def handle(conn: socket.socket) -> None:
        seen.append(read_request(conn))
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for byte in b"HTTP/1.1 200  All\tis   well\r\nServer: x\r\n\r\n":
            conn.sendall(bytes([byte]))

    server = serve(handle)
    result = http.probe("127.0.0.1", server.port, timeout=5, path="/status?x=1", user="probe", password=PASSWORD)
    assert result.details == {"status": 200, "reason": "All is well"} and result.greeting == "200 All is well"
    request = seen[0]
    assert request[0] == "GET /status?x=1 HTTP/1.0"
    assert f"Host: 127.0.0.1:{server.port}" in request and "Connection: close" in request
    assert "Authorization: Basic cHJvYmU6czNjcmV0LVByb2JlLXB3" in request  # base64 of probe:s3cret-Probe-pw
    http.probe("127.0.0.1", server.port, timeout=5, host_header="po1.example.com")
    assert "Host: po1.example.com" in seen[1] and not any(line.startswith("Authorization") for line in seen[1])


def test_http_ends_at_content_length_even_if_the_server_keeps_the_connection(serve):
    def handle(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
        silent(conn)  # ignores "Connection: close": only the probe's own close ends this

    server = serve(handle)
    assert http.probe("127.0.0.1", server.port, timeout=5).details["status"] == 200


@pytest.mark.parametrize(
    "answer, reason",
    [
        (b"", "connection closed without a status line"),
        (b"HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 20 OK"),
        (b"HTTP/2 200 OK\r\n\r\n", "HTTP/2 200 OK"),
        (b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n", "header line longer than 65536 bytes"),
        (b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 101 + b"\r\n", "more than 100 headers"),
    ],
    ids=["closed", "short-code", "http2", "huge-header", "too-many-headers"],
)
def test_http_malformed_answers(serve, answer: bytes, reason: str):
    server = serve(lambda conn: (read_request(conn), conn.sendall(answer)))
    with pytest.raises(ProbeError) as caught:
        http.probe("127.0.0.1", server.port, timeout=5)
    assert caught.value.kind == PROTOCOL and caught.value.reason == f"bad HTTP answer: {reason}"


def test_http_trickling_status_line_is_cut_by_the_overall_deadline(serve):
    def dribble(conn: socket.socket) -> None:
        read_request(conn)
        for _ in range(400):
            conn.sendall(b"H")
            time.sleep(0.02)  # the server's own pace

    server = serve(dribble)
    with pytest.raises(ProbeError) as caught:
        http.probe("127.0.0.1", server.port, timeout=0.5)
    assert caught.value.kind == TIMEOUT


def test_http_password_never_in_errors(serve):
    server = serve(lambda conn: (read_request(conn), conn.sendall(f"HTTP/1.0 500 {PASSWORD}\r\n\r\n".encode())))
    with pytest.raises(ProbeError) as caught:
        http.probe("127.0.0.1", server.port, timeout=5, user="probe", password=PASSWORD)
    assert caught.value.kind == PROTOCOL and PASSWORD not in str(caught.value) and "500" in str(caught.value)


@pytest.mark.parametrize("kwargs", [{"path": "/a b"}, {"path": "status"}, {"host_header": "x\r\nEvil: 1"}, {"method": ""}])
def test_http_rejects_requests_it_cannot_send(kwargs):
    with pytest.raises(ValueError):
        http.probe("127.0.0.1", refused_port(), timeout=5, **kwargs)


# --- ldap against fake servers -------------------------------------------------------------


def ldap_message(message_id: int, operation: bytes) -> bytes:
    return ber.sequence(ber.integer(message_id), operation)


def ldap_result(tag: int, code: int, message: str = "") -> bytes:
    return ber.sequence(ber.enumerated(code), ber.octet_string(""), ber.octet_string(message), tag=tag)


def ldap_fake(answer: "Callable[[int, int], Optional[bytes]]"):
    """An LDAP server answering each request (message id, op tag) with answer(...) bytes."""

    def handle(conn: socket.socket) -> None:
        buffer = b""
        for _ in range(100):
            chunk = conn.recv(65536)
            if not chunk:
                return
            buffer += chunk
            while True:
                header = ber.read_header(buffer)
                if header is None or header[2] > len(buffer):
                    break
                message = ber.decode(buffer[: header[2]])
                buffer = buffer[header[2]:]
                message_id, op = message.children()[:2]
                reply = answer(message_id.as_int(), op.tag)
                if reply is None:
                    return
                conn.sendall(reply)

    return handle


@pytest.mark.parametrize("code,kind", [(49, AUTH), (51, UNAVAILABLE), (52, UNAVAILABLE), (53, UNAVAILABLE), (1, PROTOCOL)])
def test_ldap_bind_result_codes_are_told_apart(serve, code, kind):
    server = serve(ldap_fake(lambda mid, tag: ldap_message(mid, ldap_result(ldap.BIND_RESPONSE, code, "no"))))
    with pytest.raises(ldap.LdapResultError) as caught:
        ldap.probe("127.0.0.1", server.port, 5, bind_dn="cn=probe", password=PASSWORD)
    assert caught.value.code == code and caught.value.kind == kind
    assert PASSWORD not in str(caught.value)


def test_ldap_search_busy_is_unavailable(serve):
    server = serve(ldap_fake(lambda mid, tag: ldap_message(mid, ldap_result(ldap.SEARCH_RESULT_DONE, 51, "busy"))))
    with pytest.raises(ldap.LdapResultError) as caught:
        ldap.probe("127.0.0.1", server.port, 5)
    assert caught.value.kind == UNAVAILABLE and "busy (51)" in str(caught.value)


def test_ldap_entries_are_returned(serve):
    entry = ber.sequence(
        ber.octet_string("cn=monitor"),
        ber.sequence(
            ber.sequence(ber.octet_string("version"), ber.sequence(ber.octet_string("389-Directory/2.3"), tag=ber.SET)),
            ber.sequence(ber.octet_string("currentconnections"), ber.sequence(ber.octet_string("7"), tag=ber.SET)),
        ),
        tag=ldap.SEARCH_RESULT_ENTRY,
    )

    def answer(mid: int, tag: int) -> bytes:
        return ldap_message(mid, entry) + ldap_message(mid, ldap_result(ldap.SEARCH_RESULT_DONE, 0))

    server = serve(ldap_fake(answer))
    (found,) = ldap.probe("127.0.0.1", server.port, 5, base="cn=monitor").details["entries"]
    assert found.dn == "cn=monitor"
    assert found.first("Version") == "389-Directory/2.3" and found.get("currentConnections") == ["7"]


def test_ldap_notice_of_disconnection(serve):
    notice = ber.sequence(ber.enumerated(52), ber.octet_string(""), ber.octet_string("shutting down"),
                          ber.octet_string(b"1.3.6.1.4.1.1466.20036", 0x8A), tag=ldap.EXTENDED_RESPONSE)
    server = serve(ldap_fake(lambda mid, tag: ldap_message(0, notice)))
    with pytest.raises(ldap.LdapResultError) as caught:
        ldap.probe("127.0.0.1", server.port, 5)
    assert caught.value.code == 52 and caught.value.kind == UNAVAILABLE


def test_ldap_garbage_is_a_protocol_error(serve):
    server = serve(ldap_fake(lambda mid, tag: b"HTTP/1.0 400 Bad Request\r\n\r\n"))
    with pytest.raises(ProbeError) as caught:
        ldap.probe("127.0.0.1", server.port, 5)
    assert caught.value.kind == PROTOCOL


def test_ldap_silent_and_refused(serve):
    server = serve(silent)
    with pytest.raises(ProbeError) as caught:
        ldap.probe("127.0.0.1", server.port, 0.5)
    assert caught.value.kind == TIMEOUT
    with pytest.raises(ProbeError) as caught:
        ldap.probe("127.0.0.1", refused_port(), 5)
    assert caught.value.kind == REFUSED


def test_ldap_bind_dn_without_password_is_refused_before_connecting():
    with pytest.raises(ProbeError) as caught:
        ldap.probe("127.0.0.1", refused_port(), 5, bind_dn="cn=probe")
    assert caught.value.kind == AUTH


def test_ldap_unsupported_filter_and_scope_are_value_errors():
    with pytest.raises(ValueError):
        ldap.probe("127.0.0.1", 389, 5, filter="(cn=admin)")
    with pytest.raises(ValueError):
        ldap.probe("127.0.0.1", 389, 5, scope="subtree")


# --- ldap against a real OpenLDAP slapd ----------------------------------------------------


@pytest.fixture(scope="module")
def slapd(tmp_path_factory, certificate):
    """A throwaway OpenLDAP on loopback: ldap, ldaps and ldapi; stopped by its PID at the end."""
    if not os.path.exists(SLAPD):
        pytest.fail(f"{SLAPD} is missing: install the slapd package (the test command does)")
    folder = tmp_path_factory.mktemp("slapd")
    (folder / "db").mkdir()
    cert, key = certificate
    conf = folder / "slapd.conf"
    conf.write_text(
        "include /etc/ldap/schema/core.schema\n"
        "modulepath /usr/lib/ldap\nmoduleload back_mdb\n"
        f"pidfile {folder}/slapd.pid\n"
        f"TLSCertificateFile {cert}\nTLSCertificateKeyFile {key}\n"
        'database mdb\nsuffix "dc=example,dc=com"\nrootdn "cn=admin,dc=example,dc=com"\n'
        f"rootpw {PASSWORD}\ndirectory {folder}/db\n"
    )
    port, tls_port = free_port(), free_port()
    ldapi = folder / "ldapi"
    urls = f"ldap://127.0.0.1:{port}/ ldaps://127.0.0.1:{tls_port}/ ldapi://{str(ldapi).replace('/', '%2F')}"
    log = open(folder / "slapd.log", "wb")
    server = subprocess.Popen([SLAPD, "-d", "0", "-f", str(conf), "-h", urls], stdout=log, stderr=log)
    try:
        wait_for(lambda: accepts(port, timeout=1) and accepts(tls_port, timeout=1) or server.poll() is not None, 20, "slapd")
        assert server.poll() is None, (folder / "slapd.log").read_text(encoding="utf-8")
        yield {"port": port, "tls_port": tls_port, "ldapi": str(ldapi), "process": server}
    finally:
        os.kill(server.pid, signal.SIGCONT)  # in case a test left it stopped
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
        log.close()


ADMIN = "cn=admin,dc=example,dc=com"


@pytest.mark.real_daemon
def test_real_slapd_root_dse_anonymous(slapd):
    (root,) = ldap.probe("127.0.0.1", slapd["port"], 5).details["entries"]
    assert root.dn == "" and root.first("namingContexts") == "dc=example,dc=com"
    assert "3" in root.get("supportedLDAPVersion")


@pytest.mark.real_daemon
def test_real_slapd_bind_and_search_suffix(slapd):
    # The database is empty: its suffix entry does not exist, which the server says as 32.
    with pytest.raises(ldap.LdapResultError) as caught:
        ldap.probe("127.0.0.1", slapd["port"], 5, bind_dn=ADMIN, password=PASSWORD, base="dc=example,dc=com")
    assert caught.value.code == 32 and caught.value.kind == PROTOCOL
    assert ldap.probe("127.0.0.1", slapd["port"], 5, bind_dn=ADMIN, password=PASSWORD).details["entries"]


@pytest.mark.real_daemon
def test_real_slapd_wrong_password_is_49(slapd):
    with pytest.raises(ldap.LdapResultError) as caught:
        ldap.probe("127.0.0.1", slapd["port"], 5, bind_dn=ADMIN, password="wrong")
    assert caught.value.code == 49 and caught.value.kind == AUTH
    assert "wrong" not in str(caught.value)


@pytest.mark.real_daemon
def test_real_slapd_ldaps_and_ldapi(slapd, certificate):
    assert ldap.probe("127.0.0.1", slapd["tls_port"], 5, tls=True).details["entries"]
    assert ldap.probe("127.0.0.1", slapd["tls_port"], 5, tls=True, ca_file=certificate[0],
                      bind_dn=ADMIN, password=PASSWORD).details["entries"]
    (root,) = ldap.probe("ldapi", 0, 5, ldapi=slapd["ldapi"]).details["entries"]
    assert root.first("namingContexts") == "dc=example,dc=com"


@pytest.mark.real_daemon
def test_real_slapd_starttls(slapd):
    assert ldap.probe("127.0.0.1", slapd["port"], 5, starttls=True, bind_dn=ADMIN, password=PASSWORD).details["entries"]


@pytest.mark.real_daemon
def test_real_slapd_frozen_times_out(slapd):
    pid = slapd["process"].pid
    os.kill(pid, signal.SIGSTOP)
    try:
        # kill() only queues the stop: it was seen pending (ShdPnd) while slapd still answered
        wait_for(lambda: proc.read_process(pid, need_argv=False).state == "T", 20, "slapd to stop")
        with pytest.raises(ProbeError) as caught:
            ldap.probe("127.0.0.1", slapd["port"], 0.5)
        assert caught.value.kind == TIMEOUT
    finally:
        os.kill(slapd["process"].pid, signal.SIGCONT)
    assert ldap.probe("127.0.0.1", slapd["port"], 5).details["entries"]


# --- the BER codec (property-based) --------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@given(st.integers(min_value=0, max_value=ber.MAX_LENGTH))
def test_ber_length_round_trip(length):
    encoded = bytes([ber.OCTET_STRING]) + ber.encode_length(length)
    header = ber.read_header(encoded + b"\0" * min(length, 4))
    assert header is not None and header[2] - header[1] == length
    # Minimal encoding: short form below 128, and no leading zero octet in the long form.
    assert len(ber.encode_length(length)) == (1 if length < 128 else 1 + (length.bit_length() + 7) // 8)


@given(st.integers(min_value=-(2**120), max_value=2**120))
def test_ber_integer_round_trip(value):
    encoded = ber.integer(value)
    element = ber.decode(encoded)
    assert element.tag == ber.INTEGER and element.as_int() == value
    body = encoded[2:]
    # X.690 8.3.2: the first nine bits are never all zeros or all ones.
    if len(body) > 1:
        assert not (body[0] == 0 and body[1] < 0x80) and not (body[0] == 0xFF and body[1] >= 0x80)


@given(st.binary(max_size=70000))
@settings(max_examples=50)
def test_ber_octet_string_round_trip(value):
    assert ber.decode(ber.octet_string(value)).as_bytes() == value


@given(st.lists(st.text(max_size=300), max_size=20))
def test_ber_nested_sequence_round_trip(texts):
    encoded = ber.sequence(*(ber.octet_string(t) for t in texts), tag=ber.SET)
    element = ber.decode(encoded)
    assert element.tag == ber.SET and [c.as_str() for c in element.children()] == texts


@given(st.binary(max_size=300))
def test_ber_hostile_bytes_raise_only_ber_error(data):
    try:
        element = ber.decode(data)
        if element.constructed:
            for child in element.children():
                child.as_str()
    except ber.BerError:
        pass


def test_ber_refuses_indefinite_and_huge_lengths():
    with pytest.raises(ber.BerError, match="indefinite"):
        ber.decode(b"\x30\x80\x00\x00")
    with pytest.raises(ber.BerError, match="exceeds"):
        ber.read_header(b"\x04\x84\x7f\xff\xff\xff")
    with pytest.raises(ber.BerError, match="truncated"):
        ber.decode(b"\x04\x05abc")
    assert ber.read_header(b"\x04\x82\x01") is None  # incomplete, not wrong: read more


def _tlvs(body: "st.SearchStrategy") -> "st.SearchStrategy":
    tags = st.sampled_from([0x02, 0x04, 0x0A, 0x30, 0x31, 0x61, 0x64, 0x65, 0x73, 0x78, 0x80, 0xA3])
    return st.builds(ber.tlv, tags, body)


# LDAP-shaped messages (a SEQUENCE holding an id and an operation of random inner structure)
# reach deeper into the client than random bytes, which mostly fail at the first octet.
hostile_ldap = st.one_of(
    st.binary(max_size=400),
    st.builds(
        lambda mid, op, tail: ber.sequence(ber.integer(mid), op) + tail,
        st.integers(-1, 3),
        _tlvs(st.recursive(st.binary(max_size=40), lambda inner: st.lists(_tlvs(inner), max_size=4).map(b"".join))),
        st.binary(max_size=20),
    ),
)


@given(hostile_ldap)
@settings(max_examples=200, deadline=None)
def test_ldap_client_fed_hostile_bytes_raises_only_probe_errors(data):
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(data)
        theirs.shutdown(socket.SHUT_WR)  # then EOF: the client must never wait forever
        connection = ldap.LdapConnection("hostile", 389, time.monotonic() + 5)
        connection.sock = ours
        try:
            connection.search()
        except (ProbeError, ber.BerError):
            pass


def test_tcp_http_and_ldap_probes_of_an_address_stay_off_heavy_modules():
    # A monitor runs every few seconds on every node: resolving an address must not pull in the
    # idna codec (re, unicodedata, stringprep), nor a probe ssl, typing or http.client, nor
    # socket.py (enum, selectors) where the C module does, nor a watchdog thread.
    script = (
        "import _socket, sys\n"
        "from mailha.probes import http, imap, ldap, pop3, smtp, tcp, ProbeError\n"
        "srv = _socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(); port = srv.getsockname()[1]\n"
        "tcp.probe('127.0.0.1', port, timeout=2)\n"
        "for probe in (http.probe, ldap.probe, smtp.probe, pop3.probe, imap.probe):\n"
        "    try: probe('127.0.0.1', port, timeout=0.3)\n"
        "    except ProbeError: pass\n"  # the listener never answers: a timeout is expected
        "heavy = {'re', 'encodings.idna', 'unicodedata', 'ssl', 'typing', 'http.client', 'email', 'socket', 'enum',\n"
        "         'selectors', 'threading'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    # -S: as the agents run; site's own imports would say nothing about the probes
    out = subprocess.run([sys.executable, "-S", "-c", script], **CAPTURE_TEXT, env=env, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[0] == "[]"
