"""OCF metadata XML, generated from an agent's declaration with lxml.

The output validates against resource-agents' ``ra-api-1.dtd`` (what ``ocf-tester`` checks) and
pcs's OCF 1.0 RelaxNG schema (what ``pcs resource describe`` checks), so it stays within OCF 1.0:
no ``reloadable``, no ``select``.  lxml escapes every description and default for us.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .agent import Agent

DOCTYPE = '<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">'


def _seconds(value: float) -> str:
    return f"{int(value)}s" if float(value).is_integer() else f"{int(value * 1000)}ms"


def render(agent: "Agent") -> str:
    """Return the agent's metadata document as text."""
    from lxml import etree  # only meta-data needs lxml; keep it off the monitor path

    root = etree.Element("resource-agent", name=agent.name, version=agent.version)
    etree.SubElement(root, "version").text = "1.0"
    etree.SubElement(root, "longdesc", lang="en").text = agent.longdesc
    etree.SubElement(root, "shortdesc", lang="en").text = agent.shortdesc

    params = etree.SubElement(root, "parameters")
    for param in agent.params:
        node = etree.SubElement(
            params,
            "parameter",
            name=param.name,
            required="1" if param.required else "0",
            unique="1" if param.unique else "0",
        )
        longdesc = param.longdesc or param.shortdesc
        if param.secret:
            longdesc += (
                " This value is a secret: it is never logged or passed on a command line;"
                " store it with cibsecret to keep it out of the CIB."
            )
        etree.SubElement(node, "longdesc", lang="en").text = longdesc
        etree.SubElement(node, "shortdesc", lang="en").text = param.shortdesc
        content = etree.SubElement(node, "content", type=param.type.content)
        if param.default is not None:
            content.set("default", param.default)

    actions = etree.SubElement(root, "actions")
    for action in agent.actions:
        node = etree.SubElement(actions, "action", name=action.name, timeout=_seconds(action.timeout))
        if action.interval is not None:
            node.set("interval", _seconds(action.interval))
        if action.depth is not None:
            node.set("depth", str(action.depth))

    body = etree.tostring(root, pretty_print=True, encoding="unicode")
    return f'<?xml version="1.0"?>\n{DOCTYPE}\n{body}'
