"""The OCF framework every mailha agent is declared with.

An agent module builds an :class:`~mailha.ocf.agent.Agent` from :class:`~mailha.ocf.params.Param`
and :class:`~mailha.ocf.agent.Action` declarations, registers handlers, and its executable in
``ocf/`` calls :func:`~mailha.ocf.agent.Agent.main`.  Metadata, ``usage``, ``meta-data`` and the
parameter part of ``validate-all`` come for free.
"""
