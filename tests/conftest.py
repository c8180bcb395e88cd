"""Shared fixtures: a fresh business store per test, and the running servers for conversations.

`servers` starts the real action server and Rasa server (REST + socketio channels, HTTP API)
with the trained model, once per database backend: an SQLite file always, and PostgreSQL
on 127.0.0.1:5432 when it answers. Tests talk to them over HTTP like a channel would.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Optional

import pytest
import requests
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MODEL = ROOT / "models" / "msgops.tar.gz"
PG_ADMIN_URL = os.environ.get("MSGOPS_TEST_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
API_TOKEN = "test-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


def create_pg_database() -> Optional[str]:
    """A throwaway PostgreSQL database, or None when no server answers."""
    if not postgres_reachable():
        return None
    from sqlalchemy import create_engine, text

    name = f"msgops_test_{uuid.uuid4().hex[:10]}"
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", future=True)
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def write_business_file(directory: Path, **overrides: object) -> Path:
    """business.yml with test overrides (e.g. a follow-up delay of seconds, not hours)."""
    data = yaml.safe_load((ROOT / "business.yml").read_text(encoding="utf-8"))
    for dotted, value in overrides.items():
        node = data
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node[key]
        node[leaf] = value
    path = directory / "business.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def store(tmp_path, monkeypatch) -> str:
    """A fresh SQLite business store for one test."""
    url = f"sqlite:///{tmp_path / 'msgops.db'}"
    monkeypatch.setenv("MSGOPS_DB_URL", url)
    return url


@dataclass
class Servers:
    backend: str
    rasa_url: str
    rasa_port: int
    db_url: str
    business_file: Path
    env: dict

    def say(self, sender: str, text: str) -> List[dict]:
        response = requests.post(f"{self.rasa_url}/webhooks/rest/webhook",
                                 json={"sender": sender, "message": text}, timeout=60)
        response.raise_for_status()
        return response.json()

    def tracker(self, sender: str) -> dict:
        response = requests.get(f"{self.rasa_url}/conversations/{sender}/tracker",
                                params={"token": API_TOKEN}, timeout=30)
        response.raise_for_status()
        return response.json()


def _wait_until_up(url: str, process: subprocess.Popen, log: Path, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited early:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not come up in {seconds}s:\n{log.read_text()[-3000:]}")


def _backends() -> List[str]:
    return ["sqlite", "postgresql"]


@pytest.fixture(scope="session", params=_backends())
def servers(request, tmp_path_factory) -> Iterator[Servers]:
    if not MODEL.exists():
        pytest.fail("no trained model: run `make train` first (make test does)")
    backend = request.param
    workdir = tmp_path_factory.mktemp(f"servers-{backend}")
    if backend == "postgresql":
        db_url = create_pg_database()
        if db_url is None:
            pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    else:
        db_url = f"sqlite:///{workdir / 'msgops.db'}"
    business_file = write_business_file(workdir, **{"followup.delay_minutes": 0.05})
    rasa_port, actions_port = free_port(), free_port()
    (workdir / "endpoints.yml").write_text(yaml.safe_dump({
        "action_endpoint": {"url": f"http://127.0.0.1:{actions_port}/webhook"},
        "tracker_store": {"type": "SQL", "dialect": "sqlite", "db": str(workdir / "tracker.db")},
    }))
    (workdir / "credentials.yml").write_text(yaml.safe_dump({
        "msgops.channels.rest.RestInput": None,
        "msgops.channels.socketio.SocketIOInput": {"user_message_evt": "user_uttered", "bot_message_evt": "bot_uttered",
                     "session_persistence": True},
    }))
    env = {**os.environ, "MSGOPS_DB_URL": db_url, "MSGOPS_BUSINESS_FILE": str(business_file),
           "MSGOPS_API_TOKEN": API_TOKEN, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONHASHSEED": "0"}
    logs = {name: workdir / f"{name}.log" for name in ("actions", "rasa")}
    actions = subprocess.Popen(
        [str(BIN / "rasa"), "run", "actions", "--actions", "actions", "--port", str(actions_port)],
        cwd=ROOT, env=env, stdout=logs["actions"].open("w"), stderr=subprocess.STDOUT)
    rasa = subprocess.Popen(
        [str(BIN / "rasa"), "run", "--enable-api", "--auth-token", API_TOKEN, "--cors", "*",
         "--model", str(MODEL), "--endpoints", str(workdir / "endpoints.yml"),
         "--credentials", str(workdir / "credentials.yml"), "--port", str(rasa_port)],
        cwd=ROOT, env=env, stdout=logs["rasa"].open("w"), stderr=subprocess.STDOUT)
    try:
        _wait_until_up(f"http://127.0.0.1:{actions_port}/health", actions, logs["actions"])
        _wait_until_up(f"http://127.0.0.1:{rasa_port}/status?token={API_TOKEN}", rasa, logs["rasa"])
        yield Servers(backend, f"http://127.0.0.1:{rasa_port}", rasa_port, db_url, business_file, env)
    finally:
        for process in (rasa, actions):
            process.terminate()
        for process in (rasa, actions):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def server_env(servers, monkeypatch) -> Servers:
    """Point this test process at the servers' store and profile, to read what they wrote."""
    monkeypatch.setenv("MSGOPS_DB_URL", servers.db_url)
    monkeypatch.setenv("MSGOPS_BUSINESS_FILE", str(servers.business_file))
    return servers
