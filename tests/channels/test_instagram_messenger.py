"""Instagram and Messenger connectors (shared Meta messaging code) against real local servers."""
from __future__ import annotations

import copy
import json
import logging
import time
from datetime import timedelta
from typing import Any, Dict, List

import pytest
from rasa.shared.exceptions import RasaException

from msgops.channels import state
from msgops.channels.instagram import InstagramInput
from msgops.channels.messaging import parse_event
from msgops.channels.messenger import MessengerInput

from .conftest import APP_SECRET, VERIFY_TOKEN, ConnectorApp, FakeBot, FakePlatform, fresh_messaging, run

IG_CUSTOMER = "1000000000000001"
FB_CUSTOMER = "2000000000000001"


@pytest.fixture
def graph_env(monkeypatch):
    def point_at(fake: FakePlatform) -> None:
        monkeypatch.setenv("MSGOPS_GRAPH_API_BASE", fake.base_url)
    return point_at


def instagram() -> InstagramInput:
    return InstagramInput.from_credentials(
        {"access_token": "ig-token", "app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN})


def messenger() -> MessengerInput:
    # the key names of Rasa's own facebook connector are accepted
    return MessengerInput.from_credentials(
        {"page-access-token": "fb-token", "secret": APP_SECRET, "verify": VERIFY_TOKEN})


def ig_event(mid: str, text: str, sender: str = IG_CUSTOMER) -> Dict[str, Any]:
    return {"sender": {"id": sender}, "recipient": {"id": "17841400000000001"},
            "timestamp": int(time.time() * 1000), "message": {"mid": mid, "text": text}}


def ig_payload(*events: Dict[str, Any]) -> Dict[str, Any]:
    payload = fresh_messaging("instagram/text.json")
    payload["entry"][0]["messaging"] = list(events)
    return payload


def test_missing_credentials_refuse_to_construct():
    with pytest.raises(RasaException):
        InstagramInput.from_credentials({"access_token": "x", "app_secret": "y"})
    with pytest.raises(RasaException):
        MessengerInput.from_credentials({"verify": "v", "secret": ""})


def test_instagram_text_is_answered_and_marked_seen(graph_env):
    async def scenario() -> None:
        async with FakePlatform() as fake:
            graph_env(fake)
            bot = FakeBot()
            async with ConnectorApp(instagram(), bot) as app:
                assert await app.post_signed(fresh_messaging("instagram/text.json")) == (200, "EVENT_RECEIVED")
                await app.settle()
            (message,) = bot.received
            assert message.text == "Do you ship to Spain?"
            assert message.sender_id == IG_CUSTOMER and message.input_channel == "instagram"
            assert message.metadata["message_id"] == "aWdfZAG1FAKEMID0001"
            (send,) = fake.sends()
            assert send == {"recipient": {"id": IG_CUSTOMER}, "message": {"text": "echo: Do you ship to Spain?"},
                            "messaging_type": "RESPONSE"}
            seen = [r["json"] for r in fake.requests if "sender_action" in r["json"]]
            assert seen == [{"recipient": {"id": IG_CUSTOMER}, "sender_action": "mark_seen"}]
            assert all(r["path"] == "/v21.0/me/messages" for r in fake.requests)
            assert fake.requests[0]["headers"]["Authorization"] == "Bearer ig-token"

    run(scenario())


def test_instagram_forged_requests_refused(graph_env):
    body = json.dumps(fresh_messaging("instagram/text.json")).encode()

    async def scenario() -> None:
        async with FakePlatform() as fake:
            graph_env(fake)
            bot = FakeBot()
            async with ConnectorApp(instagram(), bot) as app:
                from msgops.channels.meta import sign

                assert (await app.post(body))[0] == 403
                assert (await app.post(body, {"X-Hub-Signature-256": sign("other", body)}))[0] == 403
                await app.settle()
            assert bot.received == [] and fake.requests == []

    run(scenario())


def test_instagram_batch_duplicates_and_bookkeeping(graph_env):
    now = int(time.time() * 1000)
    batch = ig_payload(ig_event("mid.1", "first"), ig_event("mid.2", "second"))
    bookkeeping = ig_payload(
        {"sender": {"id": IG_CUSTOMER}, "recipient": {"id": "1"}, "timestamp": now, "read": {"mid": "mid.1"}},
        {"sender": {"id": IG_CUSTOMER}, "recipient": {"id": "1"}, "timestamp": now,
         "reaction": {"mid": "mid.1", "action": "react", "reaction": "love", "emoji": "❤️"}},
        {"sender": {"id": IG_CUSTOMER}, "recipient": {"id": "1"}, "timestamp": now,
         "message": {"mid": "mid.3", "is_deleted": True}},
    )
    echo = fresh_messaging("instagram/echo.json")

    async def scenario() -> None:
        async with FakePlatform() as fake:
            graph_env(fake)
            bot = FakeBot()
            async with ConnectorApp(instagram(), bot) as app:
                for _ in range(3):
                    await app.post_signed(batch)
                await app.post_signed(bookkeeping)
                await app.post_signed(echo)
                await app.settle()
            assert [m.text for m in bot.received] == ["first", "second"]
            assert [s["message"]["text"] for s in fake.sends()] == ["echo: first", "echo: second"]

    run(scenario())


def test_instagram_quick_reply_media_story_mention_and_story_reply():
    quick = fresh_messaging("instagram/quick_reply.json")["entry"][0]["messaging"][0]
    assert parse_event(quick, "instagram").text == "/track_order"
    image = fresh_messaging("instagram/image_attachment.json")["entry"][0]["messaging"][0]
    item = parse_event(image, "instagram")
    assert item.text.startswith('/share_media{"media_type":"image","media_url":"https://lookaside.fbsbx.com/')
    mention = copy.deepcopy(image)
    mention["message"]["attachments"] = [{"type": "story_mention", "payload": {"url": "https://cdn/story"}}]
    assert parse_event(mention, "instagram").text == \
        '/share_media{"media_type":"story_mention","media_url":"https://cdn/story"}'
    story_reply = ig_event("mid.9", "Love this!")
    story_reply["message"]["reply_to"] = {"story": {"url": "https://cdn/s1", "id": "s1"}}
    item = parse_event(story_reply, "instagram")
    assert item.text == "Love this!" and item.metadata["story_reply"] == {"id": "s1", "url": "https://cdn/s1"}
    unsupported = ig_event("mid.10", "")
    unsupported["message"] = {"mid": "mid.10", "is_unsupported": True}
    assert parse_event(unsupported, "instagram").kind == "unsupported"
    own = ig_event("mid.11", "sent from the app", sender="17841400000000001")
    assert parse_event(own, "instagram", own_id="17841400000000001").reason == "echo"


def test_instagram_long_reply_is_split_at_1000_bytes(graph_env):
    long_answer = "Мы работаем по всей Москве и области. " * 80  # ~5600 bytes

    async def scenario() -> None:
        async with FakePlatform() as fake:
            graph_env(fake)
            bot = FakeBot(reply=lambda m: [{"text": long_answer}])
            async with ConnectorApp(instagram(), bot) as app:
                await app.post_signed(fresh_messaging("instagram/text.json"))
                await app.settle()
            texts = [s["message"]["text"] for s in fake.sends()]
            assert len(texts) >= 6
            assert all(len(t.encode("utf-8")) <= 1000 for t in texts)
            assert " ".join(texts).split() == long_answer.split()

    run(scenario())


def test_instagram_numbered_menu_answer(graph_env):
    options = [{"title": f"Service {i}", "payload": f"/pick{{\"s\":{i}}}"} for i in range(1, 15)]

    def reply(message: Any) -> List[Dict[str, Any]]:
        return [{"text": "Which one?", "buttons": options}] if message.text == "menu" else [{"text": "ok"}]

    async def scenario() -> None:
        async with FakePlatform() as fake:
            graph_env(fake)
            bot = FakeBot(reply=reply)
            async with ConnectorApp(instagram(), bot) as app:
                await app.post_signed(ig_payload(ig_event("mid.m1", "menu")))
                await app.settle()
                await app.post_signed(ig_payload(ig_event("mid.m2", "2")))
                await app.settle()
            assert "14. Service 14" in fake.sends()[0]["message"]["text"]
            assert bot.received[1].text == options[1]["payload"]

    run(scenario())


def _presence(channel: str, customer: str, hours_ago: float) -> None:
    state.touch_presence(channel, customer, state.utcnow() - timedelta(hours=hours_ago))


def test_instagram_outside_window_only_a_human_reply_within_7_days(graph_env, caplog):
    async def scenario() -> None:
        async with FakePlatform() as fake:
            graph_env(fake)
            channel = instagram()
            _presence("instagram", IG_CUSTOMER, 30)
            output = channel.get_output_channel()
            bot_followup = await output.send_response(IG_CUSTOMER, {"text": "Still interested?"})
            tagged = await output.send_response(IG_CUSTOMER, {"text": "x", "message_tag": "HUMAN_AGENT"})
            human = await output.send_response(IG_CUSTOMER, {"text": "Hi, Anna here", "human_agent": True})
            _presence("instagram", "other", 24 * 8)
            too_late = await output.send_response("other", {"text": "Hi", "human_agent": True})
            await channel.client.aclose()
            assert not bot_followup.sent and "24-hour" in bot_followup.reason
            assert not tagged.sent and "human" in tagged.reason
            assert human.sent and human.route == "tag:HUMAN_AGENT"
            assert not too_late.sent and "7 days" in too_late.reason
            (send,) = fake.sends()
            assert send["messaging_type"] == "MESSAGE_TAG" and send["tag"] == "HUMAN_AGENT"

    with caplog.at_level(logging.WARNING):
        run(scenario())
    assert caplog.text.count("NOT SENT") == 3


# -- Messenger ------------------------------------------------------------------------------------


def test_messenger_events_postback_quick_reply_and_sha1_only_refused(graph_env):
    postback = fresh_messaging("messenger/postback_get_started.json")
    quick = fresh_messaging("messenger/quick_reply.json")
    text = fresh_messaging("messenger/text.json")
    batch = copy.deepcopy(text)
    batch["entry"][0]["messaging"] += quick["entry"][0]["messaging"]
    batch["entry"].append(postback["entry"][0])

    async def scenario() -> None:
        async with FakePlatform() as fake:
            graph_env(fake)
            bot = FakeBot()
            async with ConnectorApp(messenger(), bot) as app:
                body = json.dumps(batch).encode()
                import hashlib
                import hmac

                sha1 = "sha1=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha1).hexdigest()
                assert (await app.post(body, {"X-Hub-Signature": sha1}))[0] == 403
                assert (await app.post_signed(batch))[0] == 200
                assert app.webhook.endswith("/webhooks/facebook/webhook")
                await app.settle()
            assert [m.text for m in bot.received] == ["hello", "/affirm", "/greet"]
            assert all(m.input_channel == "facebook" for m in bot.received)
            assert len(fake.sends()) == 3

    run(scenario())


def test_messenger_echoes_with_images_are_ignored_and_unknown_attachments_get_a_polite_reply(graph_env):
    echo = fresh_messaging("messenger/text.json")
    echo["entry"][0]["messaging"][0]["message"] = {
        "mid": "m_ECHO", "is_echo": True, "app_id": 1,
        "attachments": [{"type": "image", "payload": {"url": "https://cdn/our.png"}}]}
    weird = fresh_messaging("messenger/text.json")
    weird["entry"][0]["messaging"][0]["message"] = {
        "mid": "m_WEIRD", "attachments": [{"type": "template", "payload": {"template_type": "receipt"}}]}

    async def scenario() -> None:
        async with FakePlatform() as fake:
            graph_env(fake)
            bot = FakeBot()
            async with ConnectorApp(messenger(), bot) as app:
                await app.post_signed(echo)
                await app.post_signed(weird)
                await app.settle()
            assert bot.received == []
            (polite,) = fake.sends()
            assert "Sorry" in polite["message"]["text"] and "Извините" in polite["message"]["text"]

    run(scenario())


def test_messenger_booking_update_outside_window_uses_the_message_tag(graph_env):
    async def scenario() -> None:
        async with FakePlatform() as fake:
            graph_env(fake)
            channel = messenger()
            _presence("facebook", FB_CUSTOMER, 48)
            output = channel.get_output_channel()
            update = await output.send_response(
                FB_CUSTOMER,
                {"text": "Your cleaning moved to 10:00", "custom": {"message_tag": "CONFIRMED_EVENT_UPDATE"}},
            )
            promo = await output.send_response(FB_CUSTOMER, {"text": "Discount!"})
            forbidden = await output.send_response(FB_CUSTOMER, {"text": "x", "message_tag": "MARKETING"})
            await channel.client.aclose()
            assert update.sent and update.route == "tag:CONFIRMED_EVENT_UPDATE"
            assert not promo.sent and not forbidden.sent
            (send,) = fake.sends()
            assert send["messaging_type"] == "MESSAGE_TAG" and send["tag"] == "CONFIRMED_EVENT_UPDATE"

    run(scenario())


def test_webhooks_for_another_object_are_acknowledged_and_ignored(graph_env):
    async def scenario() -> None:
        async with FakePlatform() as fake:
            graph_env(fake)
            bot = FakeBot()
            async with ConnectorApp(messenger(), bot) as app:
                assert (await app.post_signed(fresh_messaging("instagram/text.json")))[0] == 200
                await app.settle()
            assert bot.received == [] and fake.requests == []

    run(scenario())
