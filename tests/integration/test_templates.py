"""The configuration templates of crm-templates/, filled in and applied as an admin would: each
pcs line accepted by pcs against the installed agents' metadata (an unknown or missing parameter
fails), each crm file loaded by crmsh, the result valid for crm_verify, and Pacemaker's own
scheduler (crm_simulate on the file, no cluster needed) placing, recovering and moving the
groups as the templates' comments promise."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import time
from pathlib import Path

import pytest

from mailha import templates

pytestmark = pytest.mark.ocf_root

TEMPLATES = Path(__file__).resolve().parents[2] / "crm-templates"
NODES = ("node1", "node2", "node3")
#: A value for every @@NAME@@ of every template: a placeholder missing here fails the test.
VALUES = {
    "VIP": "192.0.2.31", "CIDR": "24", "DEVICE": "/dev/disk/by-id/scsi-lun-1", "MOUNT": "/msg1",
    "INSTANCE": "msg1", "ADMROOT": "/msg1/serverroot", "ROOT": "/msg1/SUNWmsgsr",
    "VIP_DIR": "192.0.2.33", "VIP_MTA": "192.0.2.34", "VIP_IMAP": "192.0.2.35",
    "DEVICE_DIR": "/dev/disk/by-id/scsi-lun-3", "DEVICE_MTA": "/dev/disk/by-id/scsi-lun-4",
    "DEVICE_IMAP": "/dev/disk/by-id/scsi-lun-5", "MOUNT_DIR": "/dir1", "MOUNT_MTA": "/mta1",
    "MOUNT_IMAP": "/imap1", "ROOT_MTA": "/mta1/SUNWmsgsr", "ROOT_IMAP": "/imap1/SUNWmsgsr",
    "DOMAIN": "dom1", "PO": "po1", "GWIA_IP": "192.0.2.41", "GWIA_DEV": "/dev/disk/by-id/scsi-lun-6",
    "GWIA_MNT": "/gwia", "PO_IP": "192.0.2.42", "PO_DEV": "/dev/disk/by-id/scsi-lun-7", "PO_MNT": "/po",
    "NODE1": NODES[0], "NODE2": NODES[1], "NODE3": NODES[2],
}
#: crm_simulate's arguments bringing every node online.
UP = tuple(arg for node in NODES for arg in ("--node-up", node))
PCS_TEMPLATES = sorted(p.stem for p in TEMPLATES.glob("*.pcs"))
CRM_TEMPLATES = sorted(p.stem for p in TEMPLATES.glob("*.crm"))
STARTED = re.compile(r"^\s*\* (\S+)\s+\(\S+\):\s+Started (\S+)", re.M)


def filled(name: str) -> str:
    text = (TEMPLATES / name).read_text()
    unknown = sorted(set(templates.placeholders(text)) - set(VALUES))
    assert not unknown, f"{name}: no test value for {unknown}"
    return templates.fill(text, VALUES)


class Cib:
    """A CIB in a file, as `pcs -f` and CIB_file edit it: three nodes, no fencing device (the
    templates leave fencing to the site), so stonith-enabled=false for the scheduler."""

    #: (file before, template) -> file after pcs applied it: pcs takes about a second a line,
    #: and many scenarios start from the same file and templates.  Keyed by the whole file, so a
    #: result is reused only where pcs would have had the very same input.
    _by_pcs: "dict[tuple[str, str], str]" = {}

    def __init__(self, path: Path) -> None:
        self.path = path
        # A CIB file has no membership: say it has quorum, as a running cluster would.
        path.write_text(self.run(["cibadmin", "--empty"], file=False).stdout.replace("<cib ", '<cib have-quorum="1" ', 1))
        self.run(["crm_attribute", "--type", "crm_config", "--name", "stonith-enabled", "--update", "false"])
        for number, node in enumerate(NODES, 1):
            self.run(["cibadmin", "--create", "-o", "nodes", "-X", f'<node id="{number}" uname="{node}"/>'])

    def run(self, argv: list[str], file: bool = True, check: bool = True) -> subprocess.CompletedProcess:
        env = dict(os.environ, LC_ALL="C", **({"CIB_file": str(self.path)} if file else {}))
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
        if check:
            assert done.returncode == 0, f"{shlex.join(argv)}: {done.stderr}"
        return done

    def apply_pcs(self, name: str) -> None:
        key = (self.path.read_text(), name)
        if key in Cib._by_pcs:
            self.path.write_text(Cib._by_pcs[key])
            return
        for argv in templates.pcs_commands(filled(f"{name}.pcs")):
            assert argv[0] == "pcs", argv
            done = self.run(["pcs", "-f", str(self.path), *argv[1:]], file=False)
            # pcs cannot check node names against a CIB file: the one warning a file allows.
            warnings = [line for line in done.stderr.splitlines()
                        if "Warning" in line and "node existence in the cluster will be skipped" not in line]
            assert not warnings and "--force" not in done.stderr, (argv, done.stderr)
        Cib._by_pcs[key] = self.path.read_text()

    def apply_crm(self, name: str, tmp: Path) -> None:
        source = tmp / f"{name}.crm"
        source.write_text(filled(f"{name}.crm"))
        done = self.run(["crm", "configure", "load", "update", str(source)])
        assert "ERROR" not in done.stderr, done.stderr

    def verify(self) -> None:
        done = self.run(["crm_verify", "--xml-file", str(self.path), "-V"], file=False, check=False)
        assert done.returncode == 0 and "error" not in done.stderr.lower(), done.stderr

    def primitives(self) -> dict[str, tuple[str, str | None]]:
        """Each primitive's agent and group."""
        from lxml import etree

        root = etree.parse(str(self.path)).getroot()
        return {p.get("id"): (f'{p.get("class")}:{p.get("provider") or ""}:{p.get("type")}',
                              p.getparent().get("id") if p.getparent().tag == "group" else None)
                for p in root.iter("primitive")}

    def resources(self) -> dict[str, dict]:
        """What each resource is, whatever tool wrote it: agent, group, parameters, meta
        attributes, and its operations as {(name, interval s): timeout s, 0 when unset}."""
        from lxml import etree

        def seconds(value: str | None) -> int:
            number, unit = re.fullmatch(r"(\d+)\s*(s|m|min|h)?", value or "0").groups()
            return int(number) * {"m": 60, "min": 60, "h": 3600}.get(unit or "s", 1)

        primitives = self.primitives()
        return {p.get("id"): {
            "agent": primitives[p.get("id")][0],
            "group": primitives[p.get("id")][1],
            "params": {n.get("name"): n.get("value") for n in p.iterfind("instance_attributes/nvpair")},
            "meta": {n.get("name"): n.get("value") for n in p.iterfind("meta_attributes/nvpair")},
            "ops": {(o.get("name"), seconds(o.get("interval"))): seconds(o.get("timeout"))
                    for o in p.iterfind("operations/op")},
        } for p in etree.parse(str(self.path)).getroot().iter("primitive")}

    def simulate(self, *args: str) -> str:
        """One transition of the scheduler, executed as if every action succeeded (except
        those *args* inject); the file then holds the cluster after it."""
        out = self.path.with_suffix(".next")
        done = self.run(["crm_simulate", "--xml-file", str(self.path), "--quorum", "1", "--simulate",
                         "--save-output", str(out), *args], file=False)
        out.replace(self.path)
        return done.stdout

    def settle(self, *args: str, always: tuple[str, ...] = ()) -> dict[str, str]:
        """Transitions until nothing is left to do (bounded): the first with *args*, each with
        *always*; returns where each resource runs."""
        output = self.simulate(*args, *always)
        for _ in range(6):
            if not _summary(output):
                return dict(STARTED.findall(output.split("Revised Cluster Status:")[-1]))
            output = self.simulate(*always)
        pytest.fail(f"the scheduler did not settle:\n{output}")

    def fail(self, op_key: str, node: str) -> tuple[list[str], dict[str, str]]:
        """A failure of *op_key* (e.g. msg-svc_monitor_10000) on *node*: the actions the
        scheduler answers with, and where everything runs once they are done."""
        output = self.simulate("--op-inject", f"{op_key}@{node}=1")
        return _summary(output), self.settle()


def _summary(output: str) -> list[str]:
    """The lines of the transition summary (" * Start msg-ip ( node1 )")."""
    part = output.split("Transition Summary:")[-1].split("Executing Cluster Transition:")[0]
    return [" ".join(line.split()) for line in part.splitlines() if line.strip().startswith("*")]


def running(cib: Cib, names: str) -> Cib:
    for name in names.split():
        cib.apply_pcs(name)
    cib.verify()
    cib.settle(*UP)
    return cib


@pytest.fixture
def cib(tmp_path: Path) -> Cib:
    return Cib(tmp_path / "cib.xml")


def test_every_placeholder_has_a_value_and_every_template_is_tested():
    for path in TEMPLATES.iterdir():
        filled(path.name)
    assert {p.suffix for p in TEMPLATES.iterdir()} == {".pcs", ".crm"}
    assert set(CRM_TEMPLATES) <= set(PCS_TEMPLATES)


@pytest.mark.parametrize("name", PCS_TEMPLATES)
def test_a_pcs_template_is_accepted_and_every_resource_starts_with_its_group(cib, name):
    cib.apply_pcs(name)
    cib.verify()
    where = cib.settle(*UP)
    primitives = cib.primitives()
    assert primitives and set(where) == set(primitives), where
    for group in {g for _, g in primitives.values()}:
        assert group, "every template resource is in a group"
        assert len({where[r] for r, (_, g) in primitives.items() if g == group}) == 1, (group, where)


@pytest.mark.parametrize("name", CRM_TEMPLATES)
def test_a_crm_template_says_what_its_pcs_twin_says(tmp_path, name):
    by_pcs, by_crm = Cib(tmp_path / "pcs.xml"), Cib(tmp_path / "crm.xml")
    by_pcs.apply_pcs(name)
    by_crm.apply_crm(name, tmp_path)
    by_crm.verify()
    pcs_view, crm_view = by_pcs.resources(), by_crm.resources()
    pcs_ops = {rsc: view.pop("ops") for rsc, view in pcs_view.items()}
    crm_ops = {rsc: view.pop("ops") for rsc, view in crm_view.items()}
    assert crm_view == pcs_view
    # pcs also writes the operations and timeouts of the agent's metadata; every operation the
    # crm file names is there, with the same timeout where the crm file sets one.
    for rsc, ops in crm_ops.items():
        for op, timeout in ops.items():
            assert op in pcs_ops[rsc] and timeout in (0, pcs_ops[rsc][op]), (rsc, op, pcs_ops[rsc])
    assert by_crm.settle(*UP) == by_pcs.settle(*UP)
    assert by_crm.settle("--node-down", NODES[0]) == by_pcs.settle("--node-down", NODES[0])


def test_messaging_the_third_failure_of_a_service_moves_the_whole_group(cib):
    """Seed 004's RestartLimit 2: two restarts in place, then the group moves, admin server
    included (it is last in the group, so its critical=false does not hold the rest back)."""
    running(cib, "messaging")
    home = cib.settle()["msg-ip"]
    for _ in range(2):
        actions, where = cib.fail("msg-svc_monitor_10000", home)
        assert any(a.startswith(f"* Recover msg-svc ( {home} )") for a in actions), actions
        assert set(where.values()) == {home}
    actions, where = cib.fail("msg-svc_monitor_10000", home)
    assert len(where) == 7 and len(set(where.values())) == 1 and home not in where.values(), where


def test_messaging_the_admin_servers_failures_never_move_the_group(cib):
    """Seed 004's Critical = 0: after its third failure the admin server stays stopped, the
    mail service stays where it runs."""
    running(cib, "messaging")
    home = cib.settle()["msg-ip"]
    for _ in range(3):
        _, where = cib.fail("msg-admin_monitor_10000", home)
    assert "msg-admin" not in where and set(where.values()) == {home} and len(where) == 6, where


def test_configuration_2_a_directory_failure_restarts_nothing_else(cib):
    running(cib, "messaging-config2")
    home = cib.settle()["dir-ldap"]
    actions, where = cib.fail("dir-ldap_monitor_20000", home)
    assert actions and all(a.split()[2].startswith("dir-") for a in actions), actions
    assert len(where) == 12, where


def test_configuration_2_the_mail_groups_run_without_the_directory(cib):
    """An optional order, no colocation: a directory group that can run nowhere stops alone."""
    running(cib, "messaging-config2")
    for node in NODES:
        cib.run(["crm_resource", "--resource", "mail-dir", "--ban", "--node", node])
    where = cib.settle()
    assert not any(r.startswith("dir-") for r in where), where
    assert {r for r in where if r.startswith(("mta-", "imap-"))} == {
        r for r in cib.primitives() if r.startswith(("mta-", "imap-"))}


def test_configuration_2_a_start_that_met_the_directory_coming_up_is_retried(cib):
    """The MTA's start fails on every node (its directory still coming up): the group stays
    stopped, and once failure-timeout has passed the scheduler starts it again."""
    running(cib, "messaging-config2")
    cib.run(["crm_resource", "--resource", "mail-mta", "--set-parameter", "target-role", "--meta",
             "--parameter-value", "Stopped"])
    cib.settle()
    cib.run(["crm_resource", "--resource", "mail-mta", "--meta", "--delete-parameter", "target-role"])
    # A failed start makes the controller set the fail count to INFINITY (start-failure-is-fatal);
    # crm_simulate's injection adds one per failure: migration-threshold (3) failures per node.
    failing = [arg for node in NODES for arg in ("--op-inject", f"mta-core_start_0@{node}=1")] * 3
    now = time.time()
    where = cib.settle(*failing, always=("--set-datetime", _datetime(now)))
    assert "mta-core" not in where and "imap-core" in where, where
    assert "mta-core" not in cib.settle(always=("--set-datetime", _datetime(now + 300))), "retried too early"
    assert "mta-core" in cib.settle(always=("--set-datetime", _datetime(now + 660)))


def _datetime(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds))


def test_groupwise_each_group_fails_over_along_its_own_list(cib):
    """Seed 000's fan-out: the GWIA group prefers node1 then node2, the post office node2 then
    node3."""
    running(cib, "groupwise")
    where = cib.settle()
    assert (where["gwia"], where["po"]) == ("node1", "node2")
    where = cib.settle("--node-down", "node1")
    assert (where["gwia"], where["po"]) == ("node2", "node2")
    where = cib.settle("--node-down", "node2")
    assert (where["gwia"], where["po"]) == ("node3", "node3")


def test_directory_a_lost_node_moves_the_group(cib):
    running(cib, "directory")
    home = cib.settle()["dir-ldap"]
    where = cib.settle("--node-down", home)
    assert len(set(where.values())) == 1 and home not in where.values() and len(where) == 3, where
