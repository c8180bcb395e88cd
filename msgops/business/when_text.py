"""Dates and times written the way a customer reads them, in their language."""
from __future__ import annotations

from datetime import datetime
from typing import Optional
from zoneinfo import ZoneInfo

_RU_MONTHS = ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
              "сентября", "октября", "ноября", "декабря"]
_RU_DAYS = ["пн", "вт", "ср", "чт", "пт", "сб", "вс"]
_EN_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_EN_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def format_when(value: datetime, tz: ZoneInfo, lang: Optional[str]) -> str:
    """"пт, 4 декабря, 11:00" or "Fri 4 Dec, 11:00" in the business timezone."""
    local = value.astimezone(tz)
    if lang == "en":
        return f"{_EN_DAYS[local.weekday()]} {local.day} {_EN_MONTHS[local.month - 1]}, {local:%H:%M}"
    return f"{_RU_DAYS[local.weekday()]}, {local.day} {_RU_MONTHS[local.month - 1]}, {local:%H:%M}"


def format_short(value: datetime, tz: ZoneInfo, lang: Optional[str]) -> str:
    """A button title within 20 characters: "пт 4.12 11:00" / "Fri 4 Dec 11:00"."""
    local = value.astimezone(tz)
    if lang == "en":
        return f"{_EN_DAYS[local.weekday()]} {local.day} {_EN_MONTHS[local.month - 1]} {local:%H:%M}"
    return f"{_RU_DAYS[local.weekday()]} {local.day:02d}.{local.month:02d} {local:%H:%M}"


def format_duration(minutes: int, lang: Optional[str]) -> str:
    """"1 ч 30 мин" / "1 h 30 min"; whole hours without the minutes."""
    hours, rest = divmod(int(minutes), 60)
    h, m = ("h", "min") if lang == "en" else ("ч", "мин")
    parts = ([f"{hours} {h}"] if hours else []) + ([f"{rest} {m}"] if rest else [])
    return " ".join(parts) or f"0 {m}"
