"""What the bot recorded, as rows a person can read or JSON a script can use."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Dict, List

from sqlalchemy import select

from msgops.store import session_scope
from msgops.store.models import Brief, Contact, Lead, Meeting


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _contacts(session) -> List[Dict[str, Any]]:
    rows = session.execute(select(Contact).order_by(Contact.id)).scalars().all()
    return [{"id": c.id, "name": c.name, "phone": c.phone, "email": c.email,
             "channels": sorted(f"{i.channel}:{i.external_id}" for i in c.identities),
             "updated_at": c.updated_at} for c in rows]


def _leads(session) -> List[Dict[str, Any]]:
    rows = session.execute(select(Lead).order_by(Lead.id)).scalars().all()
    return [{"id": r.id, "contact_id": r.contact_id, "channel": r.channel, "status": r.status,
             "service": r.service, "location": r.location, "zone": r.zone, "timing": r.timing_text,
             "budget": r.budget, "summary": r.summary, "reasons": r.reasons, "answers": r.answers,
             "conversation_id": r.conversation_id, "updated_at": r.updated_at} for r in rows]


def _meetings(session) -> List[Dict[str, Any]]:
    rows = session.execute(select(Meeting).order_by(Meeting.starts_at)).scalars().all()
    return [{"id": m.id, "lead_id": m.lead_id, "contact": m.contact.name, "resource": m.resource,
             "starts_at": m.starts_at, "ends_at": m.ends_at, "status": m.status} for m in rows]


def _briefs(session) -> List[Dict[str, Any]]:
    rows = session.execute(select(Brief).order_by(Brief.id)).scalars().all()
    return [{"id": b.id, "lead_id": b.lead_id, "intent": b.intent, "channel": b.channel,
             "fields": b.fields, "tried": b.tried, "next_step": b.next_step,
             "last_message": b.last_message, "conversation_id": b.conversation_id,
             "created_at": b.created_at} for b in rows]


KINDS: Dict[str, Callable] = {"contacts": _contacts, "leads": _leads, "meetings": _meetings,
                              "briefs": _briefs}


def fetch(kind: str) -> List[Dict[str, Any]]:
    with session_scope() as session:
        return [{k: _iso(v) for k, v in row.items()} for row in KINDS[kind](session)]
