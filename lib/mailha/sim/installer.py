"""Installing the emulator's executables under a root: the product's paths, tiny launchers."""

from __future__ import annotations

import os

from mailha.files import replace_text
from mailha.groupwise import paths

MARKER = "mailha.sim"  # in every launcher: what we may overwrite; anything else is a real product file
_AGENT = '''#!/usr/bin/python3
"""GroupWise {binary} emulator ({marker}): NOT the OpenText product. See docs/emulator.md."""
import sys

from mailha.sim.agent import main

sys.exit(main({binary!r}, sys.argv[1:]))
'''
_TOOL = '''#!/usr/bin/python3
"""GroupWise {what} emulator ({marker}): NOT the OpenText product. See docs/emulator.md."""
import sys

from mailha.sim.{module} import main

sys.exit(main(sys.argv[1:], {kwargs}))
'''
_GWHA_CONF = """; gwha.conf written by the mailha GroupWise emulator.
; One section per agent, named as /etc/init.d/grpwise names it: MTA "domain",
; POA "post_office.domain", GWIA "gwia.domain". Example:
;   [gwia.dom1]
;   server = /opt/novell/groupwise/agents/bin/gwia
;   command = /etc/init.d/grpwise
;   startup = /gw/dom1/wpgate/gwia/gwia.cfg
;   delay = 2
;   wait = 10
[gwha]
ssl = no
"""


class InstallError(Exception):
    pass


#: Written by the lab into each node's private /run: the product's own paths (root /) are
#: the emulator's only there.
LAB_NODE_MARKER = "/run/mailha-lab-node"


def refuse_product_path(path: str, product_roots: tuple[str, ...]) -> None:
    """Refuse *path* when it is or lies under one of the product's own *product_roots*, except
    on a lab node: an emulator there on any other machine would pass for the product."""
    real = os.path.realpath(path)
    if any(real == r or real.startswith(r.rstrip("/") + "/") for r in product_roots) and not os.path.exists(LAB_NODE_MARKER):
        raise InstallError(f"{path} is the product's own path, for lab nodes only: give a test directory")


def write_executables(files: dict[str, str], *, force: bool = False) -> list[str]:
    """Write each path's text, mode 0755; first refuse, unless *force*, if any of them exists
    and is not one of ours (a real product file).  Returns the paths written."""
    for path in files:
        if os.path.exists(path) and not force:
            with open(path, "rb") as handle:
                if MARKER.encode() not in handle.read(4096):
                    raise InstallError(f"{path} exists and is not the mailha emulator: refusing to overwrite it")
    for path, text in files.items():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        replace_text(path, text, 0o755)
    return list(files)


def install(root: str, *, force: bool = False) -> list[str]:
    """Write the executables (and an empty gwha.conf if there is none) under ``root``.

    Refuses to overwrite a file that is not one of ours (a real GroupWise install) unless
    ``force``, and refuses the product's own paths (``root`` /) except on a lab node: an
    emulator there on any other machine would pass for GroupWise.  Returns the paths written.
    """
    if os.path.realpath(root) == "/" and not os.path.exists(LAB_NODE_MARKER):
        raise InstallError("the product's own paths (root /) are for lab nodes only: "
                           "give a test root instead (--root DIR)")
    def under(path: str) -> str:
        return os.path.join(root, path.lstrip("/"))

    conf = under(paths.GWHA_CONF)
    files = {under(getattr(paths, name.upper())): _AGENT.format(binary=name, marker=MARKER) for name in ("gwmta", "gwpoa", "gwia")}
    files[under(paths.GWHA)] = _TOOL.format(
        what="High Availability service", marker=MARKER, module="gwha",
        kwargs=f"conf={conf!r}, log={under('/var/log/novell/groupwise/gwha.log')!r}",
    )
    files[under(paths.GRPWISE_INIT)] = _TOOL.format(what="init script", marker=MARKER, module="grpwise", kwargs=f"conf={conf!r}")
    written = write_executables(files, force=force)
    os.makedirs(under(paths.AGENTS_SHARE), exist_ok=True)
    if not os.path.exists(conf):
        os.makedirs(os.path.dirname(conf), exist_ok=True)
        with open(conf, "w", encoding="utf-8") as handle:
            handle.write(_GWHA_CONF)
        written.append(conf)
    return written
