"""What cluster tests need from "a cluster": hosts to run commands on, and ways to break it.

Tests only use this interface and testinfra hosts, so the same modules can run against
VMs over ssh:// once a VM harness implements these methods (power off = virsh destroy,
partition = iptables on the node, ...). LabHarness drives the one-host namespace lab.
"""

from __future__ import annotations

import testinfra

from mailha.lab import cluster, crmmon, faults, gwservices, lifecycle, msgservices, nodecmd, postfix, services
from mailha.lab.layout import Layout
from mailha.lab.preflight import LabError
from mailha.lab.vagrant import client as vclient
from mailha.lab.vagrant import cluster as vcluster
from mailha.lab.vagrant import lifecycle as vlifecycle
from mailha.lab.vagrant import nodes as vnodes
from mailha.lab.vagrant import testinfra_backend  # noqa: F401  (registers mailha-vlab://)
from mailha.lab.vagrant.layout import DIRECTORY_VIP


def _sending(argv: list[str], env: dict | None = None):
    """mailha.lab.smtp_sender started, once it says it is sending (its first line)."""
    import subprocess
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "sending"
    return proc


class _Mail:
    """What both labs do alike from the client (self.client, a testinfra host on the client
    network): hand mail to the client's Postfix on SUBMIT_PORT, read a mailbox by IMAP."""

    SUBMIT_PORT = 25

    def submit_mail(self, count: int, to: str, first: int = 1) -> list[str]:
        """Hand `count` messages to the client's Postfix; their Message-IDs."""
        import json
        out = self.client.run("/usr/bin/python3 -m mailha.lab.mailclient submit --count %s --to %s --first %s "
                              "--port %s", str(count), to, str(first), str(self.SUBMIT_PORT))
        assert out.rc == 0, out.stderr
        return json.loads(out.stdout)

    def imap_inbox(self, ms: msgservices.Messaging) -> list[str] | None:
        """Message-IDs of the test user's INBOX read by IMAP from the client, None if IMAP fails."""
        import json
        out = self.client.run("/usr/bin/python3 -m mailha.lab.mailclient inbox %s --user %s --password-file %s",
                              ms.ip, ms.user, ms.password_file)
        return json.loads(out.stdout) if out.rc == 0 else None

    def msg_pids(self, node: str, ms: msgservices.Messaging, daemon: str) -> list[int]:
        """PIDs (as the node sees them) of one Messaging Server daemon (stored, imapd, watcher, ...)."""
        return self.msgsrv_pids(node, ms.server_root, daemon)

    def msgsrv_pids(self, node: str, server_root: str, daemon: str) -> list[int]:
        """The same for the instance at server_root (Configuration 2's MTA has its own)."""
        raise NotImplementedError


class LabHarness(_Mail):
    def __init__(self, layout: Layout, directory_kind: str | None = None) -> None:
        import mailha.lab.testinfra_backend  # noqa: F401  (registers mailha-lab://)
        self.layout = layout
        self.nodes = layout.node_names()
        self.hosts = {n: testinfra.get_host(f"mailha-lab://{n}") for n in self.nodes}
        self.client = testinfra.get_host("mailha-lab://client")
        self.vip = layout.vip
        self.shared_mountpoint = layout.shared_mountpoint

    # -- observing
    def status(self, node: str | None = None) -> crmmon.ClusterStatus:
        """crm_mon XML from `node`, or from any powered-on node."""
        return cluster.status(self.layout, node)

    def powered_on(self) -> list[str]:
        return cluster.powered_on_nodes(self.layout)

    def node_address(self, node: str) -> str:
        """The node's own address on the network the clients use."""
        return self.layout.node_address(node)

    def agent_log(self, node: str, text: str) -> str:
        """The lines of the node's log holding *text*, where its resource agents' messages go:
        here Pacemaker's own log (a namespace node runs no syslog)."""
        return self.hosts[node].run("grep -hF -- %s /var/log/pacemaker/pacemaker.log", text).stdout

    def wait_for(self, what: str, check, timeout: float = 120):
        return cluster.wait_for(what, check, timeout, interval=0.3)

    # -- the service under test
    def deploy(self, kind: str) -> services.Directory:
        return services.deploy(self.layout, kind)

    def deploy_groupwise(self) -> gwservices.GroupWise:
        return gwservices.deploy(self.layout)

    def agent_pid(self, node: str, binary: str, startup: str) -> int | None:
        """PID (as the node sees it) of the GroupWise agent `binary @startup` on node."""
        return gwservices.agent_pid(nodecmd.runner(self.layout), node, binary, startup)

    def gwia_queue(self, node: str, gw: gwservices.GroupWise) -> list[str]:
        """Message-IDs in the GWIA's receive queue, read on the node that has the partition."""
        return gwservices.received_message_ids(nodecmd.runner(self.layout), node, gw)

    def deploy_messaging(self, config: int = 1) -> msgservices.Messaging:
        """Seed 004's Configuration 1 (one group) or 2 (directory, MTA and IMAP groups)."""
        return (msgservices.deploy if config == 1 else msgservices.deploy_config2)(self.layout)

    def msgsrv_pids(self, node: str, server_root: str, daemon: str) -> list[int]:
        return msgservices.daemon_pids(nodecmd.runner(self.layout), node, server_root, daemon)

    def start_client_mta(self, relay: str) -> None:
        """The client's Postfix, relaying everything to `relay` (running; started if need be)."""
        postfix.start(self.layout, postfix.CLIENT, relay=relay)

    def client_mta_queue(self) -> list[dict]:
        return postfix.queued(self.layout, postfix.CLIENT)

    def client_mta_log(self) -> str:
        return postfix.log(self.layout, postfix.CLIENT)

    def start_smtp_sender(self, host: str, count: int, max_seconds: float):
        """A bounded sending MTA in the client namespace (mailha.lab.smtp_sender), running."""
        import os
        import sys

        from mailha.lab import power
        argv = ["ip", "netns", "exec", self.layout.client_netns, sys.executable, "-m", "mailha.lab.smtp_sender",
                host, "--count", str(count), "--max-seconds", str(max_seconds)]
        env = dict(os.environ, PYTHONPATH=power.package_parent())
        return _sending(argv, env)

    # -- faults
    def kill_server(self, node: str, pidfile: str) -> int:
        return faults.kill_server(self.layout, node, pidfile)

    def power_off(self, node: str) -> None:
        faults.power_off(self.layout, node)

    def power_status(self, node: str) -> str:
        return lifecycle.power_request(self.layout, "status", node)["state"]

    def partition(self, node: str) -> None:
        faults.partition(self.layout, node)

    def heal(self) -> None:
        faults.heal(self.layout)

    def restore(self) -> None:
        faults.restore(self.layout)


class VagrantHarness(_Mail):
    """The same interface on the Vagrant lab's VMs (mailha.lab.vagrant), through testinfra's ssh
    backend (mailha-vlab://, which reports an unreachable node as the namespace lab does).

    The host is the client: it sits on the lab's isolated client network (10.233.0.1), where
    the virtual IPs live.  Power is libvirt's (virsh destroy pulls the plug); a partition is
    iptables on the node's cluster and client interfaces (ssh uses the management network).
    """

    #: Software-emulated VMs on two host cores: every wait of a test gets this many times longer.
    SLOWDOWN = 5
    SUBMIT_PORT = vclient.SUBMIT_PORT

    def __init__(self, vlab) -> None:
        self.vlab = vlab
        self.nodes = vlab.node_names()
        self.hosts = {n: testinfra.get_host(f"mailha-vlab://{n}", ssh_config=vlab.ssh_config) for n in self.nodes}
        self.client = testinfra.get_host("local://")
        self.vip = DIRECTORY_VIP
        self.shared_mountpoint = vcluster.DIRECTORY_MOUNT
        #: The groups the tests deployed: what restore() brings back
        self.groups: set[str] = set()

    @classmethod
    def connect(cls) -> "VagrantHarness":
        vlab = vlifecycle.recorded()
        if vlab is None:
            raise LabError("no Vagrant lab is up: ./run vagrant-tests brings one up, runs these tests "
                           "and tears it down")
        return cls(vlab)

    # -- observing
    def status(self, node: str | None = None) -> crmmon.ClusterStatus:
        return vcluster.status(self.vlab, node)

    def powered_on(self) -> list[str]:
        return vnodes.powered_on(self.vlab)

    def node_address(self, node: str) -> str:
        return self.vlab.address("client", node)

    def agent_log(self, node: str, text: str) -> str:
        """The same from the VM's journal, where a Debian node's resource agents log (syslog)."""
        return self.hosts[node].run("journalctl --no-pager -q -o short | grep -F -- %s", text).stdout

    def wait_for(self, what: str, check, timeout: float = 120):
        return cluster.wait_for(what, check, timeout * self.SLOWDOWN, interval=1)

    # -- the service under test
    def deploy(self, kind: str) -> services.Directory:
        if kind != "389ds":
            raise LabError("the Vagrant lab runs crm-templates/directory.pcs: 389-ds with ocf:mailha:ldap")
        directory = vcluster.deploy_directory(self.vlab, vcluster.write_password(self.vlab.path("dir-admin.pw")))
        self.groups.add(services.GROUP)
        return directory

    def deploy_groupwise(self) -> gwservices.GroupWise:
        gw = vcluster.deploy_groupwise(self.vlab)
        self.groups.update(gwservices.GROUPS)
        return gw

    def agent_pid(self, node: str, binary: str, startup: str) -> int | None:
        return gwservices.agent_pid(self._run, node, binary, startup)

    def gwia_queue(self, node: str, gw: gwservices.GroupWise) -> list[str]:
        return gwservices.received_message_ids(self._run, node, gw)

    def start_smtp_sender(self, host: str, count: int, max_seconds: float):
        """A bounded sending MTA on the host, which is on the client network (mailha.lab.smtp_sender)."""
        import sys
        argv = [sys.executable, "-m", "mailha.lab.smtp_sender", host, "--count", str(count),
                "--max-seconds", str(max_seconds)]
        return _sending(argv)

    def _run(self, node: str, argv: list[str]):
        return vnodes.run(self.vlab, node, argv, timeout=60 * self.SLOWDOWN)

    def deploy_messaging(self, config: int = 1) -> msgservices.Messaging:
        if config != 1:
            raise LabError("the Vagrant lab runs crm-templates/messaging.pcs (seed 004's Configuration 1); "
                           "Configuration 2 runs on the namespace lab")
        ms = vcluster.deploy_messaging(self.vlab, vcluster.write_password(self.vlab.path("dir-admin.pw")))
        self.groups.add(msgservices.GROUP)
        return ms

    def msgsrv_pids(self, node: str, server_root: str, daemon: str) -> list[int]:
        return msgservices.daemon_pids(self._run, node, server_root, daemon)

    def start_client_mta(self, relay: str) -> None:
        """The host's own client Postfix (mailha.lab.vagrant.client), relaying to `relay`."""
        vclient.start_mta(self.vlab, relay)

    def client_mta_queue(self) -> list[dict]:
        return vclient.queued(self.vlab)

    def client_mta_log(self) -> str:
        return vclient.log(self.vlab)

    # -- faults
    def kill_server(self, node: str, pidfile: str) -> int:
        out = self.hosts[node].run('pid=$(cat %s) && kill -9 "$pid" && echo "$pid"', pidfile)
        assert out.rc == 0, out.stderr
        return int(out.stdout.strip())

    def power_off(self, node: str) -> None:
        vnodes.power_off(self.vlab, node)

    def power_status(self, node: str) -> str:
        return vnodes.power_state(self.vlab, node)

    def partition(self, node: str) -> None:
        vcluster.partition(self.vlab, node)

    def heal(self) -> None:
        vcluster.heal(self.vlab)

    def restore(self) -> None:
        vcluster.restore(self.vlab, tuple(sorted(self.groups)))
