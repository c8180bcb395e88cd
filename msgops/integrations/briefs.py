"""The manager's brief: one structure for every handoff and every finished process.

Stored first (so nothing is lost), logged, and, when the profile names a webhook, put in
the outbox; the scheduler delivers the outbox with retries, so a CRM or chat bridge that is
down delays the brief instead of losing it.
"""
from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional

from sqlalchemy.orm import Session

from msgops.store.models import Brief, OutboxMessage

log = logging.getLogger("msgops.briefs")


@dataclass
class BriefContent:
    conversation_id: str
    channel: str
    intent: str
    fields: Dict[str, Any]
    tried: List[str]
    next_step: str
    last_message: Optional[str]
    lead_id: Optional[int] = None
    extra: Dict[str, Any] = field(default_factory=dict)


def send_brief(session: Session, content: BriefContent, webhook_url: Optional[str]) -> Brief:
    brief = Brief(conversation_id=content.conversation_id, channel=content.channel,
                  lead_id=content.lead_id, intent=content.intent, fields=content.fields,
                  tried=content.tried, next_step=content.next_step,
                  last_message=content.last_message)
    session.add(brief)
    session.flush()
    log.info("brief %s for %s: %s", brief.id, content.conversation_id,
             json.dumps(asdict(content), ensure_ascii=False, default=str))
    if webhook_url:
        payload = {"type": "msgops.brief", "brief_id": brief.id, **asdict(content)}
        session.add(OutboxMessage(target="brief_webhook", url=webhook_url,
                                  payload=json.loads(json.dumps(payload, default=str))))
    return brief
