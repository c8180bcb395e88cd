"""The built-in calendar: meetings and the resource claims that make double booking impossible."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import List, Optional, Tuple

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from msgops.business.availability import units
from msgops.store.models import Meeting, ResourceClaim, stored_utc


class SlotTaken(Exception):
    """Somebody else booked an overlapping time of the same resource first."""


def busy_intervals(session: Session, resource: str, since: datetime) -> List[Tuple[datetime, datetime]]:
    rows = session.execute(
        select(Meeting.starts_at, Meeting.ends_at).where(
            Meeting.resource == resource, Meeting.status == "booked", Meeting.ends_at > since)
    ).all()
    return [(stored_utc(s), stored_utc(e)) for s, e in rows]


def book(
    session: Session, *, resource: str, start: datetime, end: datetime, contact_id: int,
    lead_id: Optional[int],
) -> Meeting:
    """Book, or raise SlotTaken; call it in a session of its own, which a clash spoils.

    (SQLite's driver has no dependable savepoints, so the whole transaction is the unit.)
    """
    meeting = Meeting(resource=resource, starts_at=start.astimezone(timezone.utc),
                      ends_at=end.astimezone(timezone.utc), contact_id=contact_id, lead_id=lead_id)
    session.add(meeting)
    try:
        session.flush()
        session.add_all(ResourceClaim(resource=resource, unit_start=unit, owner=f"meeting:{meeting.id}")
                        for unit in units(start, end))
        session.flush()
    except IntegrityError as exc:
        raise SlotTaken(f"{resource} is taken at {start.isoformat()}") from exc
    return meeting
