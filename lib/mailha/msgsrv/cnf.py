"""The MTA's option files ``dispatcher.cnf`` and ``job_controller.cnf`` (product facts §2.4).

Lines are ``OPTION=VALUE``; ``[TYPE=VALUE]`` starts a section (``[SERVICE=SMTP]`` in
``dispatcher.cnf``); options before the first section are global; ``!`` starts a comment.
``ha_ip_config`` (seed 002) binds an instance to its logical IP by setting
``INTERFACE_ADDRESS`` in the SMTP and SMTP Submit services of ``dispatcher.cnf`` and globally
in ``job_controller.cnf``; with several instances on one node each job controller needs its own
``TCP_PORT``.  :func:`binding_problems` checks that binding, :func:`with_option` writes it,
keeping every other line as it was.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Dict, List, Optional, Tuple

INTERFACE_ADDRESS = "INTERFACE_ADDRESS"
TCP_PORT = "TCP_PORT"
#: The dispatcher services ha_ip_config binds (seed 002: SMTP and SMTP Submit).
BOUND_SERVICES = ("SMTP", "SMTP_SUBMIT")
#: The job controller's port when job_controller.cnf sets none (product facts §2.4: partly verified).
JOB_CONTROLLER_PORT = 27442
MAX_SIZE = 1 << 20  # an option file is a few KiB


class Section:
    """Options of one ``[TYPE=VALUE]`` section (TYPE and VALUE upper-cased), or the global ones
    (``kind`` and ``value`` empty)."""

    __slots__ = ("kind", "options", "value")

    def __init__(self, kind: str = "", value: str = "") -> None:
        self.kind, self.value = kind, value
        self.options: "Dict[str, str]" = {}

    def __repr__(self) -> str:
        return "Section({!r}, {!r}, {!r})".format(self.kind, self.value, self.options)


def _line(raw: str) -> "Tuple[str, Optional[Tuple[str, str]]]":
    """('section', (TYPE, VALUE)) | ('option', (NAME, VALUE)) | ('', None) for one line."""
    text = raw.split("!", 1)[0].strip()
    if not text:
        return "", None
    if text.startswith("[") and text.endswith("]"):
        kind, _, value = text[1:-1].partition("=")
        return "section", (kind.strip().upper(), value.strip().upper())
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        return "", None  # not an option line: kept as it is, never read
    return "option", (name.strip().upper(), value.strip())


def parse(text: str) -> "List[Section]":
    """The global options first, then each section in file order."""
    sections = [Section()]
    for raw in text.splitlines():
        what, pair = _line(raw)
        if what == "section":
            sections.append(Section(*pair))
        elif what == "option":
            sections[-1].options[pair[0]] = pair[1]
    return sections


def section(sections: "List[Section]", kind: str = "", value: str = "") -> "Optional[Section]":
    for candidate in sections:
        if candidate.kind == kind.upper() and candidate.value == value.upper():
            return candidate
    return None


def binding_problems(dispatcher: str, job_controller: str, address: str) -> "List[str]":
    """What keeps the MTA from being bound to *address* alone, as ha_ip_config leaves it: one
    line per file and place, naming the option to set (empty: bound)."""
    from ..net import same_address

    problems = []
    sections = parse(dispatcher)
    for service in BOUND_SERVICES:
        found = section(sections, "SERVICE", service)
        if found is None:
            continue  # a service the instance does not run
        have = found.options.get(INTERFACE_ADDRESS)
        if not same_address(have, address):
            # "binds", not the option's name: with the fix after it, an exit reason must fit in
            # 128 bytes for any IPv4 address (the full text, with INTERFACE_ADDRESS, is logged).
            problems.append(f"dispatcher.cnf [SERVICE={service}] binds {have or 'all addresses'}, not {address}")
    have = parse(job_controller)[0].options.get(INTERFACE_ADDRESS)
    if not same_address(have, address):
        problems.append(f"job_controller.cnf binds {have or 'all addresses'}, not {address}")
    return problems


def job_controller_port(job_controller: str) -> int:
    """The job controller's ``TCP_PORT`` (its default when unset or garbled)."""
    raw = parse(job_controller)[0].options.get(TCP_PORT, "")
    return int(raw) if raw.isdecimal() and 0 < int(raw) <= 65535 else JOB_CONTROLLER_PORT


def service_port(dispatcher: str, service: str) -> "Optional[int]":
    """The ``PORT`` of ``[SERVICE=<service>]`` in dispatcher.cnf (None: no such section or port;
    a PORT may list several, the first is taken)."""
    found = section(parse(dispatcher), "SERVICE", service)
    raw = found.options.get("PORT", "").replace(",", " ").split()[:1] if found else []
    return int(raw[0]) if raw and raw[0].isdecimal() and 0 < int(raw[0]) <= 65535 else None


def with_option(text: str, name: str, value: str, kind: str = "", section_value: str = "") -> str:
    """*text* with option *name* set to *value* in the section ``[kind=section_value]`` (the
    global options when *kind* is empty): the option's line is replaced where it is, or added
    at the end of the section; every other line is kept byte for byte."""
    if "\n" in value or "!" in value:
        raise ValueError(f"{name} value {value!r} cannot be written on one option line")
    lines = text.splitlines(keepends=True)
    want = (kind.upper(), section_value.upper())
    current = ("", "")
    insert_at = None  # after the last line of the wanted section
    for index, raw in enumerate(lines):
        what, pair = _line(raw)
        if what == "section":
            if current == want:
                break
            current = pair
            if current == want:
                insert_at = index + 1
            continue
        if current == want:
            if what == "option" and pair[0] == name.upper():
                ending = raw[len(raw.rstrip("\r\n")):] or "\n"
                lines[index] = f"{name.upper()}={value}{ending}"
                return "".join(lines)
            if raw.strip() or insert_at is None:
                insert_at = index + 1
    if want == ("", "") and insert_at is None:
        insert_at = 0
    if insert_at is None:
        raise ValueError(f"no section [{kind.upper()}={section_value.upper()}] to set {name} in")
    if insert_at and not lines[insert_at - 1].endswith("\n"):
        lines[insert_at - 1] += "\n"
    lines.insert(insert_at, f"{name.upper()}={value}\n")
    return "".join(lines)
