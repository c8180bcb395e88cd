"""Telegram connector (Rasa's TelegramInput, fixed) against a local stand-in for the Bot API."""
from __future__ import annotations

import copy
import json
import time
from typing import Any, Dict, List

import pytest
from rasa.core.channels.telegram import TelegramInput as RasaTelegramInput
from rasa.shared.exceptions import RasaException

from msgops.channels.telegram import TelegramInput, parse_update

from .conftest import ConnectorApp, FakeBot, FakePlatform, fixture, run

SECRET = "fake_secret_token_0001"
CHAT = "111111111"


@pytest.fixture
def bot_api(monkeypatch):
    def point_at(fake: FakePlatform) -> None:
        monkeypatch.setenv("MSGOPS_TELEGRAM_API_BASE", fake.base_url)
    return point_at


def telegram(**overrides: Any) -> TelegramInput:
    return TelegramInput.from_credentials({
        "access_token": "123:TEST", "secret_token": SECRET, "verify": "example_fake_bot",
        "webhook_url": "https://bot.example.com/webhooks/telegram/webhook", **overrides})


def update(name: str) -> Dict[str, Any]:
    data = copy.deepcopy(fixture(name))
    for key in ("message", "edited_message"):
        if key in data:
            data[key]["date"] = int(time.time())
    return data


async def post_update(app: ConnectorApp, data: Dict[str, Any], secret: str = SECRET) -> int:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
    status, _ = await app.post(json.dumps(data).encode(), headers)
    return status


def test_is_a_rasa_telegram_input_and_needs_its_secret():
    assert issubclass(TelegramInput, RasaTelegramInput)
    with pytest.raises(RasaException):
        TelegramInput.from_credentials({"access_token": "123:TEST"})
    with pytest.raises(RasaException):
        telegram(secret_token="has spaces!")


def test_construction_and_output_channel_make_no_bot_api_calls(bot_api):
    async def scenario() -> None:
        async with FakePlatform() as fake:
            bot_api(fake)
            channel = telegram()
            channel.blueprint(FakeBot())
            channel.get_output_channel()
            assert fake.requests == []

    run(scenario())


def test_secret_token_is_checked(bot_api):
    async def scenario() -> None:
        async with FakePlatform() as fake:
            bot_api(fake)
            bot = FakeBot()
            async with ConnectorApp(telegram(), bot) as app:
                assert await post_update(app, update("telegram/message_text.json"), secret="") == 403
                assert await post_update(app, update("telegram/message_text.json"), secret="wrong") == 403
                await app.settle()
            assert bot.received == [] and fake.requests == []

    run(scenario())


def test_text_is_answered_without_get_me_or_set_webhook(bot_api):
    async def scenario() -> None:
        async with FakePlatform() as fake:
            bot_api(fake)
            bot = FakeBot()
            async with ConnectorApp(telegram(), bot) as app:
                assert await post_update(app, update("telegram/message_text.json")) == 200
                assert await post_update(app, update("telegram/command_start.json")) == 200
                await app.settle()
            assert [m.text for m in bot.received] == ["I want to book a table", "/greet"]
            first = bot.received[0]
            assert first.sender_id == CHAT and first.input_channel == "telegram"
            assert first.metadata["name"] == "Test" and first.metadata["username"] == "test_user_fake"
            calls = fake.telegram_calls()
            assert {c["method"] for c in calls} == {"sendMessage"}
            assert calls[0]["params"] == {"text": "echo: I want to book a table", "chat_id": CHAT}
            assert calls[0]["path"] == "/bot123:TEST/sendMessage"

    run(scenario())


def test_callback_query_is_answered_and_its_data_reaches_the_bot(bot_api):
    async def scenario() -> None:
        async with FakePlatform() as fake:
            bot_api(fake)
            bot = FakeBot()
            async with ConnectorApp(telegram(), bot) as app:
                assert await post_update(app, update("telegram/callback_query.json")) == 200
                await app.settle()
            (message,) = bot.received
            assert message.text == "/affirm" and message.sender_id == CHAT
            (answer,) = fake.telegram_calls("answerCallbackQuery")
            assert answer["params"] == {"callback_query_id": "4000000000000000001"}
            assert len(fake.telegram_calls("sendMessage")) == 1

    run(scenario())


def test_updates_without_a_message_answer_200_and_do_nothing(bot_api):
    blocked = {"update_id": 900000010, "my_chat_member": {
        "chat": {"id": 111111111, "type": "private"}, "from": {"id": 111111111, "is_bot": False},
        "date": 1750000200, "old_chat_member": {"status": "member", "user": {"id": 7000000001}},
        "new_chat_member": {"status": "kicked", "user": {"id": 7000000001}, "until_date": 0}}}
    edited = {"update_id": 900000011, "edited_message": dict(update("telegram/message_text.json")["message"],
                                                             edit_date=1750000300)}
    channel_post = {"update_id": 900000012, "channel_post": {"message_id": 1, "chat": {"id": -100, "type": "channel"},
                                                             "date": 1750000100, "text": "news"}}
    empty = {"update_id": 900000013}

    async def scenario() -> None:
        async with FakePlatform() as fake:
            bot_api(fake)
            bot = FakeBot()
            async with ConnectorApp(telegram(), bot) as app:
                for data in (blocked, edited, channel_post, empty, [1, 2]):
                    assert await post_update(app, data) == 200
                await app.settle()
            assert bot.received == [] and fake.requests == []

    run(scenario())


def _media_reply(message: Any) -> List[Dict[str, Any]]:
    if message.text.startswith('/share_media{"media_type":"sticker"') or \
            message.text.startswith('/share_media{"media_type":"voice"'):
        return [{"text": "Sorry, I can't listen to voice notes or read stickers yet — please type."}]
    return [{"text": "ok"}]


def test_photo_voice_sticker_location_and_contact_become_payloads(bot_api):
    base = update("telegram/message_text.json")
    base["message"].pop("text")

    def with_(update_id: int, **fields: Any) -> Dict[str, Any]:
        data = copy.deepcopy(base)
        data["update_id"] = update_id
        data["message"].update(fields)
        return data

    updates = [
        with_(1, photo=[{"file_id": "small", "width": 90}, {"file_id": "big", "width": 1280}], caption="my kitchen"),
        with_(2, voice={"file_id": "v1", "duration": 3, "mime_type": "audio/ogg"}),
        with_(3, sticker={"file_id": "st1", "emoji": "😀", "type": "regular"}),
        with_(4, location={"latitude": 55.75, "longitude": 37.61}),
        with_(5, contact={"phone_number": "79161234567", "first_name": "Ivan", "last_name": "P"}),
    ]

    async def scenario() -> None:
        async with FakePlatform() as fake:
            bot_api(fake)
            bot = FakeBot(reply=_media_reply)
            async with ConnectorApp(telegram(), bot) as app:
                for data in updates:
                    assert await post_update(app, data) == 200
                    await app.settle()
            assert [m.text for m in bot.received] == [
                '/share_media{"media_type":"image","media_id":"big","media_caption":"my kitchen"}',
                '/share_media{"media_type":"voice","media_id":"v1"}',
                '/share_media{"media_type":"sticker","media_id":"st1"}',
                '/share_location{"latitude":55.75,"longitude":37.61}',
                '/share_contact{"phone":"+79161234567","person":"Ivan P"}',
            ]
            replies = [c["params"]["text"] for c in fake.telegram_calls("sendMessage")]
            assert replies[1].startswith("Sorry") and replies[2].startswith("Sorry")

    run(scenario())


def test_unknown_message_types_get_a_polite_reply_in_the_users_language(bot_api):
    poll = update("telegram/message_text.json")
    poll["message"].pop("text")
    poll["message"]["poll"] = {"id": "1", "question": "?", "options": []}

    async def scenario() -> None:
        async with FakePlatform() as fake:
            bot_api(fake)
            bot = FakeBot()
            async with ConnectorApp(telegram(), bot) as app:
                assert await post_update(app, poll) == 200
                await app.settle()
            assert bot.received == []
            (reply,) = fake.telegram_calls("sendMessage")
            assert reply["params"]["text"].startswith("Sorry") and "Извините" not in reply["params"]["text"]

    run(scenario())


def test_redelivered_update_is_processed_once_and_answered_fast(bot_api):
    async def scenario() -> None:
        async with FakePlatform() as fake:
            bot_api(fake)
            bot = FakeBot(delay=0.5)
            async with ConnectorApp(telegram(), bot) as app:
                started = time.perf_counter()
                for _ in range(3):
                    assert await post_update(app, update("telegram/message_text.json")) == 200
                assert time.perf_counter() - started < 0.5
                await app.settle()
            assert len(bot.received) == 1 and len(fake.telegram_calls("sendMessage")) == 1

    run(scenario())


def test_register_webhook_sets_the_secret_token(bot_api):
    async def scenario() -> None:
        async with FakePlatform() as fake:
            bot_api(fake)
            async with ConnectorApp(telegram(), FakeBot()) as app:
                url = app.webhook[: -len("/webhook")] + "/set_webhook"
                async with app._session.post(url) as resp:  # type: ignore[union-attr]
                    assert resp.status == 403
                async with app._session.post(url, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as resp:  # type: ignore[union-attr]
                    assert resp.status == 200
            (call,) = fake.telegram_calls("setWebhook")
            assert call["params"]["secret_token"] == SECRET
            assert call["params"]["url"] == "https://bot.example.com/webhooks/telegram/webhook"
            assert "callback_query" in call["params"]["allowed_updates"]

    run(scenario())


def test_commands_for_other_bots_and_deep_links():
    text = update("telegram/command_start.json")
    text["message"]["text"] = "/start@example_fake_bot promo42"
    (item,) = parse_update(text, "example_fake_bot")
    assert item.text == "/greet" and item.metadata["start_param"] == "promo42"
    text["message"]["text"] = "/help@another_bot"
    (item,) = parse_update(text, "example_fake_bot")
    assert item.kind == "ignored"
    assert item.dedup_id == "update:900000002"
