"""One calendar event as iCalendar text (RFC 5545), for "add to my calendar" links.

Written by hand rather than with a library: a single VEVENT needs only the three rules
calendar apps are strict about, and each is a few lines here. Lines end in CRLF (3.1), long
lines are folded at 75 octets without splitting a UTF-8 character (3.1), and TEXT values
escape backslash, semicolon, comma and newline (3.3.11). Times are written in UTC ("Z"), so
no VTIMEZONE block is needed and every client shows the visit at the right local time.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import List, Optional

_LIMIT = 75  # octets per physical line, CRLF excluded


@dataclass(frozen=True)
class Event:
    uid: str
    start: datetime
    end: datetime
    stamp: datetime  # when this version of the event was produced
    summary: str
    location: Optional[str] = None
    description: Optional[str] = None
    cancelled: bool = False


def escape(value: str) -> str:
    """A TEXT value: backslash first, so the escapes added after it stay single."""
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def fold(line: str) -> str:
    """Split a content line into physical lines of at most 75 octets (continuations start
    with one space, which counts towards their 75)."""
    parts: List[str] = []
    current, size = "", 0
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > _LIMIT:
            parts.append(current)
            current, size = " ", 1
        current += char
        size += width
    parts.append(current)
    return "\r\n".join(parts)


def _utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def calendar_text(event: Event) -> str:
    """A VCALENDAR holding the one VEVENT, ready to serve as text/calendar."""
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//msgops//bookings//EN", "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH", "BEGIN:VEVENT", f"UID:{event.uid}", f"DTSTAMP:{_utc(event.stamp)}",
        f"DTSTART:{_utc(event.start)}", f"DTEND:{_utc(event.end)}", f"SUMMARY:{escape(event.summary)}",
    ]
    if event.location:
        lines.append(f"LOCATION:{escape(event.location)}")
    if event.description:
        lines.append(f"DESCRIPTION:{escape(event.description)}")
    lines += [f"STATUS:{'CANCELLED' if event.cancelled else 'CONFIRMED'}", "END:VEVENT", "END:VCALENDAR"]
    return "".join(fold(line) + "\r\n" for line in lines)
