"""Free visit times: resources of each kind, travel gaps, the working week, and typed times.

The profile is tests/booking_profile.py (Mon-Fri 09-18, lunch 13-14, holiday Tue 8 Dec,
12 h notice, "now" Thursday 3 Dec 22:40 Moscow). Busy time is written as resource claims,
exactly what a booking leaves in the store.
"""
from __future__ import annotations

from datetime import datetime
from typing import List

import pytest

from msgops import booking
from msgops.business.availability import units
from msgops.store import session_scope
from msgops.store.models import ResourceClaim
from tests.booking_profile import HANDYMAN, NOW, UPHOLSTERY, WINDOWS, msk, use_profile


@pytest.fixture
def cfg(store, tmp_path, monkeypatch):
    return use_profile(tmp_path, monkeypatch)


def busy(resource: str, start: datetime, end: datetime, owner: str = "booking:999") -> None:
    with session_scope() as s:
        s.add_all(ResourceClaim(resource=resource, unit_start=u, owner=owner) for u in units(start, end))


def on_day(starts: List[datetime], day: int) -> List[str]:
    return [f"{s:%H:%M}" for s in starts if s.day == day]


def test_first_times_honour_notice_lunch_and_closing(cfg):
    starts = booking.free_starts(cfg, WINDOWS, "city", NOW)
    # 22:40 + 12 h notice = Fri 10:40 -> 11:00; 11:30-12:30 would run into lunch; a 2 h job
    # must end by 18:00, so 16:00 is the last start.
    assert on_day(starts, 4) == ["11:00", "14:00", "14:30", "15:00", "15:30", "16:00"]
    assert all(s.tzinfo == cfg.tz for s in starts)


def test_sunday_and_holidays_are_closed(cfg):
    days = {s.day for s in booking.free_starts(cfg, WINDOWS, "city", NOW)}
    assert 6 not in days and 13 not in days  # Sundays
    assert 8 not in days  # holiday
    assert {4, 5, 7, 9} <= days  # Saturday 5 Dec opens 10-16


def test_offer_spreads_days_and_parts_of_day(cfg):
    # the earliest; then Saturday afternoon (a new day and part of day); then a new day
    assert booking.offer(cfg, WINDOWS, "city", NOW) == [msk(4, "11:00"), msk(5, "14:00"), msk(7, "09:00")]
    # "other times": only after the last time shown
    more = booking.offer(cfg, WINDOWS, "city", NOW, after=msk(7, "09:00"))
    assert len(more) == 3 and all(s > msk(7, "09:00") for s in more)
    assert len(booking.offer(cfg, WINDOWS, "city", NOW, count=5)) == 5


def test_one_free_crew_is_enough(cfg):
    busy("crew_1", msk(4, "09:00"), msk(4, "18:00"))
    assert on_day(booking.free_starts(cfg, WINDOWS, "city", NOW), 4)[0] == "11:00"


def test_a_full_day_moves_the_offer_to_the_next_day(cfg):
    for crew in ("crew_1", "crew_2"):
        busy(crew, msk(4, "09:00"), msk(4, "18:00"))
    starts = booking.free_starts(cfg, WINDOWS, "city", NOW)
    assert on_day(starts, 4) == [] and starts[0] == msk(5, "10:00")
    assert booking.offer(cfg, WINDOWS, "city", NOW)[0] == msk(5, "10:00")
    assert on_day(booking.free_starts(cfg, HANDYMAN, "city", NOW), 4)[0] == "11:00"  # another kind


def test_every_kind_a_service_needs_must_be_free(cfg):
    busy("extractor_1", msk(4, "14:00"), msk(4, "16:00"))
    upholstery = on_day(booking.free_starts(cfg, UPHOLSTERY, "city", NOW), 4)
    # 1.5 h: 11:30 ends at 13:00 (its travel gap may run into lunch); the machine is busy
    # 14-16, so after lunch only 16:00 and 16:30 (ends 18:00) are left.
    assert upholstery == ["11:00", "11:30", "16:00", "16:30"]
    assert "14:00" in on_day(booking.free_starts(cfg, WINDOWS, "city", NOW), 4)


@pytest.mark.parametrize("zone, last", [("city", "15:00"), ("near", "14:30"), ("far", "14:00"), (None, "14:00")])
def test_travel_gap_after_the_job_depends_on_its_zone(cfg, zone, last):
    """Both crews are busy from 17:30: a 2 h job must end its travel gap by then."""
    for crew in ("crew_1", "crew_2"):
        busy(crew, msk(4, "17:30"), msk(4, "18:00"))
    assert on_day(booking.free_starts(cfg, WINDOWS, zone, NOW), 4)[-1] == last


def test_an_existing_jobs_own_gap_is_kept(cfg):
    """A booking's claim already includes its travel: here a job 11:00-13:00 plus 60 min."""
    for crew in ("crew_1", "crew_2"):
        busy(crew, msk(4, "11:00"), msk(4, "14:00"))
    assert on_day(booking.free_starts(cfg, WINDOWS, "city", NOW), 4)[0] == "14:00"
    busy("crew_1", msk(4, "14:00"), msk(4, "14:30"))
    busy("crew_2", msk(4, "14:00"), msk(4, "14:30"))
    assert on_day(booking.free_starts(cfg, WINDOWS, "city", NOW), 4)[0] == "14:30"


def test_ignore_booking_frees_its_own_time_for_a_move(cfg):
    busy("crew_1", msk(4, "11:00"), msk(4, "18:00"), owner="booking:1")
    busy("crew_2", msk(4, "11:00"), msk(4, "18:00"), owner="booking:2")
    assert on_day(booking.free_starts(cfg, WINDOWS, "city", NOW), 4) == []
    assert on_day(booking.free_starts(cfg, WINDOWS, "city", NOW, ignore_booking=1), 4)[0] == "11:00"


def test_earliest_latest_and_limit(cfg):
    starts = booking.free_starts(cfg, WINDOWS, "city", NOW, earliest=msk(7, "15:00"), latest=msk(7, "18:00"))
    assert [f"{s:%d %H:%M}" for s in starts] == ["07 15:00", "07 15:30", "07 16:00"]
    assert len(booking.free_starts(cfg, WINDOWS, "city", NOW, limit=2)) == 2
    last = booking.free_starts(cfg, WINDOWS, "city", NOW)[-1]
    assert last <= NOW.replace(day=24)  # search_days 21


def test_a_service_nobody_does_has_no_times(cfg):
    assert booking.free_starts(cfg, "sauna", "city", NOW) == []
    unbookable = cfg.copy(update={"services": [s.copy(update={"needs": []}) for s in cfg.services]})
    assert booking.free_starts(unbookable, WINDOWS, "city", NOW) == []


@pytest.mark.parametrize("text, lang, start", [
    ("в четверг после 15", "ru", msk(10, "15:00")),
    ("any morning next week", "en", msk(7, "09:00")),
    ("tomorrow at 11", "en", msk(4, "11:00")),
    ("2026-12-07T10:00:00+03:00", None, msk(7, "10:00")),  # a button's payload
    ("на выходных", "ru", msk(5, "10:00")),
])
def test_typed_times_and_ranges(cfg, text, lang, start):
    assert booking.slot_for(text, cfg, WINDOWS, "city", NOW, lang) == (start, True, [])


def test_a_part_of_day_over_a_week_means_that_part_of_each_day(cfg):
    for crew in ("crew_1", "crew_2"):
        busy(crew, msk(7, "09:00"), msk(7, "13:00"))
    # Monday morning is full and Tuesday a holiday: Wednesday morning, not Monday 14:00.
    assert booking.slot_for("any morning next week", cfg, WINDOWS, "city", NOW, "en") == (msk(9, "09:00"), True, [])


def test_a_taken_or_too_early_time_gets_the_nearest_free_ones(cfg):
    # 10:00 tomorrow is inside the 12 h notice
    assert booking.slot_for("завтра в 10", cfg, WINDOWS, "city", NOW, "ru") == (
        None, True, [msk(4, "11:00"), msk(4, "14:00"), msk(4, "14:30")])
    # 11:10 is off the 30-minute grid; 11:30 would run into lunch
    assert booking.slot_for("завтра в 11:10", cfg, WINDOWS, "city", NOW, "ru")[2][0] == msk(4, "14:00")


@pytest.mark.parametrize("text, why", [
    ("2 декабря в 10", "past"),      # a date that just went by is not next December
    ("сегодня в 9", "past"),
    ("завтра в 10", "too_soon"),     # inside the 12 h notice
    ("в субботу в 10", None),        # free: offered as asked
])
def test_the_offer_says_why_an_asked_time_cannot_be_had(cfg, text, why):
    found = booking.offer_for(text, cfg, WINDOWS, "city", NOW, "ru")
    assert found.unavailable == why and found.starts and all(s > NOW for s in found.starts)


def test_a_booked_up_time_is_just_booked_up(cfg):
    for crew in ("crew_1", "crew_2"):
        busy(crew, msk(5, "09:00"), msk(5, "18:00"))
    found = booking.offer_for("в субботу в 10", cfg, WINDOWS, "city", NOW, "ru")
    assert (found.matched, found.unavailable) == (False, None)


def test_a_time_past_the_horizon_gets_the_last_free_ones(cfg):
    start, understood, nearest = booking.slot_for("2027-03-01T10:00:00+03:00", cfg, WINDOWS, "city", NOW, None)
    assert (start, understood, len(nearest)) == (None, True, 3) and nearest[-1] < msk(25, "00:00")


@pytest.mark.parametrize("text", ["абракадабра", "5000", ""])
def test_not_a_time(cfg, text):
    assert booking.slot_for(text, cfg, WINDOWS, "city", NOW, "ru") == (None, False, [])


def test_a_moved_booking_can_take_its_own_time(cfg):
    for crew in ("crew_1", "crew_2"):
        busy(crew, msk(4, "11:00"), msk(4, "13:30"), owner=f"booking:{crew[-1]}")
    assert booking.slot_for("tomorrow at 11", cfg, WINDOWS, "city", NOW, "en")[0] is None
    assert booking.slot_for("tomorrow at 11", cfg, WINDOWS, "city", NOW, "en", ignore_booking=1)[0] == msk(4, "11:00")


@pytest.mark.parametrize("text, about, start", [
    ("в 11", "в понедельник", msk(7, "11:00")),        # the day whose times were offered
    ("at 11 please", "can we move it to monday?", msk(7, "11:00")),
    ("в 11", None, msk(4, "11:00")),                   # no day under discussion: the next 11:00
    ("в понедельник в 11", "в четверг", msk(7, "11:00")),  # a day typed wins
])
def test_a_time_without_a_date_is_on_the_day_being_discussed(cfg, text, about, start):
    assert booking.slot_for(text, cfg, WINDOWS, "city", NOW, "ru", about=about)[0] == start
