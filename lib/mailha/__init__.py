"""mailha: Pacemaker OCF resource agents for clustered mail systems.

The package is layered like this:

* ``mailha.ocf``      the OCF framework: exit codes, typed parameters, metadata, the run loop,
                      logging, the time budget and per-resource state.
* ``mailha.proc``, ``mailha.net``, ``mailha.probes``, ``mailha.monitor``
                      what agents share: process discovery and stop escalation, address checks,
                      protocol probes with deadlines, monitor depths and cadence.
* ``mailha.agents``   one module per agent: a declaration plus the few functions truly its own.
* ``mailha.lab``, ``mailha.sim``, ``mailha.tools``
                      tools: the namespace Pacemaker lab, the GroupWise emulator, real directory
                      server instances for tests and demos.

Nothing here imports more than it needs at import time: an agent's ``monitor`` runs every few
seconds on every node.
"""

__version__ = "0.1.0"
