"""``mailha demo``: the README's main job.

Brings up the namespace lab (a real 3-node Pacemaker cluster with fencing on this machine),
deploys the mail topology on it, shows ``crm_mon``, runs a failover drill that measures what a
client sees on the virtual IP, and takes the lab down again (``--keep`` leaves it up to explore
with ``mailha lab status``, ``mailha lab exec``, ``mailha lab drill``).
"""

from __future__ import annotations

import argparse
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Sequence

#: The demo, as the lab commands an admin would type.
STEPS = (
    ("bring up a 3-node cluster with fencing", ["up"]),
    ("deploy the directory group: virtual IP, shared file system, 389-ds under ocf:mailha:ldap",
     ["deploy"]),
    ("deploy GroupWise: a GWIA partition group (IP, file system, ocf:mailha:gwia with its MTA) and a "
     "post office group (ocf:mailha:gwpoa), Postfix on every node's own address", ["deploy", "--topology", "groupwise"]),
    ("who runs what", ["status"]),
    ("failover drill: power off the GWIA's node, measure the SMTP outage a client sees",
     ["drill", "gw-power-off"]),
    ("failover drill: power off the directory's node, measure the LDAP outage a client sees",
     ["drill", "power-off"]),
    ("who runs what now", ["status"]),
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mailha demo", description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="leave the lab up at the end")
    args = parser.parse_args(argv)

    from .lab import cli as lab

    failed = 0
    try:
        for number, (what, command) in enumerate(STEPS, 1):
            print(f"\n=== {number}. {what}: mailha lab {' '.join(command)}", flush=True)
            failed = lab.main(command)
            if failed:
                print(f"mailha demo: step {number} failed (exit {failed})", file=sys.stderr)
                break
    finally:
        if not args.keep:
            print("\n=== tear down: mailha lab down", flush=True)
            lab.main(["down"])
    return failed


if __name__ == "__main__":
    sys.exit(main())
