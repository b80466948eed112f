"""Administration Server product knowledge (mailha.adminsrv): the layout of a server root, and
magnus.conf, adm.conf, admpw and the pin file as the agent and the emulator read them."""

import pytest

from mailha.adminsrv import conf, layout


def test_the_layout_of_a_server_root():
    admin = layout.AdminServer("/var/opt/mps/serverroot/")
    assert admin.start == "/var/opt/mps/serverroot/start-admin"
    assert admin.stop == "/var/opt/mps/serverroot/stop-admin"
    assert admin.config_dir == "/var/opt/mps/serverroot/admin-serv/config"  # the -d of both processes
    assert admin.binary("uxwdog") == "/var/opt/mps/serverroot/bin/https/bin/uxwdog"
    assert admin.pin_file == "/var/opt/mps/serverroot/admin-serv/config/password.conf"
    with pytest.raises(ValueError, match="not an absolute path"):
        layout.AdminServer("serverroot")


def test_magnus_conf():
    values = conf.parse_magnus("# comment\nServerName a.example\nPort 390\nAddress 192.0.2.5\n"
                               "Security on\nPort 391\n")
    assert conf.port(values) == 390  # the first occurrence counts
    assert conf.address(values) == "192.0.2.5" and conf.secure(values)
    bare = conf.parse_magnus("Port 390\n")
    assert conf.address(bare) is None and not conf.secure(bare)
    assert conf.address(conf.parse_magnus("Port 390\nAddress 0.0.0.0\n")) is None  # every address
    for text in ("", "Port x\n", "Port 70000\n"):
        with pytest.raises(conf.ConfError, match="magnus.conf has Port"):
            conf.port(conf.parse_magnus(text))


@pytest.mark.parametrize("url, expected", [
    ("ldap://ds.example:389/o=NetscapeRoot", ("ds.example", 389)),
    ("ldap://192.0.2.7/o=NetscapeRoot", ("192.0.2.7", 389)),
    ("ldaps://ds.example/o=NetscapeRoot", ("ds.example", 636)),
    ("ldap://[2001:db8::7]:1389/o=NetscapeRoot", ("2001:db8::7", 1389)),
])
def test_the_configuration_directory_of_adm_conf(url, expected):
    assert conf.directory(conf.parse_adm(f"# x\nldapurl: {url}\nport: 390\n")) == expected


@pytest.mark.parametrize("text", ["", "ldapurl: http://ds/\n", "ldapurl: ldap://:389/\n", "ldapurl: ldap://ds:0/\n"])
def test_a_bad_ldapurl_is_named(text):
    with pytest.raises(conf.ConfError, match="ldapurl"):
        conf.directory(conf.parse_adm(text))


def test_the_pin_file_and_admpw():
    assert conf.read_pin(conf.pin_line("s3cret:with colon")) == "s3cret:with colon"
    assert conf.read_pin("other:x\n") is None
    with pytest.raises(conf.ConfError, match="line break"):
        conf.pin_line("two\nlines")
    text = conf.admpw_line("admin", "pw") + conf.admpw_line("other", "pw2")
    assert text.startswith("admin:{SHA}")
    assert conf.admpw_accepts(text, "admin", "pw") and conf.admpw_accepts(text, "other", "pw2")
    assert not conf.admpw_accepts(text, "admin", "pw2") and not conf.admpw_accepts(text, "nobody", "pw")
