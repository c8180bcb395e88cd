"""Free start times for a job or a manager's call, and the time units a booking claims.

Pure functions over plain values: the caller reads the busy intervals from the store and
passes them in. That keeps the rules testable with a fixed clock and lets the same code
serve the cleaning crew's week and the manager's call week.

Every comparison of instants is made in UTC. Python compares (and subtracts) two aware
datetimes that share one tzinfo by their wall-clock fields alone, ignoring the offset, so
around a DST change two Europe/Berlin times would compare wrongly; UTC has no such trap.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import List, Mapping, Optional, Sequence, Tuple
from zoneinfo import ZoneInfo

from msgops.business.config import DAYS, Interval

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# How far ahead an open-ended search looks before it gives up: a week that is closed every
# day (or a job longer than any working day) must end the search, not loop forever.
SEARCH_DAYS = 366
# Parts of the day, by the hour they start, for offering times a customer can choose between.
_AFTERNOON, _EVENING = 12, 17

Period = Tuple[datetime, datetime]


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {moment.isoformat()}")
    return moment.astimezone(UTC)


def _instant(wall: datetime, tz: ZoneInfo) -> datetime:
    """A local wall-clock time as a UTC instant; in an autumn overlap, the first occurrence."""
    return wall.replace(tzinfo=tz).astimezone(UTC)


def _exists(wall: datetime, tz: ZoneInfo) -> bool:
    """False for a wall time skipped by a spring-forward (02:30 in Berlin on 2027-03-28):
    zoneinfo would silently map it to another hour, and we must not offer a time that
    never shows on the customer's clock."""
    return _instant(wall, tz).astimezone(tz).replace(tzinfo=None) == wall


def _overlaps(start: datetime, end: datetime, spans: Sequence[Period]) -> bool:
    return any(start < span_end and span_start < end for span_start, span_end in spans)


def free_slots(
    *,
    hours: Mapping[str, Optional[Interval]],
    breaks: Sequence[Interval],
    holidays: Sequence[date],
    tz: ZoneInfo,
    duration: timedelta,
    busy: Sequence[Period],
    now: datetime,
    earliest: Optional[datetime] = None,
    latest: Optional[datetime] = None,
    buffer: timedelta = timedelta(0),
    step: timedelta = timedelta(minutes=30),
    min_notice: timedelta = timedelta(0),
    limit: int = 50,
) -> List[datetime]:
    """Start times, earliest first, at which a job of `duration` fits the working week.

    A start qualifies when [start, start + duration) lies inside one local day's working
    hours, overlaps no break and no busy interval widened by `buffer` on both sides (travel
    or tidy-up time between jobs), the day is no holiday, and start >= now + min_notice,
    start >= earliest, start + duration <= latest.

    Candidates lie on a grid of `step` counted from each day's opening time in local wall
    time, so customers are offered round times ("09:30") whatever the UTC offset that day.
    `duration` is elapsed time: a one-hour job that starts at 01:30 on the night clocks
    spring forward ends at 03:30 on the wall. Wall times that do not exist that night are
    skipped; in the autumn overlap the first occurrence is used. Results are aware
    datetimes in `tz`.
    """
    if duration <= timedelta(0) or step <= timedelta(0):
        raise ValueError("duration and step must be positive")
    if buffer < timedelta(0) or min_notice < timedelta(0):
        raise ValueError("buffer and min_notice cannot be negative")
    not_before = _utc(now, "now") + min_notice
    if earliest is not None:
        not_before = max(not_before, _utc(earliest, "earliest"))
    not_after = _utc(latest, "latest") if latest is not None else None
    taken = [
        (_utc(start, "busy start") - buffer, _utc(end, "busy end") + buffer) for start, end in busy
    ]
    closed = set(holidays)

    day = not_before.astimezone(tz).date()
    last_day = day + timedelta(days=SEARCH_DAYS)
    if not_after is not None:
        last_day = min(last_day, not_after.astimezone(tz).date())
    slots: List[datetime] = []
    while day <= last_day and len(slots) < limit:
        opening = hours.get(DAYS[day.weekday()])
        if opening is not None and day not in closed:
            slots += _day_slots(
                day, opening, breaks, tz, duration, step, taken, not_before, not_after
            )[: limit - len(slots)]
        day += timedelta(days=1)
    return slots


def _day_slots(
    day: date,
    opening: Interval,
    breaks: Sequence[Interval],
    tz: ZoneInfo,
    duration: timedelta,
    step: timedelta,
    taken: Sequence[Period],
    not_before: datetime,
    not_after: Optional[datetime],
) -> List[datetime]:
    closing_wall = datetime.combine(day, opening.end)
    closing = _instant(closing_wall, tz)
    pauses = [
        (_instant(datetime.combine(day, b.start), tz), _instant(datetime.combine(day, b.end), tz))
        for b in breaks
    ]
    slots: List[datetime] = []
    wall = datetime.combine(day, opening.start)
    while wall < closing_wall:
        candidate, wall = wall, wall + step
        if not _exists(candidate, tz):
            continue
        start = _instant(candidate, tz)
        end = start + duration
        # Later grid points start (and so end) later: once one overruns, all the rest do.
        if end > closing or (not_after is not None and end > not_after):
            break
        if (
            start >= not_before
            and not _overlaps(start, end, pauses)
            and not _overlaps(start, end, taken)
        ):
            slots.append(start.astimezone(tz))
    return slots


def _part_of_day(moment: datetime) -> int:
    return 0 if moment.hour < _AFTERNOON else 1 if moment.hour < _EVENING else 2


def pick_spread(slots: Sequence[datetime], count: int) -> List[datetime]:
    """The `count` times to offer first: the earliest, then the ones that add a choice.

    Three adjacent half-hours give a customer one real option; a morning, an afternoon
    and another day give three. After the earliest slot, each pick is the earliest slot
    that adds the most novelty: a day not offered yet and a part of the day (morning
    before 12:00, afternoon before 17:00, evening) not offered yet count one each. When
    nothing adds novelty (all slots in one morning) the slot farthest from those already
    picked is taken. Parts of day are read from each slot's own wall clock, so pass slots
    in the business timezone (as free_slots returns them). The choice ranges only over
    `slots`, so the caller bounds how far ahead an offer can reach. Returns them in
    chronological order.
    """
    pool = sorted(slots, key=lambda s: _utc(s, "slot"))
    if count <= 0:
        return []
    if count >= len(pool):
        return pool
    chosen = [pool[0]]
    while len(chosen) < count:
        days = {c.date() for c in chosen}
        parts = {_part_of_day(c) for c in chosen}
        rest = [s for s in pool if s not in chosen]
        novelty = [(s.date() not in days) + (_part_of_day(s) not in parts) for s in rest]
        most = max(novelty)
        if most:
            chosen.append(rest[novelty.index(most)])
        else:
            chosen.append(
                max(rest, key=lambda s: min(abs(_utc(s, "slot") - _utc(c, "slot")) for c in chosen))
            )
    return sorted(chosen, key=lambda s: _utc(s, "slot"))


def units(
    start: datetime, end: datetime, unit: timedelta = timedelta(minutes=15)
) -> List[datetime]:
    """The time units [start, end) touches, as UTC instants: one DB row per resource per unit.

    Alignment rule: units are consecutive blocks of `unit` counted from the Unix epoch
    (1970-01-01 00:00 UTC), so 15-minute units start at :00, :15, :30 and :45 UTC. The
    grid is global, not per booking, which is what makes a unique constraint on
    (resource, unit_start) refuse any two intervals that overlap, even partly: both touch
    the unit where they overlap. A partial unit counts as a whole one, so bookings that
    end and start inside the same unit (10:00-10:10 and 10:10-10:30) clash; bookings on
    the 15-minute grid never do. Every timezone offset in use is a multiple of 15 minutes,
    so local round times land on unit boundaries. To have the database also enforce a
    buffer between jobs, claim [start, end + buffer): two such claims overlap exactly when
    the jobs are closer than `buffer`, the rule free_slots applies.
    """
    first_utc, end_utc = _utc(start, "start"), _utc(end, "end")
    if unit <= timedelta(0):
        raise ValueError("unit must be positive")
    if end_utc <= first_utc:
        raise ValueError(f"interval {start.isoformat()}-{end.isoformat()} is empty")
    cursor = EPOCH + (first_utc - EPOCH) // unit * unit
    claimed: List[datetime] = []
    while cursor < end_utc:
        claimed.append(cursor)
        cursor += unit
    return claimed
