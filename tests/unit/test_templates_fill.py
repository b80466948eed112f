"""mailha.templates: filling placeholders and reading pcs command lines."""

import pytest

from mailha import templates


def test_every_placeholder_is_replaced():
    assert templates.fill("ip=@@VIP@@/@@CIDR@@ @@VIP@@", {"VIP": "192.0.2.1", "CIDR": "24"}) == \
        "ip=192.0.2.1/24 192.0.2.1"


def test_a_missing_value_is_an_error_naming_it_and_nothing_half_filled_is_returned():
    with pytest.raises(templates.TemplateError, match="no value for CIDR, MOUNT"):
        templates.fill("@@VIP@@ @@MOUNT@@ @@CIDR@@", {"VIP": "192.0.2.1"})


def test_pcs_commands_join_continuations_and_drop_comments():
    text = "# a comment\npcs resource create a ocf:heartbeat:IPaddr2 \\\n    ip=1 op monitor interval=10s\n\n" \
           "  # pcs resource op add ...\npcs constraint order a then b\n"
    assert templates.pcs_commands(text) == [
        ["pcs", "resource", "create", "a", "ocf:heartbeat:IPaddr2", "ip=1", "op", "monitor", "interval=10s"],
        ["pcs", "constraint", "order", "a", "then", "b"]]


def _templates():
    import glob
    import os
    here = os.path.dirname(os.path.abspath(__file__))
    return sorted(glob.glob(os.path.join(here, "..", "..", "crm-templates", "*.[pc][cr][sm]")))


@pytest.mark.parametrize("path", _templates(), ids=lambda p: p.rsplit("/", 1)[-1])
def test_every_file_system_monitor_has_the_agents_own_timeout(path):
    # ocf:heartbeat:Filesystem advertises a 40 s monitor timeout; without one the cluster's 20 s
    # applies, which a busy node misses (seen on the Vagrant lab's VMs: a failed monitor of the
    # directory's file system while the fenced node rejoined).
    import re
    with open(path, encoding="utf-8") as f:
        text = f.read().replace("\\\n", " ")
    blocks = re.findall(r"(?:ocf:heartbeat:|primitive \S+ )Filesystem\b(.*?)(?=pcs resource create|primitive |$)",
                        text, re.S)
    assert blocks
    for block in blocks:
        assert re.search(r"op monitor interval=\S+ timeout=40s", block), block
