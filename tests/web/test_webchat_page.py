"""The page's behaviour in headless Chromium against a scripted socketio server.

The server speaks Rasa's socketio protocol exactly as rasa/core/channels/socketio.py does
(session_request -> session_confirm + room, user_uttered -> bot_uttered to the session's
room), but answers from a script, so every message shape Rasa's SocketIOOutput can send is
checked deterministically: quick replies, line breaks, images, generic templates, plus
connection lost/restored, typing, the language toggle, the reload and "new chat".

Marked `servers` like the end-to-end test: it needs Chromium, which the fast unit stage
should not have to install.
"""
from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import List, Optional

import pytest
import socketio
from aiohttp import web

from tests.web.webchat_cdp import Page, free_port, start_webchat, stop

pytestmark = pytest.mark.servers

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "channels" / "webchat"
# The same sample as shared/fixtures/channels/webchat/socketio_bot_uttered_buttons.json
# (used from there when that folder is beside the repository).
QUICK_REPLIES = {"text": "Shall I confirm?", "quick_replies": [
    {"content_type": "text", "title": "Yes", "payload": "/affirm"},
    {"content_type": "text", "title": "No", "payload": "/deny"}]}
PIXEL = ("data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHdpZHRo"
         "PSI2MCIgaGVpZ2h0PSI0MCI+PHJlY3Qgd2lkdGg9IjYwIiBoZWlnaHQ9IjQwIiBmaWxsPSIjNGE4Ii8+PC9zdmc+")


def quick_replies_sample() -> dict:
    path = FIXTURES / "socketio_bot_uttered_buttons.json"
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))["data"]
    return QUICK_REPLIES


class ScriptedRasa:
    """A socketio server with Rasa's channel protocol (session_persistence: true)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.received: List[dict] = []
        self.session_requests: List[Optional[str]] = []
        self.runner: Optional[web.AppRunner] = None

    def replies(self, message: str) -> List[dict]:
        if message == "кнопки":
            return [quick_replies_sample()]
        if message == "/affirm":
            return [{"text": "Line one\nLine two"}]
        if message == "картинка":
            return [{"attachment": {"type": "image", "payload": {"src": PIXEL}}},
                    {"text": "<b>not bold</b>"}]
        if message == "карточка":
            return [{"attachment": {"type": "template", "payload": {
                "template_type": "generic",
                "elements": {"title": "Генеральная уборка", "subtitle": "от 5000 ₽",
                             "image_url": PIXEL, "buttons": [
                                 {"title": "Заказать", "payload": "/order", "type": "postback"},
                                 {"title": "Сайт", "url": "https://example.org/",
                                  "type": "web_url"}]}}}}]
        return [{"text": f"echo: {message}"}]

    async def start(self) -> None:
        sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*")
        app = web.Application()
        sio.attach(app)

        @sio.on("session_request")
        async def session_request(sid, data):
            session_id = (data or {}).get("session_id") or uuid.uuid4().hex
            self.session_requests.append((data or {}).get("session_id"))
            sio.enter_room(sid, session_id)
            await sio.emit("session_confirm", session_id, room=sid)

        @sio.on("user_uttered")
        async def user_uttered(sid, data):
            self.received.append(data)
            if data.get("message") == "кнопки":
                await asyncio.sleep(1.0)  # long enough to see "bot is typing"
            for reply in self.replies(data.get("message", "")):
                await sio.emit("bot_uttered", reply, room=data["session_id"])

        self.runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()
            self.runner = None


def js(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def bubble(text: str, who: str = "bot") -> str:
    """JavaScript: the text element of the bubble with exactly that text."""
    return (f"Array.from(document.querySelectorAll('#log .msg--{who} .msg__text'))"
            f".find(el => el.textContent === {js(text)})")


def bubble_with(text: str, who: str = "bot") -> str:
    return f"!!{bubble(text, who)}"


async def say(page: Page, text: str) -> None:
    await page.type("#message", text)
    await page.click("#send")


async def check_page(page: Page, web_url: str, rasa: ScriptedRasa, shots: Path) -> None:
    await page.emulate_phone()
    await page.set_languages("ru-RU,ru,en")
    await page.navigate(web_url)
    session = await page.wait_for("document.documentElement.dataset.ready === 'true'"
                                  " && document.documentElement.dataset.session", "session_confirm")
    assert rasa.session_requests == [session]

    # accessible structure, and a phone-sized screen without sideways scrolling
    a11y = await page.eval("""(() => {
        const log = document.getElementById('log');
        const label = document.querySelector('label[for=message]');
        const form = document.getElementById('composer').getBoundingClientRect();
        return {
            label: label && label.textContent,
            live: log.getAttribute('aria-live'), role: log.getAttribute('role'),
            typingRole: document.getElementById('typing').getAttribute('role'),
            statusRole: document.getElementById('connection').getAttribute('role'),
            toggleLabel: document.getElementById('lang-toggle').getAttribute('aria-label'),
            overflow: document.documentElement.scrollWidth > window.innerWidth,
            formVisible: form.bottom <= window.innerHeight + 1 && form.right <= window.innerWidth + 1,
            width: window.innerWidth,
        };
    })()""")
    assert a11y == {"label": "Сообщение", "live": "polite", "role": "log", "typingRole": "status",
                    "statusRole": "status", "toggleLabel": "Switch to English", "overflow": False,
                    "formVisible": True, "width": 390}, a11y

    # the language toggle switches every interface text, and is remembered
    await page.click("#lang-toggle")
    english = await page.eval("""({placeholder: document.getElementById('message').placeholder,
        send: document.getElementById('send').textContent, lang: document.documentElement.lang,
        label: document.querySelector('label[for=message]').textContent,
        typing: document.querySelector('#typing [data-i18n]').textContent})""")
    assert english == {"placeholder": "Type a message…", "send": "Send", "lang": "en",
                       "label": "Message", "typing": "Bot is typing…"}, english
    assert await page.eval("localStorage.getItem('msgops.webchat.lang')") == "en"
    await page.click("#lang-toggle")
    assert await page.eval("document.getElementById('send').textContent") == "Отправить"

    # quick replies (Rasa's buttons), with "bot is typing" while the bot thinks
    await say(page, "кнопки")
    await page.wait_for("!document.getElementById('typing').hidden", "the typing indicator")
    await page.wait_for(bubble_with("Shall I confirm?"), "the quick replies message")
    await page.wait_for("document.getElementById('typing').hidden", "the typing indicator to go")
    assert await page.eval("document.documentElement.dataset.awaiting") == "0"
    await page.click_element("Array.from(document.querySelectorAll('#log .choices button'))"
                             ".find(b => b.textContent === 'Yes')", "the Yes button")
    await page.wait_for(bubble_with("Yes", "user"), "the button title as the user's bubble")
    await page.wait_for(bubble_with("Line one\nLine two"), "the answer with a line break")
    buttons = await page.eval("Array.from(document.querySelectorAll('#log .choices button'))"
                              ".map(b => [b.textContent, b.disabled, b.getAttribute('aria-pressed')])")
    assert buttons == [["Yes", True, "true"], ["No", True, "false"]]
    assert rasa.received[-1] == {"message": "/affirm", "session_id": session,
                                 "metadata": {"language": "ru"}}
    two_lines = bubble("Line one\nLine two")
    lines = await page.eval(f"{two_lines}.getClientRects()[0].height"
                            f" / parseFloat(getComputedStyle({two_lines}).lineHeight)")
    assert lines >= 1.9, "the line break is not shown"

    # an image, and text that is never HTML
    await say(page, "картинка")
    await page.wait_for(bubble_with("<b>not bold</b>"), "the text after the image")
    image = await page.eval("(() => { const img = document.querySelector('#log .msg--bot img');"
                            " return img && [img.getAttribute('src'), img.alt, img.complete"
                            " && img.naturalWidth > 0]; })()")
    assert image == [PIXEL, "Изображение от бота", True], image
    assert await page.eval("document.querySelectorAll('#log b').length") == 0

    # a generic template card: title, subtitle, image, a postback and a link button
    await say(page, "карточка")
    await page.wait_for("!!document.querySelector('#log .msg__card-title')", "the card")
    card = await page.eval("""(() => {
        const title = document.querySelector('#log .msg__card-title');
        const group = Array.from(document.querySelectorAll('#log .choices')).pop();
        const link = group.querySelector('a');
        return [title.textContent, title.parentNode.querySelector('.msg__card-subtitle').textContent,
                group.querySelector('button').textContent, link.href, link.target];
    })()""")
    assert card == ["Генеральная уборка", "от 5000 ₽", "Заказать", "https://example.org/", "_blank"]
    await page.screenshot(shots / "page-1-messages.png")

    # connection lost: shown, a message typed meanwhile waits; restored: shown, delivered
    await rasa.stop()
    await page.wait_for("document.getElementById('connection').dataset.state === 'lost'",
                        "the connection-lost notice")
    assert (await page.eval("document.getElementById('connection').textContent")).startswith(
        "Связь потеряна")
    await say(page, "пока нет связи")
    await page.wait_for(bubble_with("пока нет связи", "user"), "the offline message's bubble")
    assert await page.eval("document.querySelector('#log .msg--pending') !== null")
    await page.screenshot(shots / "page-2-offline.png")
    await rasa.start()
    await page.wait_for("document.getElementById('connection').dataset.state === 'restored'",
                        "the connection-restored notice", timeout=30)
    assert await page.eval("document.getElementById('connection').textContent") == \
        "Связь восстановлена"
    await page.wait_for(bubble_with("echo: пока нет связи"), "the queued message's answer")
    assert rasa.session_requests[-1] == session
    assert rasa.received[-1]["session_id"] == session
    assert await page.eval("document.querySelector('#log .msg--pending') === null")

    # reload: the same conversation, button groups still locked, same session
    before = await page.eval("document.getElementById('log').innerHTML")
    await page.reload()
    await page.wait_for("document.documentElement.dataset.ready === 'true'", "session after reload")
    assert await page.eval("document.documentElement.dataset.session") == session
    assert rasa.session_requests[-1] == session
    assert await page.eval("document.getElementById('log').innerHTML") == before
    await page.click_element("Array.from(document.querySelectorAll('#log .choices button'))"
                             ".find(b => b.textContent === 'No')", "the locked No button")
    await asyncio.sleep(0.3)
    assert rasa.received[-1]["message"] != "/deny"

    # new chat: a fresh session, an empty log, the old history gone
    await page.click("#new-chat")
    await page.wait_for(f"document.documentElement.dataset.session !== {js(session)}"
                        " && document.documentElement.dataset.ready === 'true'", "a new session")
    fresh = await page.eval("document.documentElement.dataset.session")
    assert rasa.session_requests[-1] == fresh
    assert await page.eval("document.querySelectorAll('#log .msg').length") == 0
    assert await page.eval(f"localStorage.getItem('msgops.webchat.history.{session}')") is None
    await say(page, "снова")
    await page.wait_for(bubble_with("echo: снова"), "an answer in the new session")
    assert rasa.received[-1]["session_id"] == fresh

    errors = [line for line in page.console if line.startswith("exception")]
    assert not errors, errors


def test_page_renders_every_message_shape_and_survives_reconnects(chromium, tmp_path):
    rasa = ScriptedRasa(free_port())
    web_chat = start_webchat(rasa.url, tmp_path / "webchat.log")
    shots = tmp_path / "screenshots"
    shots.mkdir()

    async def run() -> None:
        await rasa.start()
        page = await Page.open(chromium.page_websocket_url())
        try:
            await check_page(page, web_chat.url, rasa, shots)
        finally:
            await page.close()
            await rasa.stop()

    try:
        asyncio.run(asyncio.wait_for(run(), timeout=180))
    finally:
        stop(web_chat.process)
