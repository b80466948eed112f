"""What mailha knows about directory servers (389-ds, OpenLDAP, Sun DS 5.x), agent-neutral.

Shared by ``ocf:mailha:ldap``, the instance builder (:mod:`mailha.tools.dsinstance`) and the
Sun DS emulator: where each product keeps its binary, configuration and pid file, and how its
``dse.ldif`` is read and edited.
"""
