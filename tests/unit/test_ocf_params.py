"""Parameter types, ``OCF_RESKEY_*`` parsing, error messages and cibsecret."""

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailha.ocf import params as ocfparams
from mailha.ocf.codes import NotInstalled, Misconfigured, Rc
from mailha.ocf.params import (AbsPath, Address, Boolean, Choice, Command, Integer, Name, Param,
                               Port, Seconds, Text, parse_params, unknown_params)

PROPERTY = settings(max_examples=300, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

#: Values an attacker or a slip of the keyboard could put into the CIB.
HOSTILE = [
    "$(id)", "`id`", "; rm -rf /", "a && reboot", "| cat /etc/shadow", "'\"; ../../../etc/passwd",
    "../../../etc/passwd", "a\nb", "line\n", "a\rb", "a\0b", "\0", "100000000000000000000",
    "-1", "-100000000000000000000", "ünïcødé", "日本語", "\u202eevil", "\U0001f4a9", "x" * 100_000,
    "%s%s%n", "{0}", "\\", "*", "~root",
]

#: Every parameter type, with the values it must accept and the canonical value it returns.
VALID = [
    (Text(), "cn=Directory Manager, o=mail & co", "cn=Directory Manager, o=mail & co"),
    (Text(), "$(id) is kept as text", "$(id) is kept as text"),
    (Text(max_length=3), "abc", "abc"),
    (Name(), "slapd-mail_1.example@x+y", "slapd-mail_1.example@x+y"),
    (Name(), "9lives", "9lives"),
    (Integer(0, 1000), "0", 0),
    (Integer(0, 1000), "1000", 1000),
    (Integer(0, 1000), " 17 ", 17),
    (Integer(0, 1000), "+5", 5),
    (Integer(-5, 5), "-5", -5),
    (Integer(), "999999999999999999", 999_999_999_999_999_999),
    (Port(), "1", 1),
    (Port(), "65535", 65535),
    (Port(allow_zero=True), "0", 0),
    (Boolean(), "yes", True), (Boolean(), "TRUE", True), (Boolean(), "on", True), (Boolean(), "1", True),
    (Boolean(), "y", True), (Boolean(), "no", False), (Boolean(), "False", False),
    (Boolean(), "OFF", False), (Boolean(), "0", False), (Boolean(), "n", False),
    (Seconds(), "30", 30.0), (Seconds(), "30s", 30.0), (Seconds(), "500ms", 0.5),
    (Seconds(), "2min", 120.0), (Seconds(), "1h", 3600.0), (Seconds(), "1.5s", 1.5),
    (Seconds(), "0", 0.0), (Seconds(), "86400", 86400.0), (Seconds(1, 10), "10s", 10.0),
    (Choice("389ds", "openldap"), "OpenLDAP", "openldap"),
    (Choice("Fast", "safe"), "fast", "Fast"),
    (AbsPath(), "/srv/mail/dom", "/srv/mail/dom"),
    (AbsPath(), "/srv//mail/./dom/", "/srv/mail/dom"),
    (AbsPath(), "/srv/$(id)", "/srv/$(id)"),  # a legal file name; never given to a shell
    (AbsPath(), "/srv/..hidden", "/srv/..hidden"),
    (Address(), "192.0.2.10", "192.0.2.10"),
    (Address(), " 192.0.2.10 ", "192.0.2.10"),
    (Address(), "2001:DB8:0::10", "2001:db8::10"),
    (Command(), "/srv/check.sh MKT", ("/srv/check.sh", "MKT")),
    (Command(), "/srv/check.sh 'a b' \"$(id)\" ';' '|'", ("/srv/check.sh", "a b", "$(id)", ";", "|")),
]

#: Values each type must refuse.
INVALID = [
    (Text(), "two\nlines"), (Text(), "nul\0byte"), (Text(), "cr\rhere"), (Text(max_length=3), "abcd"),
    (Text(), "x" * 1025), (Text(allowed="abc"), "abd"),
    (Name(), "-dash-first"), (Name(), ".dot-first"), (Name(), "has space"), (Name(), "a/b"),
    (Name(), "$(id)"), (Name(), "ünï"), (Name(), "x" * 129),
    (Integer(0, 1000), "-1"), (Integer(0, 1000), "1001"), (Integer(), "100000000000000000000"),
    (Integer(), "-100000000000000000000"), (Integer(), "1.5"), (Integer(), "1e3"), (Integer(), "0x10"),
    (Integer(), "١٢"), (Integer(), "1_000"), (Integer(), "+"), (Integer(), "-"), (Integer(), "5;id"),
    (Integer(), "1 2"), (Integer(), "5\0"),
    (Port(), "0"), (Port(), "65536"), (Port(allow_zero=True), "-1"), (Port(), "389tcp"),
    (Boolean(), "2"), (Boolean(), "maybe"), (Boolean(), "yes;id"), (Boolean(), "tru"),
    (Seconds(), "-5"), (Seconds(), "1e3"), (Seconds(), "inf"), (Seconds(), "nan"),
    (Seconds(), "5 fortnights"),
    (Seconds(), "86401"), (Seconds(1, 10), "0.5"), (Seconds(), "5..5"), (Seconds(), "1" * 20),
    (Seconds(), "ms"), (Seconds(), "5\0s"),
    (Choice("389ds", "openldap"), "sunds"), (Choice("389ds", "openldap"), "389ds;id"),
    (AbsPath(), "relative/path"), (AbsPath(), "/srv/../etc"), (AbsPath(), "/srv/.."), (AbsPath(), "/a\nb"),
    (AbsPath(), "/a\0b"), (AbsPath(), "/" + "x" * 4096), (AbsPath(), "~root/x"),
    (Address(), "mail.example.com"), (Address(), "192.0.2.300"), (Address(), "192.0.2.10/24"),
    (Address(), "$(id)"), (Address(), "192.0.2.10;id"),
    (Command(), "check.sh"), (Command(), "./check.sh"), (Command(), "/srv/check.sh 'unclosed"),
    (Command(), "/srv/a\n/srv/b"), (Command(), "/srv/a\0"), (Command(), "   "),
]

ALL_TYPES = [Text(), Text(max_length=8, allowed="abc "), Name(), Integer(), Integer(0, 1000),
             Integer(-10, 10), Port(), Port(allow_zero=True), Boolean(), Seconds(), Seconds(1, 60),
             Choice("389ds", "openldap", "sunds"), AbsPath(), Address(), Command()]


def _misconfigured(ptype, raw: str, name: str = "thing", secret: bool = False) -> str:
    with pytest.raises(Misconfigured) as caught:
        parse_params([Param(name, ptype, "A thing", secret=secret)], {"OCF_RESKEY_" + name: raw}, "rsc")
    assert caught.value.rc == Rc.ERR_CONFIGURED == 6
    return caught.value.reason


def _assert_good_message(message: str, name: str, ptype) -> None:
    assert message.startswith(f"parameter '{name}' ")
    assert message.endswith(f": set it to {ptype.expects}")
    assert "\n" not in message and "\r" not in message and "\0" not in message
    assert len(message.encode("utf-8", "backslashreplace")) <= 128  # what Pacemaker keeps


# --- each type ------------------------------------------------------------------------------


@pytest.mark.parametrize("ptype, raw, expected", VALID, ids=lambda v: repr(v)[:40])
def test_valid_values_parse_to_their_canonical_value(ptype, raw, expected):
    assert ptype.parse(raw) == expected
    params = parse_params([Param("thing", ptype, "A thing")], {"OCF_RESKEY_thing": raw}, "rsc")
    assert params.thing == expected
    assert params.given("thing")


@pytest.mark.parametrize("ptype, raw", INVALID, ids=lambda v: repr(v)[:40])
def test_invalid_values_are_misconfigured_with_a_message_naming_the_parameter_and_the_fix(ptype, raw):
    with pytest.raises(ValueError):
        ptype.parse(raw)
    _assert_good_message(_misconfigured(ptype, raw, "some_param"), "some_param", ptype)


@pytest.mark.parametrize("ptype", [Integer(0, 100), Port(), Boolean(), Seconds(), Choice("a", "b"), Address(),
                                   Name()], ids=repr)
@pytest.mark.parametrize("raw", [h for h in HOSTILE if h != "100000000000000000000"] + ["1;id", "80 $(id)"],
                         ids=lambda v: repr(v)[:20])
def test_strict_types_refuse_every_hostile_value(ptype, raw):
    message = _misconfigured(ptype, raw)
    _assert_good_message(message, "thing", ptype)


@pytest.mark.parametrize("ptype", [Text(), AbsPath(), Command()], ids=repr)
@pytest.mark.parametrize("raw", HOSTILE, ids=lambda v: repr(v)[:20])
def test_free_form_types_refuse_or_keep_hostile_values_inert(ptype, raw):
    """Text, paths and commands may legally contain shell characters; what they accept must
    still be one bounded line, and commands are split into words, never given to a shell."""
    try:
        value = ptype.parse(raw)
    except ValueError:
        _assert_good_message(_misconfigured(ptype, raw), "thing", ptype)
        return
    words = value if isinstance(value, tuple) else (value,)
    for word in words:
        assert "\n" not in word and "\r" not in word and "\0" not in word
        assert len(word) <= 4096
    if isinstance(ptype, AbsPath):
        assert value.startswith("/") and "/../" not in value + "/"
    if isinstance(ptype, Command):
        assert value[0].startswith("/")


@pytest.mark.parametrize("raw", ["/" + "x" * 100_000, "/srv/check.sh " + "a" * 200_000],
                         ids=["program", "argument"])
def test_a_huge_command_is_misconfigured(raw):
    _assert_good_message(_misconfigured(Command(), raw, "monitor_program"), "monitor_program", Command())


def test_a_huge_number_is_refused_not_computed():
    message = _misconfigured(Integer(0, 1000), "1" + "0" * 20, "second_level_monitor")
    assert "is not a whole number" in message
    assert "a whole number from 0 to 1000" in message


def test_a_value_is_quoted_and_shortened_in_the_message():
    message = _misconfigured(Integer(), "$(id)" + "9" * 200, "count")
    assert "'$(id)" in message
    assert "9" * 50 not in message
    message = _misconfigured(Integer(), "1\n2", "count")
    assert "'1\\n2'" in message


def test_port_message_mentions_zero_only_when_zero_is_allowed():
    assert "or 0 to turn it off" in _misconfigured(Port(allow_zero=True), "70000")
    assert "0 to turn it off" not in _misconfigured(Port(), "0")


def test_command_keeps_shell_syntax_as_literal_words():
    assert Command().parse("/bin/echo $(id) `id` a;b a|b >x") == (
        "/bin/echo", "$(id)", "`id`", "a;b", "a|b", ">x")


def test_address_refuses_a_host_name_because_failover_must_not_depend_on_dns():
    assert "numeric IP address" in _misconfigured(Address(), "localhost", "listen_address")


@pytest.mark.parametrize("raw", ["fe80::1%eth0\nnsslapd-rootpw: x", "fe80::1%a\0b", "fe80::1%$(id)",
                                 "fe80::1%" + "x" * 5000], ids=lambda v: repr(v)[:24])
def test_address_refuses_hostile_ipv6_scope_ids(raw):
    """A scope id is meaningless for a virtual IP, and its text would reach dse.ldif and slapd -h."""
    _assert_good_message(_misconfigured(Address(), raw, "listen_address"), "listen_address", Address())


@pytest.mark.parametrize("raw", ["01.2.3.4", "127.1", "0x7f.0.0.1", "1.2.3", "1.2.3.4.5", "::1::",
                                 "1.2.3.4:389", "[::1]", "::g"], ids=repr)
def test_address_refuses_ambiguous_and_partial_forms(raw):
    _misconfigured(Address(), raw, "listen_address")


@pytest.mark.parametrize("raw, canonical", [
    ("1.2.3.4 ", "1.2.3.4"), ("\t::1\n", "::1"), ("::FFFF:192.0.2.1", "::ffff:192.0.2.1"),
    ("2001:0db8:0000:0000:0000:0000:0000:0010", "2001:db8::10")], ids=repr)
def test_address_is_canonical(raw, canonical):
    assert Address().parse(raw) == canonical


# --- property tests: every type, random text --------------------------------------------------


def _invariant(ptype, value) -> None:
    """What an accepted value of *ptype* always satisfies."""
    if isinstance(ptype, Integer):
        assert isinstance(value, int) and not isinstance(value, bool)
        assert ptype.minimum is None or value >= ptype.minimum
        assert ptype.maximum is None or value <= ptype.maximum
    elif isinstance(ptype, Boolean):
        assert isinstance(value, bool)
    elif isinstance(ptype, Seconds):
        assert ptype.minimum <= value <= ptype.maximum
    elif isinstance(ptype, Choice):
        assert value in ptype.values
    elif isinstance(ptype, Command):
        assert value and value[0].startswith("/")
        assert all("\n" not in w and "\0" not in w for w in value)
    else:
        assert isinstance(value, str)
        assert "\n" not in value and "\r" not in value and "\0" not in value
        if isinstance(ptype, AbsPath):
            assert value.startswith("/") and "/../" not in value + "/" and len(value) <= 4096
        if isinstance(ptype, Text):
            assert len(value) <= ptype.max_length
        if isinstance(ptype, Name):
            assert value[:1].isalnum()


@PROPERTY
@given(ptype=st.sampled_from(ALL_TYPES),
       raw=st.one_of(st.text(), st.sampled_from(HOSTILE),
                     st.text(alphabet="0123456789+-. \n\0smhinexyzabcd/:%$()'\";|&", max_size=30)))
def test_any_text_either_parses_to_a_sane_value_or_is_a_clear_misconfiguration(ptype, raw):
    try:
        value = ptype.parse(raw)
    except ValueError:
        if raw == "":
            return  # an empty value means "not set": never parsed
        _assert_good_message(_misconfigured(ptype, raw, "any_param"), "any_param", ptype)
        return
    _invariant(ptype, value)


SECRET_REASONS = ("contains a line break or NUL byte", "is longer than 1024 characters",
                  "has a character not allowed here")


@PROPERTY
@given(raw=st.one_of(st.text(min_size=1), st.sampled_from(HOSTILE),
                     st.text(min_size=1025, max_size=1100)))
def test_a_refused_secret_is_never_shown(raw):
    try:
        Text().parse(raw)
    except ValueError:
        message = _misconfigured(Text(), raw, "password", secret=True)
        assert message in {f"parameter 'password' (secret value) {why}: set it to text on one line"
                           for why in SECRET_REASONS}
        return
    assert parse_params([Param("password", Text(), "Password", secret=True)],
                        {"OCF_RESKEY_password": raw}, "rsc").secret_values == (raw,)


# --- parse_params ------------------------------------------------------------------------------


def test_required_parameter_missing_or_empty_names_it_and_what_to_set():
    declared = [Param("instance", Name(), "Instance", required=True)]
    for environ in ({}, {"OCF_RESKEY_instance": ""}):
        with pytest.raises(Misconfigured) as caught:
            parse_params(declared, environ, "rsc")
        assert caught.value.reason == (
            "parameter 'instance' is required: set it to letters, digits and . _ - @ +, a letter or digit first")


def test_defaults_apply_and_are_typed_but_do_not_count_as_given():
    declared = [Param("port", Port(), "Port", default="389"), Param("root", AbsPath(), "Root"),
                Param("wait", Seconds(), "Wait", default="2min")]
    params = parse_params(declared, {"OCF_RESKEY_root": ""}, "rsc")
    assert params.port == 389 and params.wait == 120.0 and params.root is None
    assert not params.given("port") and not params.given("root")
    assert params.as_dict() == {"port": 389, "root": None, "wait": 120.0}
    with pytest.raises(AttributeError):
        params.undeclared  # noqa: B018


def test_first_bad_parameter_is_the_one_reported():
    declared = [Param("a", Port(), "A"), Param("b", Port(), "B")]
    with pytest.raises(Misconfigured, match="parameter 'a'"):
        parse_params(declared, {"OCF_RESKEY_a": "x", "OCF_RESKEY_b": "y"}, "rsc")


def test_secret_values_are_collected_for_redaction_including_defaults():
    declared = [Param("password", Text(), "Password", secret=True),
                Param("other", Text(), "Other", secret=True, default="dflt-secret"),
                Param("user", Text(), "User")]
    params = parse_params(declared, {"OCF_RESKEY_password": "hunter2", "OCF_RESKEY_user": "bob"}, "rsc")
    assert set(params.secret_values) == {"hunter2", "dflt-secret"}
    assert params.password == "hunter2"


def test_a_secret_copied_into_another_parameter_is_not_shown_in_its_error():
    declared = [Param("bind_dn", Text(max_length=20), "Bind DN"),
                Param("password", Text(), "Password", secret=True)]
    environ = {"OCF_RESKEY_bind_dn": "cn=admin Pa55w0rd-x9 oops too long",
               "OCF_RESKEY_password": "Pa55w0rd-x9"}
    with pytest.raises(Misconfigured) as caught:
        parse_params(declared, environ, "rsc")
    assert "bind_dn" in caught.value.reason
    assert "Pa55w0rd-x9" not in caught.value.reason


def test_unknown_params_are_listed_but_pacemaker_meta_attributes_are_not():
    declared = [Param("port", Port(), "Port")]
    environ = {"OCF_RESKEY_port": "1", "OCF_RESKEY_prot": "2", "OCF_RESKEY_CRM_meta_timeout": "2000",
               "OCF_RESKEY_crm_feature_set": "3.17", "OCF_RESKEY_Zeta": "x", "PORT": "1"}
    assert unknown_params(declared, environ) == ["Zeta", "prot"]


# --- tolerant parsing (stop) -----------------------------------------------------------------

TOLERANT_DECL = [Param("instance", Name(), "Instance", required=True), Param("port", Port(), "Port", default="389"),
                 Param("root", AbsPath(), "Root"), Param("password", Text(), "Password", secret=True, default="dflt-pw"),
                 Param("wait", Seconds(), "Wait", default="2min")]


def test_tolerant_parse_takes_what_it_cannot_use_as_not_set(secrets_dir):
    params = parse_params(TOLERANT_DECL, {"OCF_RESKEY_port": "389tcp", "OCF_RESKEY_root": "relative",
                                          "OCF_RESKEY_password": "lrm://", "OCF_RESKEY_wait": "5s"},
                          "rsc", tolerant=True)
    assert (params.instance, params.port, params.root, params.password, params.wait) == (None, 389, None,
                                                                                        "dflt-pw", 5.0)
    assert params.unusable == frozenset({"instance", "port", "root", "password"})
    assert [n for n in ("instance", "port", "root", "password", "wait") if params.given(n)] == ["wait"]
    assert params.problems == {
        "instance": "parameter 'instance' is required: set it to letters, digits and . _ - @ +, a letter or digit "
                    "first (ignored: taken as not set)",
        "port": "parameter 'port' '389tcp' is not a whole number: set it to a TCP port from 1 to 65535 (ignored: "
                "the default '389' applies)",
        "root": "parameter 'root' 'relative' is not an absolute path: set it to an absolute path such as "
                "/srv/mail/dom (ignored: taken as not set)",
        "password": "parameter 'password' is kept by cibsecret but is missing on this node: run 'cibsecret sync' "
                    "(ignored: its default applies)",  # a secret default is never shown
    }
    assert list(params.problems) == ["instance", "port", "root", "password"]  # in declaration order


def test_tolerant_parse_of_good_values_is_the_strict_parse(secrets_dir):
    _store(secrets_dir, "rsc", "password", "from-file")
    environ = {"OCF_RESKEY_instance": "inst1", "OCF_RESKEY_port": "636", "OCF_RESKEY_password": "lrm://"}
    strict, tolerant = (parse_params(TOLERANT_DECL, environ, "rsc", tolerant=t) for t in (False, True))
    assert tolerant.as_dict() == strict.as_dict() and tolerant.secret_values == strict.secret_values
    assert tolerant.unusable == strict.unusable == frozenset() and tolerant.problems == {}


def test_a_required_cibsecret_that_cannot_be_read_is_one_problem(secrets_dir):
    declared = [Param("password", Text(), "Password", secret=True, required=True)]
    params = parse_params(declared, {"OCF_RESKEY_password": "lrm://"}, "rsc", tolerant=True)
    assert params.unusable == frozenset({"password"}) and len(params.problems) == 1
    assert "cibsecret sync" in params.problems["password"]


@PROPERTY
@given(raws=st.lists(st.one_of(st.text(), st.sampled_from(HOSTILE), st.just("lrm://")), min_size=len(ALL_TYPES),
                     max_size=len(ALL_TYPES)))
def test_tolerant_parse_never_raises_and_drops_exactly_what_strict_parse_refuses(raws):
    declared = [Param(f"p{i}", ptype, "P") for i, ptype in enumerate(ALL_TYPES)]
    environ = {f"OCF_RESKEY_p{i}": raw for i, raw in enumerate(raws)}
    params = parse_params(declared, environ, "rsc-no-such-secrets", tolerant=True)
    refused = set()
    for param, raw in zip(declared, raws):
        try:
            parse_params([param], {f"OCF_RESKEY_{param.name}": raw}, "rsc-no-such-secrets")
        except (Misconfigured, NotInstalled):
            refused.add(param.name)
    assert params.unusable == refused
    for name in refused:
        assert getattr(params, name) is None and not params.given(name)
        assert params.problems[name].startswith(f"parameter '{name}' ")


# --- messages fit in an exit reason -------------------------------------------------------------

TYPICAL_MISTAKES = ["abc", "70000", "-1", "1.5", "389/tcp", "x y", "relative/dir", "/a/../b", "mail.example.com",
                    "slapd mail", "-x", "maybe", "5 fortnights", "sunone", "a\nb", "x" * 300, "check.sh MKT",
                    "/srv/check.sh 'unclosed", "ünïcødé", "日本語", ""]


@pytest.mark.parametrize("agent_name", ["ldap", "gwia", "gwpoa"])
def test_every_parameter_error_of_the_real_agents_fits_in_an_exit_reason(agent_name):
    """Pacemaker keeps 128 bytes of an exit reason: the parameter and the fix must be in them."""
    import importlib

    agent = importlib.import_module(f"mailha.agents.{agent_name}").AGENT
    for param in agent.params:
        for raw in TYPICAL_MISTAKES:
            try:
                parse_params([param], {f"OCF_RESKEY_{param.name}": raw}, "rsc")
            except Misconfigured as err:
                _assert_good_message(err.reason, param.name, param.type)
                if err.detail:  # the value did not fit: it goes to the log
                    assert err.detail.startswith("the value was ") and not param.secret


def test_a_value_too_long_to_show_with_the_fix_goes_to_the_detail():
    with pytest.raises(Misconfigured) as caught:
        parse_params([Param("listen_address", Address(), "VIP")], {"OCF_RESKEY_listen_address": "ldap.example.com"},
                     "rsc")
    assert caught.value.reason == ("parameter 'listen_address' is not a numeric IP address: set it to a numeric "
                                   "IP address such as 192.0.2.10 or 2001:db8::10")
    assert caught.value.detail == "the value was 'ldap.example.com'"


# --- cibsecret -------------------------------------------------------------------------------


@pytest.fixture
def secrets_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(ocfparams, "SECRETS_DIR", str(tmp_path))
    return tmp_path


def _store(secrets_dir, instance: str, name: str, value: str) -> None:
    (secrets_dir / instance).mkdir(exist_ok=True)
    (secrets_dir / instance / name).write_text(value)


SECRET_DECL = [Param("password", Text(), "Password", secret=True), Param("port", Port(), "Port")]


def test_cibsecret_reference_is_read_from_the_secrets_dir(secrets_dir):
    _store(secrets_dir, "rsc", "password", "s3cr3t from file\n")
    params = parse_params(SECRET_DECL, {"OCF_RESKEY_password": "lrm://"}, "rsc")
    assert params.password == "s3cr3t from file"
    assert params.secret_values == ("s3cr3t from file",)
    assert params.given("password")


def test_cibsecret_clone_instance_reads_its_parents_secret(secrets_dir):
    _store(secrets_dir, "rsc", "password", "shared")
    assert parse_params(SECRET_DECL, {"OCF_RESKEY_password": "lrm://"}, "rsc:1").password == "shared"


def test_cibsecret_works_for_any_parameter_and_is_typed(secrets_dir):
    _store(secrets_dir, "rsc", "port", "636")
    assert parse_params(SECRET_DECL, {"OCF_RESKEY_port": "lrm://"}, "rsc").port == 636
    _store(secrets_dir, "rsc", "port", "not-a-port")
    with pytest.raises(Misconfigured, match="parameter 'port'"):
        parse_params(SECRET_DECL, {"OCF_RESKEY_port": "lrm://"}, "rsc")


def test_cibsecret_missing_file_says_to_sync(secrets_dir):
    # Missing on this node only (not yet synced): rc 5 here, and a probe reports "not running".
    with pytest.raises(NotInstalled) as caught:
        parse_params(SECRET_DECL, {"OCF_RESKEY_password": "lrm://"}, "rsc:2")
    reason = caught.value.reason
    assert reason == "parameter 'password' is kept by cibsecret but is missing on this node: run 'cibsecret sync'"
    # The file and the other fix go to the log: with them the reason would not fit in 128 bytes.
    assert caught.value.detail == (f"{os.path.join(str(secrets_dir), 'rsc', 'password')} is missing or "
                                   "unreadable; 'cibsecret set rsc password VALUE' stores it again")


def test_a_probe_needs_no_cibsecret_but_an_identifying_parameter_is_still_required(secrets_dir):
    # A probe never logs in: a password this node cannot load must not make it say "not running"
    # about a running instance.  A parameter that identifies the instance is not guessed at.
    declared = SECRET_DECL + [Param("home", AbsPath(), "Home", unique=True)]
    env = {"OCF_RESKEY_password": "lrm://", "OCF_RESKEY_port": "1389", "OCF_RESKEY_home": "/srv/a"}
    params = parse_params(declared, env, "rsc", secrets_optional=True)
    assert params.password is None and params.port == 1389 and params.unusable == {"password"}
    with pytest.raises(NotInstalled):
        parse_params(declared, dict(env, OCF_RESKEY_home="lrm://"), "rsc", secrets_optional=True)
    with pytest.raises(Misconfigured):  # only cibsecret references are optional, not junk
        parse_params(declared, dict(env, OCF_RESKEY_port="x"), "rsc", secrets_optional=True)
    # One of a unique group identifies too (msgsrv's instance: without it, another instance).
    grouped = SECRET_DECL + [Param("instance", Text(), "Instance", unique_group="instance")]
    with pytest.raises(NotInstalled):
        parse_params(grouped, dict(env, OCF_RESKEY_instance="lrm://"), "rsc", secrets_optional=True)


def test_cibsecret_with_a_bad_value_does_not_show_it(secrets_dir):
    _store(secrets_dir, "rsc", "password", "first line\nsecond-line-secret")
    with pytest.raises(Misconfigured) as caught:
        parse_params(SECRET_DECL, {"OCF_RESKEY_password": "lrm://"}, "rsc")
    assert "(secret value)" in caught.value.reason
    assert "second-line-secret" not in caught.value.reason and "first line" not in caught.value.reason


def test_cibsecret_unreadable_file_is_a_local_error_not_a_crash(secrets_dir):
    (secrets_dir / "rsc").mkdir()
    (secrets_dir / "rsc" / "password").mkdir()  # a directory where the file should be
    with pytest.raises(NotInstalled, match="cibsecret sync"):
        parse_params(SECRET_DECL, {"OCF_RESKEY_password": "lrm://"}, "rsc")
    (secrets_dir / "rsc" / "password").rmdir()
    (secrets_dir / "rsc" / "password").write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(NotInstalled, match="cibsecret sync"):
        parse_params(SECRET_DECL, {"OCF_RESKEY_password": "lrm://"}, "rsc")


# --- declarations ----------------------------------------------------------------------------


def test_declaration_errors_catch_mistakes_in_a_parameter():
    assert Param("good_name", Port(), "Port", default="389").declaration_errors() == []
    assert Param("BadName", Text(), "x").declaration_errors() == ["'BadName': name must be lower_snake_case"]
    assert Param("x", Port(), "x", default="1", required=True).declaration_errors() == [
        "x: required parameters have no default"]
    assert Param("x", Port(), "x", default="99999").declaration_errors() == [
        "x: default '99999' is above 65535"]
    assert Param("x", Port(), "").declaration_errors() == ["x: shortdesc is empty"]
