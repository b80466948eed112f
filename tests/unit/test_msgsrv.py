"""Messaging Server product knowledge (mailha.msgsrv): the services a resource manages and their
rules (seed 004), an instance's layout, and the MTA option files that ha_ip_config edits."""

import pytest

from mailha.msgsrv import cnf, layout, services
from mailha.msgsrv.services import MMP, MSG, ServicesError


def names(chosen) -> list:
    return [(service.name, port) for service, port in chosen]


@pytest.mark.parametrize("text, expected", [
    ("{ core 49994 }", [("core", 49994)]),  # seed 004's core resource
    ("{ http 80 pop 110 imap 143 smtp 25 }", [("http", 80), ("pop", 110), ("imap", 143), ("smtp", 25)]),
    ("{ http = 80 }", [("http", 80)]),  # the other syntax seed 004 shows
    ("imap=143 pop=110", [("imap", 143), ("pop", 110)]),  # a Pacemaker parameter
    ("imap,imaps,pops", [("imap", 143), ("imaps", 993), ("pops", 995)]),  # default ports
    ("IMAP=1143", [("imap", 1143)]),
])
def test_the_forms_of_seed_004_and_of_a_parameter(text, expected):
    assert names(services.parse(text)) == expected


@pytest.mark.parametrize("text, server_type, words", [
    ("core=49994 imap=143", MSG, "must be listed alone"),  # rule 1
    ("core", MSG, "needs the watcher's port"),  # rule 1: with the watcher's port
    ("smtp=25 lmtp=225", MSG, "smtp and lmtp must not be in one resource"),  # rule 4
    ("http=80", MMP, "unknown service 'http' for a MMP server"),  # the MMP's set
    ("imap=143 imap=144", MSG, "listed twice"),
    ("imap=143 pop=143", MSG, "share port 143"),
    ("imap=99999", MSG, "not a TCP port"),
    ("imap=", MSG, "has '=' but no port"),
    ("143", MSG, "not a service name"),
    ("", MSG, "no service listed"),
    ("lmtp", MSG, "needs its port"),
    ("gopher=70", MSG, "unknown service 'gopher'"),
])
def test_a_broken_rule_is_named_with_its_fix(text, server_type, words):
    with pytest.raises(ServicesError) as err:
        services.parse(text, server_type)
    assert words in str(err.value)


def test_processes_and_components_of_a_service_set():
    core = services.parse("core=49994")
    assert services.processes(core) == ["watcher", "stored", "imsched"]
    assert services.components(core) == ["store", "sched"]  # start-msg store launches the watcher
    client = services.parse("imap imaps smtp")
    assert services.processes(client) == ["imapd", "job_controller", "dispatcher", "tcp_smtp_server"]
    assert services.components(client) == ["imap", "job_controller", "dispatcher"]
    # A services resource never names a core process: stopping it must leave the store alone.
    every = services.parse(" ".join(n if services.SERVICES[n].default_port else f"{n}=5{i:03}"
                                    for i, n in enumerate(services.SERVICES) if n not in ("core", "lmtp")))
    assert not set(services.processes(every)) & {"stored", "imsched", "watcher"}
    mmp = services.parse("imap pop", MMP)
    assert services.processes(mmp) == ["AService"] and services.components(mmp) == ["mmp"]


def test_layouts_of_6x_and_of_ims5_instances():
    six = layout.Instance("/opt/SUNWmsgsr/")
    assert six.home == "/opt/SUNWmsgsr" and six.dispatcher_cnf == "/opt/SUNWmsgsr/config/dispatcher.cnf"
    assert six.store_pidfiles() == ("/opt/SUNWmsgsr/data/proc/store", "/opt/SUNWmsgsr/config/pidfile.store")
    assert six.launchers()[0] == ("/opt/SUNWmsgsr/bin/start-msg", "/opt/SUNWmsgsr/bin/stop-msg")
    five = layout.Instance("/usr/iplanet/server5", "mail1")
    assert five.home == "/usr/iplanet/server5/msg-mail1"
    assert five.job_controller_cnf == "/usr/iplanet/server5/msg-mail1/imta/config/job_controller.cnf"
    assert five.launchers()[-1] == ("/usr/iplanet/server5/msg-mail1/lib/msstart",) * 2
    for bad in ("msg-mail1", "a/b", ""):
        with pytest.raises(ValueError):
            layout.Instance("/srv", bad)
    with pytest.raises(ValueError):
        layout.Instance("relative/root")


@pytest.mark.parametrize("text, expected", [
    ("28250 ready\n", (28250, "ready")), ("28250 init", (28250, "init")), ("28250\nready\n", (28250, "ready")),
    ("28250", (28250, None)), ("", (None, None)), ("x ready", (None, "ready")), ("0 ready", (None, "ready")),
    ("123456789 ready", (None, "ready")), ("42 starting", (42, None)),
])
def test_the_store_pid_file(text, expected):
    assert layout.store_state(text) == expected


def test_the_store_counts_as_ready_only_for_the_running_stored(tmp_path):
    """A power-off leaves "<pid> ready" on the shared storage: until the new store has written
    its own, that pid is not the running stored's, and start must go on waiting."""
    import os
    import shutil
    import subprocess

    from mailha.agents.msgsrv import store_not_ready
    from mailha.proc import ProcessMatch, find

    inst = layout.Instance(str(tmp_path))
    os.makedirs(inst.config_dir)
    sleep = os.path.realpath(shutil.which("sleep"))
    stored = subprocess.Popen([sleep, "60"])  # plays the running stored
    try:
        match = find(ProcessMatch(exe_names=(sleep,)), every=True)  # what the lifecycle hands over
        assert "no pid file" in store_not_ready(inst, match)
        pidfile = os.path.join(inst.config_dir, "pidfile.store")
        for text, why in (("%d init" % stored.pid, "recovering"), ("9999999 ready", "not the running stored"),
                          ("%d ready" % stored.pid, None)):
            with open(pidfile, "w") as f:
                f.write(text + "\n")
            reason = store_not_ready(inst, match)
            assert (reason is None) if why is None else (why in reason), (text, reason)
    finally:
        stored.kill()
        stored.wait()


def test_stop_commands_of_both_launchers():
    six = layout.Instance("/opt/SUNWmsgsr")
    start, stop = six.launchers()[1]
    assert layout.stop_command(start, stop, ["imap", "pop"]) == ("/opt/SUNWmsgsr/sbin/stop-msg", "imap", "pop")
    start, stop = six.launchers()[2]
    assert layout.stop_command(start, stop, ["store", "sched", "watcher"]) == (
        "/opt/SUNWmsgsr/lib/msstart", "-k", "store", "sched", "watcher")


DISPATCHER = """\
! dispatcher.cnf as the product writes it
MIN_PROCS=0
[SERVICE=SMTP]
PORT=25
IMAGE=IMTA_BIN:tcp_smtp_server
INTERFACE_ADDRESS=192.0.2.10

[SERVICE=SMTP_SUBMIT]
PORT=587
IMAGE=IMTA_BIN:tcp_smtp_server
[SERVICE=LMTP]
PORT=225
"""
JOB_CONTROLLER = "! job controller\nTCP_PORT=27443\nSECRET=x\n[POOL=DEFAULT]\nJOB_LIMIT=10\n"


def test_option_files_are_read_by_section():
    sections = cnf.parse(DISPATCHER)
    assert sections[0].options == {"MIN_PROCS": "0"}
    assert cnf.section(sections, "service", "smtp").options["INTERFACE_ADDRESS"] == "192.0.2.10"
    assert cnf.job_controller_port(JOB_CONTROLLER) == 27443
    assert cnf.job_controller_port("SECRET=x\n") == cnf.JOB_CONTROLLER_PORT


def test_binding_problems_name_each_file_and_service_unbound():
    problems = cnf.binding_problems(DISPATCHER, JOB_CONTROLLER, "192.0.2.10")
    assert problems == ["dispatcher.cnf [SERVICE=SMTP_SUBMIT] binds all addresses, not 192.0.2.10",
                        "job_controller.cnf binds all addresses, not 192.0.2.10"]
    assert len(cnf.binding_problems(DISPATCHER, JOB_CONTROLLER, "192.0.2.99")) == 3


def test_a_binding_problem_and_its_fix_fit_an_exit_reason_for_any_ipv4_address():
    """Pacemaker keeps 128 bytes of an exit reason: the problem, the address and the fix must
    fit for the longest addresses (a CI run once cut the fix off for 127.88.247.102)."""
    from mailha.msgsrv.binding import FIX
    from mailha.ocf.codes import REASON_MAX

    bound = DISPATCHER.replace("192.0.2.10", "254.254.254.254")
    for problem in cnf.binding_problems(bound, JOB_CONTROLLER, "255.255.255.255"):
        reason = f"{problem}: {FIX}"
        assert len(reason.encode()) <= REASON_MAX, reason


def test_writing_the_binding_keeps_every_other_line():
    text = cnf.with_option(DISPATCHER, "INTERFACE_ADDRESS", "192.0.2.20", "SERVICE", "SMTP")
    text = cnf.with_option(text, "INTERFACE_ADDRESS", "192.0.2.20", "SERVICE", "SMTP_SUBMIT")
    jc = cnf.with_option(JOB_CONTROLLER, "INTERFACE_ADDRESS", "192.0.2.20")
    assert cnf.binding_problems(text, jc, "192.0.2.20") == []
    assert text.replace("INTERFACE_ADDRESS=192.0.2.20\n", "") == DISPATCHER.replace(
        "INTERFACE_ADDRESS=192.0.2.10\n", "")
    assert jc == "! job controller\nTCP_PORT=27443\nSECRET=x\nINTERFACE_ADDRESS=192.0.2.20\n[POOL=DEFAULT]\nJOB_LIMIT=10\n"
    assert cnf.with_option("[POOL=X]\n", "TCP_PORT", "1") == "TCP_PORT=1\n[POOL=X]\n"  # globals come first
    with pytest.raises(ValueError):
        cnf.with_option(DISPATCHER, "INTERFACE_ADDRESS", "x", "SERVICE", "POP")  # no such section
    with pytest.raises(ValueError):
        cnf.with_option(DISPATCHER, "INTERFACE_ADDRESS", "1.2.3.4\nPORT=1", "SERVICE", "SMTP")


def test_binding_an_instance_keeps_the_first_pre_ha_backup_mode_and_owner(tmp_path):
    import os

    from mailha.msgsrv import binding

    instance = layout.Instance(str(tmp_path / "SUNWmsgsr"))
    os.makedirs(instance.config_dir)
    for path, text in ((instance.dispatcher_cnf, DISPATCHER), (instance.job_controller_cnf, JOB_CONTROLLER)):
        with open(path, "w") as handle:
            handle.write(text)
        os.chmod(path, 0o640)
        os.chown(path, 4242, 4343)  # mailsrv:mail on a real node
    assert len(binding.problems(instance, "192.0.2.20")) == 3
    assert binding.write(instance, "192.0.2.20") == [instance.dispatcher_cnf, instance.job_controller_cnf]
    assert binding.problems(instance, "192.0.2.20") == []
    for path, original in ((instance.dispatcher_cnf, DISPATCHER), (instance.job_controller_cnf, JOB_CONTROLLER)):
        st = os.stat(path)
        assert (st.st_mode & 0o777, st.st_uid, st.st_gid) == (0o640, 4242, 4343)
        with open(path + ".pre-ha") as handle:
            assert handle.read() == original
        assert os.stat(path + ".pre-ha").st_uid == 4242
    assert binding.write(instance, "192.0.2.20") == []  # bound already: nothing written
    assert binding.write(instance, "192.0.2.30") == [instance.dispatcher_cnf, instance.job_controller_cnf]
    with open(instance.dispatcher_cnf + ".pre-ha") as handle:
        assert handle.read() == DISPATCHER  # the backup from before the cluster stays
    os.unlink(instance.job_controller_cnf)
    with pytest.raises(OSError) as err:
        binding.problems(instance, "192.0.2.30")
    assert "job_controller.cnf" in str(err.value)


def test_msg_conf_values_defaults_and_a_configutil_write_keeping_other_lines():
    from mailha.msgsrv import msgconf

    text = '! comment\nservice.imap.port = "1143"\nservice.pop.enable = 0\nnot a value line\n'
    values = msgconf.parse(text)
    assert msgconf.port(values, "imap") == 1143 and msgconf.port(values, "http") == 80
    assert not msgconf.enabled(values, "service.pop.enable") and msgconf.enabled(values, "service.imap.enable")
    assert msgconf.port(values, "smtp") is None  # the dispatcher's, not msg.conf's
    written = msgconf.with_value(text, "service.listenaddr", "192.0.2.9")
    assert written == text + 'service.listenaddr = "192.0.2.9"\n'
    again = msgconf.with_value(written, "SERVICE.IMAP.PORT", "143")
    assert again.splitlines()[1] == 'SERVICE.IMAP.PORT = "143"' and again.splitlines()[3] == "not a value line"
    with pytest.raises(ValueError):
        msgconf.with_value(text, "service.listenaddr", 'a"b')


def test_dispatcher_ports_and_the_mmp_binding():
    from mailha.msgsrv import cnf, mmpconf

    dispatcher = "[SERVICE=SMTP]\nPORT=25,587\n[SERVICE=LMTP]\nPORT=x\n"
    assert cnf.service_port(dispatcher, "SMTP") == 25
    assert cnf.service_port(dispatcher, "LMTP") is None and cnf.service_port(dispatcher, "SMTP_SUBMIT") is None
    mmp = "# x\ndefault:BindAddress 192.0.2.7\ndefault:ImapPort 1143\n"
    assert mmpconf.bind_address(mmp) == "192.0.2.7" and mmpconf.bind_address("") is None
    assert mmpconf.port(mmpconf.parse(mmp), "imap") == 1143 and mmpconf.port(mmpconf.parse(mmp), "pop") == 110


def test_each_daemon_has_its_own_start_and_stop_component():
    core = services.parse("core=49994")
    # 6 2005Q4's start-msg has no watcher component: start-msg store launches it on every version.
    assert [services.PROCESSES[n].start for n in services.processes(core)] == ["store", "store", "sched"]
    mta = services.parse("smtp")
    # The dispatcher starts and stops its TCP servers: no component of their own.
    assert services.PROCESSES["tcp_smtp_server"].start is None
    assert services.PROCESSES["tcp_smtp_server"].stop == "dispatcher"
    assert services.components(mta) == ["job_controller", "dispatcher"]
