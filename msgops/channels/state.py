"""What the connectors remember, kept in the business store so every server shares it.

* ``ProcessedDelivery``: a platform message id already handed to the bot. Meta and Telegram
  redeliver a webhook they think failed, possibly to another server behind the load balancer;
  the primary key makes the second insert fail, wherever it happens. Rows older than
  ``DEDUP_TTL`` are deleted now and then by whichever server is inserting (no cron needed).
* ``ChannelPresence``: when the customer last wrote on a channel, which decides the
  platforms' 24-hour customer-service windows for later sends (reminders, follow-ups).

The functions are synchronous (SQLAlchemy 1.4 sessions); the async connectors call them through
``run_sync`` so a slow database never blocks the event loop that answers webhooks.
"""
from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Optional, TypeVar

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from msgops.store import session_scope
from msgops.store.models import ChannelPresence, Contact, ContactIdentity, ProcessedDelivery

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEDUP_TTL = timedelta(days=7)
#: how often (per process) the expired dedup rows are swept; only an optimisation, the
#: sweep itself is safe to run on every server at once.
PURGE_EVERY_SECONDS = 600.0
_KEY_LIMIT = 255

_last_purge_monotonic: float = 0.0


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: Optional[datetime]) -> Optional[datetime]:
    """SQLite hands back naive datetimes; everything we store is UTC, so say so."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


_executor: Optional[ThreadPoolExecutor] = None
_executor_lock = threading.Lock()
#: threads for the connectors' store calls. Few on purpose: each store call is Python work
#: that competes for the GIL with the event loop answering webhooks; SQLite serialises
#: writers anyway. Raise it (MSGOPS_CHANNEL_DB_THREADS) for PostgreSQL under heavy load.
DB_THREADS = max(1, int(os.environ.get("MSGOPS_CHANNEL_DB_THREADS", "2") or 2))


def _store_executor() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=DB_THREADS, thread_name_prefix="msgops-channels-db")
        return _executor


async def run_sync(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking store call in the connectors' small thread pool."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_store_executor(), functools.partial(func, *args, **kwargs))


def delivery_key(channel: str, message_id: str) -> str:
    """``<channel>:<message id>``, hashed when a platform id would not fit the column."""
    key = f"{channel}:{message_id}"
    if len(key) <= _KEY_LIMIT:
        return key
    digest = hashlib.sha256(message_id.encode("utf-8")).hexdigest()
    return f"{channel}:sha256:{digest}"


def claim_delivery(channel: str, message_id: str, *, now: Optional[datetime] = None) -> bool:
    """True the first time a (channel, message id) is seen by any server, False afterwards.

    A database failure answers True (process it): a rare duplicate reply is better than
    losing what the customer said.
    """
    now = now or utcnow()
    key = delivery_key(channel, message_id)
    try:
        with session_scope() as session:
            session.add(ProcessedDelivery(key=key, created_at=now))
    except IntegrityError:
        return False
    except Exception:  # noqa: BLE001 - the store being down must not drop the message
        logger.exception("dedup store unavailable; processing %s without dedup", key)
        return True
    _maybe_purge(now)
    return True


class _Duplicate(Exception):
    """Raised inside the transaction to roll it back when the delivery was already seen."""


def record_inbound(
    channel: str, dedup_id: Optional[str], external_id: str, at: Optional[datetime] = None,
    phone: Optional[str] = None,
) -> bool:
    """``claim_delivery`` and ``touch_presence`` in one transaction (one connection, one commit).

    This runs for every inbound message, so it is kept to Core statements: store work is
    Python work competing for the GIL with the event loop that answers webhooks. False means
    a duplicate (the presence is then left as it was).

    ``phone`` is a number the platform vouches for (WhatsApp's sender, E.164): see
    ``_link_known_phone``.
    """
    now = utcnow()
    at = min(as_utc(at) or now, now)
    key = delivery_key(channel, dedup_id) if dedup_id else None
    presence = ChannelPresence.__table__
    where = (presence.c.channel == channel) & (presence.c.external_id == external_id)
    for _ in range(2):  # a second try turns a lost presence-insert race into an update
        try:
            with session_scope() as session:
                if key is not None:
                    try:
                        session.execute(insert(ProcessedDelivery.__table__).values(key=key, created_at=now))
                    except IntegrityError:
                        raise _Duplicate() from None
                moved = session.execute(
                    update(presence).where(where & (presence.c.last_inbound_at < at))
                    .values(last_inbound_at=at)
                ).rowcount
                if not moved and session.execute(select(presence.c.id).where(where)).first() is None:
                    session.execute(
                        insert(presence).values(channel=channel, external_id=external_id, last_inbound_at=at)
                    )
                if phone:
                    _link_known_phone(session, channel, external_id, phone, now)
            break
        except _Duplicate:
            return False
        except IntegrityError:
            continue
        except Exception:  # noqa: BLE001 - the store being down must not drop the message
            logger.exception("store unavailable; processing %s:%s without dedup", channel, dedup_id)
            return True
    _maybe_purge(now)
    return True


def _link_known_phone(session: Any, channel: str, external_id: str, phone: str, now: datetime) -> None:
    """Attach this channel address to the existing contact with this phone, if it has none yet.

    The lead process records a contact at the customer's first answer, before it knows the
    phone, under the conversation's channel address. A customer already known by phone from
    another channel (a Telegram lead) who now writes on WhatsApp would then get a second
    contact; linking the WhatsApp address first makes the process find the known contact.
    Nothing is created when no contact has this phone.
    """
    identity = ContactIdentity.__table__
    if session.execute(select(identity.c.id).where(
            (identity.c.channel == channel) & (identity.c.external_id == external_id))).first() is not None:
        return
    contacts = Contact.__table__
    contact_id = session.execute(
        select(contacts.c.id).where(contacts.c.phone == phone).order_by(contacts.c.id).limit(1)
    ).scalar()
    if contact_id is not None:
        session.execute(insert(identity).values(contact_id=contact_id, channel=channel,
                                                external_id=external_id, created_at=now))
        logger.info("%s:%s linked to contact %s by its phone", channel, external_id, contact_id)


def _maybe_purge(now: datetime) -> None:
    global _last_purge_monotonic
    tick = time.monotonic()
    if _last_purge_monotonic and tick - _last_purge_monotonic < PURGE_EVERY_SECONDS:
        return
    _last_purge_monotonic = tick
    purge_deliveries(now=now)


def purge_deliveries(*, now: Optional[datetime] = None, ttl: timedelta = DEDUP_TTL) -> int:
    """Delete dedup rows older than ``ttl``; returns how many went."""
    cutoff = (now or utcnow()) - ttl
    try:
        with session_scope() as session:
            result = session.execute(
                delete(ProcessedDelivery).where(ProcessedDelivery.created_at < cutoff)
            )
            return int(result.rowcount or 0)
    except Exception:  # noqa: BLE001 - a failed sweep is retried next time
        logger.exception("could not purge expired dedup rows")
        return 0


def touch_presence(channel: str, external_id: str, at: Optional[datetime] = None) -> None:
    """Record that the customer wrote at ``at`` (the platform's timestamp, never in the future).

    The platform timestamp is used rather than "now" so a webhook redelivered hours later does
    not pretend the window is open. Only ever moves forward.
    """
    record_inbound(channel, None, external_id, at)


def last_inbound(channel: str, external_id: str) -> Optional[datetime]:
    """When the customer last wrote on ``channel``, or None if never (or the store is down)."""
    try:
        with session_scope() as session:
            value = session.execute(
                select(ChannelPresence.last_inbound_at).where(
                    ChannelPresence.channel == channel,
                    ChannelPresence.external_id == external_id,
                )
            ).scalar_one_or_none()
        return as_utc(value)
    except Exception:  # noqa: BLE001
        logger.exception("could not read presence of %s:%s", channel, external_id)
        return None
