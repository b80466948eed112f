"""What mailha knows about Sun Java System / iPlanet Messaging Server, agent-neutral.

Shared by the coming ``ocf:mailha:msgsrv`` agent and the Messaging Server emulator (issue 9):

| module | job |
|---|---|
| ``services`` | the services a resource manages (Veritas ``MsgServices``): names, default ports, the processes and ``configutil`` flags of each, the rules of a valid set |
| ``layout`` | where an instance keeps its launchers, ``stored``, its configuration and ``pidfile.store``, for the 6.x layout and iMS 5.x's ``msg-<instance>`` directories |
| ``cnf`` | ``dispatcher.cnf`` and ``job_controller.cnf``: options, sections, the ``INTERFACE_ADDRESS`` binding that ``ha_ip_config`` writes |
| ``binding`` | an instance's MTA bound to its logical IP: what is not, and writing it with ``*.pre-ha`` backups |

Facts come from ``../shared/reference/messaging-spec.md`` (seeds 002 and 004) and
``product-facts.md`` §2; what the sources leave open is marked where it is decided.  Nothing
here imports more than the standard library's smallest modules: a monitor may use it.
"""
