"""What every process needs to know about the chat it runs in, and who the customer is.

Shared by the lead and quote processes (msgops/lead.py, msgops/quote.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional

from msgops.business.answers import read_contact
from msgops.integrations import crm


@dataclass
class Conversation:
    """Who we are talking to and where; every step needs it."""

    conversation_id: str
    channel: str
    language: str
    last_message: Optional[str] = None


def contact_fields(contact: Optional[str], region: str) -> Dict[str, Optional[str]]:
    """A typed contact as the CRM's phone and e-mail fields."""
    found = read_contact(contact or "", region)
    return {"phone": found.value if found and found.kind == "phone" else None,
            "email": found.value if found and found.kind == "email" else None}


def customer_card(session, conv: Conversation, name: Optional[str], contact: Optional[str], region: str):
    """The customer's CRM contact for this chat, created or updated with what we know."""
    return crm.upsert_contact(session, channel=conv.channel, external_id=conv.conversation_id,
                              name=name, **contact_fields(contact, region))
