"""Real local servers for the connector tests.

* ``FakePlatform``: an aiohttp server on 127.0.0.1 standing in for the Graph API and the Bot
  API; it records every request the connector makes and answers like the platform does (or
  with scripted errors).
* ``ConnectorApp``: a real Sanic app on 127.0.0.1 with the connector's blueprint mounted where
  Rasa mounts it (``/webhooks/<name>``), ``app.ctx.agent`` holding a real Rasa in-memory
  tracker store, and a fake bot as ``on_new_message`` that records the ``UserMessage``s and
  replies through the connector's output channel, appending the events to the tracker like
  Rasa would.

Tests are plain functions running one event loop each through ``run``.
"""
from __future__ import annotations

import asyncio
import copy
import itertools
import json
import socket
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

import aiohttp
import pytest
from aiohttp import web

# The platforms' sample payloads live beside the project (../shared), where developers and CI
# have them; a user's clone has none, and the tests that need them skip.
FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "channels"
APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "fake-verify-token"
_app_names = itertools.count(1)


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)


def fixture(name: str) -> Dict[str, Any]:
    if not FIXTURES.is_dir():
        pytest.skip(f"no channel fixtures at {FIXTURES} (../shared is not beside this clone)")
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def fresh_whatsapp(name: str, **changes: Any) -> Dict[str, Any]:
    """A WhatsApp fixture with its message timestamps set to now (the 24-hour window is real)."""
    payload = copy.deepcopy(fixture(name))
    now = str(int(time.time()))
    for entry in payload["entry"]:
        for change in entry["changes"]:
            for message in change["value"].get("messages", []):
                message["timestamp"] = now
                message.update(changes)
    return payload


def fresh_messaging(name: str) -> Dict[str, Any]:
    """An Instagram/Messenger fixture with timestamps (milliseconds) set to now."""
    payload = copy.deepcopy(fixture(name))
    now = int(time.time() * 1000)
    for entry in payload["entry"]:
        entry["time"] = now
        for event in entry.get("messaging", []):
            event["timestamp"] = now
    return payload


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path, monkeypatch):
    """Each test gets its own SQLite business store and fast retries."""
    monkeypatch.setenv("MSGOPS_DB_URL", f"sqlite:///{tmp_path / 'msgops.db'}")
    from msgops.channels import state
    from msgops.channels.http import JsonHttpClient

    monkeypatch.setattr(JsonHttpClient, "backoff_base", 0.01)
    monkeypatch.setattr(state, "_last_purge_monotonic", 0.0)
    yield


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


class FakePlatform:
    """Graph API / Bot API stand-in. ``script`` queues (status, json) answers for the next calls."""

    def __init__(self) -> None:
        self.requests: List[Dict[str, Any]] = []
        self.script: List[Tuple[int, Dict[str, Any]]] = []
        self._counter = itertools.count(1)
        self._runner: Optional[web.AppRunner] = None
        self.base_url = ""

    async def __aenter__(self) -> FakePlatform:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.SockSite(self._runner, _free_socket())
        await site.start()
        port = site._sock.getsockname()[1]  # type: ignore[attr-defined]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: Any) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        self.requests.append(
            {"method": request.method, "path": request.path, "headers": dict(request.headers), "json": body}
        )
        if self.script:
            status, answer = self.script.pop(0)
            return web.json_response(answer, status=status)
        n = next(self._counter)
        if "/bot" in request.path:
            return web.json_response({"ok": True, "result": {"message_id": 1000 + n}})
        if request.path.endswith("/me/messages"):
            return web.json_response({"recipient_id": (body.get("recipient") or {}).get("id"),
                                      "message_id": f"m_OUT_{n}"})
        if body.get("status") == "read":
            return web.json_response({"success": True})
        return web.json_response({"messaging_product": "whatsapp",
                                  "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
                                  "messages": [{"id": f"wamid.OUT{n}"}]})

    # -- what the connector sent -------------------------------------------------------------

    def sends(self) -> List[Dict[str, Any]]:
        """Message sends (WhatsApp/Meta), without read receipts and sender actions."""
        out = []
        for r in self.requests:
            body = r["json"]
            if "/bot" in r["path"]:
                continue
            if body.get("status") == "read" or "sender_action" in body:
                continue
            out.append(body)
        return out

    def telegram_calls(self, method: Optional[str] = None) -> List[Dict[str, Any]]:
        calls = []
        for r in self.requests:
            if "/bot" in r["path"]:
                name = r["path"].rsplit("/", 1)[-1]
                if method is None or name == method:
                    calls.append({"method": name, "params": r["json"], "path": r["path"]})
        return calls


Reply = Callable[[Any], List[Dict[str, Any]]]


def echo_reply(message: Any) -> List[Dict[str, Any]]:
    return [{"text": f"echo: {message.text}"}]


class FakeBot:
    """``on_new_message`` for the tests: records, optionally waits, replies via the channel."""

    def __init__(self, reply: Reply = echo_reply, delay: float = 0.0) -> None:
        self.reply = reply
        self.delay = delay
        self.received: List[Any] = []
        self.results: List[Any] = []
        self.tracker_store: Any = None

    async def __call__(self, message: Any) -> None:
        from rasa.shared.core.events import BotUttered, UserUttered

        self.received.append(message)
        if self.delay:
            await asyncio.sleep(self.delay)
        tracker = await self.tracker_store.get_or_create_tracker(message.sender_id)
        tracker.update(UserUttered(message.text, message_id=message.message_id,
                                   input_channel=message.input_channel))
        for response in self.reply(message):
            result = await message.output_channel.send_response(message.sender_id, dict(response))
            self.results.append(result)
            data = {k: v for k, v in response.items() if k != "text"}
            tracker.update(BotUttered(response.get("text"), data=data))
        await self.tracker_store.save(tracker)


STORE_UNAVAILABLE = "Ваше сообщение сохранено, менеджер свяжется с вами."


class _Agent:
    """What the connectors (and the reply guard) use of Rasa's agent: the tracker store and
    the response generator, both real Rasa classes."""

    def __init__(self, tracker_store: Any) -> None:
        from rasa.core.nlg import TemplatedNaturalLanguageGenerator
        from rasa.shared.core.domain import Domain

        self.tracker_store = tracker_store
        domain = Domain.from_dict({"responses": {"utter_store_unavailable": [{"text": STORE_UNAVAILABLE}]}})
        self.nlg = TemplatedNaturalLanguageGenerator(domain.responses)


class ConnectorApp:
    """A real Sanic server on 127.0.0.1 with one connector mounted at ``/webhooks/<name>``."""

    def __init__(self, channel: Any, bot: FakeBot) -> None:
        self.channel = channel
        self.bot = bot
        self.base_url = ""
        self._server: Any = None
        self._session: Optional[aiohttp.ClientSession] = None

    async def __aenter__(self) -> ConnectorApp:
        from rasa.core.tracker_store import InMemoryTrackerStore
        from rasa.shared.core.domain import Domain
        from sanic import Sanic

        # test mode: Sanic 21.12 otherwise rewrites handle_request once per process and fails
        # when a second app starts in the same process (TouchUp KeyError)
        Sanic.test_mode = True
        app = Sanic(f"msgops_channels_test_{next(_app_names)}")
        store = InMemoryTrackerStore(Domain.empty())
        self.bot.tracker_store = store
        app.ctx.agent = _Agent(store)
        app.blueprint(self.channel.blueprint(self.bot), url_prefix=f"/webhooks/{self.channel.name()}")
        sock = _free_socket()
        port = sock.getsockname()[1]
        self._server = await app.create_server(sock=sock, return_asyncio_server=True, access_log=False)
        await self._server.startup()
        await self._server.before_start()
        await self._server.after_start()
        self.base_url = f"http://127.0.0.1:{port}"
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.settle()
        assert self._session is not None
        await self._session.close()
        await self._server.before_stop()
        await self._server.close()
        await self._server.after_stop()
        await self.channel.client.aclose()

    @property
    def webhook(self) -> str:
        return f"{self.base_url}/webhooks/{self.channel.name()}/webhook"

    async def post(self, body: bytes, headers: Optional[Dict[str, str]] = None) -> Tuple[int, str]:
        assert self._session is not None
        async with self._session.post(
            self.webhook, data=body, headers={"Content-Type": "application/json", **(headers or {})}
        ) as resp:
            return resp.status, await resp.text()

    async def post_signed(self, payload: Dict[str, Any], secret: str = APP_SECRET) -> Tuple[int, str]:
        from msgops.channels.meta import sign

        body = json.dumps(payload).encode("utf-8")
        return await self.post(body, {"X-Hub-Signature-256": sign(secret, body)})

    async def get(self, params: Dict[str, str]) -> Tuple[int, str, str]:
        assert self._session is not None
        async with self._session.get(self.webhook, params=params) as resp:
            return resp.status, await resp.text(), resp.headers.get("Content-Type", "")

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait for every background turn and acknowledgement of the connector."""
        await self.channel.tasks.drain(timeout)
