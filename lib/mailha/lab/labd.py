"""labd: the lab's power controller, a host-side daemon serving a UNIX socket.

The fence agent inside the nodes and the `mailha lab` CLI send it one JSON
line ({"op": "off", "node": "node2"}) and get one JSON line back. The socket
directory is visible in every node because nodes share the host's /var/lib.
labd is the parent of the `unshare` processes it starts and reaps them.
"""

from __future__ import annotations

import argparse
import json
import os
import socketserver
import sys
import threading
import time

from mailha.lab import power
from mailha.lab.layout import Layout

REQUEST_TIMEOUT = 60.0
_power_lock = threading.Lock()


def _reap_forever() -> None:
    # Only our own Popen children are reaped, so subprocess.run() keeps real exit codes.
    while True:
        power.reap_children()
        time.sleep(0.5)


class Handler(socketserver.StreamRequestHandler):
    layout: Layout

    def handle(self) -> None:
        try:
            req = json.loads(self.rfile.readline(4096) or b"{}")
            reply = self.dispatch(req.get("op"), req.get("node"))
        except Exception as exc:  # one bad request must not kill the power controller
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        self.wfile.write(json.dumps(reply).encode() + b"\n")

    def dispatch(self, op: str | None, node: str | None) -> dict:
        layout = self.layout
        if op == "ping":
            return {"ok": True}
        if op == "list":
            return {"ok": True, "nodes": layout.node_names()}
        if node not in layout.node_names():
            return {"ok": False, "error": f"unknown node {node!r}"}
        actions = {"on": power.power_on, "off": power.power_off,
                   "reboot": power.reboot, "status": power.status}
        if op not in actions:
            return {"ok": False, "error": f"unknown op {op!r}"}
        with _power_lock:
            return actions[op](layout, node)


def serve(layout: Layout) -> None:
    threading.Thread(target=_reap_forever, daemon=True).start()
    os.makedirs(layout.power_dir, mode=0o700, exist_ok=True)
    if os.path.exists(layout.power_socket):
        os.unlink(layout.power_socket)
    Handler.layout = layout
    os.umask(0o077)
    with socketserver.ThreadingUnixStreamServer(layout.power_socket, Handler) as server:
        server.daemon_threads = True
        server.serve_forever()


def request(socket_path: str, op: str, node: str | None = None, timeout: float = REQUEST_TIMEOUT) -> dict:
    """Client side: one request, one reply (the fence agent's own client: one implementation)."""
    from mailha.lab.fence_mailha_lab import ask

    return ask(socket_path, op, node, timeout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mailha.lab.labd")
    parser.add_argument("--root", required=True)
    parser.add_argument("--nodes", type=int, required=True)
    args = parser.parse_args(argv)
    serve(Layout(root=args.root, nodes=args.nodes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
