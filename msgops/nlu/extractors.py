"""Rule-based entities with normalised values: time, phone, email, budget, person.

Why rules and not DIET for these: their values must be machine-usable ("+79161234567",
"2026-12-04T15:00:00+03:00", "5000 RUB"), and the shapes are regular enough that
libraries and a few patterns are more reliable than a model trained on a few hundred
examples, in both languages, from the first day. DIET keeps what needs context
(service, location) and English names without an introduction cue
(msgops.nlu.english_names reads "I'm Rachel", "Lucy here").

Order inside one message, and why: e-mails, then phone numbers
(``phonenumbers.PhoneNumberMatcher`` with the business's region, so "8 (916) ..." and
"89161234567" become +7...), then money, then dates and times. Each found span is blanked
before the next step reads the text, so the digits of a phone number never become a
price or a time, and "5000 руб" never becomes a year. Person names (natasha for Russian,
introduction cues for English) come last and may not overlap anything found before ("5 мая"
is not a woman).

``now`` is the system clock in the configured timezone, read through ``msgops.clock`` so
that ``MSGOPS_NOW`` (ISO 8601 with offset) pins it for the whole process in tests,
``rasa test`` regressions and benchmarks.
"""
from __future__ import annotations

import re
import threading
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Dict, Iterable, List, Optional, Tuple
from zoneinfo import ZoneInfo

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import ENTITY_ATTRIBUTE_CONFIDENCE_TYPE
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from msgops import clock
from msgops.business.answers import acceptable_phone
from msgops.nlu import timeparse
from msgops.nlu.english_names import find_english_people
from msgops.nlu.language import LANGUAGE_ENTITY, detect_language
from msgops.nlu.tokenizer import get_morph

Span = Tuple[int, int]

# --------------------------------------------------------------------------------------
# e-mail

_EMAIL_RE = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}"
    r"(?![\w-])"
)


def find_emails(text: str) -> List[Tuple[Span, str]]:
    """E-mail addresses, value lower-cased (the domain is case-insensitive, and in practice
    so is every mailbox a customer gives us)."""
    return [((m.start(), m.end()), m.group().lower()) for m in _EMAIL_RE.finditer(text)]


# --------------------------------------------------------------------------------------
# phone


# Stretches that could hold a phone number: 7+ digits with separators in between.
_PHONE_CANDIDATE_RE = re.compile(r"[+(]?\d[\d\s().\-‒–—]{5,}\d")


def find_phones(text: str, region: str) -> List[Tuple[Span, str]]:
    """Valid phone numbers in E.164; numbers without a country code are read in ``region``.

    PhoneNumberMatcher costs ~40 µs per character of input, so it only reads the
    stretches that look like a number (a 2,000-character message would cost ~80 ms).
    """
    import phonenumbers

    out = []
    for cand in _PHONE_CANDIDATE_RE.finditer(text):
        if sum(ch.isdigit() for ch in cand.group()) < 7:
            continue
        base = cand.start()
        matcher = phonenumbers.PhoneNumberMatcher(
            cand.group(), region, leniency=phonenumbers.Leniency.POSSIBLE
        )
        for match in matcher:
            if not acceptable_phone(match):
                continue
            e164 = phonenumbers.format_number(
                match.number, phonenumbers.PhoneNumberFormat.E164
            )
            out.append(((base + match.start, base + match.end), e164))
    return out


# --------------------------------------------------------------------------------------
# money

_NUM = r"(?P<num>\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?)"
_MULT = (
    r"(?P<mult>(?<=\d)[кk](?![\w])|\s?(?:тыс(?:яч[аи]?|\.)?|тыщ[аи]?|тр|т\.р\.?|млн|"
    r"миллион(?:а|ов)?|thousand|grand)(?![\w])|\s[кk](?=\s*(?:$|[.,!?;:)]|руб|р\b|₽)))"
)
_CUR_AFTER = (
    r"(?P<cur>\s?(?:руб(?:лей|ля|ль|\.)?|р\.|р(?![\w])|₽|rub|rur|рубас\w*|"
    r"rubles?|roubles?|dollars?|usd|долл(?:ар(?:ов|а|ы)?)?\.?|бакс(?:ов|а|ы)?|\$|евро|euros?|eur|€))"
)
_MONEY_AFTER_RE = re.compile(rf"(?<![\w.,]){_NUM}{_MULT}?{_CUR_AFTER}(?![\w])", re.IGNORECASE)
_MONEY_MULT_RE = re.compile(rf"(?<![\w.,]){_NUM}{_MULT}(?![\w])", re.IGNORECASE)
_MONEY_BEFORE_RE = re.compile(
    rf"(?P<pre>[$€₽]|usd|eur|rub)\s?{_NUM}{_MULT}?(?![\w])", re.IGNORECASE
)
# "бюджет 7000", "budget is about 300": the word makes a bare number money. Verbs such as
# "pay" do not ("pay for 3 hours"); with them an amount needs a currency or "к"/"тыс".
_BUDGET_WORD_RE = re.compile(
    r"(?:бюджет\w*|budget)"
    r"(?:[\s:—–-]+(?![\d])[^\s\d]+){0,2}?[\s:—–-]*"
    rf"{_NUM}{_MULT}?{_CUR_AFTER}?(?![\w])(?!\s*(?:м2|м²|кв|квадрат|метр|m2|sq|комнат|окон|окн|"
    r"час|hour|room|window|шт|штук|item|%))",
    re.IGNORECASE,
)

_CURRENCY_WORDS = [
    (re.compile(r"руб|^р\.?$|₽|rub|rur|roub", re.I), "RUB"),
    (re.compile(r"dollar|usd|долл|бакс|\$", re.I), "USD"),
    (re.compile(r"евро|euro|eur|€", re.I), "EUR"),
]
_MULTIPLIERS = [
    (re.compile(r"млн|миллион", re.I), 1_000_000),
    (re.compile(r"[кk]|тыс|тыщ|тр|т\.р|thousand|grand", re.I), 1000),
]


def _currency(word: Optional[str], default: str) -> str:
    if not word:
        return default
    w = word.strip()
    for rx, code in _CURRENCY_WORDS:
        if rx.search(w):
            return code
    return default


def _amount(num: str, mult: Optional[str]) -> Optional[Decimal]:
    raw = re.sub(r"[ \u00a0\u202f]", "", num)
    if re.fullmatch(r"\d{1,3}([.,]\d{3})+", raw):
        raw = re.sub(r"[.,]", "", raw)  # 1,500 / 2.500: thousands separators
    else:
        raw = raw.replace(",", ".")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None
    if mult:
        for rx, factor in _MULTIPLIERS:
            if rx.search(mult):
                value *= factor
                break
    return value


def _format_amount(value: Decimal) -> str:
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def find_money(text: str, default_currency: str) -> List[Tuple[Span, str]]:
    """Budgets: an amount with a currency or a thousands multiplier, or after "бюджет".

    A bare number ("5000", "60") is never money: it could be an area, a count, a flat.
    The span is the amount with its multiplier and currency, not the word "бюджет".
    """
    cands: List[Tuple[Span, str]] = []
    for rx in (_MONEY_BEFORE_RE, _MONEY_AFTER_RE, _MONEY_MULT_RE, _BUDGET_WORD_RE):
        for m in rx.finditer(text):
            gd = m.groupdict()
            num = gd.get("num")
            if not num:
                continue
            value = _amount(num, gd.get("mult"))
            if value is None or value <= 0:
                continue
            mult = gd.get("mult")
            cur_word = gd.get("pre") or gd.get("cur")
            if not cur_word and mult and re.search(r"т\.р|^\s?тр", mult, re.I):
                cur_word = "руб"
            code = _currency(cur_word, default_currency)
            start = m.start("pre") if gd.get("pre") else m.start("num")
            cands.append(((start, m.end()), f"{_format_amount(value)} {code}"))
    return _non_overlapping(cands)


def _non_overlapping(cands: List[Tuple[Span, str]]) -> List[Tuple[Span, str]]:
    """Longest first, then left to right; drop anything overlapping a kept span."""
    kept: List[Tuple[Span, str]] = []
    for span, value in sorted(cands, key=lambda c: (-(c[0][1] - c[0][0]), c[0][0])):
        if not any(_overlaps(span, k[0]) for k in kept):
            kept.append((span, value))
    return sorted(kept)


def _overlaps(a: Span, b: Span) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _mask(text: str, spans: Iterable[Span]) -> str:
    chars = list(text)
    for s, e in spans:
        for k in range(s, e):
            chars[k] = " "
    return "".join(chars)


# --------------------------------------------------------------------------------------
# person (Russian, natasha)

_names_lock = threading.Lock()
_names_extractor: Optional[Any] = None
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_CYR_WORD = re.compile(r"[\u0400-\u04FF]+(?:-[\u0400-\u04FF]+)?")
_NAME_CUES = re.compile(
    r"(?:^|\s)(?:зовут|имя|я|это|звать|спросить|позвать|попросите|зовите|с вами)\s*[,:\-—]?\s*$",
    re.IGNORECASE,
)


def get_names_extractor() -> Any:
    """natasha's NamesExtractor (with its MorphVocab), created once per process on first use."""
    global _names_extractor
    if _names_extractor is None:
        with _names_lock:
            if _names_extractor is None:
                from natasha import MorphVocab, NamesExtractor

                _names_extractor = NamesExtractor(MorphVocab())
    return _names_extractor


@lru_cache(maxsize=50_000)
def _name_tags(word: str) -> Tuple[frozenset, Optional[str]]:
    """(which of Name/Surn/Patr pymorphy3 allows for the word, the likeliest of them)."""
    found = set()
    kind: Optional[str] = None
    for p in get_morph().parse(word):
        for grammeme in ("Name", "Surn", "Patr"):
            if grammeme in p.tag:
                found.add(grammeme)
                kind = kind or grammeme
    return frozenset(found), kind


def _name_kind(word: str) -> Optional[str]:
    return _name_tags(word.lower())[1]


def _has_grammeme(word: str, grammeme: str) -> bool:
    return grammeme in _name_tags(word.lower())[0]


def _surname_like(word: str) -> bool:
    """A surname by the dictionary, or a capitalised word the dictionary does not know."""
    return _has_grammeme(word, "Surn") or (
        word[:1].isupper() and not get_morph().word_is_known(word.lower())
    )


@lru_cache(maxsize=4096)
def _natasha_names(fragment: str) -> Tuple[Tuple[int, int, Optional[str], Optional[str]], ...]:
    """natasha's matches in a short fragment; cached, since short answers repeat."""
    return tuple(
        (m.start, m.stop, m.fact.first, m.fact.last) for m in get_names_extractor()(fragment)
    )


def _windows(words: List[Tuple[int, int, str]], hits: List[int], reach: int = 2) -> List[Span]:
    """Merged character windows of ``reach`` words around each hit."""
    spans: List[Span] = []
    for k in hits:
        lo = words[max(0, k - reach)][0]
        hi = words[min(len(words) - 1, k + reach)][1]
        if spans and lo <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], hi))
        else:
            spans.append((lo, hi))
    return spans


def find_people(text: str) -> List[Tuple[Span, str]]:
    """Russian names: first name required, surname kept if there is one.

    The value is "First Last" as written; the span also covers a patronymic.

    A name written in lower case counts only when it is the whole answer ("ян") or follows
    a cue ("меня зовут ян"), because many Russian names are also words ("надежда", "роза").
    """
    if not _CYRILLIC.search(text):
        return []
    words = [(m.start(), m.end(), m.group()) for m in _CYR_WORD.finditer(text)]
    hits = [k for k, (_, _, w) in enumerate(words) if _has_grammeme(w, "Name")]
    if not hits:
        return []  # natasha (a yargy Earley parser) costs ~1 ms per token: ask only near
        # a possible first name, two words either side (enough for "Петров Иван Ильич")
    matches = []
    for lo, hi in _windows(words, hits):
        for start, stop, first, last in _natasha_names(text[lo:hi]):
            matches.append((lo + start, lo + stop, first, last))
    out: List[Tuple[Span, str]] = []
    for m_start, m_stop, first, last in matches:
        if not first:
            continue
        if last and _name_kind(first) == "Surn" and _name_kind(last) == "Name":
            first, last = last, first  # "Петров Иван"
        if not _has_grammeme(first, "Name"):
            continue
        seg = text[m_start:m_stop]
        f_off = seg.find(first)
        if f_off < 0:
            continue
        f_start = m_start + f_off
        k = next((n for n, (ws, _, _) in enumerate(words) if ws == f_start), None)
        if k is None:
            continue
        spans = [(f_start, f_start + len(first))]
        if last and (_has_grammeme(last, "Patr") or not _surname_like(last)):
            last = None  # "Есть надежда", "Зовут Павел": no surname there
        if last:
            l_off = seg.find(last)
            spans.append((m_start + l_off, m_start + l_off + len(last)))
        else:
            # natasha may read "Зовут Павел Смирнов" as last+first and a stray surname;
            # look right after the first name: patronymic, then surname
            nxt = k + 1
            if nxt < len(words) and _has_grammeme(words[nxt][2], "Patr") and words[nxt][0] - (
                words[k][1]
            ) <= 2:
                spans.append(words[nxt][:2])
                nxt += 1
            if (
                nxt < len(words)
                and words[nxt][0] - spans[-1][1] <= 2
                and words[nxt][2][:1].isupper() == first[:1].isupper()
                and _has_grammeme(words[nxt][2], "Surn")
            ):
                last = words[nxt][2]
                spans.append(words[nxt][:2])
        start = min(s for s, _ in spans)
        end = max(e for _, e in spans)
        if any(start < e and s < end for (s, e), _ in out):
            continue  # the same person from an overlapping natasha match
        if not first[:1].isupper():
            if "Name" not in get_morph().parse(first.lower())[0].tag:
                continue  # "из", "ли": a name only as a rare reading of a common word
            others = [w for s, e, w in words if not (start <= s and e <= end)]
            if others and not _NAME_CUES.search(text[:start]):
                continue
        value = first[:1].upper() + first[1:]
        if last:
            value += " " + last[:1].upper() + last[1:]
        out.append(((start, end), value))
    return out


# --------------------------------------------------------------------------------------
# the component


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False
)
class StructuredEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Adds ``time``, ``phone``, ``email``, ``budget`` and ``person`` entities."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Defaults match business.yml; set them from it in config.yml."""
        return {
            "timezone": "Europe/Moscow",
            "phone_region": "RU",
            "default_currency": "RUB",
            # load pymorphy3, natasha and dateparser when the model loads, not on the
            # first customer's message
            "warm_up": True,
        }

    def __init__(self, config: Dict[str, Any]) -> None:
        self._config = {**self.get_default_config(), **config}
        self.tz = ZoneInfo(self._config["timezone"])
        self.region = str(self._config["phone_region"]).upper()
        self.currency = str(self._config["default_currency"]).upper()

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> StructuredEntityExtractor:
        """Creates the extractor and, unless ``warm_up`` is false, loads its libraries."""
        component = cls(config)
        if component._config.get("warm_up"):
            component.warm_up()
        return component

    def warm_up(self) -> None:
        """Load dictionaries and parsers now (each is created once per process)."""
        get_morph()
        get_names_extractor()
        timeparse.warm_up()
        find_phones("+7 916 123-45-67", self.region)

    def now(self) -> datetime:
        """The current time in the business timezone; ``MSGOPS_NOW`` pins it (msgops.clock)."""
        return clock.now(self.tz)

    def extract(self, text: str, lang: Optional[str] = None,
                now: Optional[datetime] = None) -> List[Dict[str, Any]]:
        """All entities of one text, as Rasa entity dicts, in text order."""
        if not text or not text.strip():
            return []
        found: List[Tuple[str, Span, str, Optional[Dict[str, Any]]]] = []
        taken: List[Span] = []

        for span, value in find_emails(text):
            found.append(("email", span, value, None))
            taken.append(span)
        masked = _mask(text, taken)
        if any(ch.isdigit() for ch in masked):
            for span, value in find_phones(masked, self.region):
                found.append(("phone", span, value, None))
                taken.append(span)
            masked = _mask(text, taken)
            for span, value in find_money(masked, self.currency):
                found.append(("budget", span, value, None))
                taken.append(span)
            masked = _mask(text, taken)
        if lang is None:
            lang = detect_language(text)
        for when in timeparse.parse_when(masked, now or self.now(), lang):
            info: Dict[str, Any] = {
                "grain": when.grain,
                "start": when.start.isoformat(),
                "end": when.end.isoformat(),
            }
            if when.daily_window:
                a, b = when.daily_window
                info["daily_window"] = f"{a:%H:%M}-{b:%H:%M}" if b.hour or b.minute else (
                    f"{a:%H:%M}-24:00"
                )
            found.append(("time", when.span, when.iso(), info))
            taken.append(when.span)
        for span, value in [*find_people(text), *find_english_people(_mask(text, taken))]:
            if not any(_overlaps(span, t) for t in taken):
                found.append(("person", span, value, None))

        entities = []
        for etype, (start, end), value, info in sorted(found, key=lambda f: f[1]):
            entity: Dict[str, Any] = {
                ENTITY_ATTRIBUTE_TYPE: etype,
                ENTITY_ATTRIBUTE_START: start,
                ENTITY_ATTRIBUTE_END: end,
                ENTITY_ATTRIBUTE_VALUE: value,
                ENTITY_ATTRIBUTE_CONFIDENCE_TYPE: 1.0,
                EXTRACTOR: self.name,
            }
            if info:
                entity["additional_info"] = info
            entities.append(entity)
        return entities

    def process(self, messages: List[Message]) -> List[Message]:
        """Adds our entities to each message, skipping any another extractor already gave
        for the same type and an overlapping span (DIET's ``person``, a re-run)."""
        now = self.now()
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str) or not text.strip():
                continue
            existing = list(message.get(ENTITIES, []))
            lang = next(
                (e.get(ENTITY_ATTRIBUTE_VALUE) for e in existing
                 if e.get(ENTITY_ATTRIBUTE_TYPE) == LANGUAGE_ENTITY),
                None,
            )
            new = []
            for entity in self.extract(text, lang, now):
                span = (entity[ENTITY_ATTRIBUTE_START], entity[ENTITY_ATTRIBUTE_END])
                if any(
                    e.get(ENTITY_ATTRIBUTE_TYPE) == entity[ENTITY_ATTRIBUTE_TYPE]
                    and _overlaps(span, (e.get(ENTITY_ATTRIBUTE_START, -1),
                                         e.get(ENTITY_ATTRIBUTE_END, -1)))
                    for e in existing
                ):
                    continue
                new.append(entity)
            if new:
                message.set(ENTITIES, existing + new, add_to_output=True)
        return messages
