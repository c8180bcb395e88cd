"""When the business is next open, for "a manager will answer at ..." promises."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from msgops.business.config import DAYS, BusinessConfig
from msgops.business.when_text import format_when


def next_open(cfg: BusinessConfig, now: datetime) -> Optional[datetime]:
    local = now.astimezone(cfg.tz)
    for offset in range(15):
        day = (local + timedelta(days=offset)).date()
        hours = cfg.working_hours[DAYS[day.weekday()]]
        if hours is None or day in cfg.holidays:
            continue
        opens = datetime.combine(day, hours.start, tzinfo=cfg.tz)
        closes = datetime.combine(day, hours.end, tzinfo=cfg.tz)
        if local < closes:
            return max(opens, local)
    return None


def next_open_text(cfg: BusinessConfig, now: datetime, lang: Optional[str]) -> str:
    when = next_open(cfg, now)
    if when is None:
        return "—"
    if when <= now.astimezone(cfg.tz) + timedelta(minutes=1):
        return "в течение часа" if lang != "en" else "within the hour"
    return format_when(when, cfg.tz, lang)
