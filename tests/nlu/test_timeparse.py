"""The date/time parser against hand-worked answers.

"Now" is Thursday 2026-12-03 22:40 in Moscow (+03:00, no DST). Useful facts for reading
the table: Fri = 12-04, Sat = 12-05, Sun = 12-06; next calendar week is Mon 12-07 to
Sun 12-13. A date alone is 00:00-24:00; morning 09-12, day 12-17, afternoon 13-17,
evening 17-21. A clock time or part of day without a date is today if it is still
ahead, else tomorrow (at 22:40 that is always tomorrow, 12-04).
"""
from __future__ import annotations

import sys
from datetime import datetime, time
from typing import List, Optional, Tuple
from zoneinfo import ZoneInfo

import pytest

from msgops.nlu.timeparse import When, parse_when

MSK = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 12, 3, 22, 40, tzinfo=MSK)


def day(d: str, d_end: Optional[str] = None) -> str:
    """Interval of whole days: day("12-04") or day("12-05", "12-07"); "2027-03-15" allowed."""
    def full(x: str) -> str:
        return x if len(x) == 10 else f"2026-{x}"

    start = full(d)
    if d_end is None:
        end_dt = datetime.fromisoformat(start).toordinal() + 1
        end = datetime.fromordinal(end_dt).date().isoformat()
    else:
        end = full(d_end)
    return f"{start}T00:00:00+03:00/{end}T00:00:00+03:00"


def at(d: str, hm: str) -> str:
    d = d if len(d) == 10 else f"2026-{d}"
    return f"{d}T{hm}:00+03:00"


def span(d: str, a: str, b: str, d2: Optional[str] = None) -> str:
    return f"{at(d, a)}/{at(d2 or d, b)}"


CASES: List[Tuple[str, Optional[str], List[Tuple[str, str]]]] = [
    # --- relative days
    ("сегодня", None, [("сегодня", day("12-03"))]),
    ("завтра", None, [("завтра", day("12-04"))]),
    ("послезавтра", None, [("послезавтра", day("12-05"))]),
    ("после завтра", None, [("после завтра", day("12-05"))]),
    ("вчера", None, [("вчера", day("12-02"))]),  # past is kept
    ("завтар", None, [("завтар", day("12-04"))]),
    ("today", None, [("today", day("12-03"))]),
    ("tomorrow", None, [("tomorrow", day("12-04"))]),
    ("tommorow", None, [("tommorow", day("12-04"))]),
    ("the day after tomorrow", None, [("the day after tomorrow", day("12-05"))]),
    ("yesterday", None, [("yesterday", day("12-02"))]),
    # --- weekdays: bare = next one after today, "next" = in next calendar week
    ("в пятницу", None, [("пятницу", day("12-04"))]),
    ("в четверг", None, [("четверг", day("12-10"))]),
    ("в следующую пятницу", None, [("следующую пятницу", day("12-11"))]),
    ("next Friday", None, [("next Friday", day("12-11"))]),
    ("on friday", None, [("friday", day("12-04"))]),
    ("пятница следующей недели", None, [("пятница следующей недели", day("12-11"))]),
    ("в четверг после 15", None,
     [("четверг после 15", span("12-10", "15:00", "00:00", "12-11"))]),
    ("в пн с 10:00 до 14:00", None, [("пн с 10:00 до 14:00", span("12-07", "10:00", "14:00"))]),
    ("friday at 10am", None, [("friday at 10am", at("12-04", "10:00"))]),
    ("до пятницы", None, [("до пятницы", day("12-03", "12-05"))]),
    ("окна помыть надо к пятнице", None, [("к пятнице", day("12-03", "12-05"))]),
    # --- weekends and weeks
    ("на выходных", None, [("выходных", day("12-05", "12-07"))]),
    ("в эти выходные", None, [("эти выходные", day("12-05", "12-07"))]),
    ("this weekend", None, [("this weekend", day("12-05", "12-07"))]),
    ("on the weekend", None, [("the weekend", day("12-05", "12-07"))]),
    ("next weekend", None, [("next weekend", day("12-12", "12-14"))]),
    ("на следующей неделе", None, [("следующей неделе", day("12-07", "12-14"))]),
    ("this week", None, [("this week", day("12-03", "12-07"))]),
    # --- parts of day
    ("завтра утром", None, [("завтра утром", span("12-04", "09:00", "12:00"))]),
    ("днём", None, [("днём", span("12-04", "12:00", "17:00"))]),
    ("после обеда", None, [("после обеда", span("12-04", "13:00", "17:00"))]),
    ("вечером", None, [("вечером", span("12-04", "17:00", "21:00"))]),
    ("Можно завтра с утра?", None, [("завтра с утра", span("12-04", "09:00", "12:00"))]),
    ("в субботу утром", None, [("субботу утром", span("12-05", "09:00", "12:00"))]),
    ("tomorrow morning", None, [("tomorrow morning", span("12-04", "09:00", "12:00"))]),
    ("afternoon", None, [("afternoon", span("12-04", "13:00", "17:00"))]),
    ("after lunch", None, [("after lunch", span("12-04", "13:00", "17:00"))]),
    ("in the evening", None, [("in the evening", span("12-04", "17:00", "21:00"))]),
    ("next Tuesday afternoon", None, [("next Tuesday afternoon", span("12-08", "13:00", "17:00"))]),
    # --- clock times
    ("в 15:00", None, [("15:00", at("12-04", "15:00"))]),
    ("в 3 часа дня", None, [("3 часа дня", at("12-04", "15:00"))]),
    ("к 10", None, [("к 10", at("12-04", "10:00"))]),
    ("15.30", None, [("15.30", at("12-04", "15:30"))]),
    ("вечером в 7", None, [("вечером в 7", at("12-04", "19:00"))]),
    ("в 7 утра", None, [("7 утра", at("12-04", "07:00"))]),
    ("в полдень", None, [("полдень", at("12-04", "12:00"))]),
    ("сегодня в 9", None, [("сегодня в 9", at("12-03", "09:00"))]),  # past is kept
    ("послезавтра в 8 вечера", None, [("послезавтра в 8 вечера", at("12-05", "20:00"))]),
    ("at 3pm", None, [("3pm", at("12-04", "15:00"))]),
    ("3:30 pm", None, [("3:30 pm", at("12-04", "15:30"))]),
    ("10am tomorrow", None, [("10am tomorrow", at("12-04", "10:00"))]),
    ("в 11 ночи", None, [("11 ночи", at("12-03", "23:00"))]),  # still ahead today
    ("в 2 ночи", None, [("2 ночи", at("12-04", "02:00"))]),
    ("в 11 00", None, [("11 00", at("12-04", "11:00"))]),
    ("at 5 10 p.m.", None, [("5 10 p.m.", at("12-04", "17:10"))]),
    ("a table for 2 tonight at 7:00", None, [("tonight at 7:00", at("12-03", "19:00"))]),
    # --- explicit dates
    ("15 марта", None, [("15 марта", day("2027-03-15"))]),
    ("15.03", None, [("15.03", day("2027-03-15"))]),
    ("03/15", "en", [("03/15", day("2027-03-15"))]),
    ("December 5th", None, [("December 5th", day("12-05"))]),
    ("5 декабря в 11", None, [("5 декабря в 11", at("12-05", "11:00"))]),
    ("3 декабря", None, [("3 декабря", day("12-03"))]),  # today is the next occurrence
    ("2 декабря", None, [("2 декабря", day("12-02"))]),  # just passed: a slip, said back as past
    ("5 октября", None, [("5 октября", day("10-05"))]),  # within two months: still the past date
    ("2 октября", None, [("2 октября", day("2027-10-02"))]),  # longer ago: the next occurrence
    ("15 января", None, [("15 января", day("2027-01-15"))]),
    ("15.03.2025", None, [("15.03.2025", day("2025-03-15"))]),  # a year: kept as written
    ("31-го", None, [("31-го", day("12-31"))]),
    ("пятое декабря", None, [("пятое декабря", day("12-05"))]),
    ("Давайте 8 декабря 2026 в 14:30", None, [("8 декабря 2026 в 14:30", at("12-08", "14:30"))]),
    ("on Monday, December 7 at 10am", None,
     [("Monday, December 7 at 10am", at("12-07", "10:00"))]),
    ("смогу 10.12 к 9:30", None, [("10.12 к 9:30", at("12-10", "09:30"))]),
    # --- ranges
    ("с 5 по 7 декабря", None, [("с 5 по 7 декабря", day("12-05", "12-08"))]),
    ("с 1 по 5 декабря", None, [("с 1 по 5 декабря", day("12-01", "12-06"))]),
    ("from 5 to 7 December", None, [("from 5 to 7 December", day("12-05", "12-08"))]),
    ("5-7 декабря в 10", None, [("5-7 декабря в 10", span("12-05", "10:00", "10:00", "12-07"))]),
    ("с 10 до 12", None, [("с 10 до 12", span("12-04", "10:00", "12:00"))]),
    ("с 2 до 4", None, [("с 2 до 4", span("12-04", "14:00", "16:00"))]),
    ("between 2 and 4pm", None, [("between 2 and 4pm", span("12-04", "14:00", "16:00"))]),
    ("завтра 10-12", None, [("завтра 10-12", span("12-04", "10:00", "12:00"))]),
    # --- durations
    ("через 2 часа", None, [("через 2 часа", at("12-04", "00:40"))]),
    ("через полчаса", None, [("через полчаса", at("12-03", "23:10"))]),
    ("через 3 дня", None, [("через 3 дня", day("12-06"))]),
    ("in 3 days", None, [("in 3 days", day("12-06"))]),
    ("in 2 hours", None, [("in 2 hours", at("12-04", "00:40"))]),
    # --- two expressions
    ("завтра в 10 или в пятницу вечером", None, [
        ("завтра в 10", at("12-04", "10:00")),
        ("пятницу вечером", span("12-04", "17:00", "21:00")),
    ]),
    # --- dateparser fallback (a shape the rules do not cover)
    ("12-Dec-2026", None, [("12-Dec-2026", day("12-12"))]),
    # --- numbers that are not times
    ("цена 5000, площадь 60 м2", None, []),
    ("телефон 89161234567", None, []),
    ("хочу уборку в 3 комнатах", None, []),
    ("в 2 раза дешевле", None, []),
    ("за 3 дня до переезда", None, []),
    ("уборка займёт 2 часа", None, []),
    ("квартира 2 комнаты, 3 этаж, 45 кв м", None, []),
    ("в 2026 году", None, []),
    ("I need 3 rooms cleaned", None, []),
    ("10-12 окон", None, []),
    ("в 3-5 комнатах", None, []),
    ("about 24-72 hours", None, []),
    ("на 2 часа", None, []),
    # --- greetings and food are not times
    ("добрый вечер", None, []),
    ("good morning", None, []),
    ("после завтрака", None, []),
    ("I sat down", None, []),
]


@pytest.mark.parametrize("text,lang,expected", CASES, ids=[c[0] for c in CASES])
def test_parse_when(text: str, lang: Optional[str], expected: List[Tuple[str, str]]) -> None:
    found = parse_when(text, NOW, lang)
    assert [(w.text, w.iso()) for w in found] == expected
    for w in found:
        assert text[w.span_start : w.span_end] == w.text
        assert w.start.tzinfo is not None and w.end.tzinfo is not None
        assert w.grain == ("instant" if w.start == w.end else "interval")


def test_any_morning_next_week_has_a_daily_window() -> None:
    (w,) = parse_when("any morning next week", NOW, "en")
    assert w.iso() == "2026-12-07T09:00:00+03:00/2026-12-13T12:00:00+03:00"
    assert w.daily_window == (time(9, 0), time(12, 0))
    assert w.grain == "interval"


def test_results_are_in_the_timezone_of_now() -> None:
    ekb = datetime(2026, 12, 3, 10, 0, tzinfo=ZoneInfo("Asia/Yekaterinburg"))
    (w,) = parse_when("завтра в 15:00", ekb)
    assert w.start.isoformat() == "2026-12-04T15:00:00+05:00"
    assert isinstance(w, When)


def test_bare_time_still_ahead_is_today() -> None:
    morning = datetime(2026, 12, 3, 8, 0, tzinfo=MSK)
    (w,) = parse_when("в 15:00", morning)
    assert w.iso() == "2026-12-03T15:00:00+03:00"


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_when("завтра", datetime(2026, 12, 3, 22, 40))


def test_timeparse_does_not_import_rasa() -> None:
    # msgops.nlu exports lazily; the parser must stay usable without Rasa/TensorFlow.
    import subprocess
    from pathlib import Path

    code = (
        "import sys; import msgops.nlu.timeparse; "
        "sys.exit(1 if 'rasa' in sys.modules or 'tensorflow' in sys.modules else 0)"
    )
    root = Path(__file__).resolve().parents[2]
    assert subprocess.run([sys.executable, "-c", code], cwd=root).returncode == 0
