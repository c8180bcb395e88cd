"""The booking process: from a free time to a visit on the calendar, its reminders, changes
under the owner's policy, and the review after it.

Each step is one function that opens its own transaction, so the action server can run it in
a worker thread. A visit takes one resource of each kind its service `needs` (business.yml)
for its duration plus the travel gap of its zone. What makes a double booking impossible is
the database, not Python: the visit claims 15-minute units of each resource in
`resource_claims`, whose unique (resource, unit_start) constraint refuses a second claim on
any server. The free times computed here are only what the bot offers; a customer who loses
a race gets SlotTaken and fresh times.

Reminder and review jobs carry the visit's start in their ref, so after a move the old jobs
(cancelled anyway) could never be mistaken for the new ones.
"""
from __future__ import annotations

import hmac
import os
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from msgops import clock, metrics, scheduler
from msgops.business.answers import WhenAnswer, read_when
from msgops.business.area import find_zone
from msgops.business.availability import free_slots, pick_spread, units
from msgops.business.config import BusinessConfig, Service, business
from msgops.business.ics import Event, calendar_text
from msgops.business.when_text import format_when
from msgops.conversation import Conversation, customer_card
from msgops.integrations.briefs import BriefContent, send_brief
from msgops.integrations.calendar import SlotTaken
from msgops.integrations.crm import contacts_of_chat
from msgops.store import session_scope
from msgops.store.models import Booking, Quote, ResourceClaim, Review, stored_utc

__all__ = [
    "BOOKED", "CANCELLED", "CANCEL_REQUESTED", "DONE", "REMINDER_KIND", "REVIEW_KIND", "BookingAnswers",
    "BookingView", "PolicyRefused", "PolicyVerdict", "SlotTaken", "book", "cancel", "free_starts", "ics",
    "ics_for", "find", "no_free_time", "offer", "offer_for", "policy", "read_rating", "record_review",
    "reminder_due", "reschedule", "review_due", "slot_for", "upcoming",
]

BOOKED, CANCELLED, CANCEL_REQUESTED, DONE = "booked", "cancelled", "cancel_requested", "done"
REMINDER_KIND, REVIEW_KIND = "booking_reminder", "booking_review"
PROCESS = "booking"
UNIT = timedelta(minutes=15)  # the claim unit of availability.units
UTC = timezone.utc
# A reminder the scheduler fires a little early (clocks of two servers) still counts.
_CLOCK_SKEW = timedelta(minutes=1)
# Free-time searches read every grid point of the horizon; this only stops a runaway profile.
_SEARCH_LIMIT = 100_000
_LOW_RATING = 3

Period = Tuple[datetime, datetime]


class PolicyRefused(Exception):
    """A late move the owner's policy leaves to a person; the manager has been briefed."""

    def __init__(self, verdict: PolicyVerdict) -> None:
        super().__init__(f"late {verdict.action}: a person decides")
        self.verdict = verdict


@dataclass
class BookingAnswers:
    service: Optional[str] = None      # service id
    address: Optional[str] = None
    slot: Optional[str] = None         # ISO start instant with offset
    customer_name: Optional[str] = None
    contact: Optional[str] = None      # phone or e-mail as typed
    notes: Optional[str] = None


@dataclass(frozen=True)
class BookingView:
    """What the glue shows: plain values, times aware in the business timezone."""

    id: int
    service: str
    start: datetime
    end: datetime
    address: Optional[str]
    zone: Optional[str]
    status: str
    resources: List[str]
    customer_name: Optional[str]
    contact: Optional[str]
    notes: Optional[str]
    ics_url: str
    fee: Optional[Decimal]


@dataclass(frozen=True)
class PolicyVerdict:
    free: bool                   # inside the free window
    action: str                  # "cancel" | "reschedule"
    outcome: str                 # "free" | "fee" | "manager"
    fee: Optional[Decimal]
    hours_left: float
    free_until: datetime         # start - free_until_hours, business tz


# --- free times ------------------------------------------------------------------------------

def _bookable(cfg: BusinessConfig, service_id: Optional[str]) -> Service:
    service = cfg.service(service_id or "")
    if service is None or not service.needs:
        raise ValueError(f"service {service_id!r} cannot be booked (unknown, or no `needs` in business.yml)")
    return service


def _gap(service: Service, cfg: BusinessConfig, zone_id: Optional[str]) -> timedelta:
    """How much longer than the job itself a visit holds its resources: the travel gap, and
    the rest of the last 15-minute unit the claim rounds up to (so what we offer is exactly
    what the database will accept)."""
    duration = timedelta(minutes=service.duration_minutes)
    held = duration + timedelta(minutes=cfg.bookings.travel(zone_id))
    return -(-held // UNIT) * UNIT - duration


def _claims(session: Session, resource_ids: Iterable[str], since: datetime, until: datetime,
            ignore_booking: Optional[int] = None) -> Dict[str, List[Period]]:
    """Each resource's claimed time as merged [start, end) spans (UTC)."""
    query = select(ResourceClaim.resource, ResourceClaim.unit_start).where(
        ResourceClaim.resource.in_(list(resource_ids)),
        ResourceClaim.unit_start >= since.astimezone(UTC), ResourceClaim.unit_start < until.astimezone(UTC))
    if ignore_booking is not None:
        query = query.where(ResourceClaim.owner != f"booking:{ignore_booking}")
    spans: Dict[str, List[Period]] = defaultdict(list)
    for resource, unit_start in session.execute(query.order_by(ResourceClaim.resource, ResourceClaim.unit_start)):
        unit_start, own = stored_utc(unit_start), spans[resource]
        if own and own[-1][1] == unit_start:
            own[-1] = (own[-1][0], unit_start + UNIT)
        else:
            own.append((unit_start, unit_start + UNIT))
    return spans


def _free(cfg: BusinessConfig, service: Service, zone_id: Optional[str], busy: Sequence[Period], now: datetime,
          earliest: Optional[datetime], latest: datetime, limit: int = _SEARCH_LIMIT) -> List[datetime]:
    """Starts at which one resource with these claims can take the job.

    A new visit claims [start, start + duration + gap); free_slots checks [start, start +
    duration) against busy spans, so each span is widened backwards by the gap: the two tests
    are the same, and the gap may run past closing time (travel home after the last job).
    """
    gap = _gap(service, cfg, zone_id)
    return free_slots(hours=cfg.working_hours, breaks=cfg.breaks, holidays=cfg.holidays, tz=cfg.tz,
                      duration=timedelta(minutes=service.duration_minutes),
                      busy=[(start - gap, end) for start, end in busy], now=now, earliest=earliest,
                      latest=latest, step=timedelta(minutes=cfg.bookings.step_minutes),
                      min_notice=timedelta(hours=cfg.bookings.min_notice_hours), limit=limit)


def free_starts(cfg: BusinessConfig, service_id: str, zone_id: Optional[str], now: datetime, *,
                earliest: Optional[datetime] = None, latest: Optional[datetime] = None, limit: int = 200,
                ignore_booking: Optional[int] = None) -> List[datetime]:
    """Every start (business tz, earliest first) at which one resource of each kind the
    service needs is free for the visit and the travel gap after it; [] for a service the
    bot cannot book. `ignore_booking`: a booking whose own claims do not count (a move)."""
    service = cfg.service(service_id)
    if service is None or not service.needs:
        return []
    latest = latest or now + timedelta(days=cfg.bookings.search_days)
    kinds = {kind: cfg.resources_of(kind) for kind in service.needs}
    with session_scope() as session:
        busy = _claims(session, (r.id for group in kinds.values() for r in group), now - UNIT,
                       latest, ignore_booking)
    common: Optional[set] = None
    for group in kinds.values():
        # A start counts for a kind when any one of its resources is free then.
        starts = {s.astimezone(UTC) for r in group for s in _free(cfg, service, zone_id, busy[r.id], now,
                                                                   earliest, latest)}
        common = starts if common is None else common & starts
    return [s.astimezone(cfg.tz) for s in sorted(common or ())][:limit]


def offer(cfg: BusinessConfig, service_id: str, zone_id: Optional[str], now: datetime, *,
          count: Optional[int] = None, after: Optional[datetime] = None,
          ignore_booking: Optional[int] = None) -> List[datetime]:
    """The times to show: spread over days and parts of day; `after` gives "other times"."""
    starts = free_starts(cfg, service_id, zone_id, now, earliest=after, ignore_booking=ignore_booking)
    if after is not None:
        starts = [s for s in starts if s > after]
    return pick_spread(starts, count or cfg.bookings.offer_count)


def slot_for(text: str, cfg: BusinessConfig, service_id: str, zone_id: Optional[str], now: datetime,
             lang: Optional[str], *, ignore_booking: Optional[int] = None, about: Optional[str] = None,
             ) -> Tuple[Optional[datetime], bool, List[datetime]]:
    """The start a customer chose or typed: (start, understood, alternatives).

    An exact time is taken when it is free; a range ("в четверг после 15", "any morning next
    week") gives its earliest free start. Nothing free there: (None, True, the nearest free
    starts from the requested time on, or the last ones before it when the request lies
    past the search horizon). Not a time at all: (None, False, []). `about`: the window the
    times were offered for ("в четверг"), the day of a time typed without a date.
    """
    when = read_when(text, now.astimezone(cfg.tz), lang, about=about)
    if when is None:
        return None, False, []
    starts = free_starts(cfg, service_id, zone_id, now, limit=_SEARCH_LIMIT, ignore_booking=ignore_booking)
    exact = when.start == when.end
    hits = [s for s in starts if (s == when.start if exact else when.admits(s, cfg.tz))]
    if hits:
        return hits[0], True, []
    return None, True, _nearest(starts, when, cfg.bookings.offer_count)


def _nearest(starts: List[datetime], when: WhenAnswer, count: int) -> List[datetime]:
    """The first free starts from the requested time on, or the last ones before it when the
    request lies past the search horizon."""
    later = [s for s in starts if s >= when.start]
    return later[:count] if later else starts[-count:]


def no_free_time(conv: Conversation, answers: BookingAnswers, cfg: BusinessConfig) -> None:
    """Nothing is free within the horizon: the manager finds a time by hand."""
    with session_scope() as session:
        metrics.record(session, PROCESS, "no_free_time", conv)
        send_brief(session, BriefContent(
            conversation_id=conv.conversation_id, channel=conv.channel, intent="book",
            fields={k: v for k, v in (("service", answers.service), ("address", answers.address),
                                      ("customer_name", answers.customer_name), ("contact", answers.contact))
                    if v},
            tried=["looked for free times", f"nothing free in the next {cfg.bookings.search_days} days"],
            next_step="offer the customer a time by hand (another crew, overtime, a later date) in this chat",
            last_message=conv.last_message), cfg.manager.webhook_url)


@dataclass(frozen=True)
class Offer:
    """Free times to show for what the customer asked: inside the asked window when
    `matched`, else the nearest ones (`requested` None: nothing was asked, or not a time)."""

    requested: Optional[WhenAnswer]
    starts: List[datetime]
    matched: bool
    # Why nothing inside the asked window was offered, when it is not simply booked up:
    # "past" (the time has gone by) or "too_soon" (inside the business's minimum notice).
    unavailable: Optional[str] = None


def _why_unavailable(when: WhenAnswer, cfg: BusinessConfig, now: datetime) -> Optional[str]:
    if when.end <= now:
        return "past"
    if when.end <= now + timedelta(hours=cfg.bookings.min_notice_hours):
        return "too_soon"
    return None


def offer_for(text: Optional[str], cfg: BusinessConfig, service_id: str, zone_id: Optional[str], now: datetime,
              lang: Optional[str], *, ignore_booking: Optional[int] = None, about: Optional[str] = None) -> Offer:
    """The times to offer for "в четверг после 15" / "any morning next week": the best few
    inside that window, or, when it is full, the nearest free ones; a text that is no time
    gets the general offer. `about` as in slot_for."""
    when = read_when(text or "", now.astimezone(cfg.tz), lang, about=about)
    if when is None:
        return Offer(None, offer(cfg, service_id, zone_id, now, ignore_booking=ignore_booking), False)
    starts = free_starts(cfg, service_id, zone_id, now, limit=_SEARCH_LIMIT, ignore_booking=ignore_booking)
    exact = when.start == when.end
    inside = [s for s in starts if (s == when.start if exact else when.admits(s, cfg.tz))]
    if inside:
        return Offer(when, pick_spread(inside, cfg.bookings.offer_count), True)
    return Offer(when, _nearest(starts, when, cfg.bookings.offer_count), False, _why_unavailable(when, cfg, now))


# --- booking -----------------------------------------------------------------------------------

def _pick(session: Session, cfg: BusinessConfig, service: Service, zone_id: Optional[str], start: datetime,
          now: datetime, prefer: Sequence[str] = ()) -> List[str]:
    """One resource of each needed kind free for a visit at `start`, read in this session.

    Preferred resources (a moved visit's own crew) come first. Raises SlotTaken when a kind
    has none: the start is taken, closed, too soon or off the grid for every one of them.
    """
    end = start + timedelta(minutes=service.duration_minutes)
    chosen = []
    for kind in service.needs:
        group = sorted(cfg.resources_of(kind), key=lambda r: r.id not in prefer)
        busy = _claims(session, (r.id for r in group), start - UNIT, end + _gap(service, cfg, zone_id))
        free = [r.id for r in group if _free(cfg, service, zone_id, busy[r.id], now, start, end, limit=1) == [start]]
        if not free:
            raise SlotTaken(f"no free {kind} at {start.isoformat()}")
        chosen.append(free[0])
    return chosen


def _claim(session: Session, row: Booking, resources: Sequence[str], cfg: BusinessConfig) -> None:
    """Claim the visit's units; IntegrityError when another booking got any of them first."""
    service = _bookable(cfg, row.service)
    held_until = stored_utc(row.ends_at) + _gap(service, cfg, row.zone)
    session.add_all(ResourceClaim(resource=resource, unit_start=unit, owner=f"booking:{row.id}")
                    for resource in resources for unit in units(stored_utc(row.starts_at), held_until))
    session.flush()


def _attempts(cfg: BusinessConfig, service: Service) -> int:
    """Each clash shows one more resource busy, so this many tries settle every race."""
    return 1 + sum(len(cfg.resources_of(kind)) for kind in service.needs)


def _job_key(row: Booking) -> str:
    return f"booking:{row.id}:{stored_utc(row.starts_at):%Y%m%dT%H%M}"


def _arm_jobs(session: Session, row: Booking, conv: Conversation, cfg: BusinessConfig, now: datetime) -> None:
    """Reminders still ahead of the visit and the review request after it, on this chat."""
    start, key = stored_utc(row.starts_at), _job_key(row)
    for hours in cfg.bookings.reminders_hours:
        due = start - timedelta(hours=hours)
        if due > now:
            scheduler.schedule(session, kind=REMINDER_KIND, ref=f"{key}:{hours:g}h",
                               conversation_id=conv.conversation_id, channel=conv.channel, due_at=due,
                               payload={"booking_id": str(row.id), "hours": f"{hours:g}"})
    scheduler.schedule(session, kind=REVIEW_KIND, ref=key, conversation_id=conv.conversation_id,
                       channel=conv.channel,
                       due_at=stored_utc(row.ends_at) + timedelta(hours=cfg.bookings.review_after_hours),
                       payload={"booking_id": str(row.id)})


def _disarm_jobs(session: Session, booking_id: int) -> None:
    scheduler.cancel_all(session, kinds=(REMINDER_KIND, REVIEW_KIND), ref_prefix=f"booking:{booking_id}:")


def _start_of(answers: BookingAnswers) -> datetime:
    try:
        start = datetime.fromisoformat(answers.slot or "")
    except ValueError:
        raise ValueError(f"slot {answers.slot!r} is not an ISO instant") from None
    if start.tzinfo is None:
        raise ValueError(f"slot {answers.slot!r} has no UTC offset")
    return start


def _accepted_quote(session: Session, conversation_id: str) -> Optional[int]:
    return session.execute(select(Quote.id).where(Quote.conversation_id == conversation_id,
                                                  Quote.status == "accepted").order_by(Quote.id.desc())).scalar()


def _brief(session: Session, conv: Conversation, row: Booking, cfg: BusinessConfig, *, intent: str,
           tried: List[str], next_step: str, more: Optional[Dict[str, object]] = None) -> None:
    names = ", ".join(r.name.en if r else rid for rid, r in ((rid, cfg.resource(rid)) for rid in row.resources))
    fields = {"booking_id": row.id, "service": row.service, "start": _local(row.starts_at, cfg),
              "end": _local(row.ends_at, cfg), "address": row.address, "zone": row.zone, "resources": names,
              "customer_name": row.customer_name, "contact": row.contact, "notes": row.notes,
              "quote_id": row.quote_id, "status": row.status, **(more or {})}
    send_brief(session, BriefContent(
        conversation_id=conv.conversation_id, channel=conv.channel, intent=intent,
        fields={k: v for k, v in fields.items() if v not in (None, "")}, tried=tried, next_step=next_step,
        last_message=conv.last_message), cfg.manager.webhook_url)


def _local(value: datetime, cfg: BusinessConfig) -> str:
    return stored_utc(value).astimezone(cfg.tz).isoformat()


def book(conv: Conversation, answers: BookingAnswers, cfg: BusinessConfig, now: datetime) -> BookingView:
    """Put the visit on the calendar; raises SlotTaken when its time went to someone else.

    Everything (contact, booking, claims, jobs, metric, brief) is one transaction, so a clash
    leaves nothing behind and is retried in a fresh session with another free resource.
    """
    service = _bookable(cfg, answers.service)
    start = _start_of(answers)
    zone = find_zone(answers.address, cfg) if answers.address else None
    zone_id = zone.id if zone else None
    for _ in range(_attempts(cfg, service)):
        try:
            with session_scope() as session:
                resources = _pick(session, cfg, service, zone_id, start, now)
                contact = customer_card(session, conv, answers.customer_name, answers.contact,
                                        cfg.business.phone_region)
                row = Booking(contact_id=contact.id, conversation_id=conv.conversation_id, channel=conv.channel,
                              language=conv.language, service=service.id, resources=resources,
                              starts_at=start.astimezone(UTC),
                              ends_at=(start + timedelta(minutes=service.duration_minutes)).astimezone(UTC),
                              address=answers.address, zone=zone_id, customer_name=answers.customer_name,
                              contact=answers.contact, notes=answers.notes,
                              quote_id=_accepted_quote(session, conv.conversation_id), status=BOOKED, history=[])
                session.add(row)
                session.flush()
                _claim(session, row, resources, cfg)
                _arm_jobs(session, row, conv, cfg, now)
                metrics.record(session, PROCESS, "booked", conv)
                when = format_when(start, cfg.tz, "en")
                _brief(session, conv, row, cfg, intent="book",
                       tried=["offered free times", f"booked {service.name.en} for {when}",
                              "scheduled the reminders and the review request"],
                       next_step=f"the visit is on the calendar for {when} at {answers.address}; "
                                 f"check the address and access with the customer on {answers.contact}")
                return _view(row, cfg)
        except IntegrityError:
            continue  # another booking claimed a unit first: read the claims again
    raise SlotTaken(f"{service.id} at {start.isoformat()}: every resource went to other bookings")


# --- reading, policy, changes ------------------------------------------------------------------

def _ics_url(row: Booking) -> str:
    base = os.environ.get("MSGOPS_PUBLIC_URL") or f"http://localhost:{os.environ.get('MSGOPS_WEB_PORT') or 8080}"
    return f"{base.rstrip('/')}/bookings/{row.id}.ics?t={row.ics_token}"


def _view(row: Booking, cfg: BusinessConfig) -> BookingView:
    return BookingView(id=row.id, service=row.service, start=stored_utc(row.starts_at).astimezone(cfg.tz),
                       end=stored_utc(row.ends_at).astimezone(cfg.tz), address=row.address, zone=row.zone,
                       status=row.status, resources=list(row.resources), customer_name=row.customer_name,
                       contact=row.contact, notes=row.notes, ics_url=_ics_url(row),
                       fee=Decimal(row.fee) if row.fee else None)


def _mine(conversation_id: str):
    """Bookings made in this chat, or by the same customer from any chat."""
    return or_(Booking.conversation_id == conversation_id, Booking.contact_id.in_(contacts_of_chat(conversation_id)))


def _owned(session: Session, booking_id: int, conversation_id: str, status: Sequence[str] = (BOOKED,)) -> Booking:
    """The customer's booking in one of these statuses, locked for the change (PostgreSQL);
    ValueError for anything else, so a booking id typed into a payload cannot touch another
    customer's visit."""
    row = session.execute(select(Booking).where(Booking.id == booking_id, _mine(conversation_id))
                          .with_for_update(of=Booking)).scalar()
    if row is None or row.status not in status:
        raise ValueError(f"booking {booking_id} is not a {'/'.join(status)} booking of {conversation_id}")
    return row


def find(booking_id: int) -> Optional[BookingView]:
    with session_scope() as session:
        row = session.get(Booking, booking_id)
        return _view(row, business()) if row else None


def upcoming(conversation_id: str, now: datetime) -> Optional[BookingView]:
    """The customer's next visit still to come (this chat's or their other chats'), if any."""
    with session_scope() as session:
        row = session.execute(select(Booking).where(
            _mine(conversation_id), Booking.status == BOOKED, Booking.starts_at > now.astimezone(UTC),
        ).order_by(Booking.starts_at)).scalars().first()
        return _view(row, business()) if row else None


def policy(cfg: BusinessConfig, booking: BookingView, now: datetime, action: str) -> PolicyVerdict:
    """Free until `free_until_hours` before the visit (that instant included); later, the
    owner's rule for the action: a fee, or a person decides."""
    if action not in ("cancel", "reschedule"):
        raise ValueError(f"action must be cancel or reschedule, not {action!r}")
    rules = cfg.bookings.policy
    free_until = (booking.start - timedelta(hours=rules.free_until_hours)).astimezone(cfg.tz)
    free = now.astimezone(UTC) <= free_until.astimezone(UTC)
    outcome = "free" if free else (rules.late_cancel if action == "cancel" else rules.late_reschedule)
    return PolicyVerdict(free=free, action=action, outcome=outcome,
                         fee=rules.late_cancel_fee if outcome == "fee" else None,
                         hours_left=(booking.start - now).total_seconds() / 3600, free_until=free_until)


def _unclaim(session: Session, booking_id: int) -> None:
    session.execute(delete(ResourceClaim).where(ResourceClaim.owner == f"booking:{booking_id}")
                    .execution_options(synchronize_session=False))


def cancel(conv: Conversation, booking_id: int, cfg: BusinessConfig, now: datetime,
           reason: Optional[str]) -> BookingView:
    """Cancel by the policy: free or with the fee at once (the time is freed, the jobs stop);
    a late cancellation the owner decides on becomes "cancel_requested" and a brief."""
    with session_scope() as session:
        row = _owned(session, booking_id, conv.conversation_id)
        verdict = policy(cfg, _view(row, cfg), now, "cancel")
        row.cancel_reason = reason
        if verdict.outcome == "manager":
            row.status = CANCEL_REQUESTED
            metrics.record(session, PROCESS, "cancel_requested", conv)
            _brief(session, conv, row, cfg, intent="cancel_booking",
                   tried=["read the cancellation policy", f"late cancellation ({verdict.hours_left:.0f} h before)"],
                   next_step="decide on the late cancellation and tell the customer in this chat; "
                             "the visit stays on the calendar until you cancel it",
                   more={"reason": reason})
        else:
            row.status = CANCELLED
            row.fee = str(verdict.fee) if verdict.fee is not None else None
            _unclaim(session, row.id)
            _disarm_jobs(session, row.id)
            metrics.record(session, PROCESS, "cancelled", conv)
            if not verdict.free:
                metrics.record(session, PROCESS, "late_cancel", conv)
            if verdict.fee is not None:
                _brief(session, conv, row, cfg, intent="cancel_booking",
                       tried=["cancelled the visit", f"late cancellation: fee {verdict.fee} {cfg.business.currency}"],
                       next_step=f"charge the late-cancellation fee of {verdict.fee} {cfg.business.currency}",
                       more={"reason": reason, "fee": str(verdict.fee)})
        session.flush()
        return _view(row, cfg)


def reschedule(conv: Conversation, booking_id: int, new_start: datetime, cfg: BusinessConfig, now: datetime,
               reason: Optional[str]) -> BookingView:
    """Move the visit; raises PolicyRefused for a late move a person decides on (briefed),
    SlotTaken when the new time is not free (the booking keeps its old time and claims)."""
    with session_scope() as session:
        row = _owned(session, booking_id, conv.conversation_id)
        verdict = policy(cfg, _view(row, cfg), now, "reschedule")
        if verdict.outcome == "manager":
            _brief(session, conv, row, cfg, intent="reschedule",
                   tried=["read the policy", f"late move ({verdict.hours_left:.0f} h before)"],
                   next_step=f"decide whether the visit can move to {format_when(new_start, cfg.tz, 'en')} "
                             "and tell the customer in this chat",
                   more={"requested_start": new_start.astimezone(cfg.tz).isoformat(), "reason": reason})
    if verdict.outcome == "manager":
        raise PolicyRefused(verdict)
    service = _bookable(cfg, row.service)
    for _ in range(_attempts(cfg, service)):
        try:
            with session_scope() as session:
                return _move(session, conv, booking_id, new_start, cfg, now, reason, verdict)
        except IntegrityError:
            continue
    raise SlotTaken(f"booking {booking_id}: {new_start.isoformat()} went to other bookings")


def _move(session: Session, conv: Conversation, booking_id: int, new_start: datetime, cfg: BusinessConfig,
          now: datetime, reason: Optional[str], verdict: PolicyVerdict) -> BookingView:
    """One transaction: free the old units, claim the new ones, move the jobs."""
    row = _owned(session, booking_id, conv.conversation_id)
    service = _bookable(cfg, row.service)
    _unclaim(session, row.id)
    resources = _pick(session, cfg, service, row.zone, new_start, now, prefer=row.resources)
    old_start = stored_utc(row.starts_at)
    _disarm_jobs(session, row.id)
    row.starts_at = new_start.astimezone(UTC)
    row.ends_at = (new_start + timedelta(minutes=service.duration_minutes)).astimezone(UTC)
    row.resources = resources
    row.reschedule_reason = reason
    row.history = [*row.history, {"at": now.astimezone(UTC).isoformat(), "from": old_start.isoformat(),
                                  "to": row.starts_at.isoformat(), "reason": reason}]
    session.flush()
    _claim(session, row, resources, cfg)
    _arm_jobs(session, row, conv, cfg, now)
    metrics.record(session, PROCESS, "rescheduled", conv)
    if verdict.fee is not None:
        row.fee = str(verdict.fee)
        _brief(session, conv, row, cfg, intent="reschedule",
               tried=[f"moved the visit from {format_when(old_start, cfg.tz, 'en')}",
                      f"late move: fee {verdict.fee} {cfg.business.currency}"],
               next_step=f"charge the late-change fee of {verdict.fee} {cfg.business.currency}",
               more={"reason": reason, "fee": str(verdict.fee)})
    return _view(row, cfg)


# --- after the booking -------------------------------------------------------------------------

def reminder_due(booking_id: int, hours: str) -> Optional[BookingView]:
    """The booking to remind about, or None: cancelled, moved (an old job firing before the
    new time's reminder is due) or already started."""
    now = clock.now()
    with session_scope() as session:
        row = session.get(Booking, booking_id)
        if row is None or row.status != BOOKED:
            return None
        start = stored_utc(row.starts_at)
        if not start - timedelta(hours=float(hours)) - _CLOCK_SKEW <= now < start:
            return None
        return _view(row, business())


def review_due(booking_id: int) -> Optional[BookingView]:
    """The visit to ask a review of, once it has ended; it is marked done."""
    with session_scope() as session:
        row = session.get(Booking, booking_id)
        if row is None or row.status not in (BOOKED, DONE) or stored_utc(row.ends_at) > clock.now():
            return None
        if row.status == BOOKED:
            row.status = DONE
            metrics.record(session, PROCESS, "done", row)
        return _view(row, business())


_RATING_WORDS = {"один": 1, "одна": 1, "единица": 1, "кол": 1, "два": 2, "двойка": 2, "три": 3, "тройка": 3,
                 "четыре": 4, "четвёрка": 4, "четверка": 4, "пять": 5, "пятёрка": 5, "пятерка": 5,
                 "one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_RATING = re.compile(r"(?<![\d.,])([1-5])(?:\s*(?:/|из|out of)\s*5)?(?![\d.,])|(\w+)", re.IGNORECASE)


def read_rating(text: str) -> Optional[int]:
    """A 1-5 rating as typed: "5", "4/5", "на 4", "пятёрка", "four stars"; None when the text
    holds no rating or more than one different one ("от 3 до 5")."""
    found = set()
    for digit, word in _RATING.findall(text or ""):
        value = int(digit) if digit else _RATING_WORDS.get(word.lower())
        if value:
            found.add(value)
    return found.pop() if len(found) == 1 else None


def record_review(conv: Conversation, booking_id: int, rating: int, text: Optional[str],
                  next_step: Optional[str]) -> None:
    """Keep the customer's rating (one review per visit; a later answer replaces it); a low
    rating goes to the manager at once."""
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ValueError(f"rating must be 1 to 5, not {rating!r}")
    cfg = business()
    with session_scope() as session:
        row = _owned(session, booking_id, conv.conversation_id, status=(BOOKED, DONE))
        review = session.execute(select(Review).where(Review.booking_id == booking_id)).scalar()
        changed = review is None or (review.rating, review.text) != (rating, text)
        if review is None:
            review = Review(booking_id=booking_id)
            session.add(review)
            metrics.record(session, PROCESS, "reviewed", conv, value=rating)
        review.rating, review.text, review.next_step = rating, text, next_step
        if rating <= _LOW_RATING and changed:
            _brief(session, conv, row, cfg, intent="booking_review",
                   tried=["asked for a review after the visit", f"the customer rated it {rating}/5"],
                   next_step="call the customer about what went wrong",
                   more={"rating": rating, "review": text})


def ics(booking: BookingView, cfg: BusinessConfig, lang: Optional[str]) -> str:
    """The visit as an iCalendar file the customer adds to their calendar."""
    service = cfg.service(booking.service)
    names = [r.name.get(lang) for r in (cfg.resource(rid) for rid in booking.resources) if r]
    details = [", ".join(names), booking.notes or ""]
    return calendar_text(Event(
        uid=f"booking-{booking.id}@msgops", start=booking.start, end=booking.end, stamp=clock.now(),
        summary=f"{service.name.get(lang) if service else booking.service} — {cfg.business.name.get(lang)}",
        location=booking.address, description="\n".join(d for d in details if d) or None,
        cancelled=booking.status == CANCELLED))


def ics_for(booking_id: int, token: str) -> Optional[str]:
    """The calendar file for the web link, or None for an unknown booking or a wrong token."""
    with session_scope() as session:
        row = session.get(Booking, booking_id)
        expected = row.ics_token if row else ""
        if row is None or not hmac.compare_digest(expected.encode(), (token or "").encode()):
            return None
        cfg = business()
        return ics(_view(row, cfg), cfg, row.language)
