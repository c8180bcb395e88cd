"""The one source of "now" for the NLU components, the actions and the scheduler.

MSGOPS_NOW (an ISO datetime with offset) pins it, so a regression run of `rasa test` or a
benchmark reads "tomorrow" the same way every day; unset, it is the real clock.
"""
from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Optional
from zoneinfo import ZoneInfo


def now(tz: Optional[ZoneInfo] = None) -> datetime:
    pinned = os.environ.get("MSGOPS_NOW")
    current = datetime.fromisoformat(pinned) if pinned else datetime.now(timezone.utc)
    return current.astimezone(tz) if tz else current.astimezone(timezone.utc)
