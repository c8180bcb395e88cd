"""Start the real action server and Rasa server on free local ports, for tests and bench/.

Both processes get their own endpoints/credentials files in a work folder, the business
store URL and profile through the environment, and are stopped together.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import requests
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MODEL = ROOT / "models" / "msgops.tar.gz"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_business_file(directory: Path, **overrides: object) -> Path:
    """business.yml with overrides given as dotted keys, e.g. followup.delay_minutes=0.05."""
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


@dataclass
class LocalServers:
    workdir: Path
    db_url: str
    business_file: Path
    token: str = "test-token"
    model: Path = MODEL
    rasa_port: int = field(default_factory=free_port)
    actions_port: int = field(default_factory=free_port)
    extra_env: Dict[str, str] = field(default_factory=dict)
    extra_credentials: Dict[str, object] = field(default_factory=dict)  # e.g. a WhatsApp channel
    processes: List[subprocess.Popen] = field(default_factory=list)
    started_at: float = 0.0
    ready_after: float = 0.0

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def env(self) -> Dict[str, str]:
        return {**os.environ, "MSGOPS_DB_URL": self.db_url,
                "MSGOPS_BUSINESS_FILE": str(self.business_file), "MSGOPS_API_TOKEN": self.token,
                "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONHASHSEED": "0", **self.extra_env}

    def _write_config(self) -> None:
        (self.workdir / "endpoints.yml").write_text(yaml.safe_dump({
            "action_endpoint": {"url": f"http://127.0.0.1:{self.actions_port}/webhook"},
            "tracker_store": {"type": "SQL", "dialect": "sqlite", "db": str(self.workdir / "tracker.db")},
        }))
        (self.workdir / "credentials.yml").write_text(yaml.safe_dump({
            "msgops.channels.rest.RestInput": None,
            "msgops.channels.socketio.SocketIOInput": {
                "user_message_evt": "user_uttered", "bot_message_evt": "bot_uttered",
                "session_persistence": True},
            **self.extra_credentials,
        }))

    def _spawn(self, name: str, args: List[str]) -> subprocess.Popen:
        log = (self.workdir / f"{name}.log").open("w")
        process = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def start_actions(self) -> subprocess.Popen:
        return self._spawn("actions", [str(BIN / "rasa"), "run", "actions", "--actions", "actions",
                                       "--port", str(self.actions_port)])

    def start_rasa(self) -> subprocess.Popen:
        return self._spawn("rasa", [
            str(BIN / "rasa"), "run", "--enable-api", "--auth-token", self.token, "--cors", "*",
            "--model", str(self.model), "--endpoints", str(self.workdir / "endpoints.yml"),
            "--credentials", str(self.workdir / "credentials.yml"), "--port", str(self.rasa_port)])

    def start(self, with_actions: bool = True) -> LocalServers:
        self._write_config()
        self.started_at = time.monotonic()
        actions = self.start_actions() if with_actions else None
        rasa = self.start_rasa()
        if actions:
            wait_until_up(f"http://127.0.0.1:{self.actions_port}/health", actions,
                          self.workdir / "actions.log")
        wait_until_up(f"{self.rasa_url}/status?token={self.token}", rasa, self.workdir / "rasa.log")
        self.ready_after = time.monotonic() - self.started_at
        return self

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()

    def say(self, sender: str, text: str, timeout: float = 60) -> List[dict]:
        response = requests.post(f"{self.rasa_url}/webhooks/rest/webhook",
                                 json={"sender": sender, "message": text}, timeout=timeout)
        response.raise_for_status()
        return response.json()

    def tracker(self, sender: str) -> dict:
        response = requests.get(f"{self.rasa_url}/conversations/{sender}/tracker",
                                params={"token": self.token}, timeout=30)
        response.raise_for_status()
        return response.json()


def wait_until_up(url: str, process: subprocess.Popen, log: Path, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited early:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"{url} did not come up in {seconds}s:\n{log.read_text()[-3000:]}")


def postgres_reachable(host: str = "127.0.0.1", port: int = 5432) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def create_pg_database(admin_url: str) -> Optional[str]:
    """A throwaway PostgreSQL database, or None when no server answers."""
    if not postgres_reachable():
        return None
    import uuid

    from sqlalchemy import create_engine, text

    name = f"msgops_test_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT", future=True)
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"
