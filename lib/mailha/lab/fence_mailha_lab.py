#!/usr/bin/python3
"""fence_mailha_lab: fence agent for mailha lab nodes (fence-agents protocol).

Options come from the command line (-o ACTION -n NODE) or from stdin as
key=value lines (as pacemaker-fenced sends them). The agent asks the lab's
power controller (labd) over its UNIX socket; labd replies only once the node
is really off. Exit codes follow fence-agents: 0 success (status: on),
2 status off, 1 failure.

This file uses the standard library only: `mailha lab up` copies it to
/usr/sbin/fence_mailha_lab, where pacemaker-fenced looks for agents.
"""

import getopt
import json
import socket
import sys

DEFAULT_SOCKET = "/var/lib/mailha-lab/power/power.sock"
EC_OK, EC_FAIL, EC_STATUS_OFF = 0, 1, 2
ACTIONS = ("on", "off", "reboot", "status", "list", "monitor", "metadata", "validate-all")

METADATA = """<?xml version="1.0" ?>
<resource-agent name="fence_mailha_lab" shortdesc="Fence agent for mailha lab nodes">
<longdesc>Powers a mailha lab node (a set of Linux namespaces on one host) off or on through the lab's power controller. Off kills the node's PID namespace and takes its link down; the agent reports success only once no process of the node is left.</longdesc>
<vendor-url>https://github.com/mailha</vendor-url>
<parameters>
	<parameter name="action" unique="0" required="1">
		<getopt mixed="-o, --action=[action]" />
		<content type="string" default="reboot" />
		<shortdesc lang="en">Fencing action</shortdesc>
	</parameter>
	<parameter name="plug" unique="0" required="1" obsoletes="port">
		<getopt mixed="-n, --plug=[id]" />
		<content type="string" />
		<shortdesc lang="en">Lab node to act on (node1, node2, ...)</shortdesc>
	</parameter>
	<parameter name="port" unique="0" required="1" deprecated="1">
		<getopt mixed="-n, --plug=[id]" />
		<content type="string" />
		<shortdesc lang="en">Lab node to act on</shortdesc>
	</parameter>
	<parameter name="power_socket" unique="0" required="0">
		<getopt mixed="-s, --power-socket=[path]" />
		<content type="string" default="%s" />
		<shortdesc lang="en">UNIX socket of the lab power controller</shortdesc>
	</parameter>
	<parameter name="timeout" unique="0" required="0">
		<getopt mixed="-t, --timeout=[seconds]" />
		<content type="second" default="30" />
		<shortdesc lang="en">Seconds to wait for the power controller</shortdesc>
	</parameter>
</parameters>
<actions>
	<action name="on" automatic="0"/>
	<action name="off" />
	<action name="reboot" />
	<action name="status" />
	<action name="list" />
	<action name="monitor" />
	<action name="metadata" />
	<action name="validate-all" />
</actions>
</resource-agent>
""" % DEFAULT_SOCKET


def parse_stdin(text):
    opts = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        opts[key.strip()] = value.strip()
    return opts


def parse_args(argv):
    shortopts, longopts = "o:n:s:t:h", ["action=", "plug=", "port=", "power-socket=", "timeout=", "help"]
    pairs, _ = getopt.getopt(argv, shortopts, longopts)
    names = {"-o": "action", "--action": "action", "-n": "plug", "--plug": "plug", "--port": "plug",
             "-s": "power_socket", "--power-socket": "power_socket", "-t": "timeout", "--timeout": "timeout"}
    opts = {}
    for flag, value in pairs:
        if flag in ("-h", "--help"):
            opts["action"] = "help"
        else:
            opts[names[flag]] = value
    return opts


def ask(path, op, node, timeout):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(json.dumps({"op": op, "node": node}).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return json.loads(data.decode() or '{"ok": false, "error": "no reply"}')


def run(opts):
    action = opts.get("action", "reboot")
    if action == "metadata":
        sys.stdout.write(METADATA)
        return EC_OK
    if action == "help":
        sys.stdout.write("usage: fence_mailha_lab -o {%s} [-n NODE] [-s SOCKET]\n" % ",".join(ACTIONS))
        return EC_OK
    if action not in ACTIONS:
        sys.stderr.write("fence_mailha_lab: unsupported action %s\n" % action)
        return EC_FAIL
    node = opts.get("plug") or opts.get("port")
    path = opts.get("power_socket", DEFAULT_SOCKET)
    timeout = float(opts.get("timeout", 30))
    if action in ("on", "off", "reboot", "status") and not node:
        sys.stderr.write("fence_mailha_lab: action %s needs a node (-n/plug)\n" % action)
        return EC_FAIL
    try:
        if action in ("monitor", "validate-all"):
            return EC_OK if ask(path, "ping", None, timeout).get("ok") else EC_FAIL
        if action == "list":
            reply = ask(path, "list", None, timeout)
            for name in reply.get("nodes", []):
                sys.stdout.write("%s,%s\n" % (name, name))
            return EC_OK if reply.get("ok") else EC_FAIL
        reply = ask(path, action, node, timeout)
    except (OSError, ValueError) as exc:
        sys.stderr.write("fence_mailha_lab: power controller at %s: %s\n" % (path, exc))
        return EC_FAIL
    if not reply.get("ok"):
        sys.stderr.write("fence_mailha_lab: %s %s failed: %s\n" % (action, node, reply.get("error")))
        return EC_FAIL
    if action == "status":
        sys.stdout.write("Status: %s\n" % reply["state"].upper())
        return EC_OK if reply["state"] == "on" else EC_STATUS_OFF
    sys.stdout.write("Success: %s %s\n" % (action, node))
    return EC_OK


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        opts = parse_args(argv)
    except getopt.GetoptError as exc:
        sys.stderr.write("fence_mailha_lab: %s\n" % exc)
        return EC_FAIL
    if not argv:
        # fenced style: everything on stdin; command-line options win when both are given.
        opts = dict(parse_stdin(sys.stdin.read()), **opts)
    return run(opts)


if __name__ == "__main__":
    sys.exit(main())
