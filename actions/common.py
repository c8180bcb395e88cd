"""What every action needs: who is talking, in which language, and a safe way to call services.

Services are synchronous SQLAlchemy code; `call_service` runs them in a worker thread with a
timeout so the action server's event loop keeps serving other customers, and turns a store
outage into one plain sentence for the customer instead of a stack trace.
"""
from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any, Callable, Optional, TypeVar

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from msgops.business.config import BusinessConfig, business
from msgops.conversation import Conversation

log = logging.getLogger("msgops.actions")
SERVICE_TIMEOUT = 15.0
T = TypeVar("T")


class ServiceUnavailable(Exception):
    """The store or a backend failed; the customer has been told what happens next."""


def language(tracker: Tracker) -> str:
    return "en" if tracker.get_slot("language") == "en" else "ru"


def conversation(tracker: Tracker) -> Conversation:
    return Conversation(
        conversation_id=tracker.sender_id,
        channel=tracker.get_latest_input_channel() or "rest",
        language=language(tracker),
        last_message=_last_text(tracker),
    )


def _last_text(tracker: Tracker) -> Optional[str]:
    for event in reversed(tracker.events):
        if event.get("event") == "user" and event.get("text") and not str(event["text"]).startswith("/"):
            return event["text"]
    return None


def latest_entity(tracker: Tracker, name: str) -> Optional[str]:
    """The value of an entity of the customer's last message (or a button's payload)."""
    for entity in tracker.latest_message.get("entities", []):
        if entity.get("entity") == name:
            return entity.get("value")
    return None


def config() -> BusinessConfig:
    return business()


async def call_service(dispatcher: CollectingDispatcher, fn: Callable[..., T], *args: Any,
                       **kwargs: Any) -> T:
    """Run a blocking service call off the event loop; on failure tell the customer and raise."""
    try:
        return await asyncio.wait_for(
            asyncio.to_thread(functools.partial(fn, *args, **kwargs)), SERVICE_TIMEOUT)
    except (SQLAlchemyError, OSError, asyncio.TimeoutError) as exc:
        log.error("service %s failed: %r", getattr(fn, "__name__", fn), exc)
        dispatcher.utter_message(response="utter_store_unavailable")
        raise ServiceUnavailable(str(exc)) from exc
