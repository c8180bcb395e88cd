"""Shared fixtures: a fresh business store per test, and the running servers for conversations.

`servers` starts the real action server and Rasa server (REST + socketio channels, HTTP API)
with the trained model, once per database backend: an SQLite file always, and PostgreSQL
on 127.0.0.1:5432 when it answers. Tests talk to them over HTTP like a channel would.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Iterator, Optional

import pytest

from msgops.harness import MODEL, LocalServers, write_business_file
from msgops.harness import create_pg_database as _create_pg

PG_ADMIN_URL = os.environ.get("MSGOPS_TEST_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
API_TOKEN = "test-token"


def create_pg_database() -> Optional[str]:
    return _create_pg(PG_ADMIN_URL)


@contextmanager
def running(servers: LocalServers, **start: Any) -> Iterator[LocalServers]:
    """The servers started for a fixture's scope and stopped after it, whatever happens."""
    if not MODEL.exists():
        pytest.fail("no trained model: run `make train` first (make test does)")
    try:
        yield servers.start(**start)
    finally:
        servers.stop()


@pytest.fixture
def store(tmp_path, monkeypatch) -> str:
    """A fresh SQLite business store for one test."""
    url = f"sqlite:///{tmp_path / 'msgops.db'}"
    monkeypatch.setenv("MSGOPS_DB_URL", url)
    return url


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def servers(request, tmp_path_factory) -> Iterator[LocalServers]:
    workdir = tmp_path_factory.mktemp(f"servers-{request.param}")
    if request.param == "postgresql":
        db_url = create_pg_database()
        if db_url is None:
            pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    else:
        db_url = f"sqlite:///{workdir / 'msgops.db'}"
    business_file = write_business_file(workdir, **{"followup.delay_minutes": 0.05})
    with running(LocalServers(workdir, db_url, business_file, token=API_TOKEN)) as started:
        yield started


@pytest.fixture
def server_env(servers, monkeypatch) -> LocalServers:
    """Point this test process at the servers' store and profile, to read what they wrote."""
    monkeypatch.setenv("MSGOPS_DB_URL", servers.db_url)
    monkeypatch.setenv("MSGOPS_BUSINESS_FILE", str(servers.business_file))
    return servers
