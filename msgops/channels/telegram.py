"""Telegram connector: Rasa's ``TelegramInput`` with its defects fixed.

credentials.yml::

    msgops.channels.telegram.TelegramInput:
      access_token: ${MSGOPS_TELEGRAM_TOKEN}
      secret_token: ${MSGOPS_TELEGRAM_SECRET_TOKEN}   # 1-256 of A-Z a-z 0-9 _ -
      webhook_url: ${MSGOPS_TELEGRAM_WEBHOOK_URL}     # https://<host>/webhooks/telegram/webhook
      verify: ${MSGOPS_TELEGRAM_BOT_USERNAME}         # optional: strips /cmd@<bot> in groups

What Rasa 3.6's connector did, and what this one does instead:

* it called ``setWebhook`` through ``asyncio.run`` whenever an output channel was created (at
  start-up, and on ``trigger_intent``, where ``asyncio.run`` fails inside the running server
  loop), and ``getMe`` on every update to compare the bot's username: here no Bot API call
  is made that an update does not need. The webhook is registered
  explicitly (``register_webhook``, or ``POST /webhooks/telegram/set_webhook`` with the secret
  header), together with the secret token;
* it authenticated nothing: here ``X-Telegram-Bot-Api-Secret-Token`` must equal the secret
  token (constant time), else 403 and nothing is processed;
* updates without a message (``my_chat_member`` when a user blocks the bot,
  ``edited_message``, channel posts...) crashed with a 500 (and Telegram redelivered them):
  here they are logged and answered 200;
* button presses never answered the callback query, so the client kept its spinner: here
  ``answerCallbackQuery`` is called;
* photos, voice notes, stickers, documents, contacts and venues were dropped, and a location
  became a bare JSON text: they become the same intent payloads as on WhatsApp;
* the webhook waited for the whole turn: it is answered at once and the turn runs in the
  background; replies go through ``msgops.channels.render`` (4096-character split, inline
  keyboards, numbered menus when a payload exceeds the 64-byte ``callback_data``).
"""
from __future__ import annotations

import hmac
import json
import logging
import re
from typing import Any, Dict, List, Optional

from rasa.core.channels.telegram import TelegramInput as RasaTelegramInput
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from msgops.channels import render
from msgops.channels.credentials import BY_NAME
from msgops.channels.http import ApiResponse, BotApiClient
from msgops.channels.inbound import (
    MESSAGE,
    Inbound,
    contact_payload,
    from_unix,
    ignored,
    location_payload,
    media_payload,
    unsupported,
)
from msgops.channels.meta import require_credentials
from msgops.channels.outbound import SESSION, ChannelOutput, Route
from msgops.channels.pipeline import ChannelPipeline, OnNewMessage

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_SECRET_FORMAT = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
#: what the webhook is registered for; everything else Telegram then does not even send
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]

#: message fields that are chat bookkeeping, not something the customer said
_SERVICE_FIELDS = (
    "new_chat_members", "left_chat_member", "new_chat_title", "new_chat_photo",
    "delete_chat_photo", "group_chat_created", "supergroup_chat_created",
    "channel_chat_created", "migrate_to_chat_id", "migrate_from_chat_id", "pinned_message",
    "message_auto_delete_timer_changed", "forum_topic_created", "forum_topic_edited",
    "forum_topic_closed", "forum_topic_reopened", "video_chat_scheduled", "video_chat_started",
    "video_chat_ended", "video_chat_participants_invited", "write_access_allowed",
    "users_shared", "chat_shared", "connected_website", "proximity_alert_triggered",
    "boost_added", "chat_background_set",
)


# -- inbound -----------------------------------------------------------------------------------


def _full_name(user: Dict[str, Any]) -> Optional[str]:
    name = " ".join(p for p in (user.get("first_name"), user.get("last_name")) if p)
    return name or None


def _command(text: str, bot_username: Optional[str]) -> Dict[str, Any]:
    """``/start@my_bot payload`` -> text ``/greet`` and the deep-link parameter.

    ``/start`` is what every Telegram conversation begins with; the domain has ``greet``.
    """
    head, _, rest = text.partition(" ")
    command, _, addressee = head.partition("@")
    if addressee and bot_username and addressee.lower() != bot_username.lstrip("@").lower():
        return {"text": None, "foreign": True}  # a command for another bot in a group
    if command == "/start":
        return {"text": "/greet", "start_param": rest.strip() or None}
    return {"text": (command + (" " + rest if rest else "")).strip()}


def parse_update(update: Dict[str, Any], bot_username: Optional[str] = None) -> List[Inbound]:
    """One Bot API update -> one ``Inbound`` (a list, like the Meta parsers)."""
    update_id = str(update.get("update_id", "")) or None
    if isinstance(update.get("message"), dict):
        item = _message(update["message"], bot_username)
    elif isinstance(update.get("callback_query"), dict):
        item = _callback(update["callback_query"])
    elif isinstance(update.get("my_chat_member"), dict):
        member = update["my_chat_member"]
        status = (member.get("new_chat_member") or {}).get("status")
        reason = "blocked" if status == "kicked" else f"my_chat_member:{status}"
        item = ignored(reason, chat_id=(member.get("chat") or {}).get("id"))
    else:
        keys = [k for k in update if k != "update_id"]
        item = ignored(keys[0] if keys else "empty")
    item.dedup_id = f"update:{update_id}" if update_id else None
    return [item]


def _message(message: Dict[str, Any], bot_username: Optional[str]) -> Inbound:
    chat = message.get("chat") or {}
    user = message.get("from") or {}
    if user.get("is_bot"):
        return ignored("from_bot")
    item = Inbound(
        kind=MESSAGE,
        sender_id=str(chat.get("id") or user.get("id") or ""),
        message_id=str(message.get("message_id")) if message.get("message_id") is not None else None,
        sent_at=from_unix(message.get("date")),
        language_hint=user.get("language_code"),
    )
    metadata: Dict[str, Any] = {
        "channel": CHANNEL,
        "message_id": item.message_id,
        "name": _full_name(user),
        "username": user.get("username"),
        "user_id": user.get("id"),
        "chat_type": chat.get("type"),
        "replied_to": str((message.get("reply_to_message") or {}).get("message_id") or "") or None,
        "language_code": user.get("language_code"),
    }
    item.metadata = {k: v for k, v in metadata.items() if v is not None}
    caption = message.get("caption")

    if isinstance(message.get("text"), str):
        text = message["text"]
        if text.startswith("/"):
            command = _command(text, bot_username)
            if command.get("foreign"):
                return ignored("command_for_another_bot")
            if command.get("start_param"):
                item.metadata["start_param"] = command["start_param"]
            text = command["text"]
        if not text.strip():
            return unsupported(item, "empty_text")
        item.text = text
        return item
    if message.get("photo"):
        largest = message["photo"][-1]  # sizes come smallest first
        item.text = media_payload("image", media_id=largest.get("file_id"), caption=caption)
        return item
    for field, media_type in (("voice", "voice"), ("audio", "audio"), ("animation", "video"),
                              ("video", "video"), ("video_note", "video"), ("sticker", "sticker"),
                              ("document", "document")):
        if isinstance(message.get(field), dict):
            media = message[field]
            item.text = media_payload(media_type, media_id=media.get("file_id"), caption=caption)
            item.metadata["media"] = {k: media.get(k) for k in ("file_id", "file_unique_id", "mime_type",
                                                                "file_name", "duration", "emoji")
                                      if media.get(k) is not None}
            return item
    if isinstance(message.get("venue"), dict):
        venue = message["venue"]
        loc = venue.get("location") or {}
        item.text = location_payload(loc.get("latitude"), loc.get("longitude"),
                                     name=venue.get("title"), address=venue.get("address"))
        return item
    if isinstance(message.get("location"), dict):
        loc = message["location"]
        item.text = location_payload(loc.get("latitude"), loc.get("longitude"))
        return item
    if isinstance(message.get("contact"), dict):
        contact = message["contact"]
        item.text = contact_payload(phone=contact.get("phone_number"), person=_full_name(contact))
        return item
    for field in _SERVICE_FIELDS:
        if field in message:
            return ignored(f"service:{field}", chat_id=chat.get("id"))
    kinds = [k for k in message if k not in ("message_id", "from", "chat", "date", "caption",
                                            "entities", "caption_entities", "reply_to_message")]
    return unsupported(item, f"type:{kinds[0] if kinds else 'unknown'}")


def _callback(query: Dict[str, Any]) -> Inbound:
    message = query.get("message") or {}
    user = query.get("from") or {}
    sender = (message.get("chat") or {}).get("id") or user.get("id")
    item = Inbound(
        kind=MESSAGE,
        sender_id=str(sender or ""),
        message_id=str(query.get("id")) if query.get("id") is not None else None,
        language_hint=user.get("language_code"),
        metadata={
            "channel": CHANNEL,
            "callback_query_id": query.get("id"),
            "replied_to": str(message.get("message_id")) if message.get("message_id") is not None else None,
            "name": _full_name(user),
            "username": user.get("username"),
            "user_id": user.get("id"),
            "language_code": user.get("language_code"),
        },
    )
    item.metadata = {k: v for k, v in item.metadata.items() if v is not None}
    data = query.get("data")
    if not data:
        return unsupported(item, "callback:without_data")
    item.text = str(data)
    return item


# -- outbound ----------------------------------------------------------------------------------


class TelegramOutput(ChannelOutput):
    """Bot API sends. Telegram has no customer-service window, so no presence lookup."""

    platform = render.TELEGRAM

    def __init__(self, client: BotApiClient, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client = client

    async def route(self, recipient_id: str, message: Dict[str, Any], language: Optional[str]) -> Route:
        return Route(SESSION)

    async def deliver(self, recipient_id: str, payload: Dict[str, Any], route: Route) -> ApiResponse:
        method = str(payload.get("method") or "sendMessage")
        params = dict(payload.get("params") or {})
        params.setdefault("chat_id", recipient_id)
        return await self.client.call(method, params)

    def message_id_of(self, response: ApiResponse) -> Optional[str]:
        value = response.data.get("message_id")
        return str(value) if value is not None else None


# -- the connector -----------------------------------------------------------------------------


class TelegramInput(ChannelPipeline, RasaTelegramInput):
    """Rasa's Telegram input channel, fixed (see the module docstring)."""

    platform = render.TELEGRAM
    REQUIRED = BY_NAME[CHANNEL].required_keys

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> TelegramInput:
        c = require_credentials(cls, credentials, cls.REQUIRED)
        return cls(
            str(c["access_token"]),
            str(c.get("verify") or "").strip() or None,
            str(c.get("webhook_url") or "").strip() or None,
            secret_token=str(c["secret_token"]).strip(),
        )

    def __init__(
        self,
        access_token: Optional[str],
        verify: Optional[str],
        webhook_url: Optional[str],
        debug_mode: bool = False,
        *,
        secret_token: str,
    ) -> None:
        super().__init__(access_token, verify, webhook_url, debug_mode)
        if not _SECRET_FORMAT.match(secret_token or ""):
            raise RasaException(
                "Telegram secret_token must be 1-256 characters of A-Z, a-z, 0-9, _ and -"
            )
        self.secret_token = secret_token
        self.client = BotApiClient(access_token or "")

    def _authentic(self, request: Request) -> bool:
        received = request.headers.get(SECRET_HEADER) or ""
        return hmac.compare_digest(received.encode("utf-8"), self.secret_token.encode("utf-8"))

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        hook = Blueprint("msgops_telegram_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/set_webhook", methods=["POST"])
        async def set_webhook(request: Request) -> HTTPResponse:
            if not self._authentic(request):
                return response.text("forbidden", status=403)
            result = await self.register_webhook()
            return response.json({"ok": result.ok, "detail": result.describe()},
                                 status=200 if result.ok else 502)

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return self.receive(request, on_new_message)

        self.finish_on_stop(hook)
        return hook

    def receive(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        """Synchronous on purpose: nothing here waits, so the answer cannot be slow."""
        if not self._authentic(request):
            logger.warning("telegram: update without the right %s refused (from %s)", SECRET_HEADER, request.ip)
            return response.text("forbidden", status=403)
        try:
            update = json.loads(request.body or b"")
        except ValueError:
            return response.text("invalid JSON", status=400)
        if not isinstance(update, dict):
            return response.text("success")
        try:
            items = parse_update(update, self.verify)
        except Exception:  # noqa: BLE001 - Telegram still gets 200, we keep the log
            logger.exception("telegram: could not parse update %s", update.get("update_id"))
            items = []
        self.accept(request.app, items, on_new_message)
        return response.text("success")

    def get_output_channel(self) -> TelegramOutput:  # type: ignore[override]
        """No network here (Rasa's version called setWebhook from inside the event loop)."""
        return TelegramOutput(self.client)

    def output_for(self, inbound: Inbound) -> TelegramOutput:
        return TelegramOutput(self.client, last_inbound_at=inbound.sent_at)

    async def acknowledge(self, inbound: Inbound, output: ChannelOutput) -> None:
        query_id = inbound.metadata.get("callback_query_id")
        if query_id:
            await self.client.call("answerCallbackQuery", {"callback_query_id": query_id})

    def log_ignored(self, inbound: Inbound) -> None:
        if inbound.reason == "blocked":
            logger.info("telegram: chat %s blocked the bot", inbound.metadata.get("chat_id"))
        else:
            super().log_ignored(inbound)

    async def register_webhook(self) -> ApiResponse:
        """Point Telegram at ``webhook_url`` with our secret token (call once per deployment)."""
        if not self.webhook_url:
            return ApiResponse(ok=False, error_message="webhook_url is not configured")
        return await self.client.call(
            "setWebhook",
            {"url": self.webhook_url, "secret_token": self.secret_token,
             "allowed_updates": ALLOWED_UPDATES},
        )
