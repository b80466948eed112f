"""The pcs and crmsh configurations in crm-templates/: placeholders and command lines.

A template is a shell-like text of ``pcs ...`` (or crmsh) lines with ``@@NAME@@`` placeholders
for the site's values.  The Vagrant lab creates its topologies from them, the template tests
check them against Pacemaker, and a site fills them the same way.
"""

import re
import shlex
from typing import List, Mapping

PLACEHOLDER = re.compile(r"@@([A-Z0-9_]+)@@")


class TemplateError(ValueError):
    """A template needs a value nobody gave."""


def placeholders(text: str) -> "List[str]":
    return sorted(set(PLACEHOLDER.findall(text)))


def fill(text: str, values: "Mapping[str, str]") -> str:
    """*text* with every ``@@NAME@@`` replaced by ``values[NAME]``; TemplateError naming
    the placeholders *values* lacks (a half-filled configuration is never returned)."""
    missing = [name for name in placeholders(text) if name not in values]
    if missing:
        raise TemplateError("no value for " + ", ".join(missing))
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def pcs_commands(text: str) -> "List[List[str]]":
    """The template's command lines as argument lists: continuations joined, comments dropped."""
    lines = text.replace("\\\n", " ").splitlines()
    return [shlex.split(line) for line in lines if line.strip() and not line.lstrip().startswith("#")]
