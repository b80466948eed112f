"""Fixtures for tests against real directory servers (389-ds and OpenLDAP).

Shared with the agent tests:

* ``ds389``, ``openldap``: a fresh, running instance on a free loopback port for the test module,
  removed at the end of the module even when a test fails.  A test that stops, kills or freezes
  the server should leave it running again (``inst.start()``) for the next test of its module.
* ``ds389_factory``, ``openldap_factory``: make more instances (``factory(**create_kwargs)``,
  the keywords of ``create_389ds``/``create_openldap``; name and port default to fresh ones),
  running, all removed at the end of the module; for two instances on one node and the like.
  A ``root`` must be searchable by the server's user (dirsrv, openldap): pytest's ``tmp_path``
  is not (0700); take ``mailha.tools.dsinstance.server_tempdir()`` and remove it afterwards.
* ``user_password_file``: a 0600 file with a random password, for :func:`add_test_user`.
* :func:`free_port`: a free TCP port on loopback.

The instances are real daemons: these tests need root and the Debian packages 389-ds-base,
slapd and ldap-utils.  Missing ones make the fixtures fail, never skip.
"""

from __future__ import annotations

import os
import secrets
import shutil
from typing import Callable, Iterator

import pytest

from mailha.tools import dsinstance
from mailha.tools.dsinstance import (  # noqa: F401 (free_port is re-exported for other tests)
    DsInstance, SlapdInstance, free_port, server_tempdir, unique_name)

_NEEDED = (dsinstance.DSCREATE, dsinstance.NS_SLAPD, dsinstance.SLAPD, dsinstance.SLAPADD,
           dsinstance.SLAPPASSWD, dsinstance.LDAPADD, "/usr/bin/ldapsearch")


def _require_servers() -> None:
    missing = [p for p in _NEEDED if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail("real directory server tests need 389-ds-base, slapd and ldap-utils; "
                    f"missing: {', '.join(missing)}")
    if os.geteuid() != 0:
        pytest.fail("real directory server tests must run as root (dscreate, slapd -u openldap)")


@pytest.fixture(scope="module")
def ds389_factory() -> Iterator[Callable[..., DsInstance]]:
    _require_servers()
    made: list[DsInstance] = []

    def make(**kwargs) -> DsInstance:
        kwargs.setdefault("port", free_port())
        inst = dsinstance.create_389ds(kwargs.pop("name", unique_name()), start=True, **kwargs)
        made.append(inst)
        return inst

    yield make
    for inst in reversed(made):
        dsinstance.remove_389ds(inst)


@pytest.fixture(scope="module")
def openldap_factory() -> Iterator[Callable[..., SlapdInstance]]:
    _require_servers()
    made: list[tuple[SlapdInstance, str]] = []

    def make(**kwargs) -> SlapdInstance:
        parent = server_tempdir()
        kwargs.setdefault("port", free_port())
        kwargs.setdefault("root", os.path.join(parent, "ldap"))
        try:
            inst = dsinstance.create_openldap(kwargs.pop("name", unique_name()), start=True,
                                              **kwargs)
        except BaseException:
            shutil.rmtree(parent, ignore_errors=True)
            raise
        made.append((inst, parent))
        return inst

    yield make
    for inst, parent in reversed(made):
        dsinstance.remove_openldap(inst)
        shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture(scope="module")
def ds389(ds389_factory: Callable[..., DsInstance]) -> DsInstance:
    """A running 389-ds instance in the default layout, on 127.0.0.1, with LDAPS
    (self-signed) on ``secure_port``."""
    return ds389_factory(listen_host="127.0.0.1", secure_port=free_port())


@pytest.fixture(scope="module")
def openldap(openldap_factory: Callable[..., SlapdInstance]) -> SlapdInstance:
    """A running OpenLDAP instance (with a cn=Monitor database) on 127.0.0.1."""
    return openldap_factory()


@pytest.fixture()
def user_password_file(tmp_path) -> str:
    path = tmp_path / "user.pw"
    path.write_text(secrets.token_urlsafe(12))
    path.chmod(0o600)
    return str(path)
