"""A booking profile written out in full, so an owner's edit of business.yml cannot move the
expectations of the booking tests (tests/business, tests/integrations, tests/web).

The week: Mon-Fri 09-18, Sat 10-16, Sun closed, lunch 13-14 every day; holidays Tue
2026-12-08 and 2026-12-31. Two cleaning crews, one handyman, one extraction machine.
Window cleaning takes 2 h and a crew; upholstery 1.5 h, a crew and the machine. Travel gap
30/60/90 min (city/near/far), 12 h notice, 30-minute grid, free changes until 24 h before,
then a 1000 fee for a cancellation and a person for a move. "Now" is Thursday 2026-12-03
22:40 in Moscow (UTC+3 all year), so the first bookable time is Friday 11:00.
"""
from __future__ import annotations

import copy
from datetime import datetime, timedelta
from pathlib import Path
from typing import Optional
from zoneinfo import ZoneInfo

import yaml

from msgops.business.config import BusinessConfig, business

ROOT = Path(__file__).resolve().parents[1]
MSK = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 12, 3, 22, 40, tzinfo=MSK)
WINDOWS, UPHOLSTERY, HANDYMAN = "window_cleaning", "upholstery_cleaning", "handyman"

_SERVICES = {WINDOWS: (120, ["cleaner"]), UPHOLSTERY: (90, ["cleaner", "extractor"]), HANDYMAN: (120, ["handyman"])}
_PROFILE = {
    "working_hours": {**{d: ["09:00", "18:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
                      "sat": ["10:00", "16:00"], "sun": "closed"},
    "breaks": [["13:00", "14:00"]],
    "holidays": ["2026-12-08", "2026-12-31"],
    "resources": [
        {"id": "crew_1", "kind": "cleaner", "name": {"ru": "Бригада 1", "en": "Crew 1"}},
        {"id": "crew_2", "kind": "cleaner", "name": {"ru": "Бригада 2", "en": "Crew 2"}},
        {"id": "master_1", "kind": "handyman", "name": {"ru": "Мастер Иван", "en": "Ivan"}},
        {"id": "extractor_1", "kind": "extractor", "name": {"ru": "Пылесос", "en": "Extractor"}},
    ],
    "bookings": {
        "step_minutes": 30, "offer_count": 3, "search_days": 21, "min_notice_hours": 12,
        "travel_minutes": {"city": 30, "near": 60, "far": 90},
        "policy": {"free_until_hours": 24, "late_cancel": "fee", "late_cancel_fee": 1000,
                   "late_reschedule": "manager"},
        "reminders_hours": [24, 2], "review_after_hours": 2, "maintenance_every_days": 30,
    },
}


def write_profile(directory: Path, policy: Optional[dict] = None) -> Path:
    data = yaml.safe_load((ROOT / "business.yml").read_text(encoding="utf-8"))
    data.update(copy.deepcopy(_PROFILE))
    data["bookings"]["policy"].update(policy or {})
    for service in data["services"]:
        service["duration_minutes"], service["needs"] = _SERVICES.get(service["id"], (60, ["handyman"]))
    path = directory / "business.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def use_profile(tmp_path: Path, monkeypatch, policy: Optional[dict] = None) -> BusinessConfig:
    """Write the profile and make it the one msgops.business.config.business() reads."""
    monkeypatch.setenv("MSGOPS_BUSINESS_FILE", str(write_profile(tmp_path, policy)))
    return business()


def msk(day: int, hhmm: str, month: int = 12) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime(2026, month, day, hour, minute, tzinfo=MSK)


def hours_before(moment: datetime, hours: float) -> datetime:
    return moment - timedelta(hours=hours)
