"""Writing the emulator's executables into an instance's home (``<server_root>`` or
``<server_root>/msg-<instance>``)."""

from __future__ import annotations

import os

from mailha.msgsrv.layout import Instance
from mailha.msgsrv.services import PROCESSES

from ..installer import MARKER, InstallError, refuse_product_path, write_executables

#: The product's own default server roots: only a lab node may have the emulator there.
PRODUCT_ROOTS = ("/opt/SUNWmsgsr", "/var/opt/SUNWmsgsr", "/opt/sun/comms/messaging", "/opt/sun/comms/messaging64")
LAUNCHER_DIRS = ("sbin", "bin", "msstart")

_SCRIPT = '''#!/usr/bin/python3
"""Messaging Server {name} emulator ({marker}): NOT the Oracle product. See docs/emulator.md."""
import sys

from mailha.sim.msgsrv.{module} import main

sys.exit(main({name!r}, {home!r}, sys.argv[1:]))
'''


def install(inst: Instance, *, launchers: str = "sbin", force: bool = False) -> list[str]:
    """Write the daemons into ``lib`` and the commands into ``launchers`` (``sbin``, ``bin``,
    or ``msstart``: seed 004's ``lib/msstart`` with ``configutil`` in ``sbin``).  Refuses a
    file that is not one of ours unless *force*, and the product's default roots off a lab
    node.  Returns the paths written."""
    if launchers not in LAUNCHER_DIRS:
        raise InstallError(f"launchers must be one of {', '.join(LAUNCHER_DIRS)}")
    refuse_product_path(inst.home, PRODUCT_ROOTS)
    home = inst.home
    tools = "sbin" if launchers == "msstart" else launchers
    files = {inst.daemon(name): ("server", name) for name in PROCESSES}
    if launchers == "msstart":
        files[inst.daemon("msstart")] = ("commands", "msstart")
    else:
        files.update({os.path.join(home, tools, n): ("commands", n) for n in ("start-msg", "stop-msg")})
    files[os.path.join(home, tools, "configutil")] = ("commands", "configutil")
    return write_executables({path: _SCRIPT.format(name=name, marker=MARKER, module=module, home=home)
                              for path, (module, name) in files.items()}, force=force)
