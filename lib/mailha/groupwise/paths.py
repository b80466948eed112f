"""Where GroupWise installs on Linux (product facts §1.1, §1.4): overridable defaults, never guesses."""

AGENTS_DIR = "/opt/novell/groupwise/agents"
AGENTS_BIN = f"{AGENTS_DIR}/bin"
AGENTS_SHARE = f"{AGENTS_DIR}/share"
GWMTA = f"{AGENTS_BIN}/gwmta"
GWPOA = f"{AGENTS_BIN}/gwpoa"
GWIA = f"{AGENTS_BIN}/gwia"
GWHA = f"{AGENTS_BIN}/gwha"
#: Each agent kind's program name.
PROGRAMS = {"mta": "gwmta", "poa": "gwpoa", "gwia": "gwia"}
GRPWISE_INIT = "/etc/init.d/grpwise"
GWHA_CONF = "/etc/opt/novell/groupwise/gwha.conf"
# Linux GWIA before GW2014: the one startup file of the node's GWIA (product facts §1.2).
GWIA_CFG = f"{AGENTS_SHARE}/gwia.cfg"
