"""The availability engine against hand-worked calendars.

The week mirrors business.yml (Mon-Fri 09-20, Sat 10-18, Sun closed, lunch 13-14, New Year
holidays) but is written out here, so an owner's edit of the profile cannot move the
expectations. "Now" is Thursday 2026-12-03 22:40 in Moscow (UTC+3 all year), after hours.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import List, Optional
from zoneinfo import ZoneInfo

import pytest

from msgops.business.availability import free_slots, pick_spread, units
from msgops.business.config import DAYS, Interval

MSK = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")
UTC = timezone.utc
WEEK = {
    **{day: Interval.parse(["09:00", "20:00"]) for day in ("mon", "tue", "wed", "thu", "fri")},
    "sat": Interval.parse(["10:00", "18:00"]),
    "sun": None,
}
LUNCH = [Interval.parse(["13:00", "14:00"])]
HOLIDAYS = [date(2026, 12, 31), date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 7)]
NOW = datetime(2026, 12, 3, 22, 40, tzinfo=MSK)


def slots(
    *, minutes: int, now: datetime = NOW, breaks: Optional[List[Interval]] = None, **kwargs
) -> List[datetime]:
    return free_slots(
        hours=kwargs.pop("hours", WEEK),
        breaks=LUNCH if breaks is None else breaks,
        holidays=HOLIDAYS,
        tz=kwargs.pop("tz", MSK),
        duration=timedelta(minutes=minutes),
        busy=kwargs.pop("busy", []),
        now=now,
        **kwargs,
    )


def msk(day: int, hhmm: str, month: int = 12, year: int = 2026) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime(year, month, day, hour, minute, tzinfo=MSK)


def at(day: int, *times: str, month: int = 12, year: int = 2026) -> List[datetime]:
    return [msk(day, t, month, year) for t in times]


def utc(*stamps: str) -> List[datetime]:
    return [datetime.fromisoformat(s).replace(tzinfo=UTC) for s in stamps]


def test_after_hours_request_gets_next_working_day_around_lunch():
    # Thu 22:40 is after hours -> Fri 4 Dec. 2 h jobs on a 30 min grid from 09:00:
    # 11:00-13:00 just touches lunch (allowed); 11:30..13:30 overlap 13-14; 18:00-20:00 is
    # the last. Then Sat 10-18: 10:00, 10:30, 11:00, then 14:00.. (limit 20 = 14 + 6).
    friday = at(4, "09:00", "09:30", "10:00", "10:30", "11:00")
    friday += at(4, "14:00", "14:30", "15:00", "15:30", "16:00")
    friday += at(4, "16:30", "17:00", "17:30", "18:00")
    saturday = at(5, "10:00", "10:30", "11:00", "14:00", "14:30", "15:00")
    assert slots(minutes=120, limit=20) == friday + saturday


def test_results_are_aware_in_business_timezone():
    first = slots(minutes=60, limit=1)[0]
    assert first.tzinfo == MSK and first.astimezone(UTC) == utc("2026-12-04T06:00")[0]


def test_sunday_is_closed():
    # Sat 5 Dec 19:00: Saturday closed at 18:00, Sunday closed -> Monday 7 Dec 09:00.
    assert slots(minutes=60, now=msk(5, "19:00"), limit=1) == at(7, "09:00")


def test_holidays_are_skipped():
    # Wed 30 Dec 21:00: 31 Dec, 1 and 2 Jan are holidays, 3 Jan is Sunday -> Mon 4 Jan.
    assert slots(minutes=60, now=msk(30, "21:00"), limit=1) == at(4, "09:00", month=1, year=2027)
    # Thu 7 Jan (Orthodox Christmas) is a holiday -> Fri 8 Jan.
    assert slots(minutes=60, earliest=msk(7, "00:00", 1, 2027), limit=1) == at(
        8, "09:00", month=1, year=2027
    )


FRIDAY_1H_BEFORE_BUSY = at(4, "09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "12:00")


@pytest.mark.parametrize(
    "buffer, expected",
    [
        # Busy 15:00-16:00 MSK (given in UTC). 12:30-13:30 hit lunch. Without buffer 14:00-15:00
        # and 16:00-17:00 touch the booking without overlapping it.
        (
            0,
            FRIDAY_1H_BEFORE_BUSY
            + at(4, "14:00", "16:00", "16:30", "17:00", "17:30", "18:00", "18:30", "19:00"),
        ),
        # 30 min buffer widens it to 14:30-16:30: 14:00 and 16:00 go, 16:30 is the first after.
        (30, FRIDAY_1H_BEFORE_BUSY + at(4, "16:30", "17:00", "17:30", "18:00", "18:30", "19:00")),
    ],
)
def test_busy_interval_widened_by_buffer(buffer: int, expected: List[datetime]):
    busy = [tuple(utc("2026-12-04T12:00", "2026-12-04T13:00"))]
    assert (
        slots(minutes=60, busy=busy, buffer=timedelta(minutes=buffer), latest=msk(4, "20:00"))
        == expected
    )


def test_min_notice():
    # Fri 10:10 + 4 h notice = 14:10 -> first grid time at or after it is 14:30.
    assert slots(minutes=60, now=msk(4, "10:10"), min_notice=timedelta(hours=4), limit=1) == at(
        4, "14:30"
    )


def test_earliest_and_latest_bound_the_whole_job():
    # 1 h jobs between 17:00 and 19:30: the last must end by 19:30, so it starts at 18:30.
    assert slots(minutes=60, earliest=msk(4, "17:00"), latest=msk(4, "19:30")) == at(
        4, "17:00", "17:30", "18:00", "18:30"
    )


def test_job_longer_than_rest_of_day_moves_to_next_day():
    # Fri 15:10, 5 h job: 15:30 would end 20:30 > 20:00 -> Saturday 10:00..13:00 (ends 18:00).
    assert slots(minutes=300, now=msk(4, "15:10"), breaks=[], limit=7) == at(
        5, "10:00", "10:30", "11:00", "11:30", "12:00", "12:30", "13:00"
    )
    # With lunch a 5 h job fits only 14:00-19:00..15:00-20:00 on weekdays and never on
    # Saturday (10-15 hits lunch, 14-19 ends after 18) -> Monday.
    assert slots(minutes=300, now=msk(4, "15:10"), limit=3) == at(7, "14:00", "14:30", "15:00")


def test_job_that_fits_no_day_gives_nothing():
    assert slots(minutes=12 * 60) == []


def test_spring_forward_keeps_wall_clock_times():
    # Berlin moves from UTC+1 to UTC+2 at 02:00 on Sun 28 Mar 2027. A 09:00 opening is
    # 08:00Z on Saturday but 07:00Z on Sunday.
    week = {day: Interval.parse(["09:00", "18:00"]) for day in DAYS}
    found = slots(
        minutes=60,
        now=datetime(2027, 3, 27, 8, 0, tzinfo=BERLIN),
        tz=BERLIN,
        hours=week,
        breaks=[],
        latest=datetime(2027, 3, 28, 10, 0, tzinfo=BERLIN),
    )
    # Saturday 09:00..17:00 (17 starts), then Sunday 09:00, the only start ending by 10:00.
    assert len(found) == 18
    assert found[0] == datetime(2027, 3, 27, 9, 0, tzinfo=BERLIN)
    assert found[0].astimezone(UTC) == utc("2027-03-27T08:00")[0]
    assert found[-1] == datetime(2027, 3, 28, 9, 0, tzinfo=BERLIN)
    assert found[-1].astimezone(UTC) == utc("2027-03-28T07:00")[0]
    assert found[-1].utcoffset() == timedelta(hours=2)


def test_spring_forward_gap_inside_working_hours():
    # Sunday 01:00-05:00, 1 h jobs. 02:00 and 02:30 do not exist that night; 01:00 CET
    # (00:00Z) runs one real hour to 03:00 CEST. 04:30 would end 05:30 > 05:00.
    week = {day: None for day in DAYS} | {"sun": Interval.parse(["01:00", "05:00"])}
    found = slots(
        minutes=60,
        now=datetime(2027, 3, 27, 12, 0, tzinfo=BERLIN),
        tz=BERLIN,
        hours=week,
        breaks=[],
        latest=datetime(2027, 3, 28, 12, 0, tzinfo=BERLIN),
    )
    assert [s.astimezone(UTC) for s in found] == utc(
        "2027-03-28T00:00",
        "2027-03-28T00:30",
        "2027-03-28T01:00",
        "2027-03-28T01:30",
        "2027-03-28T02:00",
    )
    assert [s.strftime("%H:%M") for s in found] == ["01:00", "01:30", "03:00", "03:30", "04:00"]


def test_fall_back_overlap_uses_first_occurrence():
    # Sun 31 Oct 2027, 03:00 CEST -> 02:00 CET. Hours 01:00-04:00 (close = 03:00Z).
    # Grid 01:00, 01:30, 02:00, 02:30 (first, CEST, occurrence), 03:00 CET; 03:30 ends 04:30.
    week = {day: None for day in DAYS} | {"sun": Interval.parse(["01:00", "04:00"])}
    found = slots(
        minutes=60,
        now=datetime(2027, 10, 30, 12, 0, tzinfo=BERLIN),
        tz=BERLIN,
        hours=week,
        breaks=[],
        latest=datetime(2027, 10, 31, 12, 0, tzinfo=BERLIN),
    )
    assert [s.astimezone(UTC) for s in found] == utc(
        "2027-10-30T23:00",
        "2027-10-30T23:30",
        "2027-10-31T00:00",
        "2027-10-31T00:30",
        "2027-10-31T02:00",
    )


def test_naive_now_is_refused():
    with pytest.raises(ValueError):
        slots(minutes=60, now=datetime(2026, 12, 3, 22, 40))


# ---- pick_spread ---------------------------------------------------------------------------


def test_pick_spread_prefers_new_part_of_day_then_new_day():
    offered = at(4, "09:00", "09:30", "10:00", "14:00", "14:30") + at(5, "10:00", "10:30")
    # After Fri 09:00 (morning): Fri 14:00 adds a part of day, Sat 10:00 adds a day - both
    # novelty 1, the earlier wins. Then Sat 10:00 is the only slot still adding something.
    assert pick_spread(offered, 3) == at(4, "09:00", "14:00") + at(5, "10:00")


def test_pick_spread_over_free_slots():
    offered = slots(minutes=120, limit=20)
    # Fri 09:00 first. Sat 14:00 is the only slot adding both a day and a part (2); then
    # nothing adds a day, and Fri 17:00 is the earliest evening.
    assert pick_spread(offered, 3) == at(4, "09:00", "17:00") + at(5, "14:00")
    assert pick_spread(offered, 2) == at(4, "09:00") + at(5, "14:00")


def test_pick_spread_in_a_single_morning_avoids_neighbours():
    # No slot adds novelty: take the farthest (11:00), then the farthest from both (10:00).
    assert pick_spread(at(4, "09:00", "09:30", "10:00", "10:30", "11:00"), 3) == at(
        4, "09:00", "10:00", "11:00"
    )


def test_pick_spread_edges():
    offered = at(4, "14:00", "09:00")
    assert pick_spread(offered, 3) == at(4, "09:00", "14:00")
    assert pick_spread(offered, 0) == []
    assert pick_spread([], 3) == []


# ---- units ---------------------------------------------------------------------------------


def test_units_are_utc_quarter_hours():
    assert units(msk(4, "13:00"), msk(4, "13:30")) == utc("2026-12-04T10:00", "2026-12-04T10:15")
    # A partial unit counts as a whole one.
    assert units(*utc("2026-12-04T10:05", "2026-12-04T10:20")) == utc(
        "2026-12-04T10:00", "2026-12-04T10:15"
    )


def test_units_clash_exactly_when_intervals_overlap():
    first = set(units(msk(4, "10:00"), msk(4, "11:00")))
    assert not first & set(units(msk(4, "11:00"), msk(4, "12:00")))  # back to back
    assert first & set(units(msk(4, "10:45"), msk(4, "11:45")))  # 15 min overlap


def test_units_with_buffer_claim():
    # Claiming [start, end + 30 min) keeps jobs 30 min apart: 11:15 clashes, 11:30 does not.
    first = set(units(msk(4, "10:00"), msk(4, "11:30")))
    assert first & set(units(msk(4, "11:15"), msk(4, "12:45")))
    assert not first & set(units(msk(4, "11:30"), msk(4, "13:00")))


def test_units_align_to_epoch_not_to_local_offset():
    # Kolkata is UTC+05:30: 10:00-11:00 local is 04:30-05:30Z, which touches two 1 h units.
    kolkata = ZoneInfo("Asia/Kolkata")
    assert units(
        datetime(2026, 12, 4, 10, tzinfo=kolkata),
        datetime(2026, 12, 4, 11, tzinfo=kolkata),
        unit=timedelta(hours=1),
    ) == utc("2026-12-04T04:00", "2026-12-04T05:00")


def test_units_refuse_naive_and_empty():
    with pytest.raises(ValueError):
        units(datetime(2026, 12, 4, 10), datetime(2026, 12, 4, 11))
    with pytest.raises(ValueError):
        units(msk(4, "10:00"), msk(4, "10:00"))
