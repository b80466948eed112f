"""The CIB every node of the namespace lab starts with."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET

from mailha.lab import cluster
from mailha.lab.layout import Layout


def test_the_seed_cib_is_valid_and_its_nodes_elect_a_dc_without_waiting_out_the_default(tmp_path):
    # Pacemaker's dc-deadtime (20 s) made every lab `up` wait 20 s before the first election,
    # though the nodes start together on one host.
    path = tmp_path / "cib.xml"
    path.write_text(cluster.seed_cib(Layout(root=str(tmp_path / "lab"))))
    done = subprocess.run(["crm_verify", "--xml-file", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    options = {nv.get("name"): nv.get("value")
               for nv in ET.parse(path).getroot().iterfind("./configuration/crm_config/cluster_property_set/nvpair")}
    assert options["dc-deadtime"].endswith("s") and int(options["dc-deadtime"][:-1]) <= 5
