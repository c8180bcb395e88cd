"""The built-in CRM: contacts found by channel identity, phone or e-mail, and their leads.

A contact is looked up in that order so the same person writing again, from the same chat
or from another channel with the same phone, updates one card instead of creating two.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from msgops.store.db import Base
from msgops.store.models import Contact, ContactIdentity, Lead, utcnow

OPEN = "in progress"


def contacts_of_chat(conversation_id: str):
    """The contact ids this chat belongs to (a subquery): the customer's records from any of
    their chats answer "what have I got booked?" and "cancel my visit" in this one."""
    return select(ContactIdentity.contact_id).where(ContactIdentity.external_id == conversation_id)


def upsert_contact(
    session: Session,
    *,
    channel: str,
    external_id: str,
    name: Optional[str] = None,
    phone: Optional[str] = None,
    email: Optional[str] = None,
) -> Contact:
    """The contact for this chat, updated; merged into an older card with the same phone/e-mail.

    A chat's card is created at the customer's first answer, before they give a phone; when
    the phone later turns out to belong to a card made on another channel, the two are one
    person, so the newer card is folded into the older one.
    """
    identity = session.execute(
        select(ContactIdentity).where(ContactIdentity.channel == channel,
                                      ContactIdentity.external_id == external_id)
    ).scalar_one_or_none()
    contact = identity.contact if identity else None
    for column, value in ((Contact.phone, phone), (Contact.email, email)):
        if not value:
            continue
        same = session.execute(
            select(Contact).where(column == value).order_by(Contact.id)
        ).scalars().first()
        if same is not None and contact is not None and same.id != contact.id:
            older, newer = sorted((same, contact), key=lambda c: c.id)
            _merge(session, keep=older, drop=newer)
            contact = older
        elif contact is None:
            contact = same
    if contact is None:
        contact = Contact()
        session.add(contact)
    contact.name = name or contact.name
    contact.phone = phone or contact.phone
    contact.email = email or contact.email
    contact.updated_at = utcnow()
    session.flush()
    if identity is None:
        session.add(ContactIdentity(contact_id=contact.id, channel=channel, external_id=external_id))
        session.flush()
    return contact


def _merge(session: Session, *, keep: Contact, drop: Contact) -> None:
    """Move everything that points at `drop` (identities, leads, meetings, quotes...) to `keep`."""
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if any(fk.column.table.name == Contact.__tablename__ for fk in column.foreign_keys):
                session.execute(update(table).where(column == drop.id).values({column.name: keep.id}))
    keep.name = keep.name or drop.name
    keep.phone = keep.phone or drop.phone
    keep.email = keep.email or drop.email
    session.expunge(drop)
    session.execute(delete(Contact.__table__).where(Contact.id == drop.id))
    session.expire(keep)


def open_lead(session: Session, conversation_id: str) -> Optional[Lead]:
    """The newest lead of this conversation; a finished one is returned too, for updates."""
    return session.execute(
        select(Lead).where(Lead.conversation_id == conversation_id).order_by(Lead.id.desc())
    ).scalars().first()


def save_lead(
    session: Session,
    *,
    contact: Contact,
    conversation_id: str,
    channel: str,
    language: str,
    status: str,
    answers: Dict[str, Any],
    fields: Dict[str, Any],
    summary: str,
    reasons: Optional[list] = None,
) -> Lead:
    """Update the conversation's unfinished lead, or start a new one once the last is closed."""
    lead = open_lead(session, conversation_id)
    if lead is None or lead.status not in (OPEN,):
        lead = Lead(conversation_id=conversation_id, contact_id=contact.id, channel=channel)
        session.add(lead)
    lead.contact_id = contact.id
    lead.language = language
    lead.status = status
    lead.answers = answers
    lead.summary = summary
    lead.reasons = reasons or []
    for key, value in fields.items():
        setattr(lead, key, value)
    lead.updated_at = utcnow()
    session.flush()
    return lead
