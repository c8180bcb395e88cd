"""Every customer message gets an answer, even when a part behind the bot fails.

Rasa logs a failing custom action (action server down, store down) and carries on, so the
customer may hear nothing. This wraps a channel's `on_new_message`: it counts what the
turn sent, and if a turn of a conversation that is not paused (handed to a human) sent
nothing, it sends the domain's `utter_store_unavailable` in the customer's language ("your
message is saved, a manager will contact you"). Rasa has already saved the message in the
tracker by then, so nothing the customer said is lost.
"""
from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import OutputChannel, UserMessage
from sanic import Blueprint

log = logging.getLogger(__name__)
FALLBACK_RESPONSE = "utter_store_unavailable"
OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class CountingOutput(OutputChannel):
    """Passes every message through to the real output channel and counts them."""

    def __init__(self, inner: OutputChannel) -> None:
        self.inner = inner
        self.sent = 0

    def name(self) -> str:  # type: ignore[override]
        return self.inner.name()

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        self.sent += 1
        await self.inner.send_response(recipient_id, message)

    def __getattr__(self, item: str) -> Any:
        return getattr(self.inner, item)


def guard_replies(on_new_message: OnNewMessage, app_ref: Callable[[], Optional[Any]]) -> OnNewMessage:
    """`app_ref` returns the running Sanic app (its `ctx.agent`), captured at server start."""

    async def guarded(message: UserMessage) -> None:
        counting = CountingOutput(message.output_channel)
        message.output_channel = counting
        try:
            await on_new_message(message)
        finally:
            if counting.sent == 0:
                await _fallback(app_ref(), message, counting.inner)

    return guarded


async def _fallback(app: Any, message: UserMessage, output: OutputChannel) -> None:
    agent = getattr(getattr(app, "ctx", None), "agent", None)
    if agent is None:
        return
    try:
        tracker = await agent.tracker_store.retrieve(message.sender_id)
        if tracker is None or tracker.is_paused():
            return
        response = await agent.nlg.generate(FALLBACK_RESPONSE, tracker, output.name())
        log.error("turn of %s sent no reply; told the customer the message is kept",
                  message.sender_id)
        if response:
            await output.send_response(message.sender_id, response)
    except Exception:  # noqa: BLE001 - the safety net itself must never raise into the channel
        log.exception("could not send the fallback reply to %s", message.sender_id)


def guarded_blueprint(make: Callable[[OnNewMessage], Blueprint], on_new_message: OnNewMessage) -> Blueprint:
    """Build a channel's blueprint around the guarded handler and capture the app at start."""
    holder: Dict[str, Any] = {}
    blueprint = make(guard_replies(on_new_message, lambda: holder.get("app")))

    @blueprint.listener("before_server_start")
    async def remember_app(app: Any, _loop: Any) -> None:
        holder["app"] = app

    @blueprint.listener("after_server_start")
    async def freeze_heap(_app: Any, _loop: Any) -> None:
        # REST and the web chat are always on, so every server gets this (see the function).
        from msgops.channels.pipeline import freeze_startup_heap

        freeze_startup_heap()

    return blueprint
