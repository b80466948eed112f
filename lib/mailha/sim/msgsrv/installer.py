"""Writing the emulator's executables into an instance's home (``<server_root>`` or
``<server_root>/msg-<instance>``)."""

from __future__ import annotations

import os

from mailha.files import replace_text
from mailha.msgsrv.layout import Instance
from mailha.msgsrv.services import PROCESSES

from ..installer import LAB_NODE_MARKER, MARKER, InstallError

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
    real = os.path.realpath(inst.home)
    if any(real == r or real.startswith(r + "/") for r in PRODUCT_ROOTS) and not os.path.exists(LAB_NODE_MARKER):
        raise InstallError(f"{inst.home} is the product's own path, for lab nodes only: give a test directory")
    home = inst.home
    tools = "sbin" if launchers == "msstart" else launchers
    files = {inst.daemon(name): ("server", name) for name in PROCESSES}
    if launchers == "msstart":
        files[inst.daemon("msstart")] = ("commands", "msstart")
    else:
        files.update({os.path.join(home, tools, n): ("commands", n) for n in ("start-msg", "stop-msg")})
    files[os.path.join(home, tools, "configutil")] = ("commands", "configutil")
    for path in files:
        if os.path.exists(path) and not force:
            with open(path, "rb") as handle:
                if MARKER.encode() not in handle.read(4096):
                    raise InstallError(f"{path} exists and is not the mailha emulator: refusing to overwrite it")
    for path, (module, name) in files.items():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        replace_text(path, _SCRIPT.format(name=name, marker=MARKER, module=module, home=home), 0o755)
    return list(files)
