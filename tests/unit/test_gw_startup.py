"""GroupWise startup files: grammar, document model, byte-exact editing, atomic write."""

import os
import stat
import subprocess
import sys
import tempfile
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailha.groupwise import gwha, switches
from mailha.groupwise.startup import StartupFile, StartupFileError, normalize_name
from testkit import CAPTURE_TEXT

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import List, Optional, Tuple

TYPICAL_GWIA = (
    ";-------------------------------------------------------------\r\n"
    "; GroupWise Internet Agent startup file\r\n"
    ";-------------------------------------------------------------\r\n"
    "--home /gw/dom1/wpgate/gwia\r\n"
    "\r\n"
    "; Bind exclusively to the secondary IP address\r\n"
    ";--ip 10.0.0.5\r\n"
    "--smtp\r\n"
    "--pop\r\n"
    "# --imap\r\n"
    "--ldap   --ldapport 389    ; the address book\r\n"
    "--httpport 9850\r\n"
    "/httpuser-admin\r\n"
    "/httppassword=\"secret word\"\r\n"
    "--hn gwia.example.com\r\n"
    "--certfile \\\r\n"
    "    /gw/dom1/ssl/gwia.crt\r\n"
    "* star comment\r\n"
    "--keyfile /gw/dom1/ssl/gwia.key"
)


def parse(text: str) -> "StartupFile":
    return StartupFile.parse(text)


def summary(sf: "StartupFile") -> "List[Tuple[str, Optional[str], bool]]":
    return [(s.key, s.value, s.commented) for s in sf.switches]


# -- reading ---------------------------------------------------------------------------------


def test_typical_file_reads_every_switch_in_order() -> None:
    sf = parse(TYPICAL_GWIA)
    assert summary(sf) == [
        ("home", "/gw/dom1/wpgate/gwia", False),
        ("ip", "10.0.0.5", True),
        ("smtp", None, False),
        ("pop", None, False),
        ("imap", None, True),
        ("ldap", None, False),
        ("ldapport", "389", False),
        ("httpport", "9850", False),
        ("httpuser", "admin", False),
        ("httppassword", "secret word", False),
        ("hn", "gwia.example.com", False),
        ("certfile", "/gw/dom1/ssl/gwia.crt", False),
        ("keyfile", "/gw/dom1/ssl/gwia.key", False),
    ]
    assert sf.render() == TYPICAL_GWIA
    assert sf.home == "/gw/dom1/wpgate/gwia"
    assert sf.ip is None  # commented out: the agent listens on all addresses


def test_commented_switch_is_present_but_not_enabled() -> None:
    sf = parse(TYPICAL_GWIA)
    assert sf.has("ip") and not sf.enabled("ip") and sf.get("ip") is None
    assert sf.has("imap") and not sf.enabled("imap")
    assert sf.enabled("smtp") and sf.get("smtp") is None and sf.get("smtp", "x") is None
    assert not sf.has("nosuch") and sf.get("nosuch", "dflt") == "dflt"


def test_names_are_case_insensitive_and_prefix_agnostic() -> None:
    sf = parse("--Home /a\n/IP-10.1.1.1\n")
    assert sf.get("HOME") == "/a" and sf.get("--home") == "/a" and sf.get("/home") == "/a"
    assert sf.ip == "10.1.1.1"
    assert normalize_name("--IPAddr") == "ipaddr"
    with pytest.raises(ValueError):
        normalize_name("--bad name")


def test_later_occurrence_is_the_one_in_effect() -> None:
    sf = parse("--port 1677\n--port 1678\n")
    assert sf.get("port") == "1678" and sf.get_all("port") == ["1677", "1678"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("/home-c:\\grpwise\\dom\n", ("home", "c:\\grpwise\\dom")),
        ("/home=\"c:\\program files\\gw\"\n", ("home", "c:\\program files\\gw")),
        ("--home=/gw/dom\n", ("home", "/gw/dom")),
        ("--home\t/gw/dom\n", ("home", "/gw/dom")),
        ("   --home '/gw/my dom'   \n", ("home", "/gw/my dom")),
        ("--pw ab;c # trailing\n", ("pw", "ab;c")),
        ("--pw ab#c\n", ("pw", "ab#c")),
        ("\ufeff--home /x\r\n\x1a", ("home", "/x")),
        ("--home \\\n/x\n", ("home", "/x")),
    ],
)
def test_value_forms(text: str, expected: "Tuple[str, str]") -> None:
    sf = parse(text)
    assert [(s.key, s.value) for s in sf.switches] == [expected]
    assert sf.render() == text


def test_several_switches_on_one_line_and_trailing_comments() -> None:
    sf = parse("--smtp --pop --imapport 143 ; enables\n/smtp /ldapport-389 # x\n")
    assert [(s.key, s.value) for s in sf.switches] == [
        ("smtp", None), ("pop", None), ("imapport", "143"), ("smtp", None), ("ldapport", "389")
    ]


def test_locations_are_one_based_lines_and_columns() -> None:
    sf = parse("; c\n\n  --ip 1.2.3.4\r\n")
    (ip,) = sf.switches
    assert (ip.line, ip.column) == (3, 3)
    assert sf.render()[ip.start : ip.end] == "--ip 1.2.3.4"


def test_plain_comments_are_not_switches() -> None:
    sf = parse("; --home is required\n# /opt/novell/groupwise/agents/share\n* see the guide\n")
    assert sf.switches == []


@pytest.mark.parametrize(
    "text, line, column, words",
    [
        ("--home /gw/my dom\n", 1, 15, "quote a value"),
        ("; ok\nhome /x\n", 2, 1, "expected a switch"),
        ("--a\n--home \"/gw/dom\n", 2, 8, "unterminated quoted value"),
        ("--ok\r\n--home=\r\n", 2, 7, "missing value after '='"),
        ("/home-\n", 1, 6, "missing value after '-'"),
        ("--x 1\n--y 2 3\n", 2, 7, "unexpected text '3'"),
    ],
)
def test_errors_say_where_and_why(text: str, line: int, column: int, words: str) -> None:
    with pytest.raises(StartupFileError) as info:
        StartupFile.parse(text, source="x.poa")
    err = info.value
    assert (err.line, err.column) == (line, column)
    assert words in str(err) and str(err).startswith(f"x.poa: line {line}, column {column}:")


@pytest.mark.parametrize("line", ["--httppassword my secret\n", "/keypasswd-ab cd\n", '--hapassword "abc\n'])
def test_errors_never_show_a_password(line: str) -> None:
    with pytest.raises(StartupFileError) as info:
        StartupFile.parse("--home /x\n" + line)
    assert "secret" not in str(info.value) and "cd" not in str(info.value) and "abc" not in str(info.value)
    assert "value not shown" in str(info.value) and info.value.line == 2


def test_typed_helpers() -> None:
    sf = parse("--port 1677\n--httpport 99999\n--mtpinport abc\n--imapssl disabled\n--smtpssl required\n")
    assert sf.port("port") == 1677 and sf.port("msgtranport", 7100) == 7100
    with pytest.raises(StartupFileError, match="not a TCP port"):
        sf.port("httpport")
    with pytest.raises(StartupFileError, match="needs a number") as info:
        sf.get_int("mtpinport")
    assert info.value.line == 3
    assert not sf.enabled("imapssl") and sf.enabled("smtpssl")


# -- editing ---------------------------------------------------------------------------------


def test_set_changes_only_that_value() -> None:
    sf = parse(TYPICAL_GWIA)
    sf.set("httpport", "9851")
    assert sf.render() == TYPICAL_GWIA.replace("--httpport 9850", "--httpport 9851")
    sf.set("httppassword", "other")  # stays quoted and NetWare-style
    assert '/httppassword="other"\r\n' in sf.render()
    sf.set("ldapport", "1389")
    assert "--ldap   --ldapport 1389    ; the address book\r\n" in sf.render()


def test_set_absent_switch_goes_after_its_commented_out_line() -> None:
    sf = parse(TYPICAL_GWIA)
    sf.set("ip", "10.0.0.5")
    assert ";--ip 10.0.0.5\r\n--ip 10.0.0.5\r\n--smtp\r\n" in sf.render()
    assert sf.ip == "10.0.0.5" and sf.changed


def test_set_new_switch_appends_with_file_line_ending_and_style() -> None:
    sf = parse("/home-c:\\gw\r\n/smtp")  # no final line ending, NetWare style
    sf.set("ip", "10.0.0.7")
    assert sf.render() == "/home-c:\\gw\r\n/smtp\r\n/ip-10.0.0.7\r\n"
    sf2 = parse("")
    sf2.set("--hn", "a host")
    assert sf2.render() == '--hn "a host"\n'


def test_set_flag_and_value_forms() -> None:
    sf = parse("--smtp\n--ip 1.1.1.1\n")
    sf.set("smtp", "enabled")
    sf.set("ip", None)
    assert sf.render() == "--smtp enabled\n--ip\n"
    with pytest.raises(ValueError):
        sf.set("ip", "a\nb")


def test_an_edit_that_would_change_a_neighbour_is_refused() -> None:
    sf = parse('--smtp "" /pop\n--a --b x /c\n')
    with pytest.raises(ValueError, match="neighbouring switch"):
        sf.set("smtp", None)  # "--smtp /pop" would read /pop as the value of --smtp
    with pytest.raises(ValueError, match="neighbouring switch"):
        sf.remove("b")
    assert sf.render() == '--smtp "" /pop\n--a --b x /c\n' and not sf.changed


def test_remove_whole_line_or_just_the_switch() -> None:
    sf = parse(TYPICAL_GWIA)
    assert sf.remove("certfile") == 1  # continued line: both physical lines go
    assert "certfile" not in sf.render() and "gwia.crt" not in sf.render()
    assert sf.remove("ldapport") == 1  # shares its line: only its own text goes
    assert "--ldap    ; the address book\r\n" in sf.render()
    assert sf.remove("ip") == 0 and ";--ip 10.0.0.5" in sf.render()  # commented ones stay
    expected = TYPICAL_GWIA.replace("--certfile \\\r\n    /gw/dom1/ssl/gwia.crt\r\n", "").replace("   --ldapport 389", "")
    assert sf.render() == expected


# -- property tests --------------------------------------------------------------------------

NAME = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,8}", fullmatch=True)
BARE = st.from_regex(r"[A-Za-z0-9./:@][A-Za-z0-9./:@,;#=_-]{0,12}", fullmatch=True)
QUOTED_TEXT = st.from_regex(r"[A-Za-z0-9 ./;#:-]{0,12}", fullmatch=True)
BLANK = st.sampled_from(["", " ", "\t", "  "])
EOL = st.sampled_from(["\n", "\r\n"])


@st.composite
def a_switch(draw: "st.DrawFn", continuation: bool = True) -> "Tuple[str, Tuple[str, Optional[str]]]":
    name = draw(NAME)
    if draw(st.booleans()):
        style = draw(st.sampled_from(["--", "/"]))
        return f"{style}{name}", (name.lower(), None)
    if draw(st.booleans()):
        value = draw(BARE)
        shown = value
    else:
        value = draw(QUOTED_TEXT)
        shown = f'"{value}"'
    if draw(st.booleans()):
        seps = [" ", "\t", "=", "  "] + ([" \\\n  ", " \\\r\n"] if continuation else [])
        sep = draw(st.sampled_from(seps))
        return f"--{name}{sep}{shown}", (name.lower(), value)
    return f"/{name}{draw(st.sampled_from(['-', '=']))}{shown}", (name.lower(), value)


@st.composite
def a_file(draw: "st.DrawFn") -> "Tuple[str, List[Tuple[str, Optional[str], bool]]]":
    lines, expected = [], []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["blank", "comment", "commented", "switches"]))
        lead = draw(BLANK)
        if kind == "blank":
            body = lead
        elif kind == "comment":
            body = lead + draw(st.sampled_from([";", "#", "*", ";;"])) + draw(st.from_regex(r"( ?[A-Za-z][A-Za-z0-9 ;#*./-]{0,20})?", fullmatch=True))
        else:
            items = draw(st.lists(a_switch(continuation=kind == "switches"), min_size=1, max_size=3))
            texts = [text for text, _ in items]
            for i in reversed(range(len(texts) - 1)):  # "--flag /path" reads as a value: the documented rule
                if texts[i].startswith("--") and items[i][1][1] is None and texts[i + 1].startswith("/"):
                    texts[i] = "/" + texts[i][2:]
            body = lead + " ".join(texts)
            if draw(st.booleans()):
                body += draw(st.sampled_from([" ", "\t"])) + draw(st.sampled_from([";", "#"])) + " note"
            body += draw(BLANK)
            if kind == "commented":
                body = draw(st.sampled_from([";", "#", "; ", "*"])) + body.lstrip()
            expected += [(key, value, kind == "commented") for _, (key, value) in items]
        lines.append(body + draw(EOL))
    if lines and draw(st.booleans()):
        lines[-1] = lines[-1].rstrip("\r\n")
        if lines[-1].endswith("\\"):
            lines[-1] += " "
    return "".join(lines), expected


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(a_file())
def test_round_trip_is_byte_identical_and_reads_what_was_written(doc: "Tuple[str, list]") -> None:
    text, expected = doc
    sf = parse(text)
    assert sf.render() == text
    assert sf.render_bytes() == text.encode()
    assert summary(sf) == expected


@PROPERTY
@given(a_file(), st.data())
def test_set_touches_only_that_switch(doc: "Tuple[str, list]", data: "st.DataObject") -> None:
    text, expected = doc
    names = sorted({key for key, _, commented in expected if not commented})
    if not names:
        return
    name = data.draw(st.sampled_from(names))
    value = data.draw(st.one_of(st.none(), BARE, QUOTED_TEXT))
    sf = parse(text)
    first = sf.find(name)[0].start
    try:
        sf.set(name, value)
    except ValueError:  # refused because a neighbour would read differently: nothing changed
        assert sf.render() == text and not sf.changed
        return
    after = parse(sf.render())
    assert summary(after) == [(k, value if (k == name and not c) else v, c) for k, v, c in expected]
    assert sf.render()[:first] == text[:first]


@PROPERTY
@given(a_file(), st.data())
def test_remove_touches_only_that_switch(doc: "Tuple[str, list]", data: "st.DataObject") -> None:
    text, expected = doc
    names = sorted({key for key, _, commented in expected if not commented})
    if not names:
        return
    name = data.draw(st.sampled_from(names))
    sf = parse(text)
    first = sf.find(name)[0].start
    try:
        removed = sf.remove(name)
    except ValueError:
        assert sf.render() == text and not sf.changed
        return
    assert removed == sum(1 for k, _, c in expected if k == name and not c)
    after = parse(sf.render())
    assert summary(after) == [(k, v, c) for k, v, c in expected if k != name or c]
    line_start = text.rfind("\n", 0, first) + 1
    assert sf.render()[:line_start] == text[:line_start]  # everything before its line is untouched


# -- files -----------------------------------------------------------------------------------


def test_undecodable_bytes_survive_a_round_trip(tmp_path) -> None:
    path = tmp_path / "po.poa"
    raw = b"; caf\xe9 latin-1 comment\r\n--home /po\r\n--port 1677\r\n"
    path.write_bytes(raw)
    sf = StartupFile.load(path)
    assert sf.render_bytes() == raw
    sf.set("port", "1678")
    assert sf.write_with_backup() is not None
    assert path.read_bytes() == raw.replace(b"1677", b"1678")


def test_write_with_backup_keeps_mode_owner_and_a_backup(tmp_path) -> None:
    path = tmp_path / "dom.mta"
    path.write_text("--home /dom\n;--ip 10.0.0.5\n")
    os.chmod(path, 0o640)
    os.chown(path, 1, 1)  # tests run as root: a distinct owner to preserve
    before = os.stat(path)
    sf = StartupFile.load(path)
    sf.set("ip", "10.0.0.5")
    backup = sf.write_with_backup()
    assert backup is not None and backup.startswith(f"{path}.mailha-bak.")
    assert open(backup).read() == "--home /dom\n;--ip 10.0.0.5\n"
    after = os.stat(path)
    assert stat.S_IMODE(after.st_mode) == 0o640 and (after.st_uid, after.st_gid) == (1, 1)
    assert after.st_ino != before.st_ino  # replaced by rename, not rewritten in place
    assert path.read_text(encoding="utf-8") == "--home /dom\n;--ip 10.0.0.5\n--ip 10.0.0.5\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["dom.mta", os.path.basename(backup)])
    assert sf.write_with_backup() is None  # nothing to change: no write, no new backup
    assert len(list(tmp_path.iterdir())) == 2


def test_load_cached_reuses_the_parse_and_sees_edits(tmp_path) -> None:
    path = tmp_path / "gwia.cfg"
    cache = tmp_path / "cache"
    path.write_text("--home /g\n--ip 10.0.0.5\n")
    assert StartupFile.load_cached(path, cache).ip == "10.0.0.5"
    probe = (
        "import sys; from mailha.groupwise.startup import StartupFile as S;"
        f"sf = S.load_cached({str(path)!r}, {str(cache)!r});"
        "print(sf.ip, 'pyparsing' in sys.modules)"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", probe], **CAPTURE_TEXT, env=env, check=True).stdout
    assert out.split() == ["10.0.0.5", "False"]  # a hit neither imports pyparsing nor parses
    path.write_text("--home /g\n--ip 10.0.0.6\n")
    out = subprocess.run([sys.executable, "-c", probe], **CAPTURE_TEXT, env=env, check=True).stdout
    assert out.split() == ["10.0.0.6", "True"]


def test_load_cached_survives_a_corrupt_entry(tmp_path) -> None:
    path = tmp_path / "po.poa"
    path.write_text("--home /po\n")
    cache = tmp_path / "cache"
    StartupFile.load_cached(path, cache)
    (entry,) = cache.iterdir()
    entry.write_text("{not json")
    assert StartupFile.load_cached(path, cache).home == "/po"
    assert entry.read_text(encoding="utf-8") != "{not json"  # rewritten


@PROPERTY
@given(a_file())
def test_load_cached_hit_gives_the_switches_a_parse_gives(doc: "Tuple[str, list]") -> None:
    text, _ = doc
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "po.poa")
        with open(path, "w", newline="") as handle:
            handle.write(text)
        cache = os.path.join(folder, "cache")
        first = StartupFile.load_cached(path, cache)
        with mock.patch.object(StartupFile, "_parse_switches", side_effect=AssertionError("parsed on a hit")):
            hit = StartupFile.load_cached(path, cache)
    assert hit.switches == first.switches == parse(text).switches
    assert hit.render() == text and hit.path == path


@pytest.mark.parametrize(
    "damage",
    [
        lambda entry: entry[:-1],  # torn: no final line ending
        lambda entry: entry.replace(" 10 ", " 99999 ", 1),  # an offset past the end of the file
        lambda entry: entry.replace(" 0\n", " 2\n", 1),  # "commented" neither 0 nor 1
        lambda entry: entry.replace(" - ", " x ", 1),  # not a number
        lambda entry: entry.replace("--ip", "--IP", 1),  # written for another file
        lambda entry: "\n".join(entry.split("\n")[:2] + ["", ""]),  # an empty switch line
    ],
    ids=["torn", "past-end", "commented-2", "not-a-number", "other-path-or-key", "empty-line"],
)
def test_load_cached_reparses_a_damaged_entry(tmp_path, damage) -> None:
    path = tmp_path / "--ip"
    path.write_text("--home /po\n;--debug\n--ip 10.0.0.5 --tls\n")
    cache = tmp_path / "cache"
    expected = StartupFile.load_cached(path, cache).switches
    (entry,) = cache.iterdir()
    intact = entry.read_text(encoding="utf-8")
    damaged = damage(intact)
    assert damaged != intact
    entry.write_text(damaged)
    assert StartupFile.load_cached(path, cache).switches == expected
    assert entry.read_text(encoding="utf-8") == intact  # rewritten


def test_import_and_cache_hit_stay_off_heavy_modules(tmp_path) -> None:
    path = tmp_path / "gwia.cfg"
    path.write_text("--home /g\n--ip 10.0.0.5\n--httpport 9850\n")
    script = (
        "import sys; from mailha.groupwise.startup import StartupFile as S;"
        "heavy = lambda: sorted({'re', 'typing', 'json', 'pyparsing'} & set(sys.modules));"
        f"print(heavy(), S.load_cached({str(path)!r}, {str(tmp_path / 'cache')!r}).port('httpport'), heavy())"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    StartupFile.load_cached(path, tmp_path / "cache")  # the entry the script then hits
    out = subprocess.run([sys.executable, "-c", script], **CAPTURE_TEXT, env=env, check=True).stdout
    assert out.split() == ["[]", "9850", "[]"]


@given(st.text(alphabet="aZ09_.-/é ", max_size=8))
def test_normalize_name_accepts_what_the_grammar_calls_a_name(name: str) -> None:
    import re

    bare = name[2:] if name.startswith("--") else name[1:] if name.startswith(("/", "-")) else name
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.]*(?:-[A-Za-z0-9_.]+)*", bare):
        assert normalize_name(name) == bare.lower()
    else:
        with pytest.raises(ValueError):
            normalize_name(name)


# -- the switch table, gwha.conf and command lines ------------------------------------------


def test_endpoints_follow_enables_ports_and_ip() -> None:
    sf = parse("--home /g\n--smtp\n;--pop\n--imap\n--imapport 1143\n--ip 10.0.0.5\n")
    found = [(e.service.name, e.address, e.port) for e in switches.endpoints(switches.AgentKind.GWIA, sf)]
    assert found == [("smtp", "10.0.0.5", 25), ("imap4", "10.0.0.5", 1143), ("http", "10.0.0.5", 9850)]
    poa = switches.endpoints(switches.AgentKind.POA, parse("--home /po\n"))
    assert [(e.service.name, e.address, e.port) for e in poa] == [("cs", None, 1677), ("mtp", None, 7101), ("http", None, 7181)]
    assert switches.ssl_files(parse("--certfile /c\n;--keyfile /k\n")) == {"certfile": "/c"}


def test_gwha_conf_sections() -> None:
    text = (
        "; comment\n[gwha]\nssl = no\n\n[dom1]\nserver = /opt/novell/groupwise/agents/bin/gwmta\n"
        "command=/etc/init.d/grpwise\nstartup=/gw/dom1/dom1.mta ; the MTA\ndelay = 2\nwait = 30\n\n"
        "[gwia.dom1]\nserver=/opt/novell/groupwise/agents/bin/gwia\nstartup=@/gw/dom1/wpgate/gwia/gwia.cfg\n"
    )
    agents = gwha.parse_gwha_conf(text)
    assert [(a.name, a.kind, a.startup, a.wait) for a in agents] == [
        ("dom1", switches.AgentKind.MTA, "/gw/dom1/dom1.mta", 30.0),
        ("gwia.dom1", switches.AgentKind.GWIA, "/gw/dom1/wpgate/gwia/gwia.cfg", 10.0),
    ]
    assert gwha.parse_gwha_conf(gwha.render_gwha_conf(agents)) == agents
