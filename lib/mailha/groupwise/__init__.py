"""GroupWise knowledge shared by the ``gwia``/``gwpoa`` agents and the emulator.

* :mod:`.startup`   startup files (``@dom.mta``, ``@po.poa``, ``gwia.cfg``): parse, query, edit.
* :mod:`.switches`  which switch opens which port, with the product defaults, in one table.
* :mod:`.gwha`      ``/etc/opt/novell/groupwise/gwha.conf``: the agents the node knows by name.
* :mod:`.paths`     where the products install.

Every submodule is cheap to import; pyparsing loads on the first parse.
"""
