"""OCF metadata XML, generated from an agent's declaration with lxml.

Two dialects, chosen by the version the caller says it speaks (:func:`version_for`):

* OCF 1.1, for Pacemaker 2.1 and later (they set ``OCF_RA_VERSION_MAJOR=1``,
  ``OCF_RA_VERSION_MINOR=1``; so does ``crm_resource --show-metadata``, which pcs and crmsh
  use): ``reloadable`` parameters with the ``reload-agent`` action, ``unique-group``,
  ``<deprecated>`` and ``select`` choices.  In the OCF spec's ``ra-api.rng`` element order and
  content types (no ``time``), valid for pcs's ``ocf-1.1.rng``.
* OCF 1.0 for everyone else (``ocf-tester`` sets neither variable and validates against
  resource-agents' ``ra-api-1.dtd``, which has none of the above): the lone ``unique``
  flag, choices as plain strings, deprecation said in the description.

Only ``meta-data`` imports this module; lxml escapes every description and default for us.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Mapping, Optional

    from .agent import Agent
    from .params import Param

OCF_1_0 = "1.0"
OCF_1_1 = "1.1"
DOCTYPE_1_0 = '<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">'
#: Content types OCF 1.1 defines besides ``select``; 1.0's ``time`` is not one of them.
TYPES_1_1 = ("boolean", "string", "integer")
SECRET_NOTE = ("This value is a secret: it is never logged or passed on a command line;"
               " store it with cibsecret to keep it out of the CIB.")
_SENTENCE_ENDS = ".!?"
_CLOSERS = "\"')]"


def version_for(environ: "Mapping[str, str]") -> str:
    """The OCF version to describe the agent in: 1.1 when the caller speaks 1.1 or later."""
    try:
        major = int(environ.get("OCF_RA_VERSION_MAJOR", ""))
        minor = int(environ.get("OCF_RA_VERSION_MINOR", "") or "0")
    except ValueError:  # unset (ocf-tester, a hand run) or garbage: the version everyone reads
        return OCF_1_0
    return OCF_1_1 if (major, minor) >= (1, 1) else OCF_1_0


def _seconds(value: float) -> str:
    return f"{int(value)}s" if float(value).is_integer() else f"{int(value * 1000)}ms"


def _sentences(*parts: str) -> str:
    """Join description parts so that each one ends a sentence ("Password of x." not "...x This")."""
    text = ""
    for part in parts:
        if not part:
            continue
        if not text.strip():
            text = part
            continue
        if text.rstrip().rstrip(_CLOSERS)[-1:] not in _SENTENCE_ENDS:
            text = text.rstrip() + "."
        text = f"{text} {part}"
    return text


def unique_group(param: "Param") -> "Optional[str]":
    """The OCF 1.1 ``unique-group`` of *param*: its declared group, or a group of its own
    when it alone identifies an instance (1.1's word for 1.0's ``unique="1"``)."""
    if param.unique_group:
        return param.unique_group
    return param.name if param.unique else None


def _deprecation(param: "Param") -> str:
    if param.replaced_with:
        return f"Deprecated: set {param.replaced_with} instead."
    return "Deprecated: kept for old configurations only."


def _longdesc(param: "Param", version: str) -> str:
    # OCF 1.1 says it in <deprecated>; OCF 1.0 has only the description to say it in.
    deprecation = _deprecation(param) if param.deprecated and version == OCF_1_0 else ""
    return _sentences(param.longdesc or param.shortdesc, deprecation,
                      SECRET_NOTE if param.secret else "")


def render(agent: "Agent", version: str = OCF_1_0) -> str:
    """Return the agent's metadata document in OCF *version* (``1.0`` or ``1.1``) as text."""
    from lxml import etree  # only meta-data needs lxml; keep it off the monitor path

    v11 = version == OCF_1_1
    root = etree.Element("resource-agent", name=agent.name, version=agent.version)
    etree.SubElement(root, "version").text = OCF_1_1 if v11 else OCF_1_0
    etree.SubElement(root, "longdesc", lang="en").text = agent.longdesc
    etree.SubElement(root, "shortdesc", lang="en").text = agent.shortdesc

    params = etree.SubElement(root, "parameters")
    for param in agent.params:
        node = etree.SubElement(params, "parameter", name=param.name,
                                required="1" if param.required else "0")
        if v11:
            group = unique_group(param)
            if group:
                node.set("unique-group", group)
            if param.unique:
                node.set("unique", "1")  # the deprecated spelling, for tools that know no other
            if param.reloadable:
                node.set("reloadable", "1")
            if param.deprecated:
                # The schema puts <deprecated> before the descriptions.
                deprecated = etree.SubElement(node, "deprecated")
                if param.replaced_with:
                    etree.SubElement(deprecated, "replaced-with", name=param.replaced_with)
                etree.SubElement(deprecated, "desc", lang="en").text = _deprecation(param)
        else:
            node.set("unique", "1" if param.unique else "0")
        etree.SubElement(node, "longdesc", lang="en").text = _longdesc(param, version)
        etree.SubElement(node, "shortdesc", lang="en").text = param.shortdesc
        _content(etree, node, param, v11)

    actions = etree.SubElement(root, "actions")
    advertised = [a for a in agent.actions if a.name != "reload-agent"]
    reload = agent.reload_action() if v11 else None
    if reload is not None:
        advertised.append(reload)
    for action in advertised:
        node = etree.SubElement(actions, "action", name=action.name, timeout=_seconds(action.timeout))
        if action.interval is not None:
            node.set("interval", _seconds(action.interval))
        if action.depth is not None:
            node.set("depth", str(action.depth))

    body = etree.tostring(root, pretty_print=True, encoding="unicode")
    # No encoding= in the declaration: crmsh cannot parse a str that has one.
    head = '<?xml version="1.0"?>\n' if v11 else f'<?xml version="1.0"?>\n{DOCTYPE_1_0}\n'
    return head + body


def _content(etree, node, param: "Param", v11: bool) -> None:
    options = param.type.options if v11 else ()
    if options:
        content = etree.SubElement(node, "content", type="select")
        for option in options:
            etree.SubElement(content, "option", value=option)
    else:
        kind = param.type.content
        content = etree.SubElement(node, "content", type=kind if not v11 or kind in TYPES_1_1 else "string")
    if param.default is not None:
        content.set("default", param.default)
