"""WhatsApp Business Cloud API connector.

credentials.yml::

    msgops.channels.whatsapp.WhatsAppInput:
      access_token: ${MSGOPS_WHATSAPP_ACCESS_TOKEN}        # system-user token
      app_secret: ${MSGOPS_WHATSAPP_APP_SECRET}            # signs the webhooks
      verify_token: ${MSGOPS_WHATSAPP_VERIFY_TOKEN}        # the GET handshake
      phone_number_id: ${MSGOPS_WHATSAPP_PHONE_NUMBER_ID}  # sender for proactive messages
      followup_template: ${MSGOPS_WHATSAPP_FOLLOWUP_TEMPLATE}  # optional, see below

Webhook: ``/webhooks/whatsapp/webhook``. Every entry, change and message of a batch is handled.
Outside the 24-hour customer-service window (reminders, follow-ups) a message can only go out
as an approved template: ``followup_template`` names one with a single body variable ``{{1}}``
that receives the message text, in the message's language (``ru``/``en``, mapped through
``followup_template_languages`` if the template was approved under e.g. ``en_US``). Without a
template such a message is logged as not sent, with the reason.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

from msgops.channels import render
from msgops.channels.credentials import BY_NAME
from msgops.channels.http import ApiResponse, GraphClient
from msgops.channels.inbound import (
    IGNORED,
    MESSAGE,
    UNSUPPORTED,
    Inbound,
    contact_payload,
    from_unix,
    ignored,
    location_payload,
    media_payload,
    normalize_phone,
    unsupported,
)
from msgops.channels.meta import MetaWebhookInput, require_credentials
from msgops.channels.outbound import (
    CLOSED,
    CUSTOMER_SERVICE_WINDOW,
    SESSION,
    TEMPLATE,
    ChannelOutput,
    DeliveryResult,
    Route,
)

logger = logging.getLogger(__name__)

CHANNEL = "whatsapp"
MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
#: "Re-engagement message": sent outside the 24-hour window
ERROR_OUTSIDE_WINDOW = 131047


# -- inbound -----------------------------------------------------------------------------------


def parse_webhook(payload: Dict[str, Any]) -> List[Inbound]:
    """Every status, error and message of every change of every entry, in order."""
    items: List[Inbound] = []
    for entry in payload.get("entry") or []:
        for change in (entry or {}).get("changes") or []:
            field = (change or {}).get("field")
            value = (change or {}).get("value") or {}
            if field != "messages":
                items.append(ignored(f"field:{field}"))
                continue
            phone_number_id = (value.get("metadata") or {}).get("phone_number_id")
            contacts = value.get("contacts") or []
            for status in value.get("statuses") or []:
                items.append(_status(status))
            for error in value.get("errors") or []:
                items.append(ignored("error", code=error.get("code"), title=error.get("title")))
            for message in value.get("messages") or []:
                items.append(_safe_message(message, contacts, phone_number_id))
    return items


def _status(status: Dict[str, Any]) -> Inbound:
    errors = [
        {"code": e.get("code"), "title": e.get("title"),
         "details": (e.get("error_data") or {}).get("details")}
        for e in status.get("errors") or []
    ]
    return ignored(
        f"status:{status.get('status')}",
        message_id=status.get("id"),
        recipient_id=status.get("recipient_id") or status.get("recipient_user_id"),
        errors=errors,
    )


def _contact_for(message: Dict[str, Any], contacts: List[Dict[str, Any]]) -> Dict[str, Any]:
    sender = message.get("from")
    sender_user = message.get("from_user_id")
    for contact in contacts:
        if sender and contact.get("wa_id") == sender:
            return contact
        if sender_user and contact.get("user_id") == sender_user:
            return contact
    return contacts[0] if len(contacts) == 1 else {}


def _safe_message(
    message: Dict[str, Any], contacts: List[Dict[str, Any]], phone_number_id: Optional[str]
) -> Inbound:
    try:
        return parse_message(message, contacts, phone_number_id)
    except Exception:  # noqa: BLE001 - a shape we did not foresee gets the polite path
        logger.exception("whatsapp: could not parse message %s", message.get("id"))
        sender = message.get("from") or message.get("from_user_id") or ""
        return Inbound(kind=UNSUPPORTED, sender_id=str(sender), message_id=message.get("id"),
                       reason="unparseable", metadata={"channel": CHANNEL})


def parse_message(
    message: Dict[str, Any], contacts: List[Dict[str, Any]], phone_number_id: Optional[str] = None
) -> Inbound:
    """One WhatsApp message object -> ``Inbound``. The sender is the phone number (``from``),
    falling back to the business-scoped user id when WhatsApp withholds the number."""
    contact = _contact_for(message, contacts)
    profile = contact.get("profile") or {}
    phone_digits = message.get("from") or contact.get("wa_id")
    user_id = message.get("from_user_id") or contact.get("user_id")
    sender_id = str(phone_digits or user_id or "")
    context = message.get("context") or {}
    metadata: Dict[str, Any] = {
        "channel": CHANNEL,
        "message_id": message.get("id"),
        "phone": normalize_phone(phone_digits),
        "name": profile.get("name"),
        "user_id": user_id,
        "username": profile.get("username"),
        "replied_to": context.get("id"),
        "forwarded": bool(context.get("forwarded") or context.get("frequently_forwarded")) or None,
        "phone_number_id": phone_number_id,
        "referral": message.get("referral"),
    }
    metadata = {k: v for k, v in metadata.items() if v is not None}
    item = Inbound(
        kind=MESSAGE,
        sender_id=sender_id,
        message_id=message.get("id"),
        sent_at=from_unix(message.get("timestamp")),
        metadata=metadata,
    )
    kind = message.get("type")
    item.metadata["message_type"] = kind
    if message.get("errors") and kind in (None, "unknown", "unsupported"):
        item.metadata["errors"] = [e.get("code") for e in message["errors"]]
        return unsupported(item, f"unsupported:{kind}")

    if kind == "text":
        item.text = (message.get("text") or {}).get("body") or ""
        return item if item.text.strip() else unsupported(item, "empty_text")
    if kind == "interactive":
        interactive = message.get("interactive") or {}
        reply = interactive.get("button_reply") or interactive.get("list_reply")
        if reply and reply.get("id"):
            item.text = str(reply["id"])
            item.metadata["button_title"] = reply.get("title")
            return item
        return unsupported(item, f"interactive:{interactive.get('type')}")
    if kind == "button":  # a template's quick-reply button
        button = message.get("button") or {}
        payload = str(button.get("payload") or "")
        item.text = payload if payload.startswith("/") else str(button.get("text") or payload)
        item.metadata["button_title"] = button.get("text")
        return item if item.text else unsupported(item, "button:empty")
    if kind in MEDIA_TYPES:
        media = message.get(kind) or {}
        media_type = "voice" if kind == "audio" and media.get("voice") else kind
        item.text = media_payload(media_type, media_id=media.get("id"), caption=media.get("caption"))
        item.metadata["media"] = {
            k: media.get(k) for k in ("id", "mime_type", "sha256", "filename", "animated")
            if media.get(k) is not None
        }
        return item
    if kind == "location":
        loc = message.get("location") or {}
        item.text = location_payload(
            loc.get("latitude"), loc.get("longitude"), name=loc.get("name"), address=loc.get("address")
        )
        return item
    if kind == "contacts":
        shared = (message.get("contacts") or [{}])[0] or {}
        phones = shared.get("phones") or []
        emails = shared.get("emails") or []
        first_phone = phones[0] if phones else {}
        item.text = contact_payload(
            phone=first_phone.get("wa_id") or first_phone.get("phone"),
            email=emails[0].get("email") if emails else None,
            person=(shared.get("name") or {}).get("formatted_name"),
        )
        return item
    if kind == "reaction":
        reaction = message.get("reaction") or {}
        return ignored("reaction", message_id=reaction.get("message_id"), emoji=reaction.get("emoji"))
    if kind == "system":
        system = message.get("system") or {}
        return ignored(f"system:{system.get('type')}", new_wa_id=system.get("wa_id") or system.get("new_wa_id"))
    if kind == "request_welcome":  # the customer opened the chat for the first time
        item.text = "/greet"
        return item
    return unsupported(item, f"type:{kind}")


# -- outbound ----------------------------------------------------------------------------------


class WhatsAppOutput(ChannelOutput):
    """Sends through ``POST /{phone_number_id}/messages``; see the module docstring on windows."""

    platform = render.WHATSAPP

    def __init__(
        self,
        client: GraphClient,
        phone_number_id: str,
        *,
        followup_template: Optional[str] = None,
        template_body_params: int = 1,
        template_languages: Optional[Dict[str, str]] = None,
        default_language: str = "ru",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.client = client
        self.phone_number_id = phone_number_id
        self.followup_template = followup_template
        self.template_body_params = template_body_params
        self.template_languages = template_languages or {}
        self.default_language = default_language
        #: a template already went out through this output (one proactive send, e.g. one
        #: ``trigger_intent``): the turn's further messages are not sent as more templates
        self.template_sent = False

    def _template_route(self, message: Dict[str, Any], language: Optional[str]) -> Route:
        if self.template_sent:
            # A follow-up fired inside the lead form is the reminder *and* the form's question
            # again: outside the window that would be two paid templates in a row, the second
            # one a bare question. The first carries the reminder; the customer's answer opens
            # the window and the form asks again.
            return Route(CLOSED, reason="outside the 24-hour window; this send already used its template")
        language = language or self.default_language
        code = self.template_languages.get(language, language)
        text = str(message.get("text") or message.get("image") or "").strip()
        return Route(
            TEMPLATE,
            template=render.whatsapp_template(
                str(self.followup_template), code, text, body_params=self.template_body_params
            ),
        )

    async def route(self, recipient_id: str, message: Dict[str, Any], language: Optional[str]) -> Route:
        if await self.within(recipient_id, CUSTOMER_SERVICE_WINDOW):
            return Route(SESSION)
        if self.followup_template:
            return self._template_route(message, language)
        return Route(CLOSED, reason="outside the 24-hour window and no followup_template configured")

    async def on_failure(
        self, recipient_id: str, message: Dict[str, Any], language: Optional[str],
        route: Route, response: ApiResponse,
    ) -> Optional[Route]:
        # Our presence record can lag (store down, first contact on another server): when
        # WhatsApp itself says the window is closed, the template is the way out.
        if route.kind == SESSION and response.error_code == ERROR_OUTSIDE_WINDOW and self.followup_template:
            return self._template_route(message, language)
        return None

    @staticmethod
    def address(recipient_id: str) -> Dict[str, str]:
        """Phone numbers go in ``to``; a business-scoped user id (``US.1234...``) in ``recipient``."""
        if "." in recipient_id:
            return {"recipient": recipient_id}
        return {"to": recipient_id}

    async def deliver(self, recipient_id: str, payload: Dict[str, Any], route: Route) -> ApiResponse:
        body = {"messaging_product": "whatsapp", "recipient_type": "individual",
                **self.address(recipient_id), **payload}
        return await self.client.post(f"{self.phone_number_id}/messages", body)

    async def _send_via(
        self, recipient_id: str, message: Dict[str, Any], language: Optional[str], route: Route
    ) -> DeliveryResult:
        result = await super()._send_via(recipient_id, message, language, route)
        if route.kind == TEMPLATE and result.sent:
            self.template_sent = True
        return result

    def message_id_of(self, response: ApiResponse) -> Optional[str]:
        messages = response.data.get("messages") or []
        return messages[0].get("id") if messages and isinstance(messages[0], dict) else None

    async def mark_read(self, message_id: str) -> ApiResponse:
        return await self.client.post(
            f"{self.phone_number_id}/messages",
            {"messaging_product": "whatsapp", "status": "read", "message_id": message_id},
        )


# -- the connector -----------------------------------------------------------------------------


def _as_bool(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


class WhatsAppInput(MetaWebhookInput):
    """Rasa input channel for the WhatsApp Business Cloud API."""

    object_type = "whatsapp_business_account"
    platform = render.WHATSAPP
    REQUIRED = BY_NAME[CHANNEL].required_keys

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> WhatsAppInput:
        c = require_credentials(cls, credentials, cls.REQUIRED)
        languages = c.get("followup_template_languages")
        return cls(
            access_token=str(c["access_token"]),
            app_secret=str(c["app_secret"]),
            verify_token=str(c["verify_token"]),
            phone_number_id=str(c["phone_number_id"]),
            followup_template=str(c.get("followup_template") or "").strip() or None,
            template_body_params=int(c.get("followup_template_params", 1) or 0),
            template_languages=dict(languages) if isinstance(languages, dict) else None,
            default_language=str(c.get("default_language") or "ru"),
            mark_as_read=_as_bool(c.get("mark_as_read"), True),
        )

    def __init__(
        self,
        *,
        access_token: str,
        app_secret: str,
        verify_token: str,
        phone_number_id: str,
        followup_template: Optional[str] = None,
        template_body_params: int = 1,
        template_languages: Optional[Dict[str, str]] = None,
        default_language: str = "ru",
        mark_as_read: bool = True,
    ) -> None:
        super().__init__(app_secret=app_secret, verify_token=verify_token)
        self.client = GraphClient(access_token)
        self.phone_number_id = phone_number_id
        self.followup_template = followup_template
        self.template_body_params = template_body_params
        self.template_languages = template_languages
        self.default_language = default_language
        self.mark_as_read = mark_as_read

    def parse(self, payload: Dict[str, Any]) -> List[Inbound]:
        return parse_webhook(payload)

    def _output(self, phone_number_id: Optional[str] = None, **kwargs: Any) -> WhatsAppOutput:
        return WhatsAppOutput(
            self.client,
            phone_number_id or self.phone_number_id,
            followup_template=self.followup_template,
            template_body_params=self.template_body_params,
            template_languages=self.template_languages,
            default_language=self.default_language,
            **kwargs,
        )

    def output_for(self, inbound: Inbound) -> WhatsAppOutput:
        # Answer from the number the customer wrote to (a WABA can have several).
        return self._output(inbound.metadata.get("phone_number_id"), last_inbound_at=inbound.sent_at)

    def get_output_channel(self) -> WhatsAppOutput:
        """For Rasa's ``trigger_intent`` (reminders, follow-ups): the window is looked up."""
        return self._output()

    async def acknowledge(self, inbound: Inbound, output: ChannelOutput) -> None:
        if self.mark_as_read and inbound.message_id and isinstance(output, WhatsAppOutput):
            await output.mark_read(inbound.message_id)

    def log_ignored(self, inbound: Inbound) -> None:
        errors = inbound.metadata.get("errors") or []
        if inbound.reason == "status:failed" or inbound.reason == "error":
            logger.warning(
                "whatsapp: %s for message %s to %s: %s", inbound.reason,
                inbound.metadata.get("message_id"), inbound.metadata.get("recipient_id"),
                "; ".join(f"{e.get('code')} {e.get('title')}" for e in errors)
                or f"{inbound.metadata.get('code')} {inbound.metadata.get('title')}",
            )
        else:
            super().log_ignored(inbound)


__all__ = ["WhatsAppInput", "WhatsAppOutput", "parse_webhook", "parse_message", "IGNORED"]
