"""The calendar file a customer adds to their calendar: RFC 5545's line, fold and escape rules."""
from __future__ import annotations

from datetime import datetime, timezone

from msgops.business.ics import Event, calendar_text, escape, fold
from tests.booking_profile import msk

STAMP = datetime(2026, 12, 3, 19, 40, tzinfo=timezone.utc)


def test_escape_text_values():
    assert escape("Москва, ул. Тверская; д. 1\\2\nподъезд 3") == "Москва\\, ул. Тверская\\; д. 1\\\\2\\nподъезд 3"


def test_fold_counts_octets_and_never_splits_a_character():
    line = "DESCRIPTION:" + "Щ" * 100  # 12 + 200 octets
    physical = fold(line).split("\r\n")
    assert all(len(p.encode("utf-8")) <= 75 for p in physical)
    assert all(p.startswith(" ") for p in physical[1:])
    assert "".join(p[1:] if i else p for i, p in enumerate(physical)) == line
    assert len(physical[0].encode("utf-8")) == 74  # 12 + 31 x 2; one more "Щ" would make 76
    assert fold("SUMMARY:short") == "SUMMARY:short"
    assert len(fold("X:" + "a" * 73)) == 75  # exactly 75 octets stays one line


def test_calendar_text():
    text = calendar_text(Event(uid="booking-7@msgops", start=msk(7, "10:00"), end=msk(7, "12:00"), stamp=STAMP,
                               summary="Мойка окон — Чистый Дом", location="Москва, Арбат 1",
                               description="Бригада 1\nкод домофона 12"))
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    lines = text.split("\r\n")[:-1]
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    for expected in ("VERSION:2.0", "BEGIN:VEVENT", "UID:booking-7@msgops", "DTSTAMP:20261203T194000Z",
                     "DTSTART:20261207T070000Z", "DTEND:20261207T090000Z", "SUMMARY:Мойка окон — Чистый Дом",
                     "LOCATION:Москва\\, Арбат 1", "DESCRIPTION:Бригада 1\\nкод домофона 12", "STATUS:CONFIRMED",
                     "END:VEVENT"):
        assert expected in lines, expected
    cancelled = calendar_text(Event(uid="u", start=msk(7, "10:00"), end=msk(7, "12:00"), stamp=STAMP,
                                    summary="s", cancelled=True))
    assert "STATUS:CANCELLED" in cancelled and "LOCATION" not in cancelled
