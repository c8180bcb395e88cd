"""msgops.webchat: the page's static server and its /config.js (fast, no browser, no Rasa)."""
from __future__ import annotations

import http.client
import json
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Dict, Iterator, Optional, Tuple

import pytest

from msgops.webchat import browser_rasa_url, build_parser, config_js, make_server
from tests.web.webchat_cdp import start_webchat, stop

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"


@pytest.fixture
def served() -> Iterator[Tuple[str, int]]:
    server = make_server("127.0.0.1", 0, "http://localhost:5005")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[:2]
    finally:
        server.shutdown()
        server.server_close()


def get(address, path: str, headers: Optional[Dict[str, str]] = None):
    connection = http.client.HTTPConnection(*address, timeout=5)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def config_of(body: bytes) -> dict:
    match = re.fullmatch(rb"window\.MSGOPS_WEBCHAT = (\{.*\});\n", body)
    assert match, body
    return json.loads(match.group(1))


def test_serves_the_page_and_its_files(served):
    status, headers, body = get(served, "/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    page = body.decode("utf-8")
    for needed in ('src="config.js"', 'src="vendor/socket.io-client/socket.io.min.js"',
                   'src="app.js"', 'href="style.css"', '<label', 'aria-live="polite"',
                   'name="viewport"'):
        assert needed in page, needed
    assert get(served, "/index.html")[2] == body
    for path, kind in (("/app.js", "text/javascript"), ("/style.css", "text/css"),
                       ("/vendor/socket.io-client/socket.io.min.js", "text/javascript")):
        status, headers, body = get(served, path)
        assert status == 200 and headers["Content-Type"].startswith(kind), path
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "script-src 'self'" in headers["Content-Security-Policy"]


def test_config_js_tells_the_page_where_rasa_is(served):
    status, headers, body = get(served, "/config.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert headers["Cache-Control"] == "no-cache"
    assert config_of(body) == {"rasaUrl": "http://localhost:5005", "socketPath": "/socket.io"}
    # opened from another machine (--host 0.0.0.0): Rasa on this machine, by the name used
    _, _, body = get(served, "/config.js", {"Host": "chat.example.test:8080"})
    assert config_of(body)["rasaUrl"] == "http://chat.example.test:5005"
    _, _, body = get(served, "/config.js?v=2", {"Host": "127.0.0.1:8080"})
    assert config_of(body)["rasaUrl"] == "http://localhost:5005"


def test_no_listings_and_nothing_outside_web(served):
    assert get(served, "/vendor/")[0] == 404
    assert get(served, "/vendor/socket.io-client/")[0] == 404
    for path in ("/../pyproject.toml", "/%2e%2e/pyproject.toml", "/..%2fpyproject.toml",
                 "/../msgops/webchat.py", "/nothing-here.js"):
        assert get(served, path)[0] == 404, path
    assert get(served, "/health")[:1] == (200,)


def test_browser_rasa_url_and_config_rules():
    assert browser_rasa_url("http://localhost:5005/", None) == "http://localhost:5005"
    assert browser_rasa_url("http://localhost:5005", "localhost:8080") == "http://localhost:5005"
    assert browser_rasa_url("http://127.0.0.1:5005", "[::1]:8080") == "http://127.0.0.1:5005"
    assert browser_rasa_url("http://localhost:5005", "10.0.0.7:8080") == "http://10.0.0.7:5005"
    assert browser_rasa_url("http://localhost:5005", "[fd00::7]:8080") == "http://[fd00::7]:5005"
    # a real address is never rewritten
    assert browser_rasa_url("https://bot.example.org", "chat.example.org") == \
        "https://bot.example.org"
    body = config_js("http://x/</script><script>alert(1)//")
    assert b"</script>" not in body and config_of(body)["rasaUrl"].endswith("alert(1)//")


def test_public_rasa_url_wins():
    server = make_server("127.0.0.1", 0, "http://localhost:5005",
                         public_rasa_url="https://bot.example.org/", socket_path="/chat/socket.io")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        _, _, body = get(server.server_address[:2], "/config.js", {"Host": "10.0.0.7:8080"})
        assert config_of(body) == {"rasaUrl": "https://bot.example.org",
                                   "socketPath": "/chat/socket.io"}
    finally:
        server.shutdown()
        server.server_close()


def test_command_line_as_run_sh_uses_it(tmp_path):
    args = build_parser().parse_args(["--port", "8080", "--rasa-url", "http://localhost:5005"])
    assert (args.host, args.port, args.rasa_url) == ("127.0.0.1", 8080, "http://localhost:5005")
    web = start_webchat("http://localhost:5999", tmp_path / "webchat.log")
    try:
        host, port = web.url.split("//")[1].rstrip("/").split(":")
        _, _, body = get((host, int(port)), "/config.js")
        assert config_of(body)["rasaUrl"] == "http://localhost:5999"
    finally:
        stop(web.process)
    assert "GET /config.js" in (tmp_path / "webchat.log").read_text()


def test_vendored_socketio_client_is_the_documented_one():
    vendored = WEB / "vendor" / "socket.io-client"
    banner = (vendored / "socket.io.min.js").read_text(encoding="utf-8")[:200]
    assert "Socket.IO v4.7.5" in banner
    assert "MIT License" in (vendored / "LICENSE").read_text(encoding="utf-8")
    assert "socket.io-client 4.7.5" in (ROOT / "docs" / "webchat.md").read_text(encoding="utf-8")


@pytest.mark.skipif(not shutil.which("node"), reason="node is not installed")
def test_app_js_parses():
    result = subprocess.run(["node", "--check", str(WEB / "app.js")], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_module_runs_with_help():
    result = subprocess.run([sys.executable, "-m", "msgops.webchat", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and "--rasa-url" in result.stdout
