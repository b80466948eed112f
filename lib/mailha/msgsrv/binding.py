"""An instance's MTA bound to its logical IP, as ``ha_ip_config`` leaves it (seed 002).

``ha_ip_config`` sets ``INTERFACE_ADDRESS`` for the SMTP and SMTP Submit services in
``dispatcher.cnf`` and for the job controller in ``job_controller.cnf`` (it also sets
``service.listenaddr`` with ``configutil``, which is the agent's command to run), and keeps
each original as ``<file>.pre-ha``.  :func:`problems` says what is not bound, naming the file;
:func:`write` binds, keeping every other line, the file's mode and owner, and the first
``.pre-ha`` backup: an existing one is never replaced (it holds the configuration from before
the cluster).
"""

from . import cnf

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import List

    from .layout import Instance

BACKUP_SUFFIX = ".pre-ha"
#: What to do about an instance that is not bound to its virtual IP (the exit reason's end).
FIX = "run ha_ip_config or set set_binding=true"


def _read(path: str) -> str:
    from ..files import read_text

    return read_text(path, cnf.MAX_SIZE, "MTA option file", errors="replace")  # not UTF-8: the parser refuses it


def problems(instance: "Instance", address: str) -> "List[str]":
    """What is not bound to *address* (empty: bound).  Raises ``OSError`` when a file cannot
    be read (its message names it)."""
    return cnf.binding_problems(_read(instance.dispatcher_cnf), _read(instance.job_controller_cnf), address)


def write(instance: "Instance", address: str) -> "List[str]":
    """Bind both files to *address*; returns the files changed (each first backed up as
    ``<file>.pre-ha`` unless that exists)."""
    import os

    from ..files import rewrite

    dispatcher = _read(instance.dispatcher_cnf)
    sections = cnf.parse(dispatcher)
    for service in cnf.BOUND_SERVICES:
        if cnf.section(sections, "SERVICE", service) is not None:
            dispatcher = cnf.with_option(dispatcher, cnf.INTERFACE_ADDRESS, address, "SERVICE", service)
    job_controller = cnf.with_option(_read(instance.job_controller_cnf), cnf.INTERFACE_ADDRESS, address)
    changed = []
    for path, text in ((instance.dispatcher_cnf, dispatcher), (instance.job_controller_cnf, job_controller)):
        backup = path + BACKUP_SUFFIX
        if rewrite(path, text.encode("utf-8"), None if os.path.lexists(backup) else backup):
            changed.append(path)
    return changed
