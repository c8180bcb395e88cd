"""Per-process figures an owner asks for, computed from what was recorded.

Lead capture: how many price questions became leads, qualified leads, booked calls and
handoffs; conversion; the share finished with no manual touch; time from the first answer
to a booked call. Bookings: visits booked, moved, cancelled (late ones apart), left to the
manager, done, and the reviews with their average rating. Time to first reply per channel
comes from Rasa's tracker store, which holds every user and bot event with its timestamp.
"""
from __future__ import annotations

import json
import statistics
from collections import defaultdict
from typing import Any, Dict, List, Optional

from sqlalchemy import create_engine, func, select, text

from msgops.store import session_scope
from msgops.store.models import MetricEvent, Quote, Review


def lead_metrics() -> Dict[str, Any]:
    with session_scope() as session:
        rows = session.execute(select(MetricEvent.conversation_id, MetricEvent.name, MetricEvent.at)
                               .where(MetricEvent.process == "lead")).all()
    steps: Dict[str, Dict[str, Any]] = defaultdict(dict)
    for conversation, name, at in rows:
        steps[conversation].setdefault(name, at)
    count = lambda name: sum(1 for s in steps.values() if name in s)  # noqa: E731
    started = count("started")
    booked = count("meeting_booked")
    untouched = sum(1 for s in steps.values() if "meeting_booked" in s and "handoff" not in s)
    minutes = [(s["meeting_booked"] - s["started"]).total_seconds() / 60
               for s in steps.values() if "meeting_booked" in s and "started" in s]
    return {
        "leads_started": started,
        "qualified": count("qualified"),
        "not_qualified": count("not_qualified"),
        "meetings_booked": booked,
        "handed_to_human": count("handoff"),
        "stopped": count("stopped"),
        "conversion": round(booked / started, 3) if started else None,
        "no_manual_touch_share": round(untouched / started, 3) if started else None,
        "median_minutes_to_booking": round(statistics.median(minutes), 1) if minutes else None,
    }


def _step_counts(session, process: str) -> Dict[str, int]:
    return dict(session.execute(select(MetricEvent.name, func.count(MetricEvent.id))
                                .where(MetricEvent.process == process).group_by(MetricEvent.name)).all())


def quote_metrics() -> Dict[str, Any]:
    """Quotes sent and what became of them; "expired" is read from the quotes themselves,
    since expiry is a date passing, not an event."""
    with session_scope() as session:
        steps = _step_counts(session, "quote")
        statuses = dict(session.execute(select(Quote.status, func.count(Quote.id)).group_by(Quote.status)).all())
    sent = steps.get("sent", 0)
    return {
        "sent": sent,
        "accepted": steps.get("accepted", 0),
        "declined": steps.get("declined", 0),
        "open_or_expired": statuses.get("sent", 0) + statuses.get("expired", 0),
        "acceptance": round(steps.get("accepted", 0) / sent, 3) if sent else None,
    }


def booking_metrics() -> Dict[str, Any]:
    """Counts of booking steps; reviews come from their table, where a changed answer replaces
    the first one, so the average is of the ratings customers stand by."""
    with session_scope() as session:
        steps = _step_counts(session, "booking")
        reviews, average = session.execute(select(func.count(Review.id), func.avg(Review.rating))).one()
    return {
        "booked": steps.get("booked", 0),
        "rescheduled": steps.get("rescheduled", 0),
        "cancelled": steps.get("cancelled", 0),
        "late_cancellations": steps.get("late_cancel", 0),
        "cancel_requests": steps.get("cancel_requested", 0),
        "done": steps.get("done", 0),
        "no_free_time": steps.get("no_free_time", 0),
        "reviews": reviews,
        "average_rating": round(float(average), 2) if average is not None else None,
    }


def first_reply_seconds(tracker_db_url: str) -> Dict[str, Dict[str, Optional[float]]]:
    """Per channel: median and 95th percentile of the first bot reply after a user message."""
    engine = create_engine(tracker_db_url, future=True)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT sender_id, type_name, timestamp, data FROM events "
            "WHERE type_name IN ('user', 'bot') ORDER BY sender_id, timestamp")).all()
    engine.dispose()
    waits: Dict[str, List[float]] = defaultdict(list)
    pending: Dict[str, tuple] = {}
    for sender, kind, timestamp, data in rows:
        if kind == "user":
            channel = (json.loads(data) if data else {}).get("input_channel") or "unknown"
            pending.setdefault(sender, (timestamp, channel))
        elif sender in pending:
            asked, channel = pending.pop(sender)
            waits[channel].append(timestamp - asked)
    return {channel: {"replies": len(values), "median_s": round(statistics.median(values), 3),
                      "p95_s": round(sorted(values)[int(0.95 * (len(values) - 1))], 3)}
            for channel, values in waits.items()}
