"""The messaging channels end to end: real Rasa + action servers, a local Graph/Bot API.

The module starts its own LocalServers (SQLite) with the WhatsApp, Instagram, Messenger and
Telegram connectors configured with test secrets, and points them at ``FakeApi``, an HTTP
server on 127.0.0.1 standing in for the Graph API and the Bot API that records every call.
Tests post the platforms' webhooks (signed like Meta / with Telegram's secret header) and
read what the bot sent from the fake API, and what it recorded from the business store.

A webhook is answered before the turn runs, so every wait is bounded: a turn is over when
Rasa's tracker holds the customer's message followed by ``action_listen`` (the tracker is
saved after the turn's messages went out); proactive sends are polled on the fake API.
"""
from __future__ import annotations

import copy
import itertools
import json
import random
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest
import requests
import yaml
from sqlalchemy import update

from msgops import scheduler
from msgops.channels.meta import sign
from msgops.harness import LocalServers, write_business_file
from msgops.records import fetch
from tests.channels.conftest import fixture
from tests.conftest import running

pytestmark = pytest.mark.servers

API_TOKEN = "test-token"
APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"
TELEGRAM_TOKEN = "123456:TEST-telegram-token"
TELEGRAM_SECRET = "test_telegram_secret"
PHONE_NUMBER_ID = "200000000000001"
FOLLOWUP_TEMPLATE = "msgops_followup"
TIMEOUT = 60.0

_ids = itertools.count(1)


# -- the Graph API / Bot API stand-in ---------------------------------------------------------


class FakeApi:
    """Records every request; answers like the Graph API (WhatsApp, Messenger) and Bot API."""

    def __init__(self) -> None:
        self.requests: List[Dict[str, Any]] = []
        self.lock = threading.Lock()
        self._counter = itertools.count(1)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    body = {"_raw": raw.decode("utf-8", "replace")}
                answer = fake.record(self.path, body)
                data = json.dumps(answer).encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FakeApi:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def record(self, path: str, body: Dict[str, Any]) -> Dict[str, Any]:
        n = next(self._counter)
        with self.lock:
            self.requests.append({"path": path, "json": body})
        if "/bot" in path:
            return {"ok": True, "result": {"message_id": 5000 + n}}
        if path.endswith("/me/messages"):
            return {"recipient_id": (body.get("recipient") or {}).get("id"), "message_id": f"m_OUT_{n}"}
        if body.get("status") == "read":
            return {"success": True}
        return {"messaging_product": "whatsapp", "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
                "messages": [{"id": f"wamid.OUT{n}"}]}

    def snapshot(self) -> List[Dict[str, Any]]:
        with self.lock:
            return list(self.requests)

    def whatsapp(self, to: str) -> List[Dict[str, Any]]:
        """WhatsApp messages sent to ``to`` (without read receipts)."""
        return [r["json"] for r in self.snapshot() if r["path"].endswith(f"/{PHONE_NUMBER_ID}/messages")
                and r["json"].get("to") == to and r["json"].get("status") != "read"]

    def read_receipts(self) -> List[str]:
        return [r["json"].get("message_id") for r in self.snapshot() if r["json"].get("status") == "read"]

    def telegram(self, chat_id: int, method: str = "sendMessage") -> List[Dict[str, Any]]:
        return [r["json"] for r in self.snapshot() if r["path"].endswith(f"/bot{TELEGRAM_TOKEN}/{method}")
                and str(r["json"].get("chat_id")) == str(chat_id)]

    def meta(self, recipient: str) -> List[Dict[str, Any]]:
        """Instagram/Messenger sends (``/me/messages``) to ``recipient``, without sender actions."""
        return [r["json"] for r in self.snapshot() if r["path"].endswith("/me/messages")
                and (r["json"].get("recipient") or {}).get("id") == recipient
                and "sender_action" not in r["json"]]


def wait_for(what: str, check: Callable[[], Any], timeout: float = TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


# -- reading what WhatsApp / Telegram were sent -------------------------------------------------


def wa_text(body: Dict[str, Any]) -> str:
    if body.get("type") == "text":
        return body["text"]["body"]
    if body.get("type") == "interactive":
        return body["interactive"]["body"]["text"]
    return ""


def wa_choices(body: Dict[str, Any]) -> List[Dict[str, str]]:
    """``[{id, title}]`` of a reply-button or list message."""
    interactive = body.get("interactive") or {}
    if interactive.get("type") == "button":
        return [b["reply"] for b in interactive["action"]["buttons"]]
    if interactive.get("type") == "list":
        return [row for section in interactive["action"]["sections"] for row in section["rows"]]
    return []


def all_text(bodies: List[Dict[str, Any]]) -> str:
    return "\n".join(wa_text(b) or b.get("text", "") for b in bodies)


def tg_choices(calls: List[Dict[str, Any]]) -> List[Dict[str, str]]:
    return [button for call in calls for row in (call.get("reply_markup") or {}).get("inline_keyboard", [])
            for button in row if "callback_data" in button]


# -- the servers --------------------------------------------------------------------------------


@dataclass
class Channels:
    servers: LocalServers
    api: FakeApi

    @property
    def url(self) -> str:
        return self.servers.rasa_url

    def tracker(self, sender: str) -> Dict[str, Any]:
        return self.servers.tracker(sender)

    def user_turns(self, sender: str) -> int:
        return sum(e["event"] == "user" for e in self.tracker(sender)["events"])

    def wait_turn(self, sender: str, turns_before: int) -> None:
        """Until Rasa has handled one more customer message of ``sender`` and is listening again."""
        def done() -> bool:
            events = self.tracker(sender)["events"]
            users = sum(e["event"] == "user" for e in events)
            return users > turns_before and events[-1]["event"] == "action" \
                and events[-1]["name"] == "action_listen"
        wait_for(f"the turn of {sender}", done)

    # WhatsApp

    def post_whatsapp(self, payload: Dict[str, Any], secret: str = APP_SECRET) -> requests.Response:
        body = json.dumps(payload).encode("utf-8")
        return requests.post(f"{self.url}/webhooks/whatsapp/webhook", data=body, timeout=10,
                             headers={"Content-Type": "application/json",
                                      "X-Hub-Signature-256": sign(secret, body)})

    def whatsapp(self, phone: str, message: Dict[str, Any]) -> List[Dict[str, Any]]:
        """Send one customer message on WhatsApp, wait for the turn, return what the bot sent."""
        before_turns, before_sends = self.user_turns(phone), len(self.api.whatsapp(phone))
        response = self.post_whatsapp(whatsapp_payload(phone, message))
        assert response.status_code == 200, response.text
        self.wait_turn(phone, before_turns)
        return self.api.whatsapp(phone)[before_sends:]

    # Telegram

    def post_telegram(self, update: Dict[str, Any], secret: str = TELEGRAM_SECRET) -> requests.Response:
        return requests.post(f"{self.url}/webhooks/telegram/webhook", json=update, timeout=10,
                             headers={"X-Telegram-Bot-Api-Secret-Token": secret})

    def telegram(self, chat_id: int, update: Dict[str, Any]) -> List[Dict[str, Any]]:
        before_turns, before_sends = self.user_turns(str(chat_id)), len(self.api.telegram(chat_id))
        response = self.post_telegram(update)
        assert response.status_code == 200, response.text
        self.wait_turn(str(chat_id), before_turns)
        return self.api.telegram(chat_id)[before_sends:]


def _credentials() -> Dict[str, Any]:
    meta = {"app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN}
    return {
        "msgops.channels.whatsapp.WhatsAppInput": {
            "access_token": "test-whatsapp-token", "phone_number_id": PHONE_NUMBER_ID,
            "followup_template": FOLLOWUP_TEMPLATE, **meta},
        "msgops.channels.instagram.InstagramInput": {"access_token": "test-instagram-token", **meta},
        "msgops.channels.messenger.MessengerInput": {"access_token": "test-page-token", **meta},
        "msgops.channels.telegram.TelegramInput": {"access_token": TELEGRAM_TOKEN,
                                                   "secret_token": TELEGRAM_SECRET},
    }


@pytest.fixture(scope="module")
def channels(tmp_path_factory) -> Iterator[Channels]:
    api = FakeApi().start()
    workdir = tmp_path_factory.mktemp("channel-servers")
    business_file = write_business_file(workdir, **{"followup.delay_minutes": 0.05})
    servers = LocalServers(
        workdir, f"sqlite:///{workdir / 'msgops.db'}", business_file, token=API_TOKEN,
        extra_env={"MSGOPS_GRAPH_API_BASE": api.base_url, "MSGOPS_TELEGRAM_API_BASE": api.base_url},
        extra_credentials=_credentials(),
    )
    try:
        with running(servers) as started:
            yield Channels(started, api)
    finally:
        api.stop()


@pytest.fixture
def ch(channels, monkeypatch) -> Channels:
    """The servers, with this process pointed at their store (records, scheduler, presence)."""
    monkeypatch.setenv("MSGOPS_DB_URL", channels.servers.db_url)
    monkeypatch.setenv("MSGOPS_BUSINESS_FILE", str(channels.servers.business_file))
    return channels


# -- payloads in the platforms' shapes (../shared/fixtures/channels) ------------------------------


def new_phone() -> Tuple[str, str]:
    """A fresh Russian mobile number: (WhatsApp ``wa_id`` digits, as a customer types it)."""
    digits = f"{random.randint(0, 9999999):07d}"
    return f"7916{digits}", f"8 (916) {digits[:3]}-{digits[3:5]}-{digits[5:]}"


def whatsapp_payload(phone: str, message: Dict[str, Any]) -> Dict[str, Any]:
    """The text.json webhook with ``message`` (type and content) from ``phone``, timestamped now."""
    payload = copy.deepcopy(fixture("whatsapp/text.json"))
    value = payload["entry"][0]["changes"][0]["value"]
    value["contacts"][0].update(wa_id=phone, user_id=f"US.{phone}")
    wa_message = {"from": phone, "id": f"wamid.TEST{next(_ids):06d}{random.randint(0, 10**9)}",
                  "timestamp": str(int(time.time())), **message}
    value["messages"] = [wa_message]
    return payload


def text(body: str) -> Dict[str, Any]:
    return {"type": "text", "text": {"body": body}}


def pressed(choice: Dict[str, str], kind: str, replied_to: str = "wamid.OUT1") -> Dict[str, Any]:
    """Pressing a reply button (``button_reply``) or a list row (``list_reply``)."""
    return {"type": "interactive", "context": {"from": "15550000000", "id": replied_to},
            "interactive": {"type": kind, kind: {"id": choice["id"], "title": choice["title"]}}}


def telegram_update(chat_id: int, *, text_: Optional[str] = None, data: Optional[str] = None) -> Dict[str, Any]:
    now, update_id = int(time.time()), 900000000 + next(_ids) * 10 + random.randint(0, 9)
    if data is not None:
        update = copy.deepcopy(fixture("telegram/callback_query.json"))
        query = update["callback_query"]
        query["id"], query["data"] = str(update_id), data
        query["from"]["id"] = query["message"]["chat"]["id"] = chat_id
        query["from"]["language_code"] = "ru"
        query["message"]["date"] = now
    else:
        update = copy.deepcopy(fixture("telegram/message_text.json"))
        message = update["message"]
        message["from"]["id"] = message["chat"]["id"] = chat_id
        message["from"]["language_code"] = "ru"
        message.update(message_id=update_id % 100000, date=now, text=text_)
    update["update_id"] = update_id
    return update


def lead_of(conversation_id: str) -> Dict[str, Any]:
    return [lead for lead in fetch("leads") if lead["conversation_id"] == conversation_id][-1]


def contact_of(lead: Dict[str, Any]) -> Dict[str, Any]:
    return [c for c in fetch("contacts") if c["id"] == lead["contact_id"]][0]


# -- WhatsApp: the whole lead process --------------------------------------------------------------


def whatsapp_lead(ch: Channels, phone: str, typed_phone: str) -> None:
    sent = ch.whatsapp(phone, text("Сколько стоит уборка?"))
    assert "Наши цены" in all_text(sent), sent
    # the services (7 in business.yml): more than the 3 reply buttons WhatsApp allows and at
    # most the 10 rows of a list, so one list message, one row per service
    services = yaml.safe_load(ch.servers.business_file.read_text(encoding="utf-8"))["services"]
    assert 4 <= len(services) <= 10
    service_lists = [b for b in sent if (b.get("interactive") or {}).get("type") == "list"]
    assert len(service_lists) == 1, sent
    rows = wa_choices(service_lists[0])
    assert len(rows) == len(services), rows
    assert all(any(service["id"] in row["id"] for row in rows) for service in services), rows
    assert all(len(r["title"]) <= 24 and len(r["id"]) <= 200 for r in rows), rows
    assert service_lists[0]["interactive"]["action"]["button"] == "Выбрать"
    general = [r for r in rows if "general_cleaning" in r["id"]][0]

    sent = ch.whatsapp(phone, pressed(general, "list_reply"))
    assert "Где нужно выполнить работу" in all_text(sent), sent
    sent = ch.whatsapp(phone, text("в Химках"))
    assert "Когда вам удобно" in all_text(sent), sent
    sent = ch.whatsapp(phone, text("завтра после обеда"))
    assert "Как к вам обращаться" in all_text(sent), sent
    sent = ch.whatsapp(phone, text("Ольга"))
    assert "телефон или e-mail" in all_text(sent), sent
    sent = ch.whatsapp(phone, text(typed_phone))
    assert "Ольга" in all_text(sent) and "звонок" in all_text(sent), sent
    # two or three call times: reply buttons, whose ids are the payloads
    offered = [c for b in sent for c in wa_choices(b) if '"time"' in c["id"]]
    assert 2 <= len(offered) <= 3, sent
    assert all(b["interactive"]["type"] == "button" for b in sent if wa_choices(b)), sent

    sent = ch.whatsapp(phone, pressed(offered[0], "button_reply"))
    assert "Звонок назначен" in all_text(sent), sent


def test_whatsapp_customer_books_a_call(ch):
    phone, typed = new_phone()
    whatsapp_lead(ch, phone, typed)

    lead = lead_of(phone)
    assert lead["channel"] == "whatsapp" and lead["status"] == "qualified, meeting booked", lead
    assert lead["service"] == "general_cleaning"
    contact = contact_of(lead)
    assert contact["phone"] == f"+{phone}" and contact["name"] == "Ольга", contact
    assert f"whatsapp:{phone}" in contact["channels"]
    meetings = [m for m in fetch("meetings") if m["lead_id"] == lead["id"]]
    assert len(meetings) == 1 and meetings[0]["status"] == "booked"
    # every customer message was marked as read
    user_ids = [e["message_id"] for e in ch.tracker(phone)["events"] if e["event"] == "user"]
    wait_for("read receipts for every message",
             lambda: set(user_ids) <= set(ch.api.read_receipts()), timeout=10)


# -- WhatsApp: what must not produce an answer, or only one ---------------------------------------


def test_forged_signature_is_refused_and_nothing_is_sent(ch):
    phone, _ = new_phone()
    forged = whatsapp_payload(phone, text("Сколько стоит уборка?"))
    forged_id = forged["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    assert ch.post_whatsapp(forged, secret="not-the-app-secret").status_code == 403
    body = json.dumps(forged).encode("utf-8")
    unsigned = requests.post(f"{ch.url}/webhooks/whatsapp/webhook", data=body, timeout=10,
                             headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 403
    # a genuine message afterwards: once its turn is over, the forged one would have been too
    sent = ch.whatsapp(phone, text("привет"))
    assert sent
    said = [e["text"] for e in ch.tracker(phone)["events"] if e["event"] == "user"]
    assert said == ["привет"], said
    assert forged_id not in ch.api.read_receipts()


def test_the_same_delivery_three_times_gets_one_answer(ch):
    phone, _ = new_phone()
    payload = whatsapp_payload(phone, text("Сколько стоит мойка окон?"))
    for _ in range(3):
        assert ch.post_whatsapp(payload).status_code == 200
    ch.wait_turn(phone, 0)
    # a second message: processed in order after the redeliveries, so they are all settled
    ch.whatsapp(phone, text("в Химках"))
    said = [e["text"] for e in ch.tracker(phone)["events"] if e["event"] == "user"]
    assert said == ["Сколько стоит мойка окон?", "в Химках"], said
    sent = ch.api.whatsapp(phone)
    assert sum("Где нужно выполнить работу" in wa_text(b) for b in sent) == 1, sent


def test_statuses_and_reactions_get_no_answer(ch):
    phone, _ = new_phone()
    status = copy.deepcopy(fixture("whatsapp/status_delivered.json"))
    for s in status["entry"][0]["changes"][0]["value"]["statuses"]:
        s["recipient_id"] = phone
    failed = copy.deepcopy(fixture("whatsapp/status_failed_outside_window.json"))
    for s in failed["entry"][0]["changes"][0]["value"]["statuses"]:
        s["recipient_id"] = phone
    reaction = whatsapp_payload(phone, {"type": "reaction",
                                        "reaction": {"message_id": "wamid.OUT1", "emoji": "👍"}})
    for payload in (status, failed, reaction):
        assert ch.post_whatsapp(payload).status_code == 200
    ch.whatsapp(phone, text("привет"))  # after these, in order
    said = [e["text"] for e in ch.tracker(phone)["events"] if e["event"] == "user"]
    assert said == ["привет"], said
    reaction_id = reaction["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    assert reaction_id not in ch.api.read_receipts()


def test_a_sticker_gets_a_polite_reply(ch):
    phone, _ = new_phone()
    ch.whatsapp(phone, text("Здравствуйте"))
    sent = ch.whatsapp(phone, {"type": "sticker", "sticker": {
        "id": "1234567890", "mime_type": "image/webp", "sha256": "abc", "animated": False}})
    reply = all_text(sent)
    assert "словами" in reply, sent  # e.g. "Классный стикер 🙂 Напишите, пожалуйста, словами..."
    events = ch.tracker(phone)["events"]
    last_user = [e for e in events if e["event"] == "user"][-1]
    assert last_user["parse_data"]["intent"]["name"] == "share_media", last_user
    entities = {e["entity"]: e["value"] for e in last_user["parse_data"]["entities"]}
    assert entities.get("media_type") == "sticker", entities


# -- Telegram, then WhatsApp: one contact -----------------------------------------------------------


def test_telegram_then_whatsapp_with_the_same_phone_is_one_contact(ch):
    phone, typed = new_phone()
    chat_id = random.randint(10**8, 10**9)
    sent = ch.telegram(chat_id, telegram_update(chat_id, text_="Сколько стоит уборка?"))
    assert "Наши цены" in "\n".join(c["text"] for c in sent), sent
    general = [b for b in tg_choices(sent) if "general_cleaning" in b["callback_data"]][0]
    press = telegram_update(chat_id, data=general["callback_data"])
    sent = ch.telegram(chat_id, press)
    assert "Где нужно выполнить работу" in "\n".join(c["text"] for c in sent), sent
    answered = wait_for("answerCallbackQuery", lambda: [
        r for r in ch.api.snapshot() if r["path"].endswith("/answerCallbackQuery")
        and r["json"].get("callback_query_id") == press["callback_query"]["id"]])
    assert len(answered) == 1
    for answer in ("в Химках", "завтра после обеда", "Ольга"):
        ch.telegram(chat_id, telegram_update(chat_id, text_=answer))
    sent = ch.telegram(chat_id, telegram_update(chat_id, text_=f"+7 916 {phone[4:7]} {phone[7:9]} {phone[9:]}"))
    offered = [b for b in tg_choices(sent) if '"time"' in b["callback_data"]]
    assert offered, sent
    sent = ch.telegram(chat_id, telegram_update(chat_id, data=offered[0]["callback_data"]))
    assert "Звонок назначен" in "\n".join(c["text"] for c in sent), sent

    whatsapp_lead(ch, phone, typed)

    mine = [c for c in fetch("contacts") if c["phone"] == f"+{phone}"]
    assert len(mine) == 1, mine
    assert mine[0]["channels"] == sorted([f"telegram:{chat_id}", f"whatsapp:{phone}"]), mine
    assert lead_of(str(chat_id))["contact_id"] == lead_of(phone)["contact_id"] == mine[0]["id"]


# -- follow-ups through trigger_intent ----------------------------------------------------------------


def test_followup_reaches_whatsapp_in_the_window_and_as_a_template_outside_it(ch):
    from msgops.store import session_scope
    from msgops.store.models import ChannelPresence

    inside, _ = new_phone()
    outside, _ = new_phone()
    for phone in (inside, outside):
        sent = ch.whatsapp(phone, text("Сколько стоит химчистка дивана?"))
        assert "Где нужно выполнить работу" in all_text(sent), sent
    with session_scope() as session:
        moved = session.execute(update(ChannelPresence).where(
            ChannelPresence.channel == "whatsapp", ChannelPresence.external_id == outside
        ).values(last_inbound_at=ChannelPresence.last_inbound_at - timedelta(hours=25))).rowcount
    assert moved == 1
    before = {phone: len(ch.api.whatsapp(phone)) for phone in (inside, outside)}
    time.sleep(3.5)  # followup.delay_minutes 0.05 in this business file

    worker = scheduler.Scheduler(ch.url, API_TOKEN)

    def both_reached() -> bool:
        worker.run_once()  # trigger_intent answers once the turn's messages went out
        return all(len(ch.api.whatsapp(phone)) > before[phone] for phone in (inside, outside))

    wait_for("the follow-ups to be due, fired and sent", both_reached, timeout=30)
    session_msgs = ch.api.whatsapp(inside)[before[inside]:]
    assert session_msgs[0]["type"] in ("text", "interactive"), session_msgs
    followup_text = all_text(session_msgs)
    assert "полпути" in followup_text, followup_text

    template = ch.api.whatsapp(outside)[before[outside]:]
    # inside the lead form the follow-up is the reminder, then the form's question again
    assert "Где нужно выполнить работу" in followup_text, followup_text
    # outside the window: one template carrying the reminder, not the question as a second one
    assert [m["type"] for m in template] == ["template"], template
    assert template[0]["template"]["name"] == FOLLOWUP_TEMPLATE
    assert template[0]["template"]["language"]["code"] == "ru"
    param = template[0]["template"]["components"][0]["parameters"][0]["text"]
    assert "полпути" in param and "\n" not in param, param
    worker.run_once()  # once only
    time.sleep(1)
    assert len(ch.api.whatsapp(inside)) == before[inside] + len(session_msgs)
    assert len(ch.api.whatsapp(outside)) == before[outside] + 1


# -- Instagram and Messenger answer through the same pipeline ---------------------------------------


@pytest.mark.parametrize("channel, fixture_name", [("instagram", "instagram/text.json"),
                                                   ("facebook", "messenger/text.json")])
def test_instagram_and_messenger_answer(ch, channel, fixture_name):
    payload = copy.deepcopy(fixture(fixture_name))
    sender = str(random.randint(10**15, 10**16))
    now = int(time.time() * 1000)
    for entry in payload["entry"]:
        entry["time"] = now
        for event in entry.get("messaging", []):
            event["timestamp"] = now
            event["sender"]["id"] = sender
            event["message"]["mid"] = f"m_TEST_{sender}"
            event["message"]["text"] = "Сколько стоит мойка окон?"
    body = json.dumps(payload).encode("utf-8")
    url = f"{ch.url}/webhooks/{channel}/webhook"
    assert requests.post(url, data=body, timeout=10, headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": sign("wrong", body)}).status_code == 403
    response = requests.post(url, data=body, timeout=10, headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": sign(APP_SECRET, body)})
    assert response.status_code == 200
    ch.wait_turn(sender, 0)
    sent = ch.api.meta(sender)
    assert any("Где нужно выполнить работу" in (m.get("message") or {}).get("text", "") for m in sent), sent
    handshake = requests.get(url, timeout=10, params={
        "hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"})
    assert handshake.status_code == 200 and handshake.text == "1158201444"
