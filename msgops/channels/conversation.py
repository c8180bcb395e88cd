"""Read-only look at the Rasa conversation a webhook belongs to.

Two questions need the conversation rather than the webhook: "was the bot's last message a
numbered menu?" (so a bare "2" can be mapped back to the payload) and "which language does
this contact speak?" (for the connector's own polite replies). Rasa already stores both in the
tracker (the last ``BotUttered`` with its buttons, and the ``language`` slot), in whichever
tracker store is configured and therefore shared by all servers. Reading it here avoids a
second copy of that state; the connector finds the agent the way Rasa's own HTTP API does,
on ``app.ctx.agent``.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

logger = logging.getLogger(__name__)

LANGUAGES = ("ru", "en")


async def load_tracker(app: Any, sender_id: str) -> Optional[Any]:
    """The conversation's tracker, or None (no agent yet, new conversation, store failure)."""
    agent = getattr(getattr(app, "ctx", None), "agent", None)
    store = getattr(agent, "tracker_store", None)
    if store is None:
        return None
    try:
        return await store.retrieve(sender_id)
    except Exception:  # noqa: BLE001 - an unreadable tracker only costs us a convenience
        logger.exception("could not read the tracker of %s", sender_id)
        return None


def last_bot_buttons(tracker: Any) -> Optional[List[Dict[str, Any]]]:
    """Buttons of the bot's latest message with buttons since the customer last spoke.

    If the customer said something after that message, the menu is no longer the question
    being answered, so a number is just a number.
    """
    from rasa.shared.core.events import BotUttered, UserUttered

    if tracker is None:
        return None
    for event in reversed(list(tracker.events)):
        if isinstance(event, UserUttered):
            return None
        if isinstance(event, BotUttered):
            buttons = (event.data or {}).get("buttons") or (event.data or {}).get("quick_replies")
            if buttons:
                return list(buttons)
    return None


def tracker_language(tracker: Any) -> Optional[str]:
    """The ``language`` slot (``ru``/``en``) if the conversation has one."""
    if tracker is None:
        return None
    try:
        value = tracker.get_slot("language")
    except Exception:  # noqa: BLE001 - domain without that slot
        return None
    return value if value in LANGUAGES else None
