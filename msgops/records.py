"""What the bot recorded, as rows a person can read or JSON a script can use."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Dict, List

from sqlalchemy import select

from msgops import clock
from msgops.business.config import business
from msgops.store import session_scope
from msgops.store.models import Booking, Brief, Contact, Lead, Meeting, Quote, Review, stored_utc


def _iso(value: Any) -> Any:
    return stored_utc(value).isoformat() if isinstance(value, datetime) else value


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


def _quotes(session) -> List[Dict[str, Any]]:
    from msgops.quote import expire

    expire(session, clock.now())  # a quote past its validity reads as expired
    rows = session.execute(select(Quote).order_by(Quote.id)).scalars().all()
    return [{"id": q.id, "contact_id": q.contact_id, "contact": q.contact.name, "status": q.status,
             "service": q.service, "quantity": f"{q.quantity} {q.unit}", "extras": q.extras,
             "location": q.location, "zone": q.zone, "work_date": q.work_date,
             "total": q.total_min if q.total_min == q.total_max else f"{q.total_min}-{q.total_max}",
             "currency": q.currency, "lines": q.lines, "conditions": q.conditions, "media": q.media,
             "next_step": q.next_step, "valid_until": q.valid_until, "conversation_id": q.conversation_id,
             "created_at": q.created_at} for q in rows]


def _bookings(session) -> List[Dict[str, Any]]:
    tz = business().tz
    local = lambda value: stored_utc(value).astimezone(tz)  # noqa: E731 - the owner reads local times
    rows = session.execute(select(Booking).order_by(Booking.starts_at)).scalars().all()
    return [{"id": b.id, "contact_id": b.contact_id, "customer_name": b.customer_name, "contact": b.contact,
             "service": b.service, "start": local(b.starts_at), "end": local(b.ends_at), "status": b.status,
             "resources": b.resources, "address": b.address, "zone": b.zone, "notes": b.notes,
             "cancel_reason": b.cancel_reason, "reschedule_reason": b.reschedule_reason, "fee": b.fee,
             "history": b.history, "quote_id": b.quote_id, "channel": b.channel,
             "conversation_id": b.conversation_id, "created_at": b.created_at} for b in rows]


def _reviews(session) -> List[Dict[str, Any]]:
    rows = session.execute(select(Review, Booking).join(Booking, Review.booking_id == Booking.id)
                           .order_by(Review.id)).all()
    return [{"id": r.id, "booking_id": r.booking_id, "service": b.service, "customer_name": b.customer_name,
             "rating": r.rating, "text": r.text, "next_step": r.next_step,
             "conversation_id": b.conversation_id, "created_at": r.created_at} for r, b in rows]


KINDS: Dict[str, Callable] = {"contacts": _contacts, "leads": _leads, "meetings": _meetings,
                              "briefs": _briefs, "quotes": _quotes, "bookings": _bookings, "reviews": _reviews}


def fetch(kind: str) -> List[Dict[str, Any]]:
    with session_scope() as session:
        return [{k: _iso(v) for k, v in row.items()} for row in KINDS[kind](session)]
