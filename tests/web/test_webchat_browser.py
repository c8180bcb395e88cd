"""The web chat in a real browser against the real Rasa server (headless Chromium over CDP).

A person's path: open the page on a phone-sized screen, type "привет", get the bot's answer,
click one of its buttons if it offers any, reload the page, find the conversation still
there and go on in the same Rasa conversation (same sender id in Rasa's tracker).
"""
from __future__ import annotations

import asyncio
import json
import time
from typing import List

import pytest
import requests

from tests.web.webchat_cdp import Page, start_webchat, stop

pytestmark = pytest.mark.servers

TRANSCRIPT_JS = """Array.from(document.querySelectorAll('#log .msg')).map(el => ({
    from: el.classList.contains('msg--user') ? 'user' : 'bot',
    text: (el.querySelector('.msg__text') || {textContent: ''}).textContent,
    image: !!el.querySelector('img'),
    pending: el.classList.contains('msg--pending'),
}))"""
CHOICES_JS = """Array.from(document.querySelectorAll('#log .choices')).map(g =>
    Array.from(g.querySelectorAll('button')).map(b => ({
        title: b.textContent, disabled: b.disabled, pressed: b.getAttribute('aria-pressed')})))"""
READY_JS = ("document.documentElement.dataset.ready === 'true'"
            " && document.documentElement.dataset.session")


def tracker_of(servers, sender: str) -> dict:
    if hasattr(servers, "tracker"):
        return servers.tracker(sender)
    response = requests.get(f"{servers.rasa_url}/conversations/{sender}/tracker", timeout=30)
    response.raise_for_status()
    return response.json()


async def settle(page: Page, expression: str, quiet: float = 1.0, timeout: float = 90) -> int:
    """Wait until Rasa has acknowledged every turn (it does once all answers of the turn are
    out), then until the count stops changing for `quiet` seconds."""
    await page.wait_for("document.documentElement.dataset.awaiting === '0'",
                        "Rasa to finish the turn", timeout=timeout)
    deadline = time.monotonic() + timeout
    last, since = await page.eval(expression), time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        now = await page.eval(expression)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return now
    return last


async def send_and_wait(page: Page, text: str, *, enter: bool = False) -> List[dict]:
    bots = await page.eval("document.querySelectorAll('#log .msg--bot').length")
    await page.type("#message", text)
    if enter:
        await page.press_enter()
    else:
        await page.click("#send")
    await page.wait_for(
        f"Array.from(document.querySelectorAll('#log .msg--user .msg__text'))"
        f".some(el => el.textContent === {json.dumps(text)})", f"the user bubble {text!r}")
    await page.wait_for(f"document.querySelectorAll('#log .msg--bot').length > {bots}",
                        f"a bot answer to {text!r}")
    await settle(page, "document.querySelectorAll('#log .msg').length")
    return await page.eval(TRANSCRIPT_JS)


async def conversation(page: Page, url: str, servers, shots) -> None:
    await page.emulate_phone()
    await page.set_languages("ru-RU,ru")
    await page.navigate(url)
    session = await page.wait_for(READY_JS, "the socketio session to be confirmed")
    assert session == await page.eval("localStorage.getItem('msgops.webchat.session')")

    # the interface follows the browser's language, and the visible toggle switches it
    texts = "[document.documentElement.lang, document.getElementById('message').placeholder]"
    assert await page.eval(texts) == ["ru", "Напишите сообщение…"]
    await page.click("#lang-toggle")
    assert await page.eval(texts) == ["en", "Type a message…"]
    await page.click("#lang-toggle")
    assert await page.eval(texts) == ["ru", "Напишите сообщение…"]

    # 1. "привет" -> a bot bubble
    transcript = await send_and_wait(page, "привет")
    assert transcript[0] == {"from": "user", "text": "привет", "image": False, "pending": False}
    assert any(m["from"] == "bot" and (m["text"] or m["image"]) for m in transcript[1:]), transcript
    await page.screenshot(shots / "1-greeted.png")

    # 2. a button, if the bot offered one: the title shows as the user's bubble, the group locks
    sent_payload = None
    groups = await page.eval(CHOICES_JS)
    if groups and not any(b["disabled"] for b in groups[-1]):
        title = groups[-1][0]["title"]
        stored = await page.eval(f"localStorage.getItem('msgops.webchat.history.{session}')")
        offered = [e for e in json.loads(stored) if e.get("buttons")][-1]
        sent_payload = offered["buttons"][0]["payload"]
        bots = await page.eval("document.querySelectorAll('#log .msg--bot').length")
        await page.click_element(
            "Array.from(document.querySelectorAll('#log .choices')).pop().querySelector('button')",
            "the first button of the last button group")
        await page.wait_for(
            f"Array.from(document.querySelectorAll('#log .msg--user .msg__text'))"
            f".some(el => el.textContent === {json.dumps(title)})",
            "the button title as a user bubble")
        locked = (await page.eval(CHOICES_JS))[len(groups) - 1]
        assert all(b["disabled"] for b in locked), locked
        assert [b["pressed"] for b in locked][0] == "true", locked
        await page.wait_for(f"document.querySelectorAll('#log .msg--bot').length > {bots}",
                            "a bot answer to the button")
        await settle(page, "document.querySelectorAll('#log .msg').length")
        await page.screenshot(shots / "2-button.png")

    before = await page.eval(TRANSCRIPT_JS)
    choices_before = await page.eval(CHOICES_JS)

    # 3. reload: the history is back, and the same Rasa conversation goes on
    await page.reload()
    again = await page.wait_for(READY_JS, "the session to be confirmed after the reload")
    assert again == session
    assert await page.eval(TRANSCRIPT_JS) == before
    assert await page.eval(CHOICES_JS) == choices_before
    after = await send_and_wait(page, "спасибо", enter=True)
    assert after[: len(before)] == before and len(after) > len(before) + 1
    await page.screenshot(shots / "3-after-reload.png")

    # Rasa's tracker for that sender has every turn, and the page shows everything Rasa said
    tracker = tracker_of(servers, session)
    assert tracker["sender_id"] == session
    said = [e.get("text") for e in tracker["events"] if e["event"] == "user"
            and not (e.get("text") or "").startswith("/EXTERNAL_")]  # scheduler's, not the page's
    expected = ["привет", *([sent_payload] if sent_payload else []), "спасибо"]
    assert said == expected, said
    shown = [m["text"].strip() for m in after if m["from"] == "bot"]
    for event in tracker["events"]:
        if event["event"] == "bot" and event.get("text"):
            for part in event["text"].strip().split("\n\n"):
                assert part.strip() in shown, (part, shown)

    errors = [line for line in page.console if line.startswith("exception")]
    assert not errors, errors


# The web chat does not depend on the store backend: these run once, on the SQLite servers.
ON_SQLITE = pytest.mark.parametrize("servers", ["sqlite"], indirect=True)


@ON_SQLITE
def test_chat_in_a_browser_keeps_the_conversation_across_a_reload(servers, chromium, tmp_path):
    web = start_webchat(servers.rasa_url, tmp_path / "webchat.log")
    shots = tmp_path / "screenshots"
    shots.mkdir()

    async def run() -> None:
        page = await Page.open(chromium.page_websocket_url())
        try:
            await conversation(page, web.url, servers, shots)
        finally:
            await page.close()

    try:
        asyncio.run(asyncio.wait_for(run(), timeout=300))
    finally:
        stop(web.process)


async def click_choice(page: Page, contains: str, what: str) -> str:
    """Click the first enabled button of the last button group whose title contains `contains`
    (all of them when it is ""); wait for its title as the user's bubble and the bot's answer."""
    find = ("Array.from(Array.from(document.querySelectorAll('#log .choices')).pop()"
            ".querySelectorAll('button')).find(b => !b.disabled && b.textContent.includes("
            f"{json.dumps(contains)}))")
    title = await page.wait_for(f"({find} || {{}}).textContent", what, timeout=30)
    bots = await page.eval("document.querySelectorAll('#log .msg--bot').length")
    await page.click_element(find, what)
    await page.wait_for(
        f"Array.from(document.querySelectorAll('#log .msg--user .msg__text'))"
        f".some(el => el.textContent === {json.dumps(title)})", f"{title!r} as a user bubble")
    await page.wait_for(f"document.querySelectorAll('#log .msg--bot').length > {bots}",
                        f"a bot answer to {title!r}")
    await settle(page, "document.querySelectorAll('#log .msg').length")
    return title


def bot_text(transcript: List[dict]) -> str:
    return "\n".join(m["text"] for m in transcript if m["from"] == "bot")


async def lead_to_a_booked_call(page: Page, url: str, shots) -> str:
    await page.emulate_phone()
    await page.set_languages("ru-RU,ru")
    await page.navigate(url)
    session = await page.wait_for(READY_JS, "the socketio session to be confirmed")

    transcript = await send_and_wait(page, "Сколько стоит уборка?")
    assert "Наши цены" in bot_text(transcript), transcript
    await click_choice(page, "Генеральная", "the «Генеральная уборка» button")
    transcript = await page.eval(TRANSCRIPT_JS)
    assert "Где нужно выполнить работу" in bot_text(transcript[-2:]), transcript
    for answer, question in (("в Химках", "Когда вам удобно"),
                             ("завтра после обеда", "Как к вам обращаться"),
                             ("Ольга", "телефон или e-mail")):
        transcript = await send_and_wait(page, answer, enter=True)
        assert question in bot_text(transcript[-2:]), (answer, transcript)
    transcript = await send_and_wait(page, "8 (916) 765-43-21")
    assert "Ольга" in bot_text(transcript[-3:]) and "звонок" in bot_text(transcript[-3:]), transcript
    offered = (await page.eval(CHOICES_JS))[-1]
    assert 2 <= len(offered) <= 3 and not any(b["disabled"] for b in offered), offered
    await page.screenshot(shots / "call-times.png")
    chosen = await click_choice(page, "", "the first call-time button")
    transcript = await page.eval(TRANSCRIPT_JS)
    assert "Звонок назначен" in bot_text(transcript[-2:]), transcript
    assert (await page.eval(CHOICES_JS))[-1][0]["pressed"] == "true"
    assert any(m["from"] == "user" and m["text"] == chosen for m in transcript)
    await page.screenshot(shots / "booked.png")
    errors = [line for line in page.console if line.startswith("exception")]
    assert not errors, errors
    return session


@ON_SQLITE
def test_customer_books_a_call_on_the_page(servers, chromium, tmp_path, monkeypatch):
    web = start_webchat(servers.rasa_url, tmp_path / "webchat.log")
    shots = tmp_path / "screenshots"
    shots.mkdir()

    async def run() -> str:
        page = await Page.open(chromium.page_websocket_url())
        try:
            return await lead_to_a_booked_call(page, web.url, shots)
        finally:
            await page.close()

    try:
        session = asyncio.run(asyncio.wait_for(run(), timeout=300))
    finally:
        stop(web.process)

    if getattr(servers, "db_url", None):  # the started servers: read what they recorded
        from msgops.records import fetch

        monkeypatch.setenv("MSGOPS_DB_URL", servers.db_url)
        lead = [r for r in fetch("leads") if r["conversation_id"] == session][-1]
        assert lead["status"] == "qualified, meeting booked" and lead["service"] == "general_cleaning"
        assert lead["channel"] == "socketio"
        contact = [c for c in fetch("contacts") if c["id"] == lead["contact_id"]][0]
        assert contact["name"] == "Ольга" and contact["phone"] == "+79167654321"
        assert [m["status"] for m in fetch("meetings") if m["lead_id"] == lead["id"]] == ["booked"]
