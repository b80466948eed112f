"""corosync.conf for the lab: knet with crypto, a named nodelist, votequorum as in production."""

from __future__ import annotations

from mailha.lab.layout import Layout


def render(layout: Layout, token_ms: int) -> str:
    nodes = "".join(
        "    node {\n"
        f"        ring0_addr: {layout.node_address(n)}\n"
        f"        name: {n}\n"
        f"        nodeid: {i}\n"
        "    }\n"
        for i, n in enumerate(layout.node_names(), start=1)
    )
    # Two nodes need two_node; three or more use plain votequorum as production does.
    two_node = "    two_node: 1\n" if layout.nodes == 2 else ""
    return (
        "totem {\n"
        "    version: 2\n"
        "    cluster_name: mailha-lab\n"
        "    transport: knet\n"
        "    crypto_cipher: aes256\n"
        "    crypto_hash: sha256\n"
        f"    token: {token_ms}\n"
        "}\n"
        f"nodelist {{\n{nodes}}}\n"
        "quorum {\n"
        "    provider: corosync_votequorum\n"
        f"{two_node}"
        "}\n"
        "logging {\n"
        "    to_logfile: yes\n"
        "    logfile: /var/log/cluster/corosync.log\n"
        "    to_syslog: no\n"
        "    to_stderr: no\n"
        "    timestamp: on\n"
        "}\n"
    )
