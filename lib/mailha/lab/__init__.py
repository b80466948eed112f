"""A real Pacemaker + Corosync cluster on one host, for tests and drills.

Each lab node is a set of Linux namespaces (network, mount, UTS, PID) running
its own ``corosync -f`` and ``pacemakerd``. ``mailha lab up`` builds it,
``mailha lab down`` removes everything it made. See docs/lab.md.
"""
