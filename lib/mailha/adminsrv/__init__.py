"""What mailha knows about the Sun ONE / Sun Java System Administration Server, agent-neutral.

Shared by ``ocf:mailha:adminsrv`` and the Administration Server emulator:

| module | job |
|---|---|
| ``layout`` | where a server root keeps ``start-admin``/``stop-admin``, ``uxwdog`` and ``ns-httpd``, ``admin-serv/config`` and its files |
| ``conf`` | ``magnus.conf`` (port, address, security), ``adm.conf`` (the configuration directory), ``admpw``, the trust database's pin file |

Facts come from ``../shared/reference/messaging-spec.md`` B and ``product-facts.md`` §3.2 (seed
004's ``SunJESAdm``); what they leave open (the files beyond ``admin-serv/config``, how
``start-admin`` receives the trust database password) is decided here and listed in
docs/emulator.md.  Standard library only, and little of it: a monitor may import it.
"""
