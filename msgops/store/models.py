"""Tables of the business store.

Everything a process records lives here: who the customer is (contacts and their channel
identities), what they asked for (leads), what was promised (meetings), what the manager
was told (briefs), which visits are booked and how they went (bookings, reviews), what is
still to be done later (scheduled jobs) and what still has to reach an external system
(outbox). Times are stored as UTC.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import relationship

from msgops.store.db import Base


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def stored_utc(value: datetime) -> datetime:
    """A time read back from the store, with its zone: every stored time is UTC, and SQLite
    returns it without one."""
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


class Contact(Base):
    __tablename__ = "contacts"
    id = Column(Integer, primary_key=True)
    name = Column(String(200))
    phone = Column(String(32), index=True)
    email = Column(String(254), index=True)
    created_at = Column(DateTime(timezone=True), default=utcnow, nullable=False)
    updated_at = Column(DateTime(timezone=True), default=utcnow, onupdate=utcnow, nullable=False)
    identities = relationship("ContactIdentity", back_populates="contact", lazy="selectin")


class ContactIdentity(Base):
    """A customer's address on one channel (a Telegram chat id, a WhatsApp number...)."""

    __tablename__ = "contact_identities"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_identity"),)
    id = Column(Integer, primary_key=True)
    contact_id = Column(Integer, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False)
    channel = Column(String(40), nullable=False)
    external_id = Column(String(200), nullable=False)
    created_at = Column(DateTime(timezone=True), default=utcnow, nullable=False)
    contact = relationship("Contact", back_populates="identities")


class Lead(Base):
    __tablename__ = "leads"
    id = Column(Integer, primary_key=True)
    contact_id = Column(Integer, ForeignKey("contacts.id"), nullable=False, index=True)
    conversation_id = Column(String(200), nullable=False, index=True)
    channel = Column(String(40), nullable=False)
    language = Column(String(2), nullable=False, default="ru")
    service = Column(String(60))
    location = Column(String(200))
    zone = Column(String(40))
    timing_text = Column(String(200))
    timing_start = Column(DateTime(timezone=True))
    timing_end = Column(DateTime(timezone=True))
    budget = Column(String(40))
    answers = Column(JSON, nullable=False, default=dict)
    status = Column(String(60), nullable=False, index=True)
    reasons = Column(JSON, nullable=False, default=list)
    summary = Column(Text)
    created_at = Column(DateTime(timezone=True), default=utcnow, nullable=False)
    updated_at = Column(DateTime(timezone=True), default=utcnow, onupdate=utcnow, nullable=False)
    contact = relationship("Contact", lazy="joined")


class Meeting(Base):
    """A call with the manager booked for a lead."""

    __tablename__ = "meetings"
    id = Column(Integer, primary_key=True)
    lead_id = Column(Integer, ForeignKey("leads.id"), index=True)
    contact_id = Column(Integer, ForeignKey("contacts.id"), nullable=False)
    resource = Column(String(60), nullable=False)
    starts_at = Column(DateTime(timezone=True), nullable=False, index=True)
    ends_at = Column(DateTime(timezone=True), nullable=False)
    status = Column(String(20), nullable=False, default="booked")
    created_at = Column(DateTime(timezone=True), default=utcnow, nullable=False)
    contact = relationship("Contact", lazy="joined")


class ResourceClaim(Base):
    """One row per resource per time unit taken: the database refuses a double booking.

    A unique constraint over (resource, unit_start) holds on SQLite and PostgreSQL alike,
    across any number of servers, which an "is it free?" check in Python cannot promise.
    """

    __tablename__ = "resource_claims"
    __table_args__ = (UniqueConstraint("resource", "unit_start", name="uq_resource_unit"),)
    id = Column(Integer, primary_key=True)
    resource = Column(String(60), nullable=False)
    unit_start = Column(DateTime(timezone=True), nullable=False)
    owner = Column(String(60), nullable=False, index=True)  # e.g. "meeting:12"


class Brief(Base):
    """What the manager is told when a process needs a human or ends with a promise."""

    __tablename__ = "briefs"
    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(200), nullable=False, index=True)
    channel = Column(String(40), nullable=False)
    lead_id = Column(Integer, ForeignKey("leads.id"))
    intent = Column(String(60), nullable=False)
    fields = Column(JSON, nullable=False, default=dict)
    tried = Column(JSON, nullable=False, default=list)
    next_step = Column(Text, nullable=False)
    last_message = Column(Text)
    created_at = Column(DateTime(timezone=True), default=utcnow, nullable=False)


class ScheduledJob(Base):
    """A follow-up or reminder due later; claimed by exactly one scheduler when due."""

    __tablename__ = "scheduled_jobs"
    __table_args__ = (UniqueConstraint("kind", "ref", name="uq_job_ref"),)
    id = Column(Integer, primary_key=True)
    kind = Column(String(40), nullable=False)
    ref = Column(String(200), nullable=False)  # what the job is about, e.g. "lead:<conversation>"
    conversation_id = Column(String(200), nullable=False, index=True)
    channel = Column(String(40), nullable=False)
    due_at = Column(DateTime(timezone=True), nullable=False, index=True)
    status = Column(String(20), nullable=False, default="pending", index=True)
    payload = Column(JSON, nullable=False, default=dict)
    attempts = Column(Integer, nullable=False, default=0)
    last_error = Column(Text)
    done_at = Column(DateTime(timezone=True))


class OutboxMessage(Base):
    """A delivery to an external system, kept until it succeeds so nothing is lost."""

    __tablename__ = "outbox"
    id = Column(Integer, primary_key=True)
    target = Column(String(60), nullable=False)
    url = Column(Text, nullable=False)
    payload = Column(JSON, nullable=False)
    status = Column(String(20), nullable=False, default="pending", index=True)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime(timezone=True), default=utcnow, nullable=False)
    last_error = Column(Text)
    created_at = Column(DateTime(timezone=True), default=utcnow, nullable=False)
    delivered_at = Column(DateTime(timezone=True))


class MetricEvent(Base):
    """A timestamped step of a process, the raw material of the per-process metrics."""

    __tablename__ = "metric_events"
    id = Column(Integer, primary_key=True)
    process = Column(String(30), nullable=False, index=True)
    name = Column(String(60), nullable=False)
    conversation_id = Column(String(200), nullable=False, index=True)
    channel = Column(String(40), nullable=False)
    value = Column(Float)
    at = Column(DateTime(timezone=True), default=utcnow, nullable=False)


class ProcessedDelivery(Base):
    """A platform message id already handed to the bot; the primary key makes a second
    delivery of the same id (to this server or another) fail to insert, so it is dropped."""

    __tablename__ = "processed_deliveries"
    key = Column(String(255), primary_key=True)  # "<channel>:<platform message id>"
    created_at = Column(DateTime(timezone=True), default=utcnow, nullable=False, index=True)


class ChannelPresence(Base):
    """When a customer last wrote on a channel: decides the platforms' 24-hour windows."""

    __tablename__ = "channel_presence"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_presence"),)
    id = Column(Integer, primary_key=True)
    channel = Column(String(40), nullable=False)
    external_id = Column(String(200), nullable=False)
    last_inbound_at = Column(DateTime(timezone=True), nullable=False)


class Quote(Base):
    """A priced offer on the customer's card: its lines as shown, its total and what became of it.

    `status`: sent -> accepted | declined | expired (after `valid_until`). Amounts are in
    `currency`; a range quote has total_min < total_max and its `conditions`.
    """

    __tablename__ = "quotes"
    id = Column(Integer, primary_key=True)
    contact_id = Column(Integer, ForeignKey("contacts.id"), nullable=False, index=True)
    conversation_id = Column(String(200), nullable=False, index=True)
    channel = Column(String(40), nullable=False)
    language = Column(String(2), nullable=False, default="ru")
    service = Column(String(60), nullable=False)
    quantity = Column(String(20), nullable=False)
    unit = Column(String(10), nullable=False)
    extras = Column(JSON, nullable=False, default=dict)
    location = Column(String(200))
    zone = Column(String(40))
    work_date = Column(DateTime(timezone=True))
    media = Column(JSON, nullable=False, default=list)
    lines = Column(JSON, nullable=False, default=list)
    total_min = Column(String(20), nullable=False)
    total_max = Column(String(20), nullable=False)
    currency = Column(String(3), nullable=False)
    conditions = Column(JSON, nullable=False, default=list)
    status = Column(String(20), nullable=False, index=True, default="sent")
    next_step = Column(String(20))
    valid_until = Column(DateTime(timezone=True), nullable=False)
    created_at = Column(DateTime(timezone=True), default=utcnow, nullable=False)
    updated_at = Column(DateTime(timezone=True), default=utcnow, onupdate=utcnow, nullable=False)
    contact = relationship("Contact", lazy="joined")


def _ics_token() -> str:
    return secrets.token_urlsafe(16)


class Booking(Base):
    """A visit on the calendar: who, what, where, when, which resources, and what became of it.

    `status`: booked -> cancelled | cancel_requested (a person decides) | done (the visit
    ended and the review was asked). The time itself is guaranteed by `resource_claims`
    rows owned by "booking:<id>"; `history` lists every move as {"at", "from", "to", "reason"}.
    `ics_token` lets the customer's calendar fetch the event without logging in.
    """

    __tablename__ = "bookings"
    id = Column(Integer, primary_key=True)
    contact_id = Column(Integer, ForeignKey("contacts.id"), nullable=False, index=True)
    conversation_id = Column(String(200), nullable=False, index=True)
    channel = Column(String(40), nullable=False)
    language = Column(String(2), nullable=False, default="ru")
    service = Column(String(60), nullable=False)
    resources = Column(JSON, nullable=False, default=list)
    starts_at = Column(DateTime(timezone=True), nullable=False, index=True)
    ends_at = Column(DateTime(timezone=True), nullable=False)
    address = Column(String(300))
    zone = Column(String(40))
    customer_name = Column(String(200))
    contact = Column(String(254))  # the phone or e-mail as the customer typed it
    notes = Column(Text)
    quote_id = Column(Integer, ForeignKey("quotes.id"))
    status = Column(String(20), nullable=False, index=True, default="booked")
    cancel_reason = Column(Text)
    reschedule_reason = Column(Text)
    fee = Column(String(20))  # a decimal amount in the business currency
    history = Column(JSON, nullable=False, default=list)
    ics_token = Column(String(40), nullable=False, default=_ics_token)
    created_at = Column(DateTime(timezone=True), default=utcnow, nullable=False)
    updated_at = Column(DateTime(timezone=True), default=utcnow, onupdate=utcnow, nullable=False)
    customer = relationship("Contact", lazy="joined")


class Review(Base):
    """The customer's rating of a finished visit; one per booking (a second answer replaces it)."""

    __tablename__ = "reviews"
    id = Column(Integer, primary_key=True)
    booking_id = Column(Integer, ForeignKey("bookings.id"), nullable=False, unique=True)
    rating = Column(Integer, nullable=False)
    text = Column(Text)
    next_step = Column(String(40))
    created_at = Column(DateTime(timezone=True), default=utcnow, nullable=False)
