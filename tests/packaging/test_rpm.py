"""The RPMs, built from this tree with Debian's rpmbuild for each target's layout (RHEL 8, RHEL 9,
SLES 15), checked the way a packager reviews them: rpmlint, file lists, dependencies, scriptlets.
Not tested here: installing them on RHEL or SLES (docs/packaging.md says what was)."""

from __future__ import annotations

import glob
import gzip
import os
import re
import shutil
import subprocess

import pytest
from pkgtools import AGENT_DIR, AGENTS, TOP, build, is_lab_path, require_root, tree_modules, version

CACHE = os.environ.get("MAILHA_TEST_CACHE", "/var/cache/mailha-test")
RELEASE = "1"
#: target -> (rpmbuild arguments, python3_sitelib, python ABI, guide directory, iproute package)
TARGETS = {
    "rhel8": (["--define", "rhel 8"], "/usr/lib/python3.6/site-packages", "3.6", "/usr/share/doc/mailha", "iproute"),
    "rhel9": (["--define", "rhel 9"], "/usr/lib/python3.9/site-packages", "3.9", "/usr/share/doc/mailha", "iproute"),
    "sles15": (["--define", "suse_version 1500"], "/usr/lib/python3.6/site-packages", "3.6",
               "/usr/share/doc/packages/mailha", "iproute2"),
}
#: RHEL 8's platform-python-setuptools; SLES 15 has 40.5 and later.
OLD_SETUPTOOLS = "39.2.0"


class Built:
    def __init__(self, target: str, files: dict[str, str]) -> None:
        self.target = target
        self.args, self.sitelib, self.abi, self.docdir, self.iproute = TARGETS[target]
        v = version()
        self.mailha = files[f"mailha-{v}-{RELEASE}.noarch.rpm"]
        self.lab = files[f"mailha-lab-{v}-{RELEASE}.noarch.rpm"]
        self.srpm = files[f"mailha-{v}-{RELEASE}.src.rpm"]


@pytest.fixture(scope="module", params=sorted(TARGETS))
def rpms(request, tmp_path_factory) -> Built:
    require_root()
    target = request.param
    out = str(tmp_path_factory.mktemp("rpm-" + target))
    return Built(target, build("rpm", out, *TARGETS[target][0]))


def query(rpm: str, *args: str) -> str:
    return subprocess.run(["rpm", "-qp", *args, rpm], capture_output=True, text=True, check=True).stdout


def files_with_modes(rpm: str) -> dict[str, str]:
    out = query(rpm, "--queryformat", "[%{FILEMODES:perms} %{FILENAMES}\n]")
    return {line.split(" ", 1)[1]: line.split(" ", 1)[0] for line in out.splitlines() if line}


def python_files(files: dict[str, str], sitelib: str) -> set[str]:
    return {p[len(sitelib) + 1:] for p in files if p.startswith(sitelib + "/mailha/") and p.endswith(".py")}


def test_rpmlint_reports_no_error(rpms):
    done = subprocess.run(["rpmlint", "-c", os.path.join(TOP, "packaging", "rpmlint.toml"),
                           rpms.mailha, rpms.lab, rpms.srpm], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert " 0 errors," in done.stdout, done.stdout


def test_mailha_has_the_agents_the_runtime_library_and_the_pages(rpms):
    files = files_with_modes(rpms.mailha)
    runtime, _ = tree_modules()
    assert {p for p in files if p.startswith(AGENT_DIR + "/")} == {f"{AGENT_DIR}/{n}" for n in AGENTS}
    for name in AGENTS:
        assert files[f"{AGENT_DIR}/{name}"] == "-rwxr-xr-x"
    assert python_files(files, rpms.sitelib) == runtime
    assert files["/usr/bin/mailha"] == "-rwxr-xr-x"
    assert [p for p in files if re.fullmatch(re.escape(rpms.sitelib) + r"/mailha-[^/]+\.egg-info", p)]
    pages = {re.sub(r"\.(gz|bz2|xz)$", "", p) for p in files if p.startswith("/usr/share/man/")
             and not files[p].startswith("d")}
    assert pages == {f"/usr/share/man/man7/ocf_mailha_{n}.7" for n in AGENTS} | {"/usr/share/man/man8/mailha.8"}
    for name in AGENTS:
        assert f"{rpms.docdir}/agents/{name}.md" in files
    assert any(p.startswith(rpms.docdir + "/examples/") for p in files)
    assert "/usr/share/licenses/mailha/LICENSE" in files


def test_mailha_lab_has_the_tools_and_nothing_at_a_product_path(rpms):
    files = files_with_modes(rpms.lab)
    _, lab = tree_modules()
    assert python_files(files, rpms.sitelib) == lab
    outside = [p for p, mode in files.items() if not mode.startswith("d")
               and not (p.startswith(rpms.sitelib + "/mailha/") and is_lab_path(p[len(rpms.sitelib) + 1:])
                        or p.startswith(("/usr/share/doc/", "/usr/share/licenses/")))]
    assert outside == []
    assert not python_files(files_with_modes(rpms.mailha), rpms.sitelib) & python_files(files, rpms.sitelib)


def test_requires(rpms):
    mailha = set(query(rpms.mailha, "--requires").splitlines())
    assert {"/usr/bin/python3", "python3-psutil", "python3-lxml", "python3-pyparsing",
            f"python(abi) = {rpms.abi}"} <= mailha
    assert not [r for r in mailha if "setuptools" in r], mailha  # the plain /usr/bin/mailha needs none
    lab = set(query(rpms.lab, "--requires").splitlines())
    assert f"mailha = {version()}-{RELEASE}" in lab
    assert {"pacemaker", "corosync", "resource-agents", rpms.iproute} <= lab


def test_no_scriptlets_and_no_triggers(rpms):
    for rpm in (rpms.mailha, rpms.lab):
        assert query(rpm, "--scripts").strip() == ""
        assert query(rpm, "--triggers").strip() == ""


def test_the_agents_name_the_targets_library_directories(rpms, tmp_path):
    """-IS skips site: the agent itself says where mailha (noarch) and psutil/lxml (lib64) are."""
    rpm2cpio = subprocess.run(["rpm2cpio", rpms.mailha], capture_output=True, check=True).stdout
    subprocess.run(["cpio", "-idm", "--quiet"], input=rpm2cpio, cwd=tmp_path, check=True)
    sitearch = rpms.sitelib.replace("/usr/lib/", "/usr/lib64/")
    for name in AGENTS:
        text = (tmp_path / "usr/lib/ocf/resource.d/mailha" / name).read_text()
        assert text.startswith("#!/usr/bin/python3 -IS\n")
        assert f'sys.path += ["{rpms.sitelib}", "{sitearch}"]' in text


def test_man_pages_name_the_targets_guide_directory_and_render_cleanly(rpms, tmp_path):
    rpm2cpio = subprocess.run(["rpm2cpio", rpms.mailha], capture_output=True, check=True).stdout
    subprocess.run(["cpio", "-idm", "--quiet"], input=rpm2cpio, cwd=tmp_path, check=True)
    page = glob.glob(str(tmp_path / "usr/share/man/man7/ocf_mailha_ldap.7*"))[0]
    done = subprocess.run(["man", "--warnings", "-l", page], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "MANWIDTH": "80", "LC_ALL": "C.UTF-8"}, check=False)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    opener = gzip.open if page.endswith(".gz") else open
    with opener(page, "rt", encoding="utf-8") as f:
        source = f.read()
    assert (rpms.docdir + "/agents/ldap.md").replace("-", "\\-") in source


def test_the_versions_agree():
    with open(os.path.join(TOP, "mailha.spec"), encoding="utf-8") as f:
        spec = re.search(r"^Version:\s*(\S+)", f.read(), re.M).group(1)
    with open(os.path.join(TOP, "debian", "changelog"), encoding="utf-8") as f:
        deb = re.match(r"mailha \(([^)]+)\)", f.readline()).group(1)
    assert spec == deb.split("-")[0] == version()


# -- the build with RHEL 8's setuptools ------------------------------------------------------


def _python36() -> str:
    found = [os.environ.get("MAILHA_PYTHON36", "")]
    found += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.6*/bin/python3.6")))
    found += ["/usr/local/bin/python3.6", "/usr/bin/python3.6"]
    for path in found:
        if path and os.access(path, os.X_OK):
            return path
    pytest.fail("no CPython 3.6 (RHEL 8's and SLES 15's python3): set MAILHA_PYTHON36 or install it under pyenv")


@pytest.fixture(scope="module")
def old_setuptools() -> str:
    """A Python 3.6 with setuptools 39.2 (RHEL 8's), as a cached venv; returns its python."""
    require_root()
    venv = os.path.join(CACHE, f"python3.6-setuptools{OLD_SETUPTOOLS}")
    python = os.path.join(venv, "bin", "python")
    probe = [python, "-c", "import setuptools, sys; print(setuptools.__version__, sys.version_info[:2])"]
    def ready() -> bool:
        return os.access(python, os.X_OK) and subprocess.run(
            probe, capture_output=True, text=True).stdout.strip() == f"{OLD_SETUPTOOLS} (3, 6)"

    if not ready():
        shutil.rmtree(venv, ignore_errors=True)
        for argv in ([_python36(), "-m", "venv", venv],
                     # the pip 3.6 comes with finds no packages on today's index
                     [python, "-m", "pip", "install", "-q", "pip==21.3.1"],
                     [python, "-m", "pip", "install", "-q", f"setuptools=={OLD_SETUPTOOLS}"]):
            done = subprocess.run(argv, capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, f"{argv}: {done.stdout}{done.stderr}"
    assert ready(), f"{venv}: no setuptools {OLD_SETUPTOOLS} on Python 3.6 after installing it"
    return python


def test_setup_py_builds_and_installs_with_rhel8_setuptools(old_setuptools, tmp_path):
    src = tmp_path / "src"
    shutil.copytree(os.path.join(TOP, "lib"), src / "lib", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("setup.py", "setup.cfg", "pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(os.path.join(TOP, name), src / name)
    sitelib = "/usr/lib/python3.6/site-packages"
    for argv in (["setup.py", "build"],  # what the spec's %build and %install run
                 ["setup.py", "install", "--skip-build", "--root", str(tmp_path / "root"), "--prefix", "/usr",
                  "--install-lib", sitelib, "--install-scripts", "/usr/bin"]):
        done = subprocess.run([old_setuptools, *argv], cwd=src, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
    installed = tmp_path / "root" / sitelib.lstrip("/")
    runtime, lab = tree_modules()
    assert {os.path.relpath(p, installed) for p in glob.glob(f"{installed}/mailha/**/*.py", recursive=True)} \
        == runtime | lab
    egg = glob.glob(f"{installed}/mailha-{version()}-py3.6.egg-info")
    assert egg, os.listdir(installed)
    with open(os.path.join(egg[0], "requires.txt"), encoding="utf-8") as f:
        assert set(f.read().split()) == {"psutil", "lxml", "pyparsing"}
