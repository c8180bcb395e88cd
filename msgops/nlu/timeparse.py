"""Date and time expressions in Russian and English chat messages.

Why our own rules first: customers write short, sloppy, mixed-language messages
("завтар после 15", "tommorow 3pm", "в четверг после обеда"), and a booking bot must read
them the same way every time, fast, and without inventing dates out of prices or phone
numbers. General-purpose parsers (dateparser, duckling) are either slow, need a server,
or read "5000" as the year 5000 and "5 декабря в 11" as 5 December 2111. So the common
shapes are handled by the small rule set below, and `dateparser` is only asked about
leftover text that still contains a month name and a digit, and its answers are checked.

Conventions (the caller — availability, qualification — decides what to do with them):

* Every result is an aware datetime in the timezone of ``now``.
* A date without a time is the interval 00:00-24:00 of that date.
* Parts of day: morning 09-12, day ("днём") 12-17, afternoon/"после обеда" 13-17,
  lunch ("в обед") 12-14, evening 17-21.
* A bare weekday ("в пятницу", "on friday") is the next such day strictly after today;
  "this friday"/"в эту пятницу" may be today; "next friday"/"в следующую пятницу" is the
  Friday of next calendar week (weeks start on Monday).
* A day and month without a year is the next occurrence (today included), unless that day
  passed within the last two months: "2 декабря" said on 4 December is a slip to point out
  (the processes refuse a past date), not a wish for December next year.
* A clock time or part of day without a date is today if it has not passed yet,
  otherwise tomorrow; unless the conversation is about a day (``on_day``: the bot just
  offered Thursday's times), then it is on that day ("в 11" = Thursday 11:00).
* Anything else in the past ("вчера", "сегодня в 9" said at 22:40, "15.03.2020") is
  returned as it is: this module never moves a date the customer named.
* A bare hour 1-7 without am/pm or "утра"/"вечера" means the afternoon ("в 3" = 15:00),
  because nobody books home services at 3 a.m.; hours written with a leading zero
  ("03:00") are taken literally.
* "15.03" is a date (15 March); after "в"/"at"/"к"/"с"/"до"/"после" a dot separates
  minutes ("в 10.12" = 10:12), and "15.30" is a time because there is no month 30.
  "03/04" is month-first only when ``lang`` is "en".
* A bare number is never a time ("5000", "60 м2", "в 3 комнатах"); "10-12" and "завтра 10"
  count only next to a date.

Nothing here imports Rasa, so the parser is usable and testable on its own.
"""
from __future__ import annotations

import calendar
import re
import threading
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

__all__ = ["When", "parse_when", "warm_up"]


# --------------------------------------------------------------------------------------
# public result type


@dataclass(frozen=True)
class When:
    """One time expression found in a text.

    ``start``/``end`` are aware datetimes in the timezone of ``now``. For an instant,
    ``end == start``. ``span_start``/``span_end`` are character offsets into the text
    that was parsed, ``text`` is that substring. ``daily_window`` is set for expressions
    like "any morning next week": the interval spans the whole week, and only the hours
    in the window (local time, (start, end)) are meant on each day.
    """

    start: datetime
    end: datetime
    span_start: int
    span_end: int
    text: str
    grain: str  # "instant" | "interval"
    daily_window: Optional[Tuple[time, time]] = None

    @property
    def span(self) -> Tuple[int, int]:
        """The (start, end) character offsets of the expression."""
        return self.span_start, self.span_end

    def iso(self) -> str:
        """ISO 8601 value: an instant, or ``start/end`` for an interval."""
        if self.grain == "instant":
            return self.start.isoformat()
        return f"{self.start.isoformat()}/{self.end.isoformat()}"


# --------------------------------------------------------------------------------------
# vocabulary (all lower case, "ё" written as "е")

_TYPOS: Dict[str, str] = {
    # ru
    "завтар": "завтра", "завтро": "завтра", "завта": "завтра", "заврта": "завтра",
    "зватра": "завтра", "завтраа": "завтра", "зафтра": "завтра", "завтрв": "завтра",
    "послезавтро": "послезавтра", "послезавтар": "послезавтра", "послезавта": "послезавтра",
    "сегодя": "сегодня", "сегоня": "сегодня", "седня": "сегодня", "сення": "сегодня",
    "севодня": "сегодня", "сиводня": "сегодня", "сегодн": "сегодня", "сегодяя": "сегодня",
    "сдня": "сегодня", "сёдня": "сегодня", "пятнцу": "пятницу", "пятницк": "пятницу",
    "понедельнк": "понедельник", "понеделник": "понедельник", "четвер": "четверг",
    "субботк": "субботу", "суботу": "субботу", "субота": "суббота", "вторнк": "вторник",
    "воскресение": "воскресенье", "воскресенье": "воскресенье", "вечеом": "вечером",
    "вечеро": "вечером", "утрм": "утром", "выходых": "выходных", "выхи": "выходные",
    "выхах": "выходных", "следуюшей": "следующей", "следуюшую": "следующую",
    # en
    "tommorow": "tomorrow", "tomorow": "tomorrow", "tommorrow": "tomorrow",
    "tomorrw": "tomorrow", "tomrrow": "tomorrow", "tmrw": "tomorrow", "tmr": "tomorrow",
    "tmrrw": "tomorrow", "2morrow": "tomorrow", "2moro": "tomorrow", "tomoro": "tomorrow",
    "tomorro": "tomorrow", "todya": "today", "2day": "today", "tonite": "tonight",
    "wensday": "wednesday", "wednsday": "wednesday", "wedensday": "wednesday",
    "thurday": "thursday", "thursay": "thursday", "thrusday": "thursday",
    "firday": "friday", "fridy": "friday", "frday": "friday", "saturady": "saturday",
    "satruday": "saturday", "sunady": "sunday", "monady": "monday", "tuseday": "tuesday",
    "tuesdy": "tuesday", "weeknd": "weekend", "weekedn": "weekend", "evning": "evening",
    "evenning": "evening", "mornign": "morning", "morining": "morning",
    "afternon": "afternoon", "aftrenoon": "afternoon",
}

_WEEKDAYS: Dict[str, int] = {}
for _idx, _forms in enumerate(
    [
        "понедельник понедельника понедельнику понедельникам пн monday mondays mon",
        "вторник вторника вторнику вторникам вт tuesday tuesdays tue tues",
        "среда среду среды среде средам ср wednesday wednesdays wed",
        "четверг четверга четвергу четвергам чт thursday thursdays thu thur thurs",
        "пятница пятницу пятницы пятнице пятницам пт friday fridays fri",
        "суббота субботу субботы субботе субботам сб saturday saturdays sat",
        "воскресенье воскресенья воскресенью воскресеньям вс вскр sunday sundays sun",
    ]
):
    for _f in _forms.split():
        _WEEKDAYS[_f] = _idx
# short English forms collide with words ("sat", "sun", "wed", "mon"): they only count
# after "on"/"next"/"this" or right before a time.
_WEAK_WEEKDAYS = {"mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun"}

_MONTHS: Dict[str, int] = {}
for _idx, _forms in enumerate(
    [
        "января январь январе янв january jan",
        "февраля февраль феврале фев февр february feb",
        "марта март марте мар march mar",
        "апреля апрель апреле апр april apr",
        "мая май мае may",
        "июня июнь июне июн june jun",
        "июля июль июле июл july jul",
        "августа август августе авг august aug",
        "сентября сентябрь сентябре сен сент september sep sept",
        "октября октябрь октябре окт october oct",
        "ноября ноябрь ноябре ноя нояб november nov",
        "декабря декабрь декабре дек december dec",
    ],
    start=1,
):
    for _f in _forms.split():
        _MONTHS[_f] = _idx

_WORD_NUMBERS: Dict[str, int] = {
    "один": 1, "одного": 1, "одна": 1, "одну": 1, "два": 2, "две": 2, "двух": 2,
    "три": 3, "трех": 3, "четыре": 4, "четырех": 4, "пять": 5, "пяти": 5, "шесть": 6,
    "шести": 6, "семь": 7, "семи": 7, "восемь": 8, "восьми": 8, "девять": 9, "девяти": 9,
    "десять": 10, "десяти": 10, "одиннадцать": 11, "одиннадцати": 11, "двенадцать": 12,
    "двенадцати": 12,
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}

_ORDINALS: Dict[str, int] = {}
for _n, _forms in enumerate(
    [
        "первое первого first", "второе второго second", "третье третьего third",
        "четвертое четвертого fourth", "пятое пятого fifth", "шестое шестого sixth",
        "седьмое седьмого seventh", "восьмое восьмого eighth", "девятое девятого ninth",
        "десятое десятого tenth", "одиннадцатое одиннадцатого eleventh",
        "двенадцатое двенадцатого twelfth", "тринадцатое тринадцатого thirteenth",
        "четырнадцатое четырнадцатого fourteenth", "пятнадцатое пятнадцатого fifteenth",
        "шестнадцатое шестнадцатого sixteenth", "семнадцатое семнадцатого seventeenth",
        "восемнадцатое восемнадцатого eighteenth", "девятнадцатое девятнадцатого nineteenth",
        "двадцатое двадцатого twentieth",
    ],
    start=1,
):
    for _f in _forms.split():
        _ORDINALS[_f] = _n
for _f in ("тридцатое", "тридцатого", "thirtieth"):
    _ORDINALS[_f] = 30
_TENS = {"двадцать": 20, "twenty": 20, "тридцать": 30, "thirty": 30}

_HOUR_WORDS = {"час", "часа", "часов", "ч", "h", "hr", "hrs", "oclock"}
_RU_MERIDIEM = {"утра": "morning", "дня": "day", "вечера": "evening", "ночи": "night"}
_EN_MERIDIEM = {"am": "am", "pm": "pm"}
_EN_PART_MERIDIEM = {"night": "night", "morning": "morning", "afternoon": "day",
                     "evening": "evening"}

# A number followed by one of these is a quantity, not a time ("в 3 комнатах", "60 м2").
_UNIT_PREFIXES = (
    "комнат", "окн", "окон", "этаж", "метр", "квадрат", "кв", "м2", "м²", "руб", "тыс",
    "шт", "штук", "человек", "чел", "процент", "раз", "год", "лет", "км", "кг", "сот",
    "сан", "балкон", "room", "bedroom", "bathroom", "window", "floor",
    "sq", "ft", "meter", "metre", "dollar", "usd", "eur", "rub", "percent", "times",
    "year", "item", "piece", "people", "person", "sofa", "chair", "диван", "кресл",
    "стул", "предмет", "позиц", "кухн", "ванн", "санузл", "дн", "недел", "месяц", "мин",
)
_UNIT_EXACT = {"м", "m", "р", "k", "к", "%", "$", "€", "₽", "x", "х", "лет", "г"}

# Tokens that may sit between two parts of one expression ("завтра, в 15:00").
_CONNECTORS = {
    ",", "в", "во", "на", "at", "on", "the", "of", "any", "любое", "любой", "любую",
    "любые", "around", "около", "примерно", "где", "-", "то", "где-то", "можно", "лучше",
    "удобно", "желательно", "preferably", "ideally", "please", "пожалуйста", "ok", "ок",
    "часов", "часа", "maybe", "может", "наверное", "например", "say", "скажем", "also",
}

_PREP_AT = {"в", "во", "к", "at", "around", "около", "by", "approximately", "примерно", "ближе"}
_PREP_FROM = {"с", "со", "от", "from", "between"}
_PREP_TO = {"до", "по", "to", "till", "until", "and", "-", "–", "—", "и"}
_PREP_AFTER = {"после", "after", "позже", "позднее"}
_PREP_BEFORE = {"до", "before", "until", "till", "раньше"}

_ORDINAL_SUFFIX = {"th", "st", "nd", "rd", "го", "е", "ое", "ого"}

# part-of-day windows, hours
_POD = {
    "morning": (9, 12),
    "day": (12, 17),
    "lunch": (12, 14),
    "afternoon": (13, 17),
    "evening": (17, 21),
}
# meridiem implied by a part of day, for "вечером в 7"
_POD_MERIDIEM = {"morning": "morning", "day": "day", "lunch": "day", "afternoon": "day",
                 "evening": "evening"}

# phrase -> (pod name, today?, strong?, any?)
_POD_PHRASES: List[Tuple[Tuple[str, ...], str, bool, bool, bool]] = [
    (("в", "первой", "половине", "дня"), "morning", False, True, False),
    (("во", "второй", "половине", "дня"), "afternoon", False, True, False),
    (("ближе", "к", "вечеру"), "evening", False, True, False),
    (("in", "the", "morning"), "morning", False, True, False),
    (("in", "the", "afternoon"), "afternoon", False, True, False),
    (("in", "the", "evening"), "evening", False, True, False),
    (("после", "обеда"), "afternoon", False, True, False),
    (("после", "обед"), "afternoon", False, True, False),
    (("после", "полудня"), "afternoon", False, True, False),
    (("до", "обеда"), "morning", False, True, False),
    (("в", "обед"), "lunch", False, True, False),
    (("к", "вечеру"), "evening", False, True, False),
    (("с", "утра"), "morning", False, True, False),
    (("по", "утрам"), "morning", False, True, True),
    (("по", "вечерам"), "evening", False, True, True),
    (("любое", "утро"), "morning", False, True, True),
    (("любой", "вечер"), "evening", False, True, True),
    (("any", "morning"), "morning", False, True, True),
    (("any", "afternoon"), "afternoon", False, True, True),
    (("any", "evening"), "evening", False, True, True),
    (("this", "morning"), "morning", True, True, False),
    (("this", "afternoon"), "afternoon", True, True, False),
    (("this", "evening"), "evening", True, True, False),
    (("after", "lunch"), "afternoon", False, True, False),
    (("before", "lunch"), "morning", False, True, False),
    (("at", "lunch"), "lunch", False, True, False),
    (("at", "lunchtime"), "lunch", False, True, False),
    (("утром",), "morning", False, True, False),
    (("утречком",), "morning", False, True, False),
    (("днем",), "day", False, True, False),
    (("вечером",), "evening", False, True, False),
    (("вечерком",), "evening", False, True, False),
    (("пополудни",), "afternoon", False, True, False),
    (("tonight",), "evening", True, True, False),
    (("mornings",), "morning", False, True, True),
    (("evenings",), "evening", False, True, True),
    (("lunchtime",), "lunch", False, True, False),
    # nouns: only with a date next to them ("завтра утро", "tomorrow morning")
    (("утро",), "morning", False, False, False),
    (("вечер",), "evening", False, False, False),
    (("morning",), "morning", False, False, False),
    (("afternoon",), "afternoon", False, False, False),
    (("evening",), "evening", False, False, False),
]
_GREETING_WORDS = {"добрый", "доброе", "доброго", "good", "хорошего", "хорошей", "nice",
                   "приятного", "have"}

_RELATIVE_DAYS: List[Tuple[Tuple[str, ...], int]] = [
    (("the", "day", "after", "tomorrow"), 2),
    (("day", "after", "tomorrow"), 2),
    (("the", "day", "before", "yesterday"), -2),
    (("day", "before", "yesterday"), -2),
    (("после", "завтра"), 2),
    (("послезавтра",), 2),
    (("позавчера",), -2),
    (("сегодня",), 0),
    (("завтра",), 1),
    (("вчера",), -1),
    (("today",), 0),
    (("tomorrow",), 1),
    (("yesterday",), -1),
]

_MOD_NEXT = {"следующий", "следующую", "следующее", "следующей", "следующем", "следующая",
             "следующие", "следующих", "след", "будущий", "будущую", "будущей", "будущем",
             "будущие", "будущих", "next"}
_MOD_THIS = {"этот", "эту", "это", "эта", "этой", "этом", "эти", "этих", "this", "сей"}
_MOD_COMING = {"ближайший", "ближайшую", "ближайшее", "ближайшей", "ближайшем",
               "ближайшие", "ближайших", "coming", "upcoming"}
_MOD_LAST = {"прошлый", "прошлую", "прошлое", "прошлой", "прошлом", "прошедший", "last",
             "past"}
_DATE_PREP = {"в", "во", "на", "on", "for", "к", "by", "до", "until", "till", "before",
              "по", "over", "at", "during", "the"}
_PLAIN_PREPS = {"в", "во", "на", "on", "at", "in", "for"}
_BY_PREP = {"к", "by", "до", "until", "till", "before"}

_DUR_UNITS: Dict[str, str] = {}
for _unit, _forms in {
    "minutes": "мин минут минуту минуты минутку минуток minute minutes min mins",
    "hours": "час часа часов ч hour hours hr hrs h",
    "days": "день дня дней сутки суток day days",
    "weeks": "неделю недели недель неделька недельку week weeks",
    "months": "месяц месяца месяцев month months",
}.items():
    for _f in _forms.split():
        _DUR_UNITS[_f] = _unit

# Indexes for speed: a long message is mostly words that cannot start an expression.
_POD_FIRST: Dict[str, List[Tuple[Tuple[str, ...], str, bool, bool, bool]]] = {}
for _row in _POD_PHRASES:
    _POD_FIRST.setdefault(_row[0][0], []).append(_row)
_RELATIVE_FIRST: Dict[str, List[Tuple[Tuple[str, ...], int]]] = {}
for _rel in _RELATIVE_DAYS:
    _RELATIVE_FIRST.setdefault(_rel[0][0], []).append(_rel)
_STARTERS = frozenset(
    {"через", "in", "within", "about", "часов", "часа", "примерно", "около", "ближе", "at",
     "где", "полдень", "noon", "midday", "полночь", "midnight", "выходные", "выходных",
     "выходным", "weekend", "weekends", "неделе", "неделю", "week", "месяце", "month"}
    | set(_WEEKDAYS) | set(_MONTHS) | set(_ORDINALS) | set(_TENS) | set(_WORD_NUMBERS)
    | set(_POD_FIRST) | set(_RELATIVE_FIRST) | _GREETING_WORDS
    | _DATE_PREP | _PREP_AT | _PREP_FROM | _PREP_AFTER | _PREP_BEFORE
    | _MOD_NEXT | _MOD_THIS | _MOD_COMING | _MOD_LAST
)

_MONTH_HINT_RE = re.compile(
    r"(?i)\b(янв|фев|мар|апр|ма[йя]|июн|июл|авг|сен|окт|ноя|дек|jan|feb|mar|apr|may|jun|"
    r"jul|aug|sep|oct|nov|dec)[a-zа-я]*\.?"
)
# a day written as a word: "fifth", "twenty-first", "пятое", "двадцать первого"
_ORDINAL_WORD_RE = re.compile(
    r"(?i)\b(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|"
    r"twelfth|\w+teenth|twentieth|thirtieth|"
    r"(перв|втор|трет|четверт|пят|шест|седьм|восьм|девят|десят|\w+надцат|двадцат|тридцат)"
    r"(ое|ого|ье|ьего|ья|ему|ьему))\b"
)
_TOKEN_RE = re.compile(r"\d+|[^\W\d_]+|[^\w\s]")


# --------------------------------------------------------------------------------------
# tokens and pieces


@dataclass(frozen=True)
class _Tok:
    w: str  # normalised lower-case text
    start: int
    end: int
    num: bool


@dataclass
class _Clock:
    """An hour[:minute] as written, before am/pm is settled."""

    hour: int
    minute: int = 0
    mer: Optional[str] = None  # am pm morning day evening night
    literal: bool = False  # 24-hour or leading zero: take as written
    has_minutes: bool = False
    has_hour_word: bool = False

    @property
    def strong(self) -> bool:
        """Written so that it cannot be a plain number."""
        if self.has_minutes or self.literal and self.has_hour_word:
            return True
        if self.mer in ("am", "pm", "morning", "evening", "night"):
            return True
        return self.mer == "day" and self.has_hour_word


@dataclass
class _Piece:
    kind: str  # date | time | pod | instant
    i: int  # first token
    j: int  # token after the last one
    strong: bool = True
    # date
    d0: Optional[date] = None
    d1: Optional[date] = None  # exclusive
    by: bool = False
    weekday: Optional[int] = None  # set for "в пятницу": may merge with "4 декабря"
    # time: mode at | range | after | before
    mode: str = "at"
    c1: Optional[_Clock] = None
    c2: Optional[_Clock] = None
    # pod
    pod: Optional[str] = None
    pod_today: bool = False
    any_day: bool = False
    # instant
    dt: Optional[datetime] = None
    duration: bool = False  # "через 2 часа", "in 3 days": the lead word carries meaning


def _norm(word: str) -> str:
    w = word.lower().replace("ё", "е")
    return _TYPOS.get(w, w)


def _tokenize(text: str) -> List[_Tok]:
    toks: List[_Tok] = []
    for m in _TOKEN_RE.finditer(text):
        raw = m.group()
        toks.append(_Tok(_norm(raw), m.start(), m.end(), raw.isdigit()))
    # glue "o'clock"/"o’clock" and "a.m."/"p.m." so the rules see one word
    out: List[_Tok] = []
    k = 0
    while k < len(toks):
        t = toks[k]
        if (
            t.w == "o"
            and k + 2 < len(toks)
            and toks[k + 1].w in ("'", "’")
            and toks[k + 2].w == "clock"
        ):
            out.append(_Tok("oclock", t.start, toks[k + 2].end, False))
            k += 3
            continue
        if (
            t.w in ("a", "p")
            and k + 2 < len(toks)
            and toks[k + 1].w == "."
            and toks[k + 2].w == "m"
            and toks[k + 1].start == t.end
        ):
            end = toks[k + 2].end
            skip = 3
            if k + 3 < len(toks) and toks[k + 3].w == "." and toks[k + 3].start == end:
                end = toks[k + 3].end
                skip = 4
            out.append(_Tok(t.w + "m", t.start, end, False))
            k += skip
            continue
        out.append(t)
        k += 1
    return out


# --------------------------------------------------------------------------------------
# the parser


class _Parser:
    def __init__(self, text: str, now: datetime, lang: Optional[str], on_day: Optional[date] = None) -> None:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        self.text = text
        self.now = now
        self.on_day = on_day
        self.tz: tzinfo = now.tzinfo  # type: ignore[assignment]
        self.today = now.date()
        self.lang = lang
        self.toks = _tokenize(text)

    # -- token helpers ----------------------------------------------------------------

    def w(self, i: int) -> str:
        return self.toks[i].w if 0 <= i < len(self.toks) else ""

    def num(self, i: int) -> Optional[int]:
        if 0 <= i < len(self.toks) and self.toks[i].num:
            return int(self.toks[i].w)
        return None

    def ndigits(self, i: int) -> int:
        return len(self.toks[i].w) if 0 <= i < len(self.toks) and self.toks[i].num else 0

    def glued(self, i: int) -> bool:
        """Token i+1 follows token i without a space."""
        return 0 <= i < len(self.toks) - 1 and self.toks[i].end == self.toks[i + 1].start

    def phrase(self, i: int, words: Sequence[str]) -> bool:
        return all(self.w(i + k) == words[k] for k in range(len(words)))

    def is_unit(self, i: int) -> bool:
        w = self.w(i)
        if not w:
            return False
        if w in _UNIT_EXACT:
            return True
        return any(w.startswith(p) for p in _UNIT_PREFIXES)

    # -- clock atoms ------------------------------------------------------------------

    def clock(self, i: int, prep: bool = False) -> Optional[Tuple[_Clock, int]]:
        """An hour, optional minutes, hour word and am/pm starting at token i."""
        w = self.w(i)
        if w in ("полдень", "noon", "midday"):
            return _Clock(12, 0, literal=True, has_hour_word=True, has_minutes=True), i + 1
        if w in ("полночь", "midnight"):
            return _Clock(24, 0, literal=True, has_hour_word=True, has_minutes=True), i + 1
        j = i + 1
        if self.num(i) is not None:
            if self.ndigits(i) > 2:
                return None
            c = _Clock(self.num(i) or 0)
            if c.hour > 24:
                return None
            c.literal = c.hour >= 13 or c.hour == 0 or (self.ndigits(i) == 2 and w[0] == "0")
            if (
                self.w(j) in (":", ".")
                and self.glued(i)
                and self.glued(j)
                and self.ndigits(j + 1) == 2
            ):
                minute = self.num(j + 1) or 0
                if minute > 59:
                    return None
                c.minute = minute
                c.has_minutes = True
                j += 2
            elif (
                prep
                and self.ndigits(j) == 2
                and (self.num(j) or 0) <= 59
                and not self.is_unit(j + 1)
                and self.w(j + 1) not in ("-", "–", "—", ".", "/", ":")
            ):
                # "в 11 00", "at 5 10 pm": minutes after a space, only after a preposition
                c.minute = self.num(j) or 0
                c.has_minutes = True
                j += 1
            if c.hour == 24 and not c.has_minutes:
                return None  # "24" alone is a count ("24-72 hours"), "24:00" is a time
        elif w in _WORD_NUMBERS:
            c = _Clock(_WORD_NUMBERS[w])
        elif w == "час" and prep:
            c = _Clock(1, has_hour_word=True)
        else:
            return None
        if self.w(j) in _HOUR_WORDS and not (w == "час"):
            c.has_hour_word = True
            j += 1
        if self.w(j) in _EN_MERIDIEM:
            if not 1 <= c.hour <= 12:
                return None
            c.mer = _EN_MERIDIEM[self.w(j)]
            j += 1
        elif self.w(j) in _RU_MERIDIEM:
            c.mer = _RU_MERIDIEM[self.w(j)]
            j += 1
        elif self.w(j) in _EN_PART_MERIDIEM:  # "at 2:10 night", "17 afternoon"
            c.mer = _EN_PART_MERIDIEM[self.w(j)]
            j += 1
        if c.hour == 24 and (c.minute or c.mer):
            return None
        return c, j

    # -- recognisers ------------------------------------------------------------------
    # each returns a _Piece (with .j = next token) or None

    def r_duration(self, i: int) -> Optional[_Piece]:
        w = self.w(i)
        if w not in ("через", "in", "within"):
            return None
        j = i + 1
        amount: Optional[float] = None
        if self.w(j) == "полчаса":
            return self._dur_piece(i, j + 1, 30, "minutes")
        if self.phrase(j, ("half", "an", "hour")):
            return self._dur_piece(i, j + 3, 30, "minutes")
        if self.w(j) in ("a", "an", "one") and self.w(j + 1) in ("couple", "few"):
            j += 1
        if self.w(j) in ("couple", "пару", "пары", "парочку"):
            amount = 2
            j += 1
            if self.w(j) == "of":
                j += 1
        elif self.w(j) in ("полтора", "полторы"):
            amount = 1.5
            j += 1
        elif self.num(j) is not None and self.ndigits(j) <= 3:
            amount = self.num(j)
            j += 1
        elif self.w(j) in _WORD_NUMBERS:
            amount = _WORD_NUMBERS[self.w(j)]
            j += 1
        elif self.w(j) in ("a", "an"):
            amount = 1
            j += 1
        unit = _DUR_UNITS.get(self.w(j))
        if unit is None:
            return None
        if amount is None:
            if w != "через":
                return None
            amount = 1
        if w == "within":
            return None
        return self._dur_piece(i, j + 1, amount, unit)

    def _dur_piece(self, i: int, j: int, amount: float, unit: str) -> Optional[_Piece]:
        if unit in ("minutes", "hours"):
            minutes = amount * (60 if unit == "hours" else 1)
            dt = (self.now + timedelta(minutes=minutes)).replace(second=0, microsecond=0)
            return _Piece("instant", i, j, dt=dt, duration=True)
        if unit == "days":
            d = self.today + timedelta(days=int(amount))
        elif unit == "weeks":
            d = self.today + timedelta(days=int(round(amount * 7)))
        else:
            d = _add_months(self.today, int(amount))
        return _Piece("date", i, j, d0=d, d1=d + timedelta(days=1), duration=True)

    def r_date_range(self, i: int) -> Optional[_Piece]:
        """ "с 5 по 7 декабря", "5-7 декабря", "from 5 to 7 December": whole days."""
        j = i + 1 if self.w(i) in ("с", "со", "from", "between") else i
        if self.num(j) is None or self.ndigits(j) > 2:
            return None
        a = self.num(j) or 0
        j += 1
        if self.w(j) in ("-",) and self.w(j + 1) in _ORDINAL_SUFFIX:
            j += 2
        if self.w(j) not in ("по", "до", "-", "–", "—", "to", "and", "till", "until"):
            return None
        j += 1
        if self.num(j) is None or self.ndigits(j) > 2:
            return None
        b = self.num(j) or 0
        j += 1
        if self.w(j) == "-" and self.w(j + 1) in _ORDINAL_SUFFIX:
            j += 2
        elif self.w(j) in _ORDINAL_SUFFIX and self.glued(j - 1):
            j += 1
        if self.w(j) == "of":
            j += 1
        month = _MONTHS.get(self.w(j))
        if month is None or not 1 <= a < b <= 31:
            return None
        j += 1
        year: Optional[int] = None
        if self.ndigits(j) == 4:
            year = self.num(j)
            j += 1
        # the next occurrence is decided by the last day: "с 1 по 5 декабря" said on the
        # 3rd is this week, not next year
        last = self._date_piece(i, j, year, month, b)
        if last is None or last.d0 is None:
            return None
        return _Piece("date", i, j, d0=last.d0.replace(day=a), d1=last.d0 + timedelta(days=1))

    def r_numeric_date(self, i: int) -> Optional[_Piece]:
        a = self.num(i)
        if a is None:
            return None
        sep = self.w(i + 1)
        if sep not in (".", "/", "-") or not self.glued(i) or not self.glued(i + 1):
            return None
        b = self.num(i + 2)
        if b is None:
            return None
        j = i + 3
        third = (
            self.w(j) == sep and self.glued(j - 1) and self.glued(j) and self.num(j + 1) is not None
        )
        if self.ndigits(i) == 4:  # 2026-12-15 / 2026.12.15 / 2026/12/15
            if not third or self.ndigits(i + 2) > 2 or self.ndigits(j + 1) > 2:
                return None
            return self._date_piece(i, j + 2, a, b, self.num(j + 1) or 0)
        year: Optional[int] = None
        ydigits = 0
        if third:
            year = self.num(j + 1)
            ydigits = self.ndigits(j + 1)
            j += 2
            if ydigits == 2:
                year = 2000 + (year or 0)
            elif ydigits != 4:
                return None
        if sep == "-" and ydigits != 4:
            return None  # "10-12" is a range of hours or a quantity; "15-03-2026" is a date
        if self.ndigits(i) > 2 or self.ndigits(i + 2) > 2:
            return None
        if sep == ".":
            d, m = a, b
            # "в 15.30" / "at 10.15": a time written with a dot
            if (
                year is None
                and self.w(i - 1) in _PREP_AT | _PREP_AFTER | _PREP_FROM | {"до"}
                and a <= 23
                and self.ndigits(i + 2) == 2
            ):
                return None
        else:  # "/": month first in English, day first otherwise
            if a > 12:
                d, m = a, b
            elif b > 12:
                m, d = a, b
            elif self.lang == "en":
                m, d = a, b
            else:
                d, m = a, b
        return self._date_piece(i, j, year, m, d)

    def _date_piece(
        self, i: int, j: int, year: Optional[int], month: int, day: int
    ) -> Optional[_Piece]:
        if not (1 <= month <= 12 and 1 <= day <= 31):
            return None
        if year is None:
            d = _next_occurrence(self.today, month, day)
            if d is None:
                return None
        else:
            if not 1900 <= year <= 2200:
                return None
            try:
                d = date(year, month, day)
            except ValueError:
                return None
        return _Piece("date", i, j, d0=d, d1=d + timedelta(days=1))

    def ordinal(self, i: int) -> Optional[Tuple[int, int]]:
        """A day written as a word: "пятое", "twenty-first", "двадцать пятого"."""
        w = self.w(i)
        if w in _ORDINALS:
            return _ORDINALS[w], i + 1
        if w in _TENS:
            k = i + 1 + (1 if self.w(i + 1) == "-" else 0)
            unit = _ORDINALS.get(self.w(k))
            if unit is not None and unit <= 9 and _TENS[w] + unit <= 31:
                return _TENS[w] + unit, k + 1
        return None

    def r_day_month(self, i: int) -> Optional[_Piece]:
        # 5 декабря / 5-го декабря / 5th of December / December 5th / Dec. 5, 2027
        day: Optional[int] = None
        month: Optional[int] = None
        j = i
        ordinal = self.ordinal(i)
        if self.num(i) is not None and self.ndigits(i) <= 2 or ordinal is not None:
            if ordinal is not None:
                day, j = ordinal
            else:
                day = self.num(i)
                j = i + 1
            if self.w(j) == "-" and self.w(j + 1) in _ORDINAL_SUFFIX:
                j += 2
            elif self.w(j) in _ORDINAL_SUFFIX and self.glued(i):
                j += 1
            if self.w(j) == "of":
                j += 1
            if self.w(j) in _MONTHS:
                month = _MONTHS[self.w(j)]
                j += 1
                if self.w(j) == "." and self.glued(j - 1):
                    j += 1
            else:
                return None
        elif self.w(i) in _MONTHS:
            month = _MONTHS[self.w(i)]
            j = i + 1
            if self.w(j) == "." and self.glued(i):
                j += 1
            if self.w(j) == "the":
                j += 1
            ordinal = self.ordinal(j)
            if ordinal is not None:
                day, j = ordinal
            elif self.num(j) is None or self.ndigits(j) > 2:
                return None
            else:
                day = self.num(j)
                j += 1
            if self.w(j) in _ORDINAL_SUFFIX and self.glued(j - 1):
                j += 1
        else:
            return None
        year: Optional[int] = None
        k = j
        if self.w(k) == ",":
            k += 1
        if self.ndigits(k) == 4:
            year = self.num(k)
            j = k + 1
            if self.w(j) in ("г", "года", "год", "году"):
                j += 1
                if self.w(j) == "." and self.glued(j - 1):
                    j += 1
        if day is None or month is None:
            return None
        return self._date_piece(i, j, year, month, day)

    def r_day_of_month(self, i: int) -> Optional[_Piece]:
        # "15-го", "15 числа", "на 15-е", "the 15th"
        if self.num(i) is None or self.ndigits(i) > 2:
            return None
        day = self.num(i) or 0
        j = i + 1
        if self.w(j) == "-" and self.w(j + 1) in ("го", "е", "ое") and self.glued(i):
            j += 2
            if self.w(j) == "числа":
                j += 1
        elif self.w(j) == "числа":
            j += 1
        elif self.w(j) in ("th", "st", "nd", "rd") and self.glued(i) and self.w(i - 1) == "the":
            j += 1
        else:
            return None
        if self.is_unit(j):
            return None
        if not 1 <= day <= 31:
            return None
        d = self.today
        for _ in range(3):
            try:
                cand = d.replace(day=day)
            except ValueError:
                cand = None
            if cand is not None and cand >= self.today:
                return _Piece("date", i, j, d0=cand, d1=cand + timedelta(days=1))
            d = _add_months(d.replace(day=1), 1)
        return None

    def r_relative_day(self, i: int) -> Optional[_Piece]:
        for words, offset in _RELATIVE_FIRST.get(self.w(i), ()):
            if self.phrase(i, words):
                j = i + len(words)
                if words == ("после", "завтра") and self.w(j - 1) != "завтра":
                    return None
                d = self.today + timedelta(days=offset)
                return _Piece("date", i, j, d0=d, d1=d + timedelta(days=1))
        return None

    def r_weekday(self, i: int) -> Optional[_Piece]:
        j = i
        mod = None
        by = self.w(i) in _BY_PREP  # "до пятницы", "by friday": any day up to then
        while self.w(j) in _DATE_PREP and j < i + 2:
            j += 1
        if self.w(j) in _MOD_NEXT:
            mod = "next"
            j += 1
        elif self.w(j) in _MOD_THIS:
            mod = "this"
            j += 1
        elif self.w(j) in _MOD_COMING:
            mod = "coming"
            j += 1
        elif self.w(j) in _MOD_LAST:
            mod = "last"
            j += 1
        if self.w(j) == "же":
            j += 1
        w = self.w(j)
        if w not in _WEEKDAYS:
            return None
        if w in _WEAK_WEEKDAYS and j == i and mod is None:
            # "sat", "sun", "wed" alone are words; accept them before a time only
            k = j + 1
            while self.w(k) in (".", ",", "at", "в", "@") and k < j + 3:
                k += 1
            nxt = self.clock(k)
            if nxt is None or not nxt[0].strong:
                return None
        wd = _WEEKDAYS[w]
        j += 1
        if self.w(j) == "." and w in _WEAK_WEEKDAYS | {"пн", "вт", "ср", "чт", "пт", "сб", "вс"}:
            j += 1
        # "пятница следующей недели", "friday next week"
        if self.w(j) in _MOD_NEXT and self.w(j + 1) in ("недели", "week"):
            mod = "next"
            j += 2
        elif self.w(j) in _MOD_THIS and self.w(j + 1) in ("недели", "week"):
            mod = "this"
            j += 2
        elif self.w(j) in ("на", "в") and self.w(j + 2) in ("неделе", "неделю"):
            # "вторник на следующей неделе", "в среду на этой неделе"
            if self.w(j + 1) in _MOD_NEXT:
                mod = "next"
                j += 3
            elif self.w(j + 1) in _MOD_THIS:
                mod = "this"
                j += 3
        d = _weekday_date(self.today, wd, mod)
        if by and d is not None:
            return _Piece("date", i, j, d0=self.today, d1=d + timedelta(days=1), by=True)
        return _Piece("date", i, j, d0=d, d1=d + timedelta(days=1), weekday=wd)

    def r_week_weekend_month(self, i: int) -> Optional[_Piece]:
        j = i
        while self.w(j) in _DATE_PREP and j < i + 2:
            j += 1
        mod = None
        if self.w(j) in _MOD_NEXT:
            mod = "next"
            j += 1
        elif self.w(j) in _MOD_THIS | _MOD_COMING:
            mod = "this"
            j += 1
        w = self.w(j)
        today = self.today
        wd = today.weekday()
        monday_next = today + timedelta(days=7 - wd)
        if w in ("выходные", "выходных", "выходным", "weekend", "weekends"):
            if mod == "next":
                d0 = monday_next + timedelta(days=5)
            elif wd >= 5:
                d0 = today
            else:
                d0 = today + timedelta(days=5 - wd)
            d1 = d0 + timedelta(days=7 - d0.weekday())
            return _Piece("date", i, j + 1, d0=d0, d1=d1)
        if w in ("неделе", "неделю", "week"):
            if mod is None:
                if w == "week" or self.w(j - 1) != "на":
                    return None
                mod = "this"
            if mod == "next":
                return _Piece("date", i, j + 1, d0=monday_next, d1=monday_next + timedelta(days=7))
            return _Piece("date", i, j + 1, d0=today, d1=monday_next)
        if w in ("месяце", "month"):
            if mod is None:
                return None
            first_next = _add_months(today.replace(day=1), 1)
            if mod == "next":
                return _Piece("date", i, j + 1, d0=first_next, d1=_add_months(first_next, 1))
            return _Piece("date", i, j + 1, d0=today, d1=first_next)
        return None

    def r_pod(self, i: int) -> Optional[_Piece]:
        w = self.w(i)
        if w not in _POD_FIRST and w not in _GREETING_WORDS:
            return None
        if w in _GREETING_WORDS and self.w(i + 1) in (
            "утро", "вечер", "день", "morning", "evening", "afternoon", "вечера", "дня",
            "утра", "night", "day",
        ):
            # "добрый вечер", "good morning": a greeting, swallow it
            return _Piece("skip", i, i + 2)
        for words, name, today, strong, any_day in _POD_FIRST.get(w, ()):
            if self.phrase(i, words):
                return _Piece(
                    "pod", i, i + len(words), strong=strong, pod=name,
                    pod_today=today, any_day=any_day,
                )
        return None

    def r_time(self, i: int) -> Optional[_Piece]:
        w = self.w(i)
        # two-word lead-ins: "часов в 5", "примерно в 3", "где-то в 3", "ближе к 10", "at around 3"
        lead = i
        if w in ("часов", "часа", "примерно", "около", "ближе", "at", "где") and self.w(
            i + 1
        ) in ("в", "к", "around", "about", "-"):
            lead = i + 1
            if self.w(lead) == "-" and self.w(lead + 1) == "то" and self.w(lead + 2) == "в":
                lead += 2
        lw = self.w(lead)
        if lw in _PREP_FROM:
            got = self.clock(lead + 1, prep=True)
            if got is None:
                return None
            c1, k = got
            if self.w(k) in _PREP_TO and not (lw == "between" and self.w(k) != "and"):
                got2 = self.clock(k + 1, prep=True)
                if got2 is not None:
                    c2, k2 = got2
                    if self.is_unit(k2):
                        return None
                    return _Piece("time", i, k2, strong=True, mode="range", c1=c1, c2=c2)
            if lw in ("between",) or self.is_unit(k):
                return None
            return _Piece("time", i, k, strong=c1.strong, mode="after", c1=c1)
        if lw in _PREP_AFTER or lw in _PREP_BEFORE:
            got = self.clock(lead + 1, prep=True)
            if got is None:
                return None
            c1, k = got
            if self.is_unit(k):
                return None
            mode = "after" if lw in _PREP_AFTER else "before"
            return _Piece("time", i, k, strong=c1.strong, mode=mode, c1=c1)
        if lw in _PREP_AT or lw in ("about",):
            got = self.clock(lead + 1, prep=True)
            if got is None:
                return None
            c1, k = got
            if c1.hour > 23 and c1.hour != 24:
                return None
            if self.w(k) in ("-", "–", "—") and self.num(k + 1) is not None:
                got2 = self.clock(k + 1, prep=True)
                if got2 is not None and not self.is_unit(got2[1]):
                    return _Piece("time", i, got2[1], strong=True, mode="range", c1=c1, c2=got2[0])
                return None  # "about 24-72 hours", "в 3-5 комнатах"
            if self.is_unit(k):
                return None
            if self.w(k) in (".", "/") and self.glued(k - 1) and self.num(k + 1) is not None:
                return None
            return _Piece("time", i, k, strong=True, mode="at", c1=c1)
        got = self.clock(i)
        if got is None:
            return None
        c1, k = got
        if self.w(k) in ("-", "–", "—"):
            got2 = self.clock(k + 1)
            if got2 is not None and not self.is_unit(got2[1]):
                c2, k2 = got2
                if self.num(i) is not None or c2.mer:
                    return _Piece(
                        "time", i, k2, strong=c1.strong or c2.strong, mode="range", c1=c1, c2=c2
                    )
        if self.is_unit(k):
            return None
        if self.num(i) is None and not c1.has_minutes:
            return None  # "три" alone is not a time
        if self.w(k) in (".", "/", ":") and self.glued(k - 1) and self.num(k + 1) is not None:
            return None
        return _Piece("time", i, k, strong=c1.strong, mode="at", c1=c1)

    # -- main loop --------------------------------------------------------------------

    def pieces(self) -> List[_Piece]:
        recognisers: List[Callable[[int], Optional[_Piece]]] = [
            self.r_duration,
            self.r_date_range,
            self.r_numeric_date,
            self.r_day_month,
            self.r_relative_day,
            self.r_weekday,
            self.r_week_weekend_month,
            self.r_pod,
            self.r_day_of_month,
            self.r_time,
        ]
        out: List[_Piece] = []
        i = 0
        n = len(self.toks)
        while i < n:
            tok = self.toks[i]
            if not tok.num and tok.w not in _STARTERS:
                i += 1  # most words cannot begin a time expression: skip them cheaply
                continue
            for rec in recognisers:
                p = rec(i)
                if p is not None and p.j > i:
                    if p.kind != "skip":
                        out.append(p)
                    i = p.j
                    break
            else:
                i += 1
        return out

    def clusters(self, pieces: List[_Piece]) -> List[List[_Piece]]:
        groups: List[List[_Piece]] = []
        for p in pieces:
            if groups:
                g = groups[-1]
                last = g[-1]
                gap = [self.w(k) for k in range(last.j, p.i)]
                kinds = {q.kind for q in g}
                weak_same = [q for q in g if q.kind == p.kind and not q.strong and p.strong]
                if weak_same and len(gap) <= 3 and all(x in _CONNECTORS for x in gap):
                    # "for 2 tonight at 7:00": the bare "2" gives way to the real time
                    g.remove(weak_same[0])
                    g.append(p)
                    continue
                if len(gap) <= 1 and all(x in _CONNECTORS for x in gap):
                    merged = self._merge_dates(g, p)
                    if merged:
                        continue
                if (
                    len(gap) <= 3
                    and all(x in _CONNECTORS for x in gap)
                    and p.kind not in kinds
                    and "instant" not in kinds
                    and p.kind != "instant"
                ):
                    g.append(p)
                    continue
            groups.append([p])
        return groups

    def alone(self, p: _Piece) -> bool:
        """The piece is the whole message, give or take punctuation ("Вечер?", "evening!")."""
        outside = self.toks[: p.i] + self.toks[p.j :]
        return all(not (t.w[0].isalnum()) for t in outside)

    def _merge_dates(self, group: List[_Piece], p: _Piece) -> bool:
        """Fold "Monday, December 7" into one date when the weekday agrees with the date."""
        if p.kind != "date":
            return False
        q = next((x for x in group if x.kind == "date"), None)
        if q is None or q.d0 is None or p.d0 is None or q.by or p.by:
            return False
        if (q.d1 - q.d0).days != 1 or (p.d1 - p.d0).days != 1:  # type: ignore[operator]
            return False
        if q.weekday is not None and p.weekday is None and p.d0.weekday() == q.weekday:
            q.d0, q.d1, q.weekday = p.d0, p.d1, None
        elif p.weekday is not None and q.weekday is None and q.d0.weekday() == p.weekday:
            pass
        else:
            return False
        q.i, q.j = min(q.i, p.i), max(q.j, p.j)
        group.sort(key=lambda x: x.i)
        return True

    # -- resolution -------------------------------------------------------------------

    def at(self, d: date, hour: int, minute: int = 0) -> datetime:
        """An aware datetime for local wall time ``hour:minute`` on ``d`` (24 = next day)."""
        if hour >= 24:
            d = d + timedelta(days=1)
            hour -= 24
        naive = datetime.combine(d, time(hour, minute))
        localize = getattr(self.tz, "localize", None)
        if localize is not None:  # pytz
            return localize(naive)
        return naive.replace(tzinfo=self.tz)

    def resolve(self, group: List[_Piece]) -> Optional[When]:
        by_kind = {p.kind: p for p in group}
        if "instant" in by_kind:
            p = by_kind["instant"]
            return self._when(p.dt, p.dt, group, "instant")  # type: ignore[arg-type]
        dp = by_kind.get("date")
        tp = by_kind.get("time")
        pp = by_kind.get("pod")
        if tp is not None and not tp.strong and dp is None:
            tp = None  # a bare "2" or "10-12" only counts next to a date ("завтра 10-12")
        if pp is not None and not pp.strong and dp is None and tp is None and not self.alone(pp):
            pp = None
        used = [p for p in group if p is dp or p is tp or p is pp]
        if not used:
            return None

        mer_ctx = _POD_MERIDIEM.get(pp.pod) if pp is not None and pp.pod else None
        window: Optional[Tuple[Tuple[int, int], Tuple[int, int]]] = None
        instant: Optional[Tuple[int, int]] = None
        if tp is not None:
            c1 = _resolve_clock(tp.c1, mer_ctx) if tp.c1 else None
            if tp.mode == "range" and tp.c2 is not None and tp.c1 is not None:
                c2 = _resolve_clock(tp.c2, mer_ctx)
                if tp.c1.mer is None and not tp.c1.literal and tp.c2.mer:
                    c1 = _resolve_clock(tp.c1, tp.c2.mer)
                    if _minutes(c1) > _minutes(c2):
                        c1 = _resolve_clock(tp.c1, "am")
                if _minutes(c2) <= _minutes(c1) and c2[0] < 12:  # type: ignore[index]
                    c2 = (c2[0] + 12, c2[1])
                if _minutes(c2) <= _minutes(c1):
                    return None
                window = (c1, c2)  # type: ignore[assignment]
            elif tp.mode == "after":
                end = _POD[pp.pod][1] if pp is not None and pp.pod else 24
                if c1[0] >= end:  # type: ignore[index]
                    end = 24
                window = (c1, (end, 0))  # type: ignore[assignment]
            elif tp.mode == "before":
                start = _POD[pp.pod][0] if pp is not None and pp.pod else 0
                window = ((start, 0), c1)  # type: ignore[assignment]
                if _minutes(c1) <= start * 60:
                    window = ((0, 0), c1)  # type: ignore[assignment]
            else:
                instant = c1
        elif pp is not None and pp.pod:
            h0, h1 = _POD[pp.pod]
            window = ((h0, 0), (h1, 0))

        if dp is not None:
            d0, d1 = dp.d0, dp.d1
            assert d0 is not None and d1 is not None
        elif pp is not None and pp.pod_today:
            d0, d1 = self.today, self.today + timedelta(days=1)
        elif self.on_day is not None and self.on_day >= self.today:
            d0, d1 = self.on_day, self.on_day + timedelta(days=1)  # the day being discussed
        else:
            # no date: today if it is still ahead, else tomorrow
            d0 = self.today
            last = instant if instant is not None else (window[1] if window else (24, 0))
            if self.at(d0, *last) <= self.now:
                d0 = d0 + timedelta(days=1)
            d1 = d0 + timedelta(days=1)

        multi = (d1 - d0).days > 1
        if instant is not None:
            if not multi:
                dt = self.at(d0, *instant)
                return self._when(dt, dt, used, "instant")
            window = (instant, instant)
        if window is None:
            return self._when(self.at(d0, 0), self.at(d1, 0), used, "interval")
        (h0, m0), (h1, m1) = window
        last_day = d1 - timedelta(days=1)
        start = self.at(d0, h0, m0)
        end = self.at(last_day, h1, m1)
        daily = None
        if multi:
            daily = (_as_time(h0, m0), _as_time(h1, m1))
        return self._when(start, end, used, "interval", daily)

    def _when(
        self,
        start: datetime,
        end: datetime,
        pieces: List[_Piece],
        grain: str,
        daily: Optional[Tuple[time, time]] = None,
    ) -> When:
        i = min(p.i for p in pieces)
        j = max(p.j for p in pieces)
        first = min(pieces, key=lambda p: p.i)
        # the span leaves out a leading preposition that adds nothing ("в пятницу" ->
        # "пятницу", "at 3pm" -> "3pm"), like the annotations of bench/data/entities_*.yml;
        # meaningful ones stay ("после 15", "к 10", "by friday", "in 3 days", "через час")
        if j - i > 1 and self.w(i) in _PLAIN_PREPS and first.kind in ("date", "time") and not (
            first.duration
        ):
            i += 1
        s, e = self.toks[i].start, self.toks[j - 1].end
        return When(start, end, s, e, self.text[s:e], grain, daily)

    def run(self) -> Tuple[List[When], List[Tuple[int, int]]]:
        found: List[When] = []
        consumed: List[Tuple[int, int]] = []
        for group in self.clusters(self.pieces()):
            res = self.resolve(group)
            if res is not None:
                found.append(res)
                consumed.append(res.span)
        return found, consumed


# --------------------------------------------------------------------------------------
# helpers


def _as_time(h: int, m: int) -> time:
    return time(0, 0) if h >= 24 else time(h, m)


def _minutes(hm: Any) -> int:
    return hm[0] * 60 + hm[1]


def _resolve_clock(c: Optional[_Clock], mer_ctx: Optional[str]) -> Tuple[int, int]:
    """24-hour (hour, minute) for a written clock, using am/pm or the part of day."""
    assert c is not None
    h = c.hour
    if h == 24:
        return 24, 0
    mer = c.mer or (None if c.literal else mer_ctx)
    if c.literal and not c.mer:
        return h, c.minute
    if mer == "am":
        h = 0 if h == 12 else h
    elif mer == "pm":
        h = h if h == 12 else h + 12
    elif mer == "morning":
        pass
    elif mer == "day":
        h = h + 12 if 1 <= h <= 6 else h
    elif mer == "evening":
        h = h + 12 if h < 12 else h
    elif mer == "night":  # "в 2 ночи" = 02:00, "в 11 ночи"/"9 at night" = late evening
        h = 0 if h == 12 else (h + 12 if 8 <= h <= 11 else h)
    elif 1 <= h <= 7:
        h += 12
    return h, c.minute


def _add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


RECENT_PAST = timedelta(days=60)


def _next_occurrence(today: date, month: int, day: int) -> Optional[date]:
    """The next date (today included) with this month and day, or one that passed recently."""
    for year in (today.year - 1, today.year, today.year + 1, today.year + 2, today.year + 3, today.year + 4):
        try:
            d = date(year, month, day)
        except ValueError:
            continue  # 29 February
        if d >= today - RECENT_PAST:
            return d
    return None


def _weekday_date(today: date, wd: int, mod: Optional[str]) -> date:
    cur = today.weekday()
    if mod == "next":
        return today + timedelta(days=7 - cur + wd)
    if mod == "this":
        return today + timedelta(days=(wd - cur) % 7)
    if mod == "last":
        return today - timedelta(days=((cur - wd) % 7) or 7)
    return today + timedelta(days=((wd - cur) % 7) or 7)


# --------------------------------------------------------------------------------------
# dateparser fallback

_dp_lock = threading.Lock()
_dp_search: Optional[Callable[..., Any]] = None


def _dateparser_search() -> Callable[..., Any]:
    """Import dateparser once per process, on first need (it takes ~0.7 s)."""
    global _dp_search
    if _dp_search is None:
        with _dp_lock:
            if _dp_search is None:
                from dateparser.search import search_dates

                _dp_search = search_dates
    return _dp_search


def warm_up() -> None:
    """Pay dateparser's import and language loading now rather than on a customer's message."""
    now = datetime(2026, 1, 1, 12, 0).astimezone()
    _dateparser_fallback("5 декабря, December 5", now, None, [])


def _tz_name(tz: tzinfo, now: datetime) -> str:
    key = getattr(tz, "key", None) or getattr(tz, "zone", None)
    if key:
        return str(key)
    offset = now.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _dateparser_fallback(
    text: str, now: datetime, lang: Optional[str], consumed: List[Tuple[int, int]]
) -> List[When]:
    """Ask dateparser about text our rules left, only where a month name sits near a digit.

    Everything consumed by the rules (and whatever the caller masked: phones, prices) is
    blanked first, and each answer must contain a month word and a digit and fall within a
    few years of ``now``; that keeps "5000", "89161234567" and "60 м2" from becoming dates.
    """
    chars = list(text)
    for s, e in consumed:
        for k in range(s, e):
            chars[k] = " "
    rest = "".join(chars)
    if not _MONTH_HINT_RE.search(rest) or not (
        re.search(r"\d", rest) or _ORDINAL_WORD_RE.search(rest)
    ):
        return []
    search = _dateparser_search()
    languages = ["ru", "en"] if lang != "en" else ["en", "ru"]
    settings = {
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": now.replace(tzinfo=None),
        "TIMEZONE": _tz_name(now.tzinfo, now),  # type: ignore[arg-type]
        "RETURN_AS_TIMEZONE_AWARE": True,
    }
    try:
        results = search(rest, languages=languages, settings=settings) or []
    except Exception:  # dateparser raises on odd input; the rules already had their say
        return []
    out: List[When] = []
    pos = 0
    for sub, dt in results:
        s = rest.find(sub, pos)
        if s < 0:
            continue
        pos = s + len(sub)
        if not (
            _MONTH_HINT_RE.search(sub)
            and (re.search(r"(?<!\d)\d{1,2}(?!\d)", sub) or _ORDINAL_WORD_RE.search(sub))
        ):
            continue
        if re.fullmatch(r"[\d\s.,:/\-+()]*", sub):
            continue
        if not now.year - 1 <= dt.year <= now.year + 5:
            continue
        # keep only the words dateparser used, trimmed of padding
        lead = len(sub) - len(sub.lstrip())
        s += lead
        sub = sub.strip()
        local = dt.astimezone(now.tzinfo)
        p = _Parser("", now, lang)
        if re.search(r"\d[:.]\d\d|\b[ap]\.?m\b", sub, re.I):
            out.append(When(local, local, s, s + len(sub), text[s : s + len(sub)], "instant"))
        else:
            d = local.date()
            out.append(
                When(
                    p.at(d, 0), p.at(d + timedelta(days=1), 0), s, s + len(sub),
                    text[s : s + len(sub)], "interval",
                )
            )
    return out


# --------------------------------------------------------------------------------------
# entry point


def parse_when(
    text: str,
    now: datetime,
    lang: Optional[str] = None,
    use_dateparser: bool = True,
    on_day: Optional[date] = None,
) -> List[When]:
    """Find every date/time expression in ``text``, resolved relative to ``now``.

    ``lang`` ("ru", "en" or None) only breaks ties such as "03/04" (month first in
    English); both vocabularies are always active because customers mix them. ``on_day``
    is the day the conversation is about, for a time typed without a date.
    """
    if not text or not text.strip():
        return []
    parser = _Parser(text, now, lang, on_day)
    found, consumed = parser.run()
    if use_dateparser:
        found.extend(_dateparser_fallback(text, now, lang, consumed))
        found.sort(key=lambda w: w.span_start)
    return found
