"""A Messaging Server emulator: the daemons of one instance and its commands.

``start-msg``/``stop-msg`` (``sbin`` or ``bin``), seed 004's ``lib/msstart``, ``configutil``,
and in ``lib`` the daemons ``watcher stored imsched imapd popd mshttpd job_controller
dispatcher tcp_smtp_server tcp_lmtp_server enpd AService``: each reads the instance's real-format
configuration (:mod:`mailha.msgsrv`: ``msg.conf``, ``dispatcher.cnf``, ``job_controller.cnf``,
``ImapProxyAService.cfg``), listens where it says, answers IMAP, POP3, HTTP and SMTP, checks
logins, delivers SMTP mail durably into the store, and takes faults from the control file
(:mod:`mailha.sim.control`, with ``process`` naming the daemon).  What the sources leave open
and the emulator assumes is listed in docs/emulator.md.

| module | job |
|---|---|
| ``installer`` | write the executables into an instance's home |
| ``builder`` | lay out an instance: directories, configuration, users |
| ``commands`` | ``start-msg``, ``stop-msg``, ``msstart``, ``configutil``, ``stored -t`` |
| ``server`` | one daemon process |
| ``watch`` | the watcher: restarts crashed servers, gives up after three in 600 s |
"""
