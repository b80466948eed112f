"""The tools' port picker: picks of one process never repeat (two "free" ports for an MTA and
its GWIA that were the same port made a test fail at random)."""

import socket

from mailha.tools.ports import PortPicker, free_port


def test_picks_are_distinct_even_where_the_kernel_repeats_itself():
    picker = PortPicker()
    # 1500 bare kernel picks out of about 28000 ephemeral ports repeat many times over
    ports = [picker.pick("127.0.0.1") for _ in range(1500)]
    assert len(set(ports)) == len(ports)


def test_a_picked_port_can_be_bound():
    port = free_port("127.0.0.1")
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
        s.listen(1)
