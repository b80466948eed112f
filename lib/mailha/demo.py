"""``mailha demo``: the README's main job.

Brings up the namespace lab (a real 3-node Pacemaker cluster with fencing on this machine),
deploys the mail topology on it, shows ``crm_mon``, runs a failover drill that measures what a
client sees on the virtual IP, and takes the lab down again (``--keep`` leaves it up to explore
with ``mailha lab status``, ``mailha lab exec``, ``mailha lab drill``).
"""

import argparse
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Optional, Sequence

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




def description() -> str:
    """What ``mailha demo --help`` says: what the demo does, step by step, in plain text."""
    import textwrap

    steps = "\n".join(f"  {n}. mailha lab {' '.join(command)}\n"
                      + textwrap.fill(what, 88, initial_indent=" " * 5, subsequent_indent=" " * 5)
                      for n, (what, command) in enumerate(STEPS, 1))
    return (
        "Show the mailha agents keeping mail services up in a real Pacemaker cluster, on this machine.\n\n"
        "The demo builds the namespace lab: three nodes running Pacemaker 2.1 and Corosync 3 with\n"
        "fencing, each in its own Linux namespaces, plus a client (see docs/lab.md). It then runs\n"
        "these steps, each as the lab command an admin would type:\n\n"
        f"{steps}\n\n"
        "Each drill prints one row: the client-visible downtime in seconds and the probes that failed.\n"
        "At the end the lab is taken down (all its namespaces, loop devices and files), unless --keep\n"
        "is given. Needs root; takes about 5 minutes; one lab per machine."
    )


def main(argv: "Optional[Sequence[str]]" = None) -> int:
    parser = argparse.ArgumentParser(prog="mailha demo", description=description(),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true",
                        help="leave the lab up at the end, to explore it with mailha lab status, exec "
                             "and drill; remove it later with mailha lab down")
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
