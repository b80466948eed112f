"""The start handshake of the emulated servers: a launcher waits until its daemon listens.

The launcher passes the write end of a pipe in ``MAILHA_SIM_READY_FD``; the daemon writes
``ok`` once it serves, or the reason it cannot, and closes it.  End of file before a line
means the daemon exited first.  This is how ``start-msg`` and ``start-admin`` return only when
the server is up (or say why not), as the products' launchers do.
"""

from __future__ import annotations

import os
import subprocess
from typing import Mapping, Sequence

READY_FD = "MAILHA_SIM_READY_FD"
#: How long a daemon that reported failure gets to exit before its launcher goes on.
EXIT_WAIT = 5.0


def detached_env() -> dict[str, str]:
    """Our environment minus MAILHA_SIM_FOREGROUND: a launched daemon must detach, as the product's do."""
    return {k: v for k, v in os.environ.items() if k != "MAILHA_SIM_FOREGROUND"}


def launch(argv: Sequence[str], cwd: str, env: Mapping[str, str] | None = None, *,
           new_session: bool = True) -> tuple[subprocess.Popen, str]:
    """Run *argv* and wait for its first word: (the child, ``ok`` or why it did not start).

    *env* defaults to :func:`detached_env`.  A child that did not say ``ok`` is given
    :data:`EXIT_WAIT` seconds to exit, so that its status is known when it did."""
    read_end, write_end = os.pipe()
    try:
        child = subprocess.Popen(list(argv), cwd=cwd, env={**(detached_env() if env is None else env),
                                                           READY_FD: str(write_end)},
                                 pass_fds=(write_end,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, start_new_session=new_session)
    except BaseException:
        os.close(read_end)
        raise
    finally:
        os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        said = pipe.readline().decode("utf-8", "replace").strip()  # EOF when it exits early
    if said != "ok":
        try:
            child.wait(EXIT_WAIT)
        except subprocess.TimeoutExpired:
            pass
    return child, said


def tell(text: str) -> None:
    """Give the launcher that started us its answer (once; later calls do nothing)."""
    fd = os.environ.pop(READY_FD, "")
    if fd.isdigit():
        try:
            os.write(int(fd), text.encode() + b"\n")
            os.close(int(fd))
        except OSError:  # the launcher is gone: nobody to tell
            pass


def forget() -> None:
    """Close the launcher's pipe unanswered: a worker whose parent answers for it."""
    fd = os.environ.pop(READY_FD, "")
    if fd.isdigit():
        try:
            os.close(int(fd))
        except OSError:
            pass
