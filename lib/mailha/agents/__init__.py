"""One module per agent.  Each exposes ``AGENT`` (a :class:`mailha.ocf.agent.Agent`) and is run by
the thin executable of the same name in ``ocf/``."""
