"""Reaching the VMs: commands over ssh as root (the management network), power through libvirt."""

from __future__ import annotations

import glob
import os
import shlex
import subprocess

from mailha.lab.preflight import LabError
from mailha.lab.vagrant import host
from mailha.lab.vagrant.layout import VLab

#: Vagrant's well-known insecure key, which the box authorizes for vagrant and root.
INSECURE_KEY_GLOB = "/usr/share/rubygems-integration/all/gems/vagrant-*/keys/vagrant"


def write_ssh_config(vlab: VLab) -> str:
    """An ssh_config naming each node: root, the insecure key, one shared connection per node
    (a command costs one round trip, not a handshake, on software-emulated VMs)."""
    keys = sorted(glob.glob(INSECURE_KEY_GLOB))
    if not keys:
        raise LabError("Vagrant's insecure key is missing (is the vagrant package installed?)")
    key = vlab.path("insecure_key")
    with open(keys[-1], "rb") as src, open(os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as dst:
        dst.write(src.read())
    lines = []
    for node in vlab.node_names():
        lines += [f"Host {node}", f"    HostName {vlab.address('mgmt', node)}"]
    lines += ["Host *", "    User root", f"    IdentityFile {key}", "    IdentitiesOnly yes",
              "    StrictHostKeyChecking no", "    UserKnownHostsFile /dev/null", "    LogLevel ERROR",
              "    ControlMaster auto", f"    ControlPath {vlab.path('ssh-%h')}", "    ControlPersist 300",
              "    ConnectTimeout 10", "    ServerAliveInterval 5", "    ServerAliveCountMax 4", ""]
    with open(vlab.ssh_config, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    return vlab.ssh_config


def run(vlab: VLab, node: str, argv: list[str], input: str | None = None, timeout: float = 60,
        ) -> subprocess.CompletedProcess:
    """argv as root on node; LabError when ssh itself fails (the node is down or unreachable)."""
    ssh = ["ssh", "-F", vlab.ssh_config, node, "--", " ".join(shlex.quote(a) for a in argv)]
    try:
        out = subprocess.run(ssh, input=input, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise LabError(f"{node}: {argv[0]} timed out after {timeout:.0f}s") from None
    if out.returncode == 255:
        raise LabError(f"{node}: ssh failed: {out.stderr.strip()}")
    return out


def check(vlab: VLab, node: str, argv: list[str], what: str, **kwargs) -> str:
    out = run(vlab, node, argv, **kwargs)
    if out.returncode != 0:
        raise LabError(f"{what} on {node} failed (rc {out.returncode}): {(out.stderr or out.stdout).strip()[-1500:]}")
    return out.stdout


def close_connections(vlab: VLab) -> None:
    """End the shared ssh connections (their masters outlive every command by design)."""
    if not os.path.exists(vlab.ssh_config):
        return
    for node in vlab.node_names():
        if os.path.exists(vlab.path(f"ssh-{vlab.address('mgmt', node)}")):  # ControlPath ssh-%h
            subprocess.run(["ssh", "-F", vlab.ssh_config, "-O", "exit", node], capture_output=True, timeout=10)


# ----------------------------------------------------------------- power (libvirt)

def power_state(vlab: VLab, node: str) -> str:
    """"on" or "off", as libvirt sees the node's domain."""
    out = host.virsh("domstate", vlab.domain(node), check=False)
    return "on" if out.stdout.strip() in ("running", "paused", "in shutdown") else "off"


def powered_on(vlab: VLab) -> list[str]:
    return [n for n in vlab.node_names() if power_state(vlab, n) == "on"]


def power_off(vlab: VLab, node: str) -> None:
    """Pull the plug: libvirt destroys the domain at once, no shutdown inside the guest."""
    host.virsh("destroy", vlab.domain(node))


def power_on(vlab: VLab, node: str) -> None:
    host.virsh("start", vlab.domain(node))
