"""The product-neutral service lifecycle every agent is built on.

A service (:class:`~mailha.service.model.Service`) is what one resource manages: members (the
processes to find, each with the command that launches it and the one that stops it
gracefully), the endpoints each member serves (protocol, port, address), and the credentials of
the synthetic transaction.  :mod:`mailha.service.lifecycle` starts, stops and monitors a
service in one call each; an agent declares its service from its parameters and adds only its
product's own steps (editing ``dse.ldif``, binding a startup file, keeping gwha away).

| module | job |
|---|---|
| ``model`` | ``Service``, ``Member``, ``Endpoint``, ``Credentials``, ``Command``: plain declarations |
| ``lifecycle`` | ``start``, ``stop``, ``monitor``: launch within the budget, wait until every endpoint answers, graceful stop then escalation, monitor levels |
| ``probing`` | one probe per endpoint, dispatched by protocol, sharing one deadline |
| ``ports`` | who else holds an endpoint's port, described for an exit reason |
| ``depends`` | waiting at start, within a share of its timeout, for a service it is ordered after but not colocated with (the directory) |
| ``storage`` | the instance's files are on mounted storage; executables; directories created only when missing |

Nothing is imported here: a monitor imports only the modules it uses.
"""
