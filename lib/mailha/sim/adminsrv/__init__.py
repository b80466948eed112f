"""An Administration Server emulator: ``start-admin``, ``stop-admin``, ``restart-admin`` in the
server root, ``uxwdog`` and ``ns-httpd`` in ``bin/https/bin``.

``start-admin`` runs ``uxwdog -e -d <root>/admin-serv/config``, which runs ``ns-httpd -d
<root>/admin-serv/config``: it contacts the configuration directory of ``adm.conf``, opens
the trust database with the pin file's password when ``magnus.conf`` says ``Security on``,
binds ``Address:Port`` and forks its workers (several ``ns-httpd`` with the same command
line), which answer HTTP(S) for the users of ``admpw``.  Faults come from the control file
(:mod:`mailha.sim.control`, ``process`` ``uxwdog`` or ``ns-httpd``).  What the sources leave
open and the emulator assumes is listed in docs/emulator.md.

| module | job |
|---|---|
| ``installer`` | write the executables into a server root |
| ``builder`` | lay out a server root: configuration, users, certificate |
| ``commands`` | ``start-admin``, ``stop-admin``, ``restart-admin`` |
| ``server`` | ``uxwdog`` and ``ns-httpd`` |
"""
