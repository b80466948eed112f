"""``mailha sim msgsrv``/``adminsrv`` (laying out an emulated server from the command line) and
the IMAP answers a reading client needs (sequence sets, FETCH of header fields and bodies)."""

from __future__ import annotations

import os

import pytest

from mailha.adminsrv.layout import AdminServer
from mailha.msgsrv.layout import Instance
from mailha.sim import cli, protocols
from mailha.sim.msgsrv import builder


def test_msgsrv_is_laid_out_with_logins_from_a_file_never_the_command_line(tmp_path, capsys):
    users = tmp_path / "users"
    users.write_text("alice s3cret-pw\n")
    root = tmp_path / "SUNWmsgsr"
    assert cli.main(["msgsrv", "--server-root", str(root), "--ip", "192.0.2.7", "--directory", "192.0.2.7:389",
                     "--users-file", str(users), "--autorestart"]) == 0
    inst = Instance(str(root))
    conf = open(inst.msg_conf).read()
    assert 'service.listenaddr = "192.0.2.7"' in conf and 'local.ugldaphost = "192.0.2.7"' in conf
    assert 'local.autorestart = "1"' in conf
    assert os.access(inst.daemon("stored"), os.X_OK) and os.access(os.path.join(str(root), "sbin", "start-msg"), os.X_OK)
    assert open(builder.users_file(inst)).read() == "alice s3cret-pw\n"
    assert os.stat(builder.users_file(inst)).st_mode & 0o077 == 0
    assert "s3cret" not in capsys.readouterr().out
    # A second lay-out would overwrite a configured server: refused unless --force.
    before = open(inst.msg_conf).read()
    assert cli.main(["msgsrv", "--server-root", str(root)]) == 1
    assert "exists" in capsys.readouterr().err and open(inst.msg_conf).read() == before


@pytest.mark.parametrize("argv, words", [
    (["msgsrv", "--server-root", "/opt/SUNWmsgsr"], "the product's own path"),
    (["adminsrv", "--server-root", "/var/opt/mps/serverroot", "--directory", "h:389"], "the product's own path"),
    (["adminsrv", "--server-root", "{tmp}/a", "--directory", "h:389", "--admin-user", "admin"],
     "go together"),
])
def test_refusals_name_the_reason_and_write_nothing(tmp_path, capsys, argv, words):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert cli.main(argv) == 1
    assert words in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "a")


def test_adminsrv_takes_the_admin_password_from_a_file(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("adm-pw-9\n")
    root = tmp_path / "serverroot"
    assert cli.main(["adminsrv", "--server-root", str(root), "--ip", "192.0.2.8", "--directory", "[2001:db8::1]:389",
                     "--admin-user", "admin", "--admin-password-file", str(pw)]) == 0
    admin = AdminServer(str(root))
    assert "Address 192.0.2.8" in open(admin.magnus_conf).read()
    assert "ldap://[2001:db8::1]:389/" in open(admin.adm_conf).read()
    admpw = open(admin.admpw).read()
    assert admpw.startswith("admin:") and "adm-pw-9" not in admpw


def test_a_directory_that_is_not_host_port_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["msgsrv", "--server-root", str(tmp_path), "--directory", "nohost"])
    assert exc.value.code == 2 and "is not HOST:PORT" in capsys.readouterr().err


@pytest.mark.parametrize("text, count, numbers", [
    ("1", 3, [1]), ("2:*", 3, [2, 3]), ("*", 3, [3]), ("3:1", 3, [1, 2, 3]), ("1,3,1", 3, [1, 3]),
    ("1:*", 0, []), ("5", 3, []),
])
def test_imap_sequence_sets(text, count, numbers):
    assert protocols._imap_sequence(text, count) == numbers


@pytest.mark.parametrize("text", ["0", "a", "1:b", ""])
def test_bad_imap_sequence_sets_are_refused(text):
    with pytest.raises(ValueError):
        protocols._imap_sequence(text, 3)


def test_imap_fetch_of_header_fields_keeps_folded_lines_and_ends_with_a_blank_line(tmp_path):
    msg = tmp_path / "m.eml"
    msg.write_bytes(b"Subject: one\r\nMessage-ID:\r\n <a@b>\r\nTo: x@y\r\n\r\nbody\r\n")
    reply = protocols._imap_fetch(2, str(msg), "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    header = b"Message-ID:\r\n <a@b>\r\n\r\n"
    assert reply == b"* 2 FETCH (UID 2 BODY[HEADER.FIELDS (MESSAGE-ID)] {%d}\r\n%s)\r\n" % (len(header), header)
    size = len(msg.read_bytes())
    whole = protocols._imap_fetch(1, str(msg), "(RFC822.SIZE BODY[])")
    assert whole == b"* 1 FETCH (UID 1 RFC822.SIZE %d BODY[] {%d}\r\n%s)\r\n" % (size, size, msg.read_bytes())
    assert b"BODY[]" not in protocols._imap_fetch(1, str(msg), "(RFC822.SIZE)")
