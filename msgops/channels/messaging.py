"""Shared code of the two Messenger-Platform-shaped products: Instagram Messaging and Messenger.

Both deliver ``entry[].messaging[]`` events (messages, quick replies, postbacks, attachments,
echoes, reads, reactions...) and send with ``POST /me/messages`` and a ``messaging_type``; they
differ in the webhook ``object``, the text limit (1000 bytes vs 2000 characters, handled in
``render``) and which message tags may carry a send outside the 24-hour window. The
``instagram`` and ``messenger`` modules only set those differences.

Outside the 24-hour window:

* a human agent's reply (the bot message carries ``human_agent: true``, e.g. from the handoff
  console) goes out with the ``HUMAN_AGENT`` tag while the customer wrote within 7 days;
* on Messenger, a message carrying ``message_tag: CONFIRMED_EVENT_UPDATE`` (a booking update),
  ``POST_PURCHASE_UPDATE`` or ``ACCOUNT_UPDATE`` goes out with that tag;
* anything else is logged as not sent, with the reason.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Dict, FrozenSet, List, Optional, Tuple

from msgops.channels.http import ApiResponse, GraphClient
from msgops.channels.inbound import (
    MESSAGE,
    UNSUPPORTED,
    Inbound,
    from_unix,
    ignored,
    location_payload,
    media_payload,
    unsupported,
)
from msgops.channels.meta import MetaWebhookInput, require_credentials
from msgops.channels.outbound import (
    CLOSED,
    CUSTOMER_SERVICE_WINDOW,
    SESSION,
    TAG,
    ChannelOutput,
    Route,
    message_flag,
)

logger = logging.getLogger(__name__)

HUMAN_AGENT = "HUMAN_AGENT"
HUMAN_AGENT_WINDOW = timedelta(days=7)
#: Messenger's "like" button arrives as this sticker
LIKE_STICKER_ID = 369239263222822

_MEDIA = {"image": "image", "video": "video", "audio": "audio", "file": "document"}
_SHARED_CONTENT = {"share", "ig_reel", "reel", "ig_post", "story_mention"}
_BOOKKEEPING = (
    "read", "delivery", "reaction", "message_edit", "referral", "optin", "account_linking",
    "pass_thread_control", "take_thread_control", "request_thread_control", "app_roles",
    "policy_enforcement", "messaging_feedback", "response_feedback", "game_play",
)


# -- inbound -----------------------------------------------------------------------------------


def parse_webhook(payload: Dict[str, Any], channel: str) -> List[Inbound]:
    """Every ``messaging`` event of every entry, in order; ``changes`` and ``standby`` ignored."""
    items: List[Inbound] = []
    for entry in payload.get("entry") or []:
        entry = entry or {}
        own_id = str(entry.get("id") or "")
        for event in entry.get("messaging") or []:
            items.append(_safe_event(event or {}, channel, own_id))
        for _event in entry.get("standby") or []:
            items.append(ignored("standby"))  # another app owns the thread (handover protocol)
        for change in entry.get("changes") or []:
            items.append(ignored(f"field:{(change or {}).get('field')}"))  # comments, post mentions
    return items


def _safe_event(event: Dict[str, Any], channel: str, own_id: str) -> Inbound:
    try:
        return parse_event(event, channel, own_id)
    except Exception:  # noqa: BLE001 - a shape we did not foresee gets the polite path
        logger.exception("%s: could not parse an event", channel)
        sender = str((event.get("sender") or {}).get("id") or "")
        mid = (event.get("message") or {}).get("mid")
        return Inbound(kind=UNSUPPORTED, sender_id=sender, message_id=mid, reason="unparseable",
                       metadata={"channel": channel})


def parse_event(event: Dict[str, Any], channel: str, own_id: str = "") -> Inbound:
    """One ``messaging`` event -> ``Inbound``."""
    sender = str((event.get("sender") or {}).get("id") or "")
    sent_at = from_unix(event.get("timestamp"), millis=True)
    base_metadata = {"channel": channel}

    if "message" in event:
        message = event.get("message") or {}
        mid = message.get("mid")
        if message.get("is_echo") or (own_id and sender == own_id):
            return ignored("echo", message_id=mid)
        if message.get("is_deleted"):
            return ignored("deleted", message_id=mid)
        item = Inbound(kind=MESSAGE, sender_id=sender, message_id=mid, sent_at=sent_at,
                       metadata={**base_metadata, "message_id": mid})
        reply_to = message.get("reply_to") or {}
        if reply_to.get("mid"):
            item.metadata["replied_to"] = reply_to["mid"]
        if isinstance(reply_to.get("story"), dict):
            item.metadata["story_reply"] = {k: reply_to["story"].get(k) for k in ("id", "url")}
        if message.get("is_unsupported"):
            return unsupported(item, "unsupported")
        quick_reply = message.get("quick_reply") or {}
        if quick_reply.get("payload"):
            item.text = str(quick_reply["payload"])
            item.metadata["button_title"] = message.get("text")
            return item
        attachments = [a for a in message.get("attachments") or [] if isinstance(a, dict)]
        if attachments:
            if len(attachments) > 1:
                item.metadata["attachments"] = [
                    {"type": a.get("type"), "url": (a.get("payload") or {}).get("url")} for a in attachments
                ]
            return _attachment(item, attachments[0], message.get("text"))
        text = message.get("text")
        if text and str(text).strip():
            item.text = str(text)
            return item
        return unsupported(item, "empty")

    if "postback" in event:
        postback = event.get("postback") or {}
        mid = postback.get("mid") or f"postback:{sender}:{event.get('timestamp')}"
        text = str(postback.get("payload") or postback.get("title") or "")
        item = Inbound(kind=MESSAGE, sender_id=sender, message_id=mid, sent_at=sent_at, text=text,
                       metadata={**base_metadata, "message_id": mid, "button_title": postback.get("title")})
        if postback.get("referral"):
            item.metadata["referral"] = postback["referral"]
        return item if text else unsupported(item, "postback:empty")

    for key in _BOOKKEEPING:
        if key in event:
            return ignored(key, sender_id=sender)
    return ignored("unknown_event", keys=sorted(k for k in event if k not in ("sender", "recipient", "timestamp")))


def _attachment(item: Inbound, attachment: Dict[str, Any], caption: Optional[str]) -> Inbound:
    kind = str(attachment.get("type") or "")
    payload = attachment.get("payload") or {}
    url = payload.get("url")
    item.metadata["attachment_type"] = kind
    if kind == "image" and payload.get("sticker_id"):
        if payload.get("sticker_id") == LIKE_STICKER_ID:
            item.text = "👍"
            return item
        item.text = media_payload("sticker", media_url=url)
        return item
    if kind in _MEDIA:
        item.text = media_payload(_MEDIA[kind], media_url=url, caption=caption)
        return item
    if kind in _SHARED_CONTENT:
        item.text = media_payload(kind, media_url=url, caption=caption)
        return item
    if kind == "location":
        coordinates = payload.get("coordinates") or {}
        item.text = location_payload(coordinates.get("lat"), coordinates.get("long"),
                                     name=attachment.get("title"))
        return item
    if kind == "fallback" and caption:  # a shared link: the text is what matters
        item.text = caption
        item.metadata["link"] = url
        return item
    return unsupported(item, f"attachment:{kind}")


# -- outbound ----------------------------------------------------------------------------------


class MetaMessagingOutput(ChannelOutput):
    """Sends through ``POST /me/messages`` with the right ``messaging_type``."""

    #: tags a bot message may carry outside the window (besides HUMAN_AGENT for humans)
    allowed_tags: FrozenSet[str] = frozenset()
    send_path = "me/messages"

    def __init__(self, client: GraphClient, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client = client

    async def route(self, recipient_id: str, message: Dict[str, Any], language: Optional[str]) -> Route:
        if await self.within(recipient_id, CUSTOMER_SERVICE_WINDOW):
            return Route(SESSION)
        tag = str(message_flag(message, "message_tag") or "").upper() or None
        if message_flag(message, "human_agent"):
            if await self.within(recipient_id, HUMAN_AGENT_WINDOW):
                return Route(TAG, tag=HUMAN_AGENT)
            return Route(CLOSED, reason="a human agent's reply more than 7 days after the customer wrote")
        if tag == HUMAN_AGENT:
            return Route(CLOSED, reason="HUMAN_AGENT is only for a human agent's reply (human_agent: true)")
        if tag and tag in self.allowed_tags:
            return Route(TAG, tag=tag)
        if tag:
            return Route(CLOSED, reason=f"message tag {tag} is not allowed on {self.name()}")
        return Route(CLOSED, reason="outside the 24-hour window and no message tag applies")

    async def deliver(self, recipient_id: str, payload: Dict[str, Any], route: Route) -> ApiResponse:
        body: Dict[str, Any] = {"recipient": {"id": recipient_id}, "message": payload,
                                "messaging_type": "RESPONSE"}
        if route.kind == TAG and route.tag:
            body["messaging_type"] = "MESSAGE_TAG"
            body["tag"] = route.tag
        return await self.client.post(self.send_path, body)

    def message_id_of(self, response: ApiResponse) -> Optional[str]:
        value = response.data.get("message_id")
        return str(value) if value else None

    async def sender_action(self, recipient_id: str, action: str) -> ApiResponse:
        return await self.client.post(
            self.send_path, {"recipient": {"id": recipient_id}, "sender_action": action}
        )


# -- the connector base ------------------------------------------------------------------------


class MetaMessagingInput(MetaWebhookInput):
    """Input channel base for Instagram and Messenger."""

    output_class = MetaMessagingOutput
    #: required key -> accepted key names (``credentials.CHANNELS`` is the one list)
    KEY_ALIASES: Dict[str, Tuple[str, ...]] = {}

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> MetaMessagingInput:
        raw = dict(credentials or {})
        resolved = {
            key: next((raw[a] for a in aliases if str(raw.get(a) or "").strip()), None)
            for key, aliases in cls.KEY_ALIASES.items()
        }
        c = require_credentials(cls, resolved, cls.KEY_ALIASES)
        return cls(
            access_token=str(c["access_token"]),
            app_secret=str(c["app_secret"]),
            verify_token=str(c["verify_token"]),
            graph_api_base=str(raw.get("graph_api_base") or "").strip() or None,
            mark_seen=str(raw.get("mark_seen", "true")).strip().lower() not in ("0", "false", "no", "off"),
        )

    def __init__(
        self,
        *,
        access_token: str,
        app_secret: str,
        verify_token: str,
        graph_api_base: Optional[str] = None,
        mark_seen: bool = True,
    ) -> None:
        super().__init__(app_secret=app_secret, verify_token=verify_token)
        # Instagram-Login apps send through graph.instagram.com: ``graph_api_base`` says so.
        self.client = GraphClient(access_token, base_url=graph_api_base)
        self.mark_seen = mark_seen

    def parse(self, payload: Dict[str, Any]) -> List[Inbound]:
        return parse_webhook(payload, self.name())

    def output_for(self, inbound: Inbound) -> MetaMessagingOutput:
        return self.output_class(self.client, last_inbound_at=inbound.sent_at)

    def get_output_channel(self) -> MetaMessagingOutput:
        """For Rasa's ``trigger_intent``: the window is looked up in ``ChannelPresence``."""
        return self.output_class(self.client)

    async def acknowledge(self, inbound: Inbound, output: ChannelOutput) -> None:
        if self.mark_seen and isinstance(output, MetaMessagingOutput):
            await output.sender_action(inbound.sender_id, "mark_seen")
