"""For setuptools without PEP 517 builds (RHEL 8 and SLES 15 ship 39.x): ``setup.py build``.

Everything is declared in setup.cfg; pyproject.toml builds (pip, Debian's pybuild) run this too.
"""
from setuptools import setup

setup()
