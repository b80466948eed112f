"""The Debian packages as an admin gets them: built from this tree, linted, installed into a clean
Debian root, and the agents run there the way Pacemaker and its tools run them."""

from __future__ import annotations

import ast
import os
import shlex
import subprocess
import sys

import pytest
from pkgtools import AGENT_DIR, AGENTS, LIB, is_lab_path, lab_modules, tree_modules, version

SITE = "/usr/lib/python3/dist-packages/"
#: Tools a maintainer script must never run during an install or upgrade on a cluster node.
FORBIDDEN_IN_SCRIPTS = ("systemctl", "invoke-rc.d", "deb-systemd-invoke", "service ", "crm ", "crm_",
                        "cibadmin", "pcs ", "pacemaker", "corosync", "kill")
#: Parameters with which each agent's validate-all gets past the configuration checks and finds
#: its product missing from this node (the clean root has none).
VALID_PARAMS = {
    "ldap": {"server_type": "openldap", "config_dir": "/etc/ldap/slapd.d"},
    "gwia": {"domain_dir": "/srv/gw/dom"},
    "gwpoa": {"post_office_dir": "/srv/gw/po1"},
    "msgsrv": {"server_root": "/srv/msg/SUNWmsgsr", "services": "core=49994"},
    "adminsrv": {"server_root": "/srv/msg/serverroot"},
}
OCF_ENV = {"OCF_ROOT": "/usr/lib/ocf", "OCF_RESOURCE_INSTANCE": "pkgtest", "HA_RSCTMP": "/run/resource-agents"}


def contents(deb: str) -> dict[str, str]:
    """Path -> ls-style mode string of everything in *deb*."""
    listing = subprocess.run(["dpkg-deb", "--contents", deb], capture_output=True, text=True,
                             check=True).stdout
    entries = {}
    for line in listing.splitlines():
        fields = line.split(None, 5)
        path = fields[5].split(" -> ")[0]
        entries[path[1:].rstrip("/") or "/"] = fields[0]
    return entries


def field(deb: str, name: str) -> str:
    return subprocess.run(["dpkg-deb", "--field", deb, name], capture_output=True, text=True,
                          check=True).stdout.strip()


def relations(text: str) -> dict[str, str]:
    """``Depends`` text -> package name -> its version restriction ("" for none)."""
    out = {}
    for item in text.split(","):
        name, _, restriction = item.strip().partition(" ")
        out[name] = restriction.strip()
    return out


def python_files(entries: dict[str, str]) -> set[str]:
    return {p[len(SITE):] for p in entries if p.startswith(SITE + "mailha/") and p.endswith(".py")}


def test_lintian_reports_no_error(debs):
    done = subprocess.run(["lintian", "--fail-on", "error", debs["changes"]], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not [line for line in done.stdout.splitlines() if line.startswith("E:")], done.stdout


def test_mailha_has_the_agents_the_runtime_library_and_the_pages(debs):
    entries = contents(debs["mailha"])
    runtime, _ = tree_modules()
    for name in AGENTS:
        assert entries.get(f"{AGENT_DIR}/{name}") == "-rwxr-xr-x", f"agent {name} missing or not 0755"
    assert {p for p in entries if p.startswith(AGENT_DIR + "/")} == {f"{AGENT_DIR}/{n}" for n in AGENTS}
    assert python_files(entries) == runtime
    assert entries.get("/usr/bin/mailha") == "-rwxr-xr-x"
    pages = {p for p in entries if p.startswith("/usr/share/man/") and not entries[p].startswith("d")}
    assert pages == {f"/usr/share/man/man7/ocf_mailha_{n}.7.gz" for n in AGENTS} | {"/usr/share/man/man8/mailha.8.gz"}
    for name in AGENTS:  # the guides the man pages point to
        assert f"/usr/share/doc/mailha/agents/{name}.md.gz" in entries
    assert any(p.startswith("/usr/share/doc/mailha/examples/") for p in entries)


def test_mailha_lab_has_the_tools_and_nothing_at_a_product_path(debs):
    entries = contents(debs["mailha-lab"])
    _, lab = tree_modules()
    assert lab and python_files(entries) == lab
    files = [p for p, mode in entries.items() if not mode.startswith("d")]
    outside = [p for p in files if not (p.startswith(SITE + "mailha/") and is_lab_path(p[len(SITE):]))
               and not p.startswith("/usr/share/doc/mailha-lab/")]
    assert outside == [], "mailha-lab installs outside its modules and docs (an emulator at a product path?)"


def test_the_library_split_covers_every_module_once(debs):
    runtime, lab = tree_modules()
    in_mailha = python_files(contents(debs["mailha"]))
    in_lab = python_files(contents(debs["mailha-lab"]))
    assert in_mailha.isdisjoint(in_lab)
    assert in_mailha | in_lab == runtime | lab
    assert not any(is_lab_path(p) for p in in_mailha), f"mailha carries {lab_modules()} modules"


def _third_party_imports(relpaths: set[str]) -> set[str]:
    names = set()
    for rel in relpaths:
        with open(os.path.join(os.path.dirname(LIB), rel), encoding="utf-8") as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n != "mailha"}


def test_mailha_depends_on_everything_the_runtime_library_imports(debs):
    runtime, _ = tree_modules()
    imported = _third_party_imports(runtime)
    assert imported, "no third-party import found: the scan is broken"
    depends = relations(field(debs["mailha"], "Depends"))
    assert {f"python3-{name}" for name in imported} <= set(depends), depends
    assert {"python3-psutil", "python3-lxml", "python3-pyparsing"} <= set(depends)


def test_mailha_lab_depends_on_exactly_this_mailha(debs):
    assert relations(field(debs["mailha-lab"], "Depends"))["mailha"] == f"(= {version()})"
    assert "mailha-lab" not in field(debs["mailha"], "Depends")


@pytest.mark.parametrize("package", ["mailha", "mailha-lab"])
def test_maintainer_scripts_restart_nothing_and_leave_the_cib_alone(debs, package, tmp_path):
    subprocess.run(["dpkg-deb", "--control", debs[package], str(tmp_path)], check=True)
    scripts = {n for n in os.listdir(tmp_path) if n in ("preinst", "postinst", "prerm", "postrm", "config")}
    assert scripts <= {"postinst", "prerm"}, scripts
    for name in scripts:  # only dh_python3's byte-compiling and its cleanup
        text = (tmp_path / name).read_text()
        code = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        assert any("py3compile" in line or "py3clean" in line for line in code), text
        assert not [w for w in FORBIDDEN_IN_SCRIPTS for line in code if w in line], text


# -- installed into a clean Debian root ------------------------------------------------------


@pytest.mark.parametrize("name", AGENTS)
def test_meta_data_of_the_installed_agent(production_root, name):
    done = production_root.run([f"{AGENT_DIR}/{name}", "meta-data"], env=OCF_ENV)
    assert done.returncode == 0, done.stderr
    assert f'<resource-agent name="{name}"' in done.stdout


@pytest.mark.parametrize("name", AGENTS)
def test_validate_all_without_parameters_names_the_missing_one(production_root, name):
    done = production_root.run([f"{AGENT_DIR}/{name}", "validate-all"], env=OCF_ENV)
    assert "Traceback" not in done.stderr
    assert done.returncode == 6, done.stderr  # OCF_ERR_CONFIGURED: wrong on every node
    assert "ocf-exit-reason:" in done.stderr


@pytest.mark.parametrize("name", AGENTS)
def test_validate_all_finds_the_product_missing_from_this_node(production_root, name):
    env = dict(OCF_ENV, **{f"OCF_RESKEY_{k}": v for k, v in VALID_PARAMS[name].items()})
    done = production_root.run([f"{AGENT_DIR}/{name}", "validate-all"], env=env)
    assert "Traceback" not in done.stderr
    assert done.returncode == 5, done.stderr  # OCF_ERR_INSTALLED: this node lacks the product
    reason = [line for line in done.stderr.splitlines() if line.startswith("ocf-exit-reason:")]
    assert reason and "install" in reason[-1], done.stderr


@pytest.mark.parametrize("name", AGENTS)
def test_a_probe_on_a_node_without_the_product_says_not_running(production_root, name):
    env = dict(OCF_ENV, OCF_RESKEY_CRM_meta_interval="0",
               **{f"OCF_RESKEY_{k}": v for k, v in VALID_PARAMS[name].items()})
    done = production_root.run([f"{AGENT_DIR}/{name}", "monitor"], env=env)
    assert done.returncode == 7, done.stderr


@pytest.mark.parametrize("name", AGENTS)
def test_pcs_describes_the_installed_agent(production_root, name):
    done = production_root.run(["pcs", "resource", "describe", f"ocf:mailha:{name}"])
    assert done.returncode == 0, done.stderr
    assert "Error" not in done.stderr and "--force" not in done.stderr
    assert done.stdout.startswith(f"ocf:mailha:{name} - ")
    assert "Resource options:" in done.stdout


def test_man_ocf_mailha_ldap(production_root):
    done = production_root.run(["man", "--warnings", "ocf_mailha_ldap"])
    assert done.returncode == 0 and done.stderr == "", done.stderr
    for heading in ("NAME", "SYNOPSIS", "DESCRIPTION", "SUPPORTED PARAMETERS", "SUPPORTED ACTIONS",
                    "EXAMPLE CRM SHELL", "EXAMPLE PCS"):
        assert f"\n{heading}\n" in done.stdout
    assert "ocf_mailha_ldap - " in done.stdout and "server_type" in done.stdout


@pytest.mark.parametrize("name", AGENTS)
def test_the_pcs_example_of_the_man_page_creates_the_resource(production_root, name):
    page = production_root.run(["man", f"ocf_mailha_{name}"]).stdout
    example = page.split("\nEXAMPLE PCS\n")[1].split("\nSEE ALSO\n")[0]
    command = shlex.split(example[example.index("pcs resource create"):].replace("\\\n", " "))
    cib = f"/tmp/{name}-cib.xml"
    assert production_root.run(["sh", "-c", f"cibadmin --empty > {cib}"]).returncode == 0
    done = production_root.run(command[:1] + ["-f", cib] + command[1:])
    assert done.returncode == 0, f"{command}: {done.stderr}"
    shown = production_root.run(["pcs", "-f", cib, "resource", "config", f"p_{name}"])
    assert f"(class=ocf provider=mailha type={name})" in shown.stdout, shown.stdout + shown.stderr


def test_man_mailha(production_root):
    done = production_root.run(["man", "--warnings", "8", "mailha"])
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert "mailha-lab" in done.stdout


def test_the_command_without_mailha_lab_says_what_to_install(production_root):
    helped = production_root.run(["mailha", "--help"])
    assert helped.returncode == 0
    assert "mailha-lab" in helped.stdout and "not installed" in helped.stdout
    for command in ("lab", "sim", "demo"):
        done = production_root.run(["mailha", command, "--help"])
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr and "needs the mailha-lab package" in done.stderr
    assert production_root.run(["mailha", "version"]).stdout.strip() == f"mailha {version()}"


def test_no_module_of_the_lab_is_installed_without_mailha_lab(production_root):
    done = production_root.run(["python3", "-c", "import importlib.util as u; "
                                "print([m for m in %r if u.find_spec(m)])" % (lab_modules(),)])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_reinstalling_replaces_each_agent_file_by_a_rename(production_root, debs):
    # dpkg unpacks a new file beside the old one and renames it into place: an agent started
    # meanwhile runs the old file or the new one, never a half-written one.  A new inode shows it.
    stat = ["stat", "-c", "%n %i"] + [f"{AGENT_DIR}/{n}" for n in AGENTS]
    before = production_root.run(stat).stdout.split("\n")
    path = production_root.put("/tmp/debs/again/" + os.path.basename(debs["mailha"]), debs["mailha"])
    done = production_root.run(["dpkg", "-i", path])
    assert done.returncode == 0, done.stderr
    after = production_root.run(stat).stdout.split("\n")
    assert len(before) == len(after) == len(AGENTS) + 1
    assert all(b != a for b, a in zip(before[:-1], after[:-1])), (before, after)


def test_mailha_lab_adds_the_tools_and_takes_them_away_again(fresh_root, debs):
    done = fresh_root.install([debs["mailha"], debs["mailha-lab"]])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    helped = fresh_root.run(["mailha", "--help"])
    assert helped.returncode == 0 and "not installed" not in helped.stdout
    for command in ("lab", "sim"):
        done = fresh_root.run(["mailha", command, "--help"])
        assert done.returncode == 0, done.stderr
    imported = fresh_root.run(["python3", "-c", "import " + ", ".join(lab_modules())])
    assert imported.returncode == 0, imported.stderr

    removed = fresh_root.run(["apt-get", "remove", "-y", "-q", "mailha-lab"])
    assert removed.returncode == 0, removed.stderr
    assert fresh_root.run([f"{AGENT_DIR}/ldap", "meta-data"], env=OCF_ENV).returncode == 0
    assert fresh_root.run(["mailha", "lab", "status"]).returncode == 2
