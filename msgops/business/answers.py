"""Reading a customer's free-typed answers: contacts, names and times.

Every process asks for some of these, so the rules for what counts as a valid answer live
here once; the form validators in actions/ only translate the verdict into a reply.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Optional, Tuple
from zoneinfo import ZoneInfo

import phonenumbers

from msgops.business.text import is_known_non_name, lemma

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-zA-Z]{2,}", re.UNICODE)
_NAME_WORD = re.compile(r"^[A-Za-zА-Яа-яЁё][A-Za-zА-Яа-яЁё'’-]*$")
_NAME_PREFIX = re.compile(
    r"^(?:меня зовут|зовут|я\s*[-—]?|это|my name is|my name's|i am|i'm|im|it's|its|this is|call me)\s+",
    re.IGNORECASE,
)
# Words people type in place of a name; never store them as one.
_NOT_NAMES = {
    "да", "нет", "ага", "угу", "ок", "окей", "привет", "здравствуйте", "спасибо", "стоп", "хватит",
    "не", "скажу", "неважно", "потом", "yes", "no", "ok", "okay", "hi", "hello", "thanks", "stop",
    "none", "nobody", "anonymous", "аноним", "менеджер", "manager", "human", "человек", "бот", "bot",
    "позвать", "оператор", "operator", "живой", "real", "person", "сколько", "how", "what", "что",
    # the words people leave with: a name never contains them, so "Mike" is a name even when
    # the NLU reads it as stop, and "never mind" is not
    "cancel", "quit", "exit", "enough", "abort", "halt", "nvm", "never", "mind", "nevermind", "forget",
    "skip", "отмена", "отменить", "отбой", "выход", "выйти", "передумать", "забыть", "всё", "все", "надо",
}


@dataclass(frozen=True)
class ContactAnswer:
    kind: str  # "phone" or "email"
    value: str


@dataclass(frozen=True)
class WhenAnswer:
    start: datetime
    end: datetime
    text: str
    # "any morning next week": [start, end) spans the week, only these local hours each day.
    daily_window: Optional[Tuple[time, time]] = None

    def admits(self, start: datetime, tz: ZoneInfo) -> bool:
        """Whether a start lies inside the range and, for "any morning next week", inside
        the daily hours too (bookings and quotes both offer only such starts)."""
        if not self.start <= start < self.end:
            return False
        if self.daily_window is None:
            return True
        opens, closes = self.daily_window
        return opens <= start.astimezone(tz).time() < closes

    def single_day(self, tz: ZoneInfo) -> Optional[date]:
        """The local day, when the answer lies within one day."""
        first = self.start.astimezone(tz).date()
        last = (self.end - timedelta(microseconds=1)).astimezone(tz).date() if self.end > self.start else first
        return first if first == last else None

    @property
    def iso(self) -> str:
        if self.start == self.end:
            return self.start.isoformat()
        return f"{self.start.isoformat()}/{self.end.isoformat()}"


def acceptable_phone(match: phonenumbers.PhoneNumberMatch) -> bool:
    """A number in the business's region must be a valid one; a number written with "+" and a
    country code only needs the right length (ranges change, and a customer abroad should not
    be refused by a stale metadata table). The NLU and the form validators share this rule,
    so a number the bot recognised is never refused as an answer."""
    return phonenumbers.is_valid_number(match.number) or match.raw_string.lstrip().startswith("+")


def read_contact(text: str, region: str) -> Optional[ContactAnswer]:
    """A phone number (normalised to E.164) or an e-mail found anywhere in the text."""
    if not text:
        return None
    email = EMAIL.search(text)
    if email:
        return ContactAnswer("email", email.group(0).lower())
    for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE):
        if acceptable_phone(match):
            return ContactAnswer(
                "phone", phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            )
    return None


def is_email(contact: Optional[str]) -> bool:
    """Whether a stored contact is an e-mail (a call then needs a link, not a dial)."""
    return bool(contact and EMAIL.fullmatch(contact))


def read_name(text: str) -> Optional[str]:
    """A plausible person's name: one to three words of letters, none a word like "да", a
    day ("вчера") or a town ("Тверь")."""
    if not text:
        return None
    cleaned = _NAME_PREFIX.sub("", text.strip().strip(".!,)(")).strip()
    words = cleaned.split()
    if not 1 <= len(words) <= 3 or len(cleaned) > 60:
        return None
    if any(not _NAME_WORD.match(w) for w in words):
        return None
    if any(w.lower() in _NOT_NAMES or lemma(w) in _NOT_NAMES or is_known_non_name(w) for w in words):
        return None
    return " ".join(w[:1].upper() + w[1:] for w in words)


def _from_iso(value: str, tz: ZoneInfo) -> Optional[tuple[datetime, datetime]]:
    try:
        if "/" in value:
            start, end = (datetime.fromisoformat(part) for part in value.split("/", 1))
        else:
            start = end = datetime.fromisoformat(value)
    except ValueError:
        return None
    if start.tzinfo is None:
        start, end = start.replace(tzinfo=tz), end.replace(tzinfo=tz)
    return start.astimezone(tz), end.astimezone(tz)


def read_when(text: str, now: datetime, lang: Optional[str] = None,
              about: Optional[str] = None) -> Optional[WhenAnswer]:
    """A time or period: the `time` entity's ISO value, or free text such as "завтра после обеда".

    `about` is what the conversation was about ("в четверг", the window whose times were just
    offered): when it is one day, a time typed without a date ("в 11", "at 11 please") is on
    that day, not the next 11:00 from now.
    """
    if not text:
        return None
    tz = now.tzinfo if isinstance(now.tzinfo, ZoneInfo) else ZoneInfo("UTC")
    parsed = _from_iso(text.strip(), tz)
    if parsed:
        return WhenAnswer(parsed[0], parsed[1], text)
    from msgops.nlu.timeparse import parse_when

    context = read_when(about, now, lang) if about else None
    found = parse_when(text, now, lang, on_day=context.single_day(tz) if context else None)
    if not found:
        return None
    first = found[0]
    return WhenAnswer(first.start, first.end, text, first.daily_window)
