"""Writing the emulator's executables into a server root."""

from __future__ import annotations

import os

from mailha.adminsrv.layout import NS_HTTPD, UXWDOG, AdminServer

from ..installer import MARKER, refuse_product_path, write_executables

#: The product's own default server roots: only a lab node may have the emulator there.
PRODUCT_ROOTS = ("/var/opt/mps/serverroot", "/opt/sun/mps/serverroot", "/usr/iplanet/servers")
COMMANDS = ("start-admin", "stop-admin", "restart-admin")

_SCRIPT = '''#!/usr/bin/python3
"""Administration Server {name} emulator ({marker}): NOT the Oracle product. See docs/emulator.md."""
import sys

from mailha.sim.adminsrv.{module} import main

sys.exit(main({name!r}, {root!r}, sys.argv[1:]))
'''


def install(admin: AdminServer, *, force: bool = False) -> list[str]:
    """Write the commands and the two daemons; refuses a file that is not one of ours unless
    *force*, and the product's default roots off a lab node.  Returns the paths written."""
    refuse_product_path(admin.server_root, PRODUCT_ROOTS)
    files = {os.path.join(admin.server_root, name): ("commands", name) for name in COMMANDS}
    files.update({admin.binary(name): ("server", name) for name in (UXWDOG, NS_HTTPD)})
    return write_executables({path: _SCRIPT.format(name=name, marker=MARKER, module=module, root=admin.server_root)
                              for path, (module, name) in files.items()}, force=force)
