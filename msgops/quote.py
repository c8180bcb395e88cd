"""The quote process: from "посчитайте смету" to a priced, itemised offer on the customer's card.

What to ask comes from business.yml (each service's `quote_questions`); what counts as a
valid answer, which answers contradict each other (an urgent date far away, a closed day, a
place outside the area) and the price come from here, so the Rasa glue in actions/quote.py
only translates verdicts into replies. A quote is recorded as "sent" with its lines; the
customer accepts or declines it, or it expires after `quotes.valid_days`; one reminder is
scheduled (job kind "quote_followup") for a customer who says neither.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Dict, List, Optional, Tuple

from sqlalchemy import select

from msgops import metrics, scheduler
from msgops.business.answers import WhenAnswer, read_when
from msgops.business.area import find_zone
from msgops.business.availability import free_slots
from msgops.business.config import DAYS, BusinessConfig
from msgops.business.money import format_money
from msgops.business.pricing import Quote as Priced
from msgops.business.pricing import Span, format_span, quote
from msgops.business.text import lemmas
from msgops.business.when_text import format_when
from msgops.conversation import Conversation, customer_card
from msgops.integrations.briefs import BriefContent, send_brief
from msgops.store import session_scope
from msgops.store.models import Quote, stored_utc

SENT, ACCEPTED, DECLINED, EXPIRED = "sent", "accepted", "declined", "expired"
FOLLOWUP_KIND = "quote_followup"
NEXT_STEPS = ("visit", "call", "deposit")
NO_EXTRAS = "none"
# A question of business.yml's `quote_questions` -> the form slot that holds its answer.
SLOTS = {"quantity": "quote_quantity", "extras": "quote_extras", "address": "quote_address",
         "date": "quote_date", "photo": "quote_photo"}

_NUMBER = r"(\d+(?:[.,]\d+)?)"
_UNIT_WORDS = {
    "m2": r"(?:м2|м²|m2|m²|кв\.?\s*м|кв\b|квадрат\w*|метр\w*|sq\.?\s*m|sqm|square\s*met\w*)",
    "window": r"(?:окон|окна|окно|створ\w*|windows?)",
    "item": r"(?:шт\w*|предмет\w*|диван\w*|кресл\w*|матрас\w*|items?|pieces?|pcs|sofas?|couch\w*|chairs?)",
    "hour": r"(?:час\w*|ч\b|hours?|hrs?|h\b)",
    "visit": r"(?:выезд\w*|раз\b|visits?|times?)",
}
_FLOOR = re.compile(r"(\d{1,2})\s*(?:-?й|-?ом)?\s*(?:этаж|floor)|(?:этаж|floor)\s*(\d{1,2})"
                    r"|(\d{1,2})(?:st|nd|rd|th)\s+floor", re.IGNORECASE)
_NOTHING = re.compile(r"^\s*(?:нет|не\s*надо|не\s*нужно|ничего(?:\s*не\s*(?:надо|нужно))?|без\s*(?:доп\w*|всего)|"
                      r"no|none|nothing|no\s*extras|skip|no,?\s*thanks?)\W*$", re.IGNORECASE)
_URL = re.compile(r"https?://\S+", re.IGNORECASE)


@dataclass
class QuoteAnswers:
    service: Optional[str] = None
    quantity: Optional[str] = None
    extras: Optional[str] = None      # "balcony=1;oven=2" or "none"
    address: Optional[str] = None
    date: Optional[str] = None        # ISO instant or interval
    photo: Optional[str] = None       # a media URL or id, or "none"
    customer_name: Optional[str] = None
    contact: Optional[str] = None

    def filled(self) -> Dict[str, object]:
        return {k: v for k, v in asdict(self).items() if v not in (None, "")}


@dataclass(frozen=True)
class Problem:
    """Why an answer cannot stand: a stable code for the reply, the details it names."""

    code: str
    details: Dict[str, object] = field(default_factory=dict)


def questions(cfg: BusinessConfig, service_id: Optional[str]) -> List[str]:
    """The form slots to fill for this service, in order: the service first, then its questions."""
    service = cfg.service(service_id or "")
    if service is None:
        return ["quote_service"]
    wanted = [q for q in service.quote_questions if q != "extras" or cfg.pricing.services[service.id].extras]
    return ["quote_service", *[SLOTS[q] for q in wanted]]


def answerable(cfg: BusinessConfig, service_id: Optional[str]) -> List[str]:
    """The form slots a message may fill now, the service first.

    Once the service is known, its own questions. Before that, every question any service
    may ask: customers answer early ("8 windows in Moscow", a town and "tomorrow" typed while
    the bot asks for the service), and an answer that is not read and checked when it comes
    is either lost (asked again later) or kept unchecked (an urgent date far out of town
    priced without a word). The question asked next is still the first missing one: the service.
    """
    if cfg.service(service_id or "") is not None:
        return questions(cfg, service_id)
    return ["quote_service", *SLOTS.values()]


# --- reading answers ---------------------------------------------------------------------

def read_quantity(text: str, unit: Optional[str], *, unit_required: bool) -> Optional[Decimal]:
    """The quantity in a message: "80 м2", "6 окон", "2.5 h"; a bare number only when asked."""
    if not text:
        return None
    units = [unit] if unit else list(_UNIT_WORDS)
    for name in units:
        match = re.search(rf"{_NUMBER}\s*{_UNIT_WORDS[name]}", text, re.IGNORECASE)
        if match:
            return Decimal(match.group(1).replace(",", "."))
    if unit_required:
        return None
    cleaned = _FLOOR.sub(" ", text)
    match = re.search(rf"(?<![\d:]){_NUMBER}(?![\d:])", cleaned)
    return Decimal(match.group(1).replace(",", ".")) if match else None


def parse_extras(value: Optional[str]) -> Dict[str, int]:
    if not value or value == NO_EXTRAS:
        return {}
    return {k: int(v) for k, v in (part.split("=") for part in value.split(";") if "=" in part)}


def format_extras(extras: Dict[str, int]) -> str:
    return ";".join(f"{k}={v}" for k, v in extras.items()) or NO_EXTRAS


def _stem(word: str) -> str:
    return word.lower()[:5]


def read_extras(text: str, cfg: BusinessConfig, service_id: str) -> Tuple[Optional[Dict[str, int]], Optional[str]]:
    """The service's extras named in a message with their counts, {} for "nothing".

    Returns (extras, missing): `missing` is an extra that needs a number it was not given
    (the floor for "no lift"); (None, None) when the message names no extra at all.
    """
    if not text:
        return None, None
    if _NOTHING.match(text):
        return {}, None
    offered = cfg.pricing.services[service_id].extras if service_id in cfg.pricing.services else []
    words = lemmas(text)
    stems = [_stem(w) for w in words]
    found: Dict[str, int] = {}
    missing, named = None, False
    for extra_id in offered:
        extra = cfg.pricing.extras[extra_id]
        position = _position(stems, [extra.name.ru, extra.name.en, extra_id, *extra.aliases])
        if position is None:
            continue
        named = True
        if extra.per != "each":
            found[extra_id] = 1
        elif extra.free_up_to:
            floor = _FLOOR.search(text)
            number = next((g for g in floor.groups() if g), None) if floor else None
            if number is None:
                missing = extra_id
                continue
            if int(number) > extra.free_up_to:
                found[extra_id] = int(number)
        else:
            found[extra_id] = _count_near(words, position)
    if not named:
        return None, None
    return found, missing


def _position(stems: List[str], phrases: List[str]) -> Optional[int]:
    for phrase in phrases:
        needle = [_stem(w) for w in lemmas(phrase.replace("_", " "))]
        if not needle:
            continue
        for i in range(len(stems) - len(needle) + 1):
            if stems[i:i + len(needle)] == needle:
                return i
    return None


_SMALL = {"one": 1, "two": 2, "three": 3, "four": 4, "один": 1, "одна": 1, "два": 2, "две": 2, "три": 3,
          "четыре": 4}


def _count_near(words: List[str], position: int) -> int:
    for neighbour in (position - 1, position + 1):
        if 0 <= neighbour < len(words):
            word = words[neighbour]
            if word.isdigit() and 0 < int(word) < 20:
                return int(word)
            if word in _SMALL:
                return _SMALL[word]
    return 1


def read_photo(text: Optional[str]) -> Optional[str]:
    """A photo link typed in the web chat, or "none" for "no photo"."""
    if not text:
        return None
    url = _URL.search(text)
    if url:
        return url.group(0)
    if _NOTHING.match(text) or re.search(r"без\s*фото|нет\s*фото|no\s*photo|skip", text, re.IGNORECASE):
        return NO_EXTRAS
    return None


# --- checking answers ----------------------------------------------------------------------

def check_quantity(value: Decimal, cfg: BusinessConfig, service_id: str) -> Optional[Problem]:
    rules = cfg.pricing.services[service_id]
    if value <= 0 or (rules.unit in ("item", "window", "visit") and value != value.to_integral_value()):
        return Problem("bad_quantity")
    if rules.quantity and not rules.quantity[0] <= value <= rules.quantity[1]:
        return Problem("quantity_out_of_range", {"min": rules.quantity[0], "max": rules.quantity[1],
                                                 "unit": rules.unit})
    return None


def check_address(place: str, cfg: BusinessConfig) -> Optional[Problem]:
    if find_zone(place, cfg) is None:
        return Problem("out_of_area", {"place": place})
    return None


def _urgent(cfg: BusinessConfig, start: datetime, now: datetime) -> bool:
    hours = max((float(t.within_hours) for t in cfg.pricing.urgency), default=0)
    return start - now < timedelta(hours=hours)


def _days(start: datetime, end: datetime, cfg: BusinessConfig) -> List[date]:
    """The local days a date answer covers. An interval's end is exclusive: "в воскресенье" is
    Sunday 00:00 to Monday 00:00, which is Sunday alone."""
    first = start.astimezone(cfg.tz).date()
    last = (end - timedelta(microseconds=1)).astimezone(cfg.tz).date() if end > start else first
    return [first + timedelta(days=i) for i in range(max((last - first).days, 0) + 1)]


def is_working_day(cfg: BusinessConfig, day: date) -> bool:
    return cfg.working_hours.get(DAYS[day.weekday()]) is not None and day not in cfg.holidays


def check_date(when: WhenAnswer, place: Optional[str], cfg: BusinessConfig, now: datetime) -> Optional[Problem]:
    """A date in the past, on a closed day, or too soon for the customer's zone.

    A date is closed when none of the days it covers (from now on) is a working day: a
    Sunday, a holiday, "this weekend" when both days are closed.
    """
    if when.end < now:
        return Problem("date_in_past")
    days = _days(max(when.start, now), when.end, cfg)
    if not any(is_working_day(cfg, day) for day in days):
        last = datetime.combine(days[-1], datetime.min.time(), tzinfo=cfg.tz)
        return Problem("closed_day", {"date": days[0], "next": next_working_day(cfg, last)})
    zone = find_zone(place, cfg) if place else None
    allowed = cfg.quotes.urgent_zones
    if zone is not None and allowed is not None and zone.id not in allowed and _urgent(cfg, max(when.start, now), now):
        return Problem("urgent_far", {"place": place, "hours": max(float(t.within_hours) for t in cfg.pricing.urgency)})
    return None


def next_working_day(cfg: BusinessConfig, after: datetime) -> datetime:
    day = after.replace(hour=12, minute=0, second=0, microsecond=0)
    for _ in range(30):
        day += timedelta(days=1)
        if is_working_day(cfg, day.date()):
            return day
    return day


# --- pricing, recording, deciding ----------------------------------------------------------

def work_start(answers: QuoteAnswers, cfg: BusinessConfig, now: datetime) -> Optional[datetime]:
    """When the customer wants the work done (what urgency is priced on and the card records)."""
    when = read_when(answers.date or "", now.astimezone(cfg.tz))
    return max(when.start, now) if when else None


@dataclass(frozen=True)
class Start:
    """What the quote may promise about the start of the work.

    `at` is the first start inside the customer's date at which the working hours (breaks
    and holidays included) hold the whole job; None when no such start exists there, and
    then `nearest` is the first one after it. `day_only`: the customer named a day, not a
    time, so only the day is promised (which crew and hour is for the booking to settle).
    """

    at: Optional[datetime] = None
    day_only: bool = True
    nearest: Optional[datetime] = None
    asked: Optional[datetime] = None  # the customer's date, for "does not fit on <day>"


def promised_start(answers: QuoteAnswers, cfg: BusinessConfig, now: datetime) -> Optional[Start]:
    """The start the quote's timeline may promise; None when no date was given.

    Uses the same free_slots as the booking calendar, with no other job on it: a quote must
    not promise a Saturday start for a 5-hour job when Saturday's hours around the lunch
    break hold at most 4 hours, only for the booking to say later that the day is full.
    """
    service = cfg.service(answers.service or "")
    when = read_when(answers.date or "", now.astimezone(cfg.tz))
    if when is None or service is None:
        return None
    exact = when.start == when.end
    local = when.start.astimezone(cfg.tz)
    latest = (datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=cfg.tz)
              if exact else when.end)

    def fits(earliest: datetime, until: Optional[datetime]) -> List[datetime]:
        return free_slots(hours=cfg.working_hours, breaks=cfg.breaks, holidays=cfg.holidays, tz=cfg.tz,
                          duration=timedelta(minutes=service.duration_minutes), busy=[], now=now,
                          earliest=earliest, latest=until, step=timedelta(minutes=cfg.bookings.step_minutes),
                          limit=200 if until else 1)

    starts = [s for s in fits(when.start, latest) if exact or when.admits(s, cfg.tz)]
    if starts:
        return Start(at=starts[0], day_only=not exact, asked=local)
    later = fits(latest, None)
    return Start(day_only=not exact, nearest=later[0] if later else None, asked=local)


def price(answers: QuoteAnswers, cfg: BusinessConfig, now: datetime, *, first_order: bool) -> Priced:
    """The quote under the owner's rules; raises pricing.PricingError when it cannot be priced."""
    zone = find_zone(answers.address, cfg) if answers.address else None
    return quote(cfg.pricing, answers.service or "", answers.quantity or "0",
                 extras=parse_extras(answers.extras), zone=zone.id if zone else None,
                 when=work_start(answers, cfg, now), now=now.astimezone(cfg.tz), first_order=first_order)


def _lines(priced: Priced) -> List[dict]:
    rows = [*priced.lines, *priced.discounts, *([priced.tax] if priced.tax else [])]
    return [{"code": line.code, "label": {"ru": line.label.ru, "en": line.label.en},
             "min": str(line.amount.min), "max": str(line.amount.max),
             "quantity": str(line.quantity) if line.quantity is not None else None,
             "percent": str(line.percent) if line.percent is not None else None} for line in rows]


def send(conv: Conversation, answers: QuoteAnswers, cfg: BusinessConfig, now: datetime) -> Tuple[int, Priced, datetime]:
    """Price the answers, put the quote on the customer's card as "sent", arm one reminder."""
    with session_scope() as session:
        contact = customer_card(session, conv, answers.customer_name, answers.contact, cfg.business.phone_region)
        earlier = session.execute(select(Quote.id).where(Quote.contact_id == contact.id,
                                                         Quote.status == ACCEPTED)).first()
        priced = price(answers, cfg, now, first_order=earlier is None)
        zone = find_zone(answers.address, cfg) if answers.address else None
        for old in session.execute(select(Quote).where(Quote.conversation_id == conv.conversation_id,
                                                       Quote.status == SENT)).scalars():
            old.status = EXPIRED  # a new quote replaces the one still open in this chat
            scheduler.cancel(session, kind=FOLLOWUP_KIND, ref=f"quote:{old.id}")
        valid_until = now + timedelta(days=cfg.quotes.valid_days)
        photo = answers.photo if answers.photo and answers.photo != NO_EXTRAS else None
        row = Quote(contact_id=contact.id, conversation_id=conv.conversation_id, channel=conv.channel,
                    language=conv.language, service=priced.service_id, quantity=str(priced.quantity),
                    unit=priced.unit, extras=parse_extras(answers.extras), location=answers.address,
                    zone=zone.id if zone else None, work_date=work_start(answers, cfg, now),
                    media=[photo] if photo else [], lines=_lines(priced), total_min=str(priced.total.min),
                    total_max=str(priced.total.max), currency=cfg.business.currency,
                    conditions=[{"ru": c.ru, "en": c.en} for c in priced.conditions], status=SENT,
                    valid_until=valid_until)
        session.add(row)
        session.flush()
        scheduler.schedule(session, kind=FOLLOWUP_KIND, ref=f"quote:{row.id}", conversation_id=conv.conversation_id,
                           channel=conv.channel, due_at=now + timedelta(hours=cfg.quotes.followup_hours), once=True)
        metrics.record(session, "quote", "sent", conv)
        return row.id, priced, valid_until


def _open_quote(session, conversation_id: str, now: datetime) -> Optional[Quote]:
    expire(session, now)
    return session.execute(select(Quote).where(Quote.conversation_id == conversation_id, Quote.status == SENT)
                           .order_by(Quote.id.desc())).scalars().first()


def decide(conv: Conversation, cfg: BusinessConfig, now: datetime, *, accepted: bool,
           next_step: Optional[str] = None, tried: Optional[List[str]] = None) -> Optional[dict]:
    """The customer's yes (with the next step) or no to their open quote; None if none is open."""
    with session_scope() as session:
        row = _open_quote(session, conv.conversation_id, now)
        if row is None:
            return None
        row.status = ACCEPTED if accepted else DECLINED
        row.next_step = (next_step if next_step in NEXT_STEPS else "visit") if accepted else None
        scheduler.cancel(session, kind=FOLLOWUP_KIND, ref=f"quote:{row.id}")
        metrics.record(session, "quote", row.status, conv)
        if accepted:
            total = format_span(Span(Decimal(row.total_min), Decimal(row.total_max)), row.currency, "en")
            steps = {"visit": "book a visit (date and time) with the customer",
                     "call": "call the customer to confirm the order",
                     "deposit": f"send the customer a payment link for a {cfg.quotes.deposit_percent:g} % deposit"}
            send_brief(session, BriefContent(
                conversation_id=conv.conversation_id, channel=conv.channel, intent="request_quote",
                fields={"quote_id": row.id, "service": row.service, "quantity": f"{row.quantity} {row.unit}",
                        "extras": row.extras, "location": row.location, "total": total,
                        "work_date": row.work_date.isoformat() if row.work_date else None, "media": row.media},
                tried=tried or ["collected the quote's answers", "priced it by the rules", "customer accepted"],
                next_step=f"{steps[row.next_step]}; reply in this chat",
                last_message=conv.last_message), cfg.manager.webhook_url)
        return {"id": row.id, "status": row.status, "next_step": row.next_step, "valid_until": row.valid_until,
                "service": row.service, "location": row.location,
                "work_date": stored_utc(row.work_date) if row.work_date else None}


def expire(session, now: datetime) -> int:
    """Quotes past their validity that nobody accepted or declined become "expired"."""
    rows = session.execute(select(Quote).where(Quote.status == SENT)).scalars().all()
    gone = [r for r in rows if stored_utc(r.valid_until) < now]
    for row in gone:
        row.status = EXPIRED
    return len(gone)


def open_summary(conversation_id: str, now: datetime) -> Optional[dict]:
    """The quote still waiting for a yes or no in this chat (what the reminder names), if any."""
    with session_scope() as session:
        row = _open_quote(session, conversation_id, now)
        if row is None:
            return None
        return {"id": row.id, "service": row.service, "total_min": row.total_min, "total_max": row.total_max,
                "currency": row.currency, "valid_until": stored_utc(row.valid_until)}


# --- the offer as the customer reads it ---------------------------------------------------------

_UNIT_TEXT = {"ru": {"m2": "м²", "hour": "ч", "item": "шт.", "window": "окон", "visit": "выезд."},
              "en": {"m2": "m²", "hour": "h", "item": "items", "window": "windows", "visit": "visits"}}


def _num(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _day(moment: datetime, cfg: BusinessConfig, lang: str) -> str:
    return format_when(moment, cfg.tz, lang).rsplit(",", 1)[0]


_START_TEXT = {
    "ru": {"at": ", начало {when}",
           "unfit": "; дату начала подтвердим: {hours} ч работы не помещаются в наши часы работы ({day})",
           "nearest": "; ближайший подходящий день — {day}"},
    "en": {"at": ", starting {when}",
           "unfit": "; the start date is to be confirmed: {hours} h of work do not fit into our hours on {day}",
           "nearest": "; the nearest day it fits is {day}"},
}


def _start_text(start: Optional[Start], cfg: BusinessConfig, lang: str, hours: str) -> str:
    """", starting <day or time>" when the working hours hold the job then; otherwise that the
    start is to be confirmed, and the nearest day that does hold it."""
    phrases = _START_TEXT["en" if lang == "en" else "ru"]
    if start is None:
        return ""
    def when(moment: datetime) -> str:
        return _day(moment, cfg, lang) if start.day_only else format_when(moment, cfg.tz, lang)

    if start.at is not None:
        return phrases["at"].format(when=when(start.at))
    text = phrases["unfit"].format(hours=hours, day=when(start.asked) if start.asked else "")
    return text + (phrases["nearest"].format(day=_day(start.nearest, cfg, lang)) if start.nearest else "")


def render(priced: Priced, cfg: BusinessConfig, lang: str, valid_until: datetime,
           start: Optional[Start]) -> Dict[str, str]:
    """The parts of the offer: breakdown, total, tax, timeline, inclusions, validity, conditions."""
    def money(span: Span) -> str:
        text = format_span(span, cfg.business.currency, lang)
        return text if not span.is_range else f"({text})"

    rows = []
    for line in priced.lines:
        label = line.label.get(lang)
        if line.code == "service":
            unit = _UNIT_TEXT[lang][priced.unit]
            each = money(line.unit_price) if line.unit_price else ""
            rows.append(f"• {label}: {_num(line.quantity)} {unit} × {each} = {money(line.amount)}")
        elif line.percent is not None:
            rows.append(f"• {label} (+{_num(line.percent)} %): {money(line.amount)}")
        else:
            rows.append(f"• {label}: {money(line.amount)}")
    for line in priced.discounts:
        pct = f" (−{_num(line.percent)} %)" if line.percent is not None else ""
        rows.append(f"• {line.label.get(lang)}{pct}: −{money(line.amount)}")
    if priced.rounding.min or priced.rounding.max:
        rows.append(f"• {'Округление' if lang == 'ru' else 'Rounding'}: {money(priced.rounding)}")
    tax = ""
    if priced.tax:
        word = ("в т. ч." if lang == "ru" else "incl.") if priced.tax_included else "+"
        tax = f" ({word} {priced.tax.label.get(lang)} {_num(priced.tax.percent)} %: {money(priced.tax.amount)})"
    service = cfg.service(priced.service_id)
    hours = f"{service.duration_minutes / 60:g}"
    if lang == "en":
        timeline = f"about {hours} h on site" + _start_text(start, cfg, lang, hours)
    else:
        timeline = f"около {hours} ч на месте" + _start_text(start, cfg, lang, hours)
    dash = "—"
    return {
        "service_name": service.name.get(lang),
        "breakdown": "\n".join(rows),
        "total": format_span(priced.total, cfg.business.currency, lang) + tax,
        "timeline": timeline,
        "included": service.included.get(lang) if service.included else dash,
        "not_included": service.not_included.get(lang) if service.not_included else dash,
        "valid_until": format_when(valid_until, cfg.tz, lang).rsplit(",", 1)[0],
        "conditions": " ".join(c.get(lang) for c in priced.conditions),
        "deposit": f"{cfg.quotes.deposit_percent:g}",
    }


def quantity_text(value: Decimal, unit: str, lang: str) -> str:
    return f"{_num(value)} {_UNIT_TEXT[lang][unit]}"


def money_text(value, cfg: BusinessConfig, lang: str) -> str:
    return format_money(value, cfg.business.currency, lang)
