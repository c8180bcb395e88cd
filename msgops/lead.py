"""The lead-capture process: from a price question to a booked call and a manager's brief.

Each step is one function that opens one transaction, so the action server can run it in a
worker thread, and each step leaves the lead in a status the owner can read:
"in progress" -> "qualified, meeting booked" | "qualified, no free call time" |
"not qualified, alternative offered" | "stopped by customer" | "handed to a human".
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Dict, List, Optional

from sqlalchemy import or_, select

from msgops import metrics, scheduler
from msgops.business.answers import is_email, read_when
from msgops.business.area import find_zone
from msgops.business.availability import free_slots, pick_spread
from msgops.business.config import CALL_RESOURCE, BusinessConfig
from msgops.business.qualification import Verdict, qualify
from msgops.conversation import Conversation, customer_card
from msgops.integrations import calendar, crm
from msgops.integrations.briefs import BriefContent, send_brief
from msgops.store import session_scope
from msgops.store.models import Lead, Meeting, stored_utc

SEARCH_DAYS = 14

STATUS_OPEN = crm.OPEN
STATUS_BOOKED = "qualified, meeting booked"
STATUS_NO_SLOT = "qualified, no free call time"
STATUS_ALTERNATIVE = "not qualified, alternative offered"
STATUS_STOPPED = "stopped by customer"
STATUS_HUMAN = "handed to a human"


@dataclass
class LeadAnswers:
    service: Optional[str] = None
    location: Optional[str] = None
    timing: Optional[str] = None
    customer_name: Optional[str] = None
    contact: Optional[str] = None
    budget: Optional[str] = None
    decision_maker: Optional[bool] = None

    def filled(self) -> Dict[str, object]:
        return {k: v for k, v in asdict(self).items() if v not in (None, "")}


def summary(answers: LeadAnswers, cfg: BusinessConfig, status: str) -> str:
    service = cfg.service(answers.service or "")
    parts = [
        service.name.en if service else (answers.service or "service not chosen"),
        f"in {answers.location}" if answers.location else None,
        f"timing: {answers.timing}" if answers.timing else None,
        f"budget: {answers.budget}" if answers.budget else None,
    ]
    return f"{', '.join(p for p in parts if p)} — {status}"


def _lead_fields(answers: LeadAnswers, cfg: BusinessConfig, now: datetime) -> Dict[str, object]:
    when = read_when(answers.timing or "", now.astimezone(cfg.tz))
    zone = find_zone(answers.location, cfg) if answers.location else None
    return {"service": answers.service, "location": answers.location, "zone": zone.id if zone else None,
            "timing_text": answers.timing, "budget": answers.budget,
            "timing_start": when.start if when else None, "timing_end": when.end if when else None}


def _save(conv: Conversation, answers: LeadAnswers, cfg: BusinessConfig, status: str,
          now: datetime, session, reasons: Optional[list] = None):
    contact = customer_card(session, conv, answers.customer_name, answers.contact, cfg.business.phone_region)
    return crm.save_lead(session, contact=contact, conversation_id=conv.conversation_id,
                         channel=conv.channel, language=conv.language, status=status,
                         answers=answers.filled(), fields=_lead_fields(answers, cfg, now),
                         summary=summary(answers, cfg, status), reasons=reasons)


def record_progress(conv: Conversation, answers: LeadAnswers, cfg: BusinessConfig,
                    now: datetime) -> None:
    """Keep every answer as it arrives and (re)arm the one gentle follow-up."""
    with session_scope() as session:
        lead = _save(conv, answers, cfg, STATUS_OPEN, now, session)
        metrics.record_once(session, "lead", "started", conv)
        scheduler.schedule(session, kind="followup", ref=f"lead:{lead.id}",
                           conversation_id=conv.conversation_id, channel=conv.channel,
                           due_at=now + timedelta(minutes=cfg.followup.delay_minutes), once=True)


def finish_questions(conv: Conversation, answers: LeadAnswers, cfg: BusinessConfig,
                     now: datetime) -> Verdict:
    when = read_when(answers.timing or "", now.astimezone(cfg.tz))
    verdict = qualify(cfg, service_id=answers.service or "", location=answers.location or "",
                      timing_start=when.start if when else None, budget=answers.budget,
                      decision_maker=answers.decision_maker, now=now)
    status = STATUS_OPEN if verdict.qualified else STATUS_ALTERNATIVE
    with session_scope() as session:
        lead = _save(conv, answers, cfg, status, now, session, verdict.reasons)
        metrics.record(session, "lead", "qualified" if verdict.qualified else "not_qualified", conv)
        if not verdict.qualified:
            scheduler.cancel(session, kind="followup", ref=f"lead:{lead.id}")
    return verdict


def call_slots(cfg: BusinessConfig, now: datetime, *, around: Optional[datetime] = None,
               limit: int = 50) -> List[datetime]:
    """Free call times: working hours of the calls calendar minus booked calls."""
    with session_scope() as session:
        busy = calendar.busy_intervals(session, CALL_RESOURCE, now)
    earliest = max(now, around - timedelta(hours=2)) if around else None
    return free_slots(hours=cfg.calls.hours, breaks=cfg.breaks, holidays=cfg.holidays, tz=cfg.tz,
                      duration=timedelta(minutes=cfg.calls.duration_minutes), busy=busy, now=now,
                      earliest=earliest, latest=now + timedelta(days=SEARCH_DAYS),
                      min_notice=timedelta(minutes=30), limit=limit)


def offer(cfg: BusinessConfig, now: datetime) -> List[datetime]:
    return pick_spread(call_slots(cfg, now), cfg.calls.offer_count)


def slot_for(text: str, cfg: BusinessConfig, now: datetime, lang: Optional[str]) -> tuple[Optional[datetime], bool]:
    """The call start a customer chose or typed: (start, True) when free, (None, understood)."""
    when = read_when(text, now.astimezone(cfg.tz), lang)
    if when is None:
        return None, False
    free = call_slots(cfg, now, around=when.start, limit=200)
    if when.start == when.end:
        return (when.start if any(s == when.start for s in free) else None), True
    inside = [s for s in free if when.start <= s < when.end]
    return (inside[0] if inside else None), True


def book_call(conv: Conversation, answers: LeadAnswers, cfg: BusinessConfig, start: datetime,
              now: datetime) -> Meeting:
    """Book the call; raises calendar.SlotTaken if another customer got there first."""
    end = start + timedelta(minutes=cfg.calls.duration_minutes)
    with session_scope() as session:
        lead = _save(conv, answers, cfg, STATUS_OPEN, now, session)
        lead_id, contact_id = lead.id, lead.contact_id
    with session_scope() as session:
        meeting = calendar.book(session, resource=CALL_RESOURCE, start=start, end=end,
                                contact_id=contact_id, lead_id=lead_id)
    with session_scope() as session:
        lead = _save(conv, answers, cfg, STATUS_BOOKED, now, session)
        scheduler.cancel(session, kind="followup", ref=f"lead:{lead.id}")
        metrics.record(session, "lead", "meeting_booked", conv)
        send_brief(session, BriefContent(
            conversation_id=conv.conversation_id, channel=conv.channel, lead_id=lead.id,
            intent="ask_price", fields={**answers.filled(), "call": start.isoformat()},
            tried=["answered the price question", "collected the lead's answers",
                   "qualified by the rules", f"booked a call for {start.astimezone(cfg.tz):%Y-%m-%d %H:%M}"],
            next_step=_call_step(start, answers.contact, cfg),
            last_message=conv.last_message), cfg.manager.webhook_url)
    return meeting


def _call_step(start: datetime, contact: Optional[str], cfg: BusinessConfig) -> str:
    """What the manager does at the booked time: dial the phone, or, when the customer left
    only an e-mail, send a link to an online call there beforehand."""
    when = f"{start.astimezone(cfg.tz):%Y-%m-%d %H:%M} ({cfg.business.timezone})"
    if is_email(contact):
        return f"e-mail the customer at {contact} a link to an online call at {when} (no phone given)"
    return f"call the customer at {when} on {contact}"


def close(conv: Conversation, answers: LeadAnswers, cfg: BusinessConfig, now: datetime,
          status: str, *, tried: Optional[List[str]] = None, intent: str = "ask_price",
          more_fields: Optional[Dict[str, object]] = None) -> None:
    """End the process without a call: stopped, or handed to a human (who gets a brief).

    `more_fields`: another process's answers (e.g. the quote's) for the manager's brief."""
    with session_scope() as session:
        lead = _save(conv, answers, cfg, status, now, session) if answers.filled() else None
        if lead is not None:
            scheduler.cancel(session, kind="followup", ref=f"lead:{lead.id}")
        metrics.record(session, "lead", "stopped" if status == STATUS_STOPPED else "handoff", conv)
        if status == STATUS_HUMAN:
            send_brief(session, BriefContent(
                conversation_id=conv.conversation_id, channel=conv.channel,
                lead_id=lead.id if lead else None, intent=intent,
                fields={**answers.filled(), **(more_fields or {})},
                tried=tried or [], next_step="reply to the customer in this chat",
                last_message=conv.last_message), cfg.manager.webhook_url)


@dataclass(frozen=True)
class CallView:
    start: datetime
    contact: Optional[str]


def upcoming_call(conversation_id: str, now: datetime, cfg: BusinessConfig) -> Optional[CallView]:
    """The customer's next booked call with the manager: from this chat's lead, or the same
    customer's from another chat."""
    with session_scope() as session:
        leads = select(Lead.id).where(Lead.conversation_id == conversation_id)
        row = session.execute(select(Meeting).where(
            Meeting.resource == CALL_RESOURCE, Meeting.status == "booked",
            Meeting.starts_at > now.astimezone(timezone.utc),
            or_(Meeting.lead_id.in_(leads), Meeting.contact_id.in_(crm.contacts_of_chat(conversation_id))),
        ).order_by(Meeting.starts_at)).scalars().first()
        if row is None:
            return None
        contact = row.contact.phone or row.contact.email
        return CallView(start=stored_utc(row.starts_at).astimezone(cfg.tz), contact=contact)


def followup_is_due(conversation_id: str) -> bool:
    """Only a lead still in progress gets the reminder; a finished or stopped one never does."""
    with session_scope() as session:
        lead = crm.open_lead(session, conversation_id)
        return lead is not None and lead.status == STATUS_OPEN


def attach_media(conversation_id: str, media: Dict[str, object]) -> bool:
    """Keep a photo or file the customer sent with their unfinished lead (e.g. for a quote)."""
    with session_scope() as session:
        lead = crm.open_lead(session, conversation_id)
        if lead is None or lead.status != STATUS_OPEN:
            return False
        lead.answers = {**lead.answers, "media": [*lead.answers.get("media", []), media]}
        return True
