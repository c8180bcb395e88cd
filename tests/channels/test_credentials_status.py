"""The credentials helper (only channels whose secrets are set) and the status command."""
from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pytest

from msgops.channels.credentials import write_active_credentials
from msgops.channels.status import print_channel_status

TEMPLATE = textwrap.dedent("""\
    # channels; secrets come from the environment
    rest:
    socketio:
      user_message_evt: user_uttered
      bot_message_evt: bot_uttered
      session_persistence: true
    msgops.channels.whatsapp.WhatsAppInput:
      access_token: ${MSGOPS_WHATSAPP_ACCESS_TOKEN}
      app_secret: ${MSGOPS_WHATSAPP_APP_SECRET}
      verify_token: ${MSGOPS_WHATSAPP_VERIFY_TOKEN}
      phone_number_id: ${MSGOPS_WHATSAPP_PHONE_NUMBER_ID}
      followup_template: ${MSGOPS_WHATSAPP_FOLLOWUP_TEMPLATE}
    msgops.channels.instagram.InstagramInput:
      access_token: ${MSGOPS_INSTAGRAM_ACCESS_TOKEN}
      app_secret: ${MSGOPS_INSTAGRAM_APP_SECRET}
      verify_token: ${MSGOPS_INSTAGRAM_VERIFY_TOKEN}
    msgops.channels.messenger.MessengerInput:
      page-access-token: ${MSGOPS_MESSENGER_PAGE_ACCESS_TOKEN}
      secret: ${MSGOPS_MESSENGER_APP_SECRET}
      verify: ${MSGOPS_MESSENGER_VERIFY_TOKEN}
    msgops.channels.telegram.TelegramInput:
      access_token: ${MSGOPS_TELEGRAM_TOKEN}
      secret_token: ${MSGOPS_TELEGRAM_SECRET_TOKEN}
      webhook_url: ${MSGOPS_TELEGRAM_WEBHOOK_URL}
      verify: ${MSGOPS_TELEGRAM_BOT_USERNAME}
    slack:
      slack_token: ${SLACK_TOKEN}
""")

ENV = {
    "MSGOPS_WHATSAPP_ACCESS_TOKEN": "wa-secret-token",
    "MSGOPS_WHATSAPP_APP_SECRET": "wa-app-secret",
    "MSGOPS_WHATSAPP_VERIFY_TOKEN": "wa-verify",
    "MSGOPS_WHATSAPP_PHONE_NUMBER_ID": "200000000000001",
    "MSGOPS_WHATSAPP_FOLLOWUP_TEMPLATE": "",  # set but empty counts as unset
    "MSGOPS_INSTAGRAM_ACCESS_TOKEN": "ig-token",  # the rest of Instagram is missing
    "MSGOPS_TELEGRAM_TOKEN": "123:TOKEN",
    "MSGOPS_TELEGRAM_SECRET_TOKEN": "tg_secret",
}


@pytest.fixture
def template(tmp_path) -> Path:
    path = tmp_path / "credentials.yml"
    path.write_text(TEMPLATE, encoding="utf-8")
    return path


def test_only_channels_with_all_secrets_are_written_and_rasa_loads_them(template, tmp_path, monkeypatch):
    for name in list(ENV) + ["MSGOPS_MESSENGER_APP_SECRET", "SLACK_TOKEN", "MSGOPS_TELEGRAM_WEBHOOK_URL"]:
        monkeypatch.delenv(name, raising=False)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    output = tmp_path / "var" / "credentials.active.yml"

    report = write_active_credentials(template, output)

    assert report.kept == ["rest", "socketio", "msgops.channels.whatsapp.WhatsAppInput",
                           "msgops.channels.telegram.TelegramInput"]
    assert report.dropped["msgops.channels.instagram.InstagramInput"] == [
        "MSGOPS_INSTAGRAM_APP_SECRET", "MSGOPS_INSTAGRAM_VERIFY_TOKEN"]
    assert "slack" in report.dropped and "msgops.channels.messenger.MessengerInput" in report.dropped
    assert report.dropped_keys["msgops.channels.whatsapp.WhatsAppInput"] == ["followup_template"]
    assert report.dropped_keys["msgops.channels.telegram.TelegramInput"] == ["webhook_url", "verify"]
    written = output.read_text(encoding="utf-8")
    assert "access_token: ${MSGOPS_WHATSAPP_ACCESS_TOKEN}" in written  # unexpanded, unquoted
    assert "wa-secret-token" not in written and "tg_secret" not in written

    # Rasa itself reads the file, expands the variables and constructs the connectors,
    # without any network call (Rasa's own Telegram connector would call setWebhook here).
    from rasa.core.run import create_http_input_channels

    channels = create_http_input_channels(None, str(output))
    names = sorted(c.name() for c in channels)
    assert names == ["rest", "socketio", "telegram", "whatsapp"]
    whatsapp = next(c for c in channels if c.name() == "whatsapp")
    assert whatsapp.app_secret == "wa-app-secret" and whatsapp.followup_template is None


def test_a_template_with_nothing_set_still_starts(template, tmp_path, monkeypatch):
    for name in list(ENV) + ["SLACK_TOKEN"]:
        monkeypatch.delenv(name, raising=False)
    output = tmp_path / "active.yml"
    report = write_active_credentials(template, output, env={})
    assert report.kept == ["rest", "socketio"]
    from rasa.core.run import create_http_input_channels

    assert sorted(c.name() for c in create_http_input_channels(None, str(output))) == ["rest", "socketio"]


def test_status_lists_webhook_urls_and_which_secrets_are_set(template):
    out = io.StringIO()
    rows = print_channel_status("https://bot.example.com/", str(template), env=ENV, out=out)
    text = out.getvalue()
    by_name = {row["channel"]: row for row in rows}
    assert by_name["whatsapp"]["webhook_url"] == "https://bot.example.com/webhooks/whatsapp/webhook"
    assert by_name["facebook"]["webhook_url"] == "https://bot.example.com/webhooks/facebook/webhook"
    assert by_name["whatsapp"]["active"] and by_name["telegram"]["active"]
    assert not by_name["instagram"]["active"] and not by_name["facebook"]["active"]
    assert "MSGOPS_INSTAGRAM_APP_SECRET" in text and "MISSING" in text
    for secret in ENV.values():
        if secret:
            assert secret not in text.replace("https://bot.example.com", "")
    assert "https://bot.example.com/webhooks/telegram/webhook" in text


def test_status_without_template_uses_the_documented_names():
    out = io.StringIO()
    rows = print_channel_status("http://localhost:5005", env={}, out=out)
    assert [r["channel"] for r in rows] == ["whatsapp", "instagram", "facebook", "telegram"]
    assert not any(r["active"] for r in rows)
    assert "MSGOPS_WHATSAPP_APP_SECRET" in out.getvalue()
