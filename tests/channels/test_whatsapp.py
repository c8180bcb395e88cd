"""WhatsApp connector against a real Sanic server and a local stand-in for the Graph API."""
from __future__ import annotations

import copy
import json
import logging
import time
from datetime import timedelta
from typing import Any, Dict, List

import pytest
from rasa.shared.exceptions import RasaException
from sqlalchemy import func, select

from msgops.channels import state
from msgops.channels.whatsapp import WhatsAppInput, parse_webhook
from msgops.store import session_scope
from msgops.store.models import ProcessedDelivery

from .conftest import (
    APP_SECRET,
    VERIFY_TOKEN,
    ConnectorApp,
    FakeBot,
    FakePlatform,
    fixture,
    fresh_whatsapp,
    run,
)

CUSTOMER = "15550001234"


def make_channel(**overrides: Any) -> WhatsAppInput:
    credentials = {
        "access_token": "test-access-token",
        "app_secret": APP_SECRET,
        "verify_token": VERIFY_TOKEN,
        "phone_number_id": "200000000000001",
        **overrides,
    }
    return WhatsAppInput.from_credentials(credentials)


def text_message(message_id: str, body: str, sender: str = CUSTOMER) -> Dict[str, Any]:
    return {"from": sender, "id": message_id, "timestamp": str(int(time.time())),
            "type": "text", "text": {"body": body}}


def payload_with(*messages: Dict[str, Any]) -> Dict[str, Any]:
    payload = fresh_whatsapp("whatsapp/text.json")
    payload["entry"][0]["changes"][0]["value"]["messages"] = list(messages)
    return payload


def dedup_rows() -> int:
    with session_scope() as session:
        return session.execute(select(func.count()).select_from(ProcessedDelivery)).scalar_one()


@pytest.fixture
def graph_env(monkeypatch):
    def point_at(fake: FakePlatform) -> None:
        monkeypatch.setenv("MSGOPS_GRAPH_API_BASE", fake.base_url)
        monkeypatch.setenv("MSGOPS_GRAPH_API_VERSION", "v21.0")
    return point_at


# -- credentials -----------------------------------------------------------------------------


def test_missing_credentials_refuse_to_construct():
    with pytest.raises(RasaException) as error:
        WhatsAppInput.from_credentials({"access_token": "x", "app_secret": "", "verify_token": "v"})
    assert "app_secret" in str(error.value) and "phone_number_id" in str(error.value)
    assert "x" not in str(error.value).split("credentials:")[1].split(".")[0].split(", ")


# -- verification handshake ----------------------------------------------------------------------


def test_verification_handshake(graph_env):
    sample = fixture("whatsapp/verification_get.json")

    async def scenario() -> None:
        async with FakePlatform() as fake, ConnectorApp(make_channel(), FakeBot()) as app:
            graph_env(fake)
            status, body, content_type = await app.get(sample["query"])
            assert (status, body) == (200, "1158201444")
            assert content_type.startswith("text/plain")
            wrong = dict(sample["query"], **{"hub.verify_token": "nope"})
            assert (await app.get(wrong))[0] == 403
            wrong_mode = dict(sample["query"], **{"hub.mode": "unsubscribe"})
            assert (await app.get(wrong_mode))[0] == 403
            assert (await app.get({}))[0] == 403

    run(scenario())


# -- signatures --------------------------------------------------------------------------------


def test_unsigned_or_forged_requests_are_refused_and_nothing_happens(graph_env):
    payload = fresh_whatsapp("whatsapp/text.json")
    body = json.dumps(payload).encode()

    async def scenario() -> None:
        async with FakePlatform() as fake:
            graph_env(fake)
            bot = FakeBot()
            async with ConnectorApp(make_channel(), bot) as app:
                from msgops.channels.meta import sign

                assert (await app.post(body))[0] == 403  # unsigned
                assert (await app.post(body, {"X-Hub-Signature-256": sign("wrong-secret", body)}))[0] == 403
                tampered = body.replace(b"order", b"ordeR")
                assert (await app.post(tampered, {"X-Hub-Signature-256": sign(APP_SECRET, body)}))[0] == 403
                assert (await app.post(body, {"X-Hub-Signature-256": "sha1=" + "0" * 40}))[0] == 403
                assert (await app.post(body, {"X-Hub-Signature-256": "sha256=zz"}))[0] == 403
                await app.settle()
            assert bot.received == []
            assert fake.requests == []
            assert dedup_rows() == 0

    run(scenario())


# -- batches, duplicates, the fast answer ----------------------------------------------------------


def test_a_batch_of_two_messages_gets_two_answers(graph_env):
    payload = payload_with(text_message("wamid.A1", "hello"), text_message("wamid.A2", "how much?"))
    # a second change in a second entry is handled too
    second = copy.deepcopy(payload["entry"][0])
    second["changes"][0]["value"]["messages"] = [text_message("wamid.B1", "third", sender="15550009999")]
    payload["entry"].append(second)

    async def scenario() -> None:
        async with FakePlatform() as fake:
            graph_env(fake)
            bot = FakeBot()
            async with ConnectorApp(make_channel(), bot) as app:
                status, body = await app.post_signed(payload)
                assert (status, body) == (200, "EVENT_RECEIVED")
                await app.settle()
            assert [m.text for m in bot.received] == ["hello", "how much?", "third"]
            sends = fake.sends()
            assert [s["text"]["body"] for s in sends] == ["echo: hello", "echo: how much?", "echo: third"]
            assert [s["to"] for s in sends] == [CUSTOMER, CUSTOMER, "15550009999"]
            assert all(s["messaging_product"] == "whatsapp" for s in sends)
            reads = [r["json"] for r in fake.requests if r["json"].get("status") == "read"]
            assert sorted(r["message_id"] for r in reads) == ["wamid.A1", "wamid.A2", "wamid.B1"]
            first = fake.requests[0]
            assert first["path"] == "/v21.0/200000000000001/messages"
            assert first["headers"]["Authorization"] == "Bearer test-access-token"
            message = bot.received[0]
            assert message.sender_id == CUSTOMER
            assert message.input_channel == "whatsapp"
            assert message.message_id == "wamid.A1"
            assert message.metadata["phone"] == "+15550001234"
            assert message.metadata["name"] == "Test User"
            assert message.metadata["channel"] == "whatsapp"

    run(scenario())


def test_the_same_delivery_three_times_is_answered_once(graph_env):
    payload = fresh_whatsapp("whatsapp/text.json")

    async def scenario() -> None:
        async with FakePlatform() as fake:
            graph_env(fake)
            bot = FakeBot()
            async with ConnectorApp(make_channel(), bot) as app:
                for _ in range(3):
                    assert (await app.post_signed(payload))[0] == 200
                await app.settle()
            # a second server sharing the database drops it as well
            other_bot = FakeBot()
            async with ConnectorApp(make_channel(), other_bot) as other:
                assert (await other.post_signed(payload))[0] == 200
                await other.settle()
            assert len(bot.received) == 1 and other_bot.received == []
            assert len(fake.sends()) == 1

    run(scenario())


def test_dedup_rows_expire_after_the_ttl(monkeypatch):
    old = state.utcnow() - state.DEDUP_TTL - timedelta(hours=1)
    assert state.claim_delivery("whatsapp", "wamid.OLD", now=old)
    assert not state.claim_delivery("whatsapp", "wamid.OLD", now=old)
    monkeypatch.setattr(state, "_last_purge_monotonic", 0.0)  # the sweep is due
    assert state.claim_delivery("whatsapp", "wamid.NEW")  # sweeps the expired row
    assert dedup_rows() == 1
    assert state.claim_delivery("whatsapp", "wamid.OLD")
    long_id = "x" * 400
    assert state.claim_delivery("whatsapp", long_id) and not state.claim_delivery("whatsapp", long_id)


def test_a_whatsapp_number_already_known_from_another_channel_is_linked_to_that_contact():
    from msgops.integrations import crm
    from msgops.store.models import Contact, ContactIdentity

    with session_scope() as session:
        known = crm.upsert_contact(session, channel="telegram", external_id="111", name="Ольга",
                                   phone="+79161234567").id
    assert state.record_inbound("whatsapp", "wamid.A1", "79161234567", phone="+79161234567")
    assert state.record_inbound("whatsapp", "wamid.A2", "79161234567", phone="+79161234567")  # no 2nd row
    assert state.record_inbound("whatsapp", "wamid.B1", "79990000000", phone="+79990000000")  # unknown
    with session_scope() as session:
        rows = session.execute(select(ContactIdentity.channel, ContactIdentity.external_id,
                                      ContactIdentity.contact_id).order_by(ContactIdentity.id)).all()
        assert [tuple(r) for r in rows] == [("telegram", "111", known), ("whatsapp", "79161234567", known)]
        assert session.execute(select(func.count()).select_from(Contact)).scalar_one() == 1
        # the lead process then finds the known contact through the WhatsApp address
        again = crm.upsert_contact(session, channel="whatsapp", external_id="79161234567", name="Ольга")
        assert again.id == known


def test_webhook_is_answered_before_the_turn_finishes(graph_env):
    payload = fresh_whatsapp("whatsapp/text.json")

    async def scenario() -> None:
        async with FakePlatform() as fake:
            graph_env(fake)
            bot = FakeBot(delay=1.0)
            async with ConnectorApp(make_channel(), bot) as app:
                started = time.perf_counter()
                status, _ = await app.post_signed(payload)
                elapsed = time.perf_counter() - started
                assert status == 200
                assert elapsed < 0.5, elapsed
                assert fake.sends() == []  # the turn is still running
                await app.settle()
            assert len(fake.sends()) == 1

    run(scenario())


# -- what never reaches NLU ------------------------------------------------------------------------


def test_statuses_reactions_and_errors_get_no_answer(graph_env, caplog):
    reaction = fresh_whatsapp("whatsapp/reaction.json")
    delivered = fixture("whatsapp/status_delivered.json")
    failed = fixture("whatsapp/status_failed_outside_window.json")
    errors = fixture("whatsapp/status_delivered.json")
    value = errors["entry"][0]["changes"][0]["value"]
    value.pop("statuses")
    value["errors"] = [{"code": 131000, "title": "Something went wrong"}]
    template_update = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
        {"field": "message_template_status_update", "value": {"event": "APPROVED"}}]}]}

    async def scenario() -> None:
        async with FakePlatform() as fake:
            graph_env(fake)
            bot = FakeBot()
            async with ConnectorApp(make_channel(), bot) as app:
                for payload in (reaction, delivered, failed, errors, template_update):
                    assert (await app.post_signed(payload))[0] == 200
                await app.settle()
            assert bot.received == []
            assert fake.requests == []

    with caplog.at_level(logging.WARNING, logger="msgops.channels.whatsapp"):
        run(scenario())
    assert "131047" in caplog.text


def test_unknown_types_get_a_polite_reply_not_nlu(graph_env):
    unknown = payload_with({"from": CUSTOMER, "id": "wamid.U1", "timestamp": str(int(time.time())),
                            "type": "unsupported",
                            "errors": [{"code": 131051, "title": "Message type unknown"}]})
    order = payload_with({"from": CUSTOMER, "id": "wamid.U2", "timestamp": str(int(time.time())),
                          "type": "order", "order": {"catalog_id": "1"}})

    async def scenario() -> None:
        async with FakePlatform() as fake:
            graph_env(fake)
            bot = FakeBot()
            async with ConnectorApp(make_channel(), bot) as app:
                assert (await app.post_signed(unknown))[0] == 200
                assert (await app.post_signed(order))[0] == 200
                await app.settle()
            assert bot.received == []
            bodies = [s["text"]["body"] for s in fake.sends()]
            assert len(bodies) == 2
            assert "Извините" in bodies[0] and "Sorry" in bodies[0]  # language unknown: both

    run(scenario())


def _media_aware_reply(message: Any) -> List[Dict[str, Any]]:
    """What the domain's rule for share_media does for a sticker or a voice note."""
    if message.text.startswith("/share_media"):
        media_type = json.loads(message.text[len("/share_media"):])["media_type"]
        if media_type in ("sticker", "voice"):
            return [{"text": "Спасибо! Я пока не слушаю голосовые и не смотрю стикеры — "
                             "напишите, пожалуйста, текстом."}]
        return [{"text": "Фото получили, спасибо!"}]
    return [{"text": "ok"}]


def test_sticker_and_voice_note_become_media_payloads_and_get_a_polite_reply(graph_env):
    sticker = payload_with({"from": CUSTOMER, "id": "wamid.S1", "timestamp": str(int(time.time())),
                            "type": "sticker",
                            "sticker": {"id": "777", "mime_type": "image/webp", "animated": False}})
    voice = payload_with({"from": CUSTOMER, "id": "wamid.V1", "timestamp": str(int(time.time())),
                          "type": "audio", "audio": {"id": "888", "mime_type": "audio/ogg; codecs=opus",
                                                     "voice": True}})

    async def scenario() -> None:
        async with FakePlatform() as fake:
            graph_env(fake)
            bot = FakeBot(reply=_media_aware_reply)
            async with ConnectorApp(make_channel(), bot) as app:
                await app.post_signed(sticker)
                await app.settle()
                await app.post_signed(voice)
                await app.settle()
            assert [m.text for m in bot.received] == [
                '/share_media{"media_type":"sticker","media_id":"777"}',
                '/share_media{"media_type":"voice","media_id":"888"}',
            ]
            assert bot.received[1].metadata["media"]["mime_type"].startswith("audio/ogg")
            replies = [s["text"]["body"] for s in fake.sends()]
            assert len(replies) == 2 and all("текстом" in r for r in replies)

    run(scenario())


# -- parsing of every documented type ---------------------------------------------------------------


def test_parsing_of_fixture_types():
    (image,) = parse_webhook(fixture("whatsapp/image.json"))
    assert image.text == ('/share_media{"media_type":"image","media_id":"3000000000000001",'
                          '"media_caption":"photo of the damaged box"}')
    (location,) = parse_webhook(fixture("whatsapp/location.json"))
    assert location.text == ('/share_location{"latitude":40.0,"longitude":-3.0,'
                             '"place_name":"Example Store","place_address":"1 Example Street"}')
    (button,) = parse_webhook(fixture("whatsapp/interactive_button_reply.json"))
    assert button.text == "/affirm"
    assert button.metadata["replied_to"] == "wamid.FAKE_BOTMSG0002"
    (row,) = parse_webhook(fixture("whatsapp/interactive_list_reply.json"))
    assert row.text == '/choose_plan{"plan":"basic"}'
    (reaction,) = parse_webhook(fixture("whatsapp/reaction.json"))
    assert reaction.kind == "ignored" and reaction.reason == "reaction"
    (status,) = parse_webhook(fixture("whatsapp/status_failed_outside_window.json"))
    assert status.kind == "ignored" and status.metadata["errors"][0]["code"] == 131047


def test_parsing_of_contacts_template_buttons_documents_and_bsuid_senders():
    base = fixture("whatsapp/text.json")

    def one(message: Dict[str, Any], contacts: Any = None):
        payload = copy.deepcopy(base)
        value = payload["entry"][0]["changes"][0]["value"]
        value["messages"] = [message]
        if contacts is not None:
            value["contacts"] = contacts
        (item,) = parse_webhook(payload)
        return item

    contact = one({"from": CUSTOMER, "id": "w1", "timestamp": "1", "type": "contacts", "contacts": [
        {"name": {"formatted_name": "Ivan Petrov"}, "phones": [{"phone": "+7 (916) 123-45-67",
                                                               "wa_id": "79161234567"}],
         "emails": [{"email": "Ivan@Example.com"}]}]})
    assert contact.text == '/share_contact{"phone":"+79161234567","email":"ivan@example.com","person":"Ivan Petrov"}'
    quick = one({"from": CUSTOMER, "id": "w2", "timestamp": "1", "type": "button",
                 "button": {"payload": "/affirm", "text": "Yes"}})
    assert quick.text == "/affirm"
    plain = one({"from": CUSTOMER, "id": "w3", "timestamp": "1", "type": "button",
                 "button": {"payload": "CONFIRM", "text": "Confirm"}})
    assert plain.text == "Confirm"
    document = one({"from": CUSTOMER, "id": "w4", "timestamp": "1", "type": "document",
                    "document": {"id": "55", "filename": "plan.pdf", "mime_type": "application/pdf"}})
    assert document.text == '/share_media{"media_type":"document","media_id":"55"}'
    assert document.metadata["media"]["filename"] == "plan.pdf"
    bsuid = one({"from_user_id": "US.123456", "id": "w5", "timestamp": "1", "type": "text",
                 "text": {"body": "hi"}},
                contacts=[{"profile": {"name": "Anon", "username": "@anon"}, "user_id": "US.123456"}])
    assert bsuid.sender_id == "US.123456" and "phone" not in bsuid.metadata
    assert bsuid.metadata["username"] == "@anon"
    system = one({"from": CUSTOMER, "id": "w6", "timestamp": "1", "type": "system",
                  "system": {"type": "user_changed_number", "wa_id": "1999"}})
    assert system.kind == "ignored"
    welcome = one({"from": CUSTOMER, "id": "w7", "timestamp": "1", "type": "request_welcome"})
    assert welcome.text == "/greet"


def test_bsuid_sender_is_answered_through_recipient(graph_env):
    payload = payload_with({"from_user_id": "US.42", "id": "wamid.X1", "timestamp": str(int(time.time())),
                            "type": "text", "text": {"body": "hi"}})
    payload["entry"][0]["changes"][0]["value"]["contacts"] = [{"profile": {"name": "A"}, "user_id": "US.42"}]

    async def scenario() -> None:
        async with FakePlatform() as fake:
            graph_env(fake)
            async with ConnectorApp(make_channel(), FakeBot()) as app:
                await app.post_signed(payload)
                await app.settle()
            (send,) = fake.sends()
            assert send["recipient"] == "US.42" and "to" not in send

    run(scenario())


# -- choices ---------------------------------------------------------------------------------------


def choices(n: int) -> List[Dict[str, str]]:
    return [{"title": f"Option number {i}", "payload": f'/choose{{"option":"{i}"}}'} for i in range(1, n + 1)]


def test_choices_render_as_buttons_list_or_numbered_menu_and_a_number_answers(graph_env):
    def reply(message: Any) -> List[Dict[str, Any]]:
        if message.text == "two":
            return [{"text": "Pick one", "buttons": choices(2)}]
        if message.text == "five":
            return [{"text": "Pick one", "buttons": choices(5)}]
        if message.text == "twelve":
            return [{"text": "Pick one", "buttons": choices(12)}]
        return [{"text": f"got {message.text}"}]

    async def scenario() -> None:
        async with FakePlatform() as fake:
            graph_env(fake)
            bot = FakeBot(reply=reply)
            async with ConnectorApp(make_channel(), bot) as app:
                for i, text in enumerate(["two", "five", "twelve", "2", "2"]):
                    await app.post_signed(payload_with(text_message(f"wamid.C{i}", text)))
                    await app.settle()
            two, five, twelve, answer, second_two = fake.sends()
            assert two["type"] == "interactive" and two["interactive"]["type"] == "button"
            buttons = two["interactive"]["action"]["buttons"]
            assert [b["reply"]["id"] for b in buttons] == [c["payload"] for c in choices(2)]
            assert all(len(b["reply"]["title"]) <= 20 for b in buttons)
            assert len({b["reply"]["title"] for b in buttons}) == 2
            assert five["interactive"]["type"] == "list"
            rows = five["interactive"]["action"]["sections"][0]["rows"]
            assert len(rows) == 5 and all(len(r["title"]) <= 24 for r in rows)
            assert rows[1]["id"] == choices(5)[1]["payload"]
            assert twelve["type"] == "text"
            body = twelve["text"]["body"]
            assert "1. Option number 1" in body and "12. Option number 12" in body
            # "2" right after the numbered menu is the second payload, with the typed text kept
            assert bot.received[3].text == choices(12)[1]["payload"]
            assert bot.received[3].metadata["numbered_answer"] == "2"
            assert answer["text"]["body"] == f"got {choices(12)[1]['payload']}"
            # once the customer has answered, a "2" is just text again
            assert bot.received[4].text == "2"
            assert second_two["text"]["body"] == "got 2"

    run(scenario())


# -- the 24-hour window ------------------------------------------------------------------------------


def _presence(hours_ago: float) -> None:
    state.touch_presence("whatsapp", CUSTOMER, state.utcnow() - timedelta(hours=hours_ago))


def test_a_reminder_outside_the_window_goes_out_as_the_template(graph_env):
    async def scenario() -> None:
        async with FakePlatform() as fake:
            graph_env(fake)
            channel = make_channel(followup_template="msgops_followup")
            _presence(30)
            output = channel.get_output_channel()
            result = await output.send_response(
                CUSTOMER, {"text": "Напоминаем: уборка завтра в 10:00.\nДо встречи!",
                           "buttons": [{"title": "OK", "payload": "/affirm"}]})
            # one proactive send, one template: a second message of it is not sent
            again = await output.send_response(CUSTOMER, {"text": "Где нужно выполнить работу?"})
            assert not again.sent and again.route == "closed" and "template" in again.reason
            english = await channel.get_output_channel().send_response(
                CUSTOMER, {"text": "Reminder: cleaning tomorrow"})
            _presence(1)
            inside = await channel.get_output_channel().send_response(CUSTOMER, {"text": "Reminder"})
            await channel.client.aclose()
            first, second, third = fake.sends()
            assert result.sent and result.route == "template" and result.message_ids
            assert first["type"] == "template"
            template = first["template"]
            assert template["name"] == "msgops_followup" and template["language"]["code"] == "ru"
            (param,) = template["components"][0]["parameters"]
            assert "\n" not in param["text"] and param["text"].startswith("Напоминаем")
            assert english.route == "template" and second["template"]["language"]["code"] == "en"
            assert inside.route == "session" and third["type"] == "text"

    run(scenario())


def test_outside_the_window_without_template_is_recorded_as_not_sent(graph_env, caplog):
    async def scenario() -> None:
        async with FakePlatform() as fake:
            graph_env(fake)
            channel = make_channel()
            never = await channel.get_output_channel().send_response(CUSTOMER, {"text": "Follow-up"})
            _presence(25)
            late = await channel.get_output_channel().send_response(CUSTOMER, {"text": "Follow-up"})
            await channel.client.aclose()
            assert fake.requests == []
            for result in (never, late):
                assert not result.sent and result.route == "closed"
                assert "24-hour" in result.reason

    with caplog.at_level(logging.WARNING):
        run(scenario())
    assert "NOT SENT" in caplog.text and CUSTOMER in caplog.text


def test_whatsapp_saying_window_closed_falls_back_to_the_template(graph_env):
    async def scenario() -> None:
        async with FakePlatform() as fake:
            graph_env(fake)
            channel = make_channel(followup_template="msgops_followup")
            _presence(1)  # our record says open, WhatsApp disagrees
            fake.script.append((400, {"error": {"message": "Re-engagement message", "code": 131047,
                                                "fbtrace_id": "TRACE1"}}))
            result = await channel.get_output_channel().send_response(CUSTOMER, {"text": "Hello again"})
            await channel.client.aclose()
            session_try, template = fake.sends()
            assert session_try["type"] == "text" and template["type"] == "template"
            assert result.sent and result.route == "template"

    run(scenario())


def test_old_redelivered_message_is_answered_with_the_template(graph_env):
    payload = fresh_whatsapp("whatsapp/text.json", timestamp=str(int(time.time()) - 26 * 3600))

    async def scenario() -> None:
        async with FakePlatform() as fake:
            graph_env(fake)
            async with ConnectorApp(make_channel(followup_template="msgops_followup"), FakeBot()) as app:
                await app.post_signed(payload)
                await app.settle()
            (send,) = fake.sends()
            assert send["type"] == "template"

    run(scenario())


# -- outbound HTTP --------------------------------------------------------------------------------


def test_graph_429_and_5xx_are_retried_and_errors_logged_with_the_code(graph_env, caplog):
    async def scenario() -> None:
        async with FakePlatform() as fake:
            graph_env(fake)
            channel = make_channel()
            _presence(1)
            output = channel.get_output_channel()
            fake.script += [(429, {"error": {"code": 130429, "message": "Rate limit hit"}}),
                            (503, {"error": {"code": 2, "message": "Service unavailable"}})]
            ok = await output.send_response(CUSTOMER, {"text": "after retries"})
            assert ok.sent and len(fake.requests) == 3
            fake.script.append((400, {"error": {"code": 131030, "message": "Recipient not in allowed list",
                                                "fbtrace_id": "ABC"}}))
            failed = await output.send_response(CUSTOMER, {"text": "permanent error"})
            await channel.client.aclose()
            assert not failed.sent and failed.error_code == 131030
            assert len(fake.requests) == 4  # a 400 is not retried

    with caplog.at_level(logging.INFO, logger="msgops.channels.http"):
        run(scenario())
    assert "code 131030" in caplog.text and "fbtrace_id ABC" in caplog.text
    assert "code 130429" in caplog.text
    assert "test-access-token" not in caplog.text


def test_timeouts_are_bounded(graph_env, monkeypatch):
    from msgops.channels.http import GraphClient

    async def scenario() -> None:
        # nothing listens on this port: connection refused, retried, then a clean failure
        monkeypatch.setenv("MSGOPS_GRAPH_API_BASE", "http://127.0.0.1:9")
        client = GraphClient("t", max_attempts=2)
        started = time.perf_counter()
        response = await client.post("1/messages", {"x": 1})
        await client.aclose()
        assert not response.ok and response.attempts == 2 and response.status == 0
        assert time.perf_counter() - started < 5

    run(scenario())


# -- robustness ------------------------------------------------------------------------------------


def test_failures_never_become_5xx_and_the_batch_goes_on(graph_env, monkeypatch):
    from msgops.channels import whatsapp

    def failing_bot_reply(message: Any) -> List[Dict[str, Any]]:
        if message.text == "boom":
            raise RuntimeError("the bot fell over")
        return [{"text": "fine"}]

    weird = payload_with({"from": CUSTOMER, "id": "wamid.W1", "timestamp": str(int(time.time())),
                          "type": "interactive", "interactive": None})

    async def scenario() -> None:
        async with FakePlatform() as fake:
            graph_env(fake)
            bot = FakeBot(reply=failing_bot_reply)
            async with ConnectorApp(make_channel(), bot) as app:
                batch = payload_with(text_message("wamid.R1", "boom"), text_message("wamid.R2", "after"))
                assert (await app.post_signed(batch))[0] == 200
                from msgops.channels.meta import sign

                garbage = b"{not json"
                assert (await app.post(garbage, {"X-Hub-Signature-256": sign(APP_SECRET, garbage)}))[0] == 400
                assert (await app.post_signed({"object": "whatsapp_business_account", "entry": "nonsense"}))[0] == 200
                assert (await app.post_signed(weird))[0] == 200
                monkeypatch.setattr(whatsapp, "parse_webhook", lambda payload: 1 / 0)
                assert (await app.post_signed(fresh_whatsapp("whatsapp/text.json")))[0] == 200
                await app.settle()
            assert [m.text for m in bot.received] == ["boom", "after"]
            from .conftest import STORE_UNAVAILABLE

            bodies = [s["text"]["body"] for s in fake.sends()]
            # the failed turn still gets the reply guarantee, then "after", then the weird one
            assert bodies[:2] == [STORE_UNAVAILABLE, "fine"] and "Sorry" in bodies[2]
            assert len(bodies) == 3

    run(scenario())


def test_a_store_outage_does_not_lose_the_message(graph_env, monkeypatch, tmp_path):
    monkeypatch.setenv("MSGOPS_DB_URL", f"sqlite:///{tmp_path}/missing/dir/db.sqlite")

    async def scenario() -> None:
        async with FakePlatform() as fake:
            graph_env(fake)
            bot = FakeBot()
            async with ConnectorApp(make_channel(), bot) as app:
                assert (await app.post_signed(fresh_whatsapp("whatsapp/text.json")))[0] == 200
                await app.settle()
            assert len(bot.received) == 1 and len(fake.sends()) == 1  # answered within the turn

    run(scenario())


def test_webhooks_of_one_sender_are_handled_in_arrival_order(graph_env):
    async def scenario() -> None:
        async with FakePlatform() as fake:
            graph_env(fake)
            bot = FakeBot(delay=0.05)
            async with ConnectorApp(make_channel(), bot) as app:
                for i in range(5):
                    await app.post_signed(payload_with(text_message(f"wamid.O{i}", f"part {i}")))
                await app.settle()
            assert [m.text for m in bot.received] == [f"part {i}" for i in range(5)]

    run(scenario())


def test_rasa_trigger_intent_finds_our_output_channels():
    """Rasa's HTTP API (``trigger_intent?output_channel=...``, used for reminders) asks the
    registered input channel with that name for its output channel."""
    from types import SimpleNamespace

    from rasa.server import _get_output_channel

    from msgops.channels.telegram import TelegramInput
    from msgops.channels.whatsapp import WhatsAppOutput

    telegram = TelegramInput.from_credentials({"access_token": "1:T", "secret_token": "s"})
    channels = [make_channel(followup_template="msgops_followup"), telegram]
    for name, expected in (("whatsapp", WhatsAppOutput), ("telegram", type(telegram.get_output_channel()))):
        request = SimpleNamespace(args={"output_channel": name},
                                  app=SimpleNamespace(ctx=SimpleNamespace(input_channels=channels)))
        output = _get_output_channel(request, None)
        assert isinstance(output, expected) and output.last_inbound_at is None


def test_a_turn_that_sends_nothing_still_gets_the_reply_guarantee(graph_env):
    from .conftest import STORE_UNAVAILABLE

    async def scenario() -> None:
        async with FakePlatform() as fake:
            graph_env(fake)
            bot = FakeBot(reply=lambda message: [])  # e.g. the action server is down
            async with ConnectorApp(make_channel(), bot) as app:
                await app.post_signed(fresh_whatsapp("whatsapp/text.json"))
                await app.settle()
            (send,) = fake.sends()
            assert send["text"]["body"] == STORE_UNAVAILABLE

    run(scenario())


def test_stopping_the_server_lets_running_turns_finish(graph_env):
    async def scenario() -> None:
        async with FakePlatform() as fake:
            graph_env(fake)
            bot = FakeBot(delay=0.3)
            app = ConnectorApp(make_channel(), bot)
            await app.__aenter__()
            await app.post_signed(fresh_whatsapp("whatsapp/text.json"))
            await app._server.before_stop()  # what Sanic runs on shutdown
            assert len(fake.sends()) == 1
            await app.__aexit__(None, None, None)

    run(scenario())


def test_the_start_up_heap_is_frozen_out_of_the_garbage_collector(graph_env):
    """A full collection over a loaded Rasa (600k objects) stalls the event loop ~0.5 s."""
    import gc

    async def scenario() -> None:
        async with FakePlatform() as fake:
            graph_env(fake)
            async with ConnectorApp(make_channel(), FakeBot()):
                assert gc.get_freeze_count() > 0

    run(scenario())
