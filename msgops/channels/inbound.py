"""The one shape every platform's webhook is turned into, and the texts the bot receives.

Each platform parser (``whatsapp.parse_webhook``, ``messaging.parse_webhook``,
``telegram.parse_update``) is a pure function from the decoded JSON to a list of ``Inbound``
items, one per thing the platform told us, in order. The shared pipeline then decides what
happens to each by its ``kind``:

* ``MESSAGE``: the customer said something; ``text`` is what Rasa gets (plain text, a button
  payload, or one of the intent payloads below for media, locations and contacts);
* ``UNSUPPORTED``: the customer sent something we cannot read; they get a polite reply from
  the connector itself and NLU never sees it;
* ``IGNORED``: platform bookkeeping (delivery statuses, reactions, echoes of our own sends,
  seen/deleted events...); logged, never shown to NLU.

Media and the like become Rasa intent payloads (``/intent{"entity": value}``), which Rasa's
RegexMessageHandler turns into an intent with entities without any NLU training, so a process
can use "the photo" as a value. The formats are documented in docs/channels.md.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, Optional

MESSAGE = "message"
UNSUPPORTED = "unsupported"
IGNORED = "ignored"

#: intents the connectors produce (the domain must declare them)
INTENT_SHARE_MEDIA = "share_media"
INTENT_SHARE_LOCATION = "share_location"
INTENT_SHARE_CONTACT = "share_contact"


@dataclass
class Inbound:
    """One classified thing from a webhook."""

    kind: str
    sender_id: str = ""
    text: Optional[str] = None
    #: the platform's message id (WhatsApp wamid, Meta mid, Telegram message_id)
    message_id: Optional[str] = None
    #: what makes a redelivery recognisable; defaults to ``message_id`` (Telegram: update_id)
    dedup_id: Optional[str] = None
    sent_at: Optional[datetime] = None
    metadata: Dict[str, Any] = field(default_factory=dict)
    #: for IGNORED/UNSUPPORTED: what it was, e.g. ``status:delivered``, ``reaction``, ``echo``
    reason: str = ""
    #: a language the platform told us (Telegram ``language_code``), used for our own replies
    language_hint: Optional[str] = None

    @property
    def dedup_key_id(self) -> Optional[str]:
        return self.dedup_id or self.message_id


def ignored(reason: str, **metadata: Any) -> Inbound:
    return Inbound(kind=IGNORED, reason=reason, metadata=metadata)


def unsupported(item: Inbound, reason: str) -> Inbound:
    """Something the bot cannot read: answered politely by the connector, never sent to NLU."""
    item.kind = UNSUPPORTED
    item.reason = reason
    item.text = None
    return item


def from_unix(value: Any, *, millis: bool = False) -> Optional[datetime]:
    """Platform timestamps (seconds, or milliseconds for Messenger/Instagram) as UTC."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if millis:
        number /= 1000.0
    try:
        return datetime.fromtimestamp(number, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def intent_payload(intent: str, entities: Dict[str, Any]) -> str:
    """``/intent{"entity": value, ...}`` with empty values left out.

    ``ensure_ascii=False`` keeps Cyrillic captions readable in the tracker; json escapes
    newlines, which Rasa's payload regex (no DOTALL) needs.
    """
    clean = {k: v for k, v in entities.items() if v is not None and v != ""}
    if not clean:
        return f"/{intent}"
    return f"/{intent}{json.dumps(clean, ensure_ascii=False, separators=(',', ':'))}"


def media_payload(
    media_type: str,
    *,
    media_id: Optional[str] = None,
    media_url: Optional[str] = None,
    caption: Optional[str] = None,
) -> str:
    """``/share_media{"media_type": ..., "media_id"|"media_url": ..., "media_caption": ...}``."""
    return intent_payload(
        INTENT_SHARE_MEDIA,
        {
            "media_type": media_type,
            "media_id": media_id,
            "media_url": media_url,
            "media_caption": (caption or "").strip() or None,
        },
    )


def location_payload(
    latitude: Any, longitude: Any, *, name: Optional[str] = None, address: Optional[str] = None
) -> str:
    """``/share_location{"latitude": .., "longitude": .., "place_name": .., "place_address": ..}``."""
    return intent_payload(
        INTENT_SHARE_LOCATION,
        {
            "latitude": _number(latitude),
            "longitude": _number(longitude),
            "place_name": name,
            "place_address": address,
        },
    )


def contact_payload(
    *, phone: Optional[str] = None, email: Optional[str] = None, person: Optional[str] = None
) -> str:
    """``/share_contact{"phone": "+7...", "email": .., "person": ..}`` (the lead form's entities)."""
    return intent_payload(
        INTENT_SHARE_CONTACT,
        {"phone": normalize_phone(phone), "email": (email or "").strip().lower() or None,
         "person": person},
    )


def normalize_phone(value: Optional[str]) -> Optional[str]:
    """Digits with a leading ``+`` (WhatsApp gives ``15550001234``; vCards give anything)."""
    if not value:
        return None
    digits = re.sub(r"\D", "", str(value))
    if len(digits) < 5:
        return None
    return f"+{digits}"


def _number(value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


# -- our own polite replies ------------------------------------------------------------------

_UNSUPPORTED_TEXT = {
    "ru": "Извините, такой тип сообщений я пока не умею читать. Напишите, пожалуйста, текстом.",
    "en": "Sorry, I can't read this kind of message yet. Please write to me in text.",
}


def polite_unsupported_text(language: Optional[str]) -> str:
    """Reply to something we cannot read: in the contact's language, or both if unknown."""
    if language in _UNSUPPORTED_TEXT:
        return _UNSUPPORTED_TEXT[language]
    return f"{_UNSUPPORTED_TEXT['ru']}\n\n{_UNSUPPORTED_TEXT['en']}"
