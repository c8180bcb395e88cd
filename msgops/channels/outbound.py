"""The output side shared by every connector: render, respect the platform's window, send.

Rasa calls ``send_response(recipient_id, message)`` once per bot message. Here the whole
message dict goes through ``render.render`` (so buttons, text limits and images are handled
in one place), and the connector's ``route`` decides how it may be sent right now:

* ``session``: the customer wrote within the platform's customer-service window (24 hours);
* ``template`` (WhatsApp): outside it, the approved template named in the credentials;
* ``tag:<TAG>`` (Messenger/Instagram): outside it, with a message tag the policy allows;
* ``closed``: it may not be sent at all; the message is logged as not sent, with the reason,
  and ``send_response`` returns a ``DeliveryResult`` saying so (never lost silently).

Within a turn started by the customer the connector passes the inbound timestamp, so no
database read is needed; a send without one (Rasa's ``trigger_intent`` for reminders and
follow-ups) looks the last inbound time up in ``ChannelPresence``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Dict, Iterable, List, Optional

from rasa.core.channels.channel import OutputChannel

from msgops.channels import render, state
from msgops.channels.http import ApiResponse

logger = logging.getLogger(__name__)

CUSTOMER_SERVICE_WINDOW = timedelta(hours=24)

SESSION = "session"
TEMPLATE = "template"
TAG = "tag"
CLOSED = "closed"


@dataclass
class Route:
    """How a message may go out now."""

    kind: str
    tag: Optional[str] = None
    reason: Optional[str] = None
    template: Optional[Dict[str, Any]] = None


@dataclass
class DeliveryResult:
    """What happened to one bot message; returned by ``send_response`` and logged."""

    channel: str
    recipient_id: str
    sent: bool
    route: str
    reason: Optional[str] = None
    message_ids: List[str] = field(default_factory=list)
    error_code: Optional[int] = None


def record_not_sent(result: DeliveryResult, message: Dict[str, Any]) -> None:
    """The one place a message that did not go out is recorded.

    Today: a WARNING log line with channel, recipient, reason and the start of the text.
    (A table for these, if the processes need to query them, is proposed in docs/channels.md.)
    """
    logger.warning(
        "channel message NOT SENT channel=%s recipient=%s route=%s reason=%s error_code=%s text=%r",
        result.channel, result.recipient_id, result.route, result.reason, result.error_code,
        str(message.get("text") or "")[:120],
    )


def message_flag(message: Dict[str, Any], key: str) -> Any:
    """A per-message instruction (``message_tag``, ``human_agent``, ``language``).

    Accepted at the top level (Rasa merges a response's ``metadata`` there) or in ``custom``.
    """
    if message.get(key) is not None:
        return message[key]
    custom = message.get("custom")
    if isinstance(custom, dict):
        return custom.get(key)
    return None


class ChannelOutput(OutputChannel):
    """Base of the connectors' output channels; subclasses implement ``route`` and ``deliver``."""

    platform: str = ""

    def __init__(
        self,
        *,
        last_inbound_at: Optional[datetime] = None,
        language: Optional[str] = None,
    ) -> None:
        super().__init__()
        #: when the customer last wrote, if this output belongs to a turn they started
        self.last_inbound_at = state.as_utc(last_inbound_at)
        self.language = language
        #: results of this instance's sends (an instance lives for one turn)
        self.results: List[DeliveryResult] = []

    @classmethod
    def name(cls) -> str:
        return cls.platform

    # -- what subclasses provide --------------------------------------------------------------

    async def route(self, recipient_id: str, message: Dict[str, Any], language: Optional[str]) -> Route:
        return Route(SESSION)

    async def deliver(self, recipient_id: str, payload: Dict[str, Any], route: Route) -> ApiResponse:
        raise NotImplementedError

    def message_id_of(self, response: ApiResponse) -> Optional[str]:
        return None

    async def on_failure(
        self, recipient_id: str, message: Dict[str, Any], language: Optional[str],
        route: Route, response: ApiResponse,
    ) -> Optional[Route]:
        """A second route to try after a failed send (e.g. a template after 131047)."""
        return None

    # -- shared ------------------------------------------------------------------------------

    async def last_inbound(self, recipient_id: str) -> Optional[datetime]:
        if self.last_inbound_at is not None:
            return self.last_inbound_at
        return await state.run_sync(state.last_inbound, self.name(), recipient_id)

    async def within(self, recipient_id: str, window: timedelta) -> bool:
        last = await self.last_inbound(recipient_id)
        return last is not None and state.utcnow() - last <= window

    def language_of(self, message: Dict[str, Any]) -> Optional[str]:
        explicit = message_flag(message, "language")
        if explicit in ("ru", "en"):
            return explicit
        return self.language or render.text_language(message.get("text"))

    def payloads_for(self, message: Dict[str, Any], language: Optional[str], route: Route) -> List[Dict[str, Any]]:
        if route.kind == TEMPLATE and route.template is not None:
            return [route.template]
        return render.render(self.platform, message, language)

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> DeliveryResult:  # type: ignore[override]
        message = dict(message)
        language = self.language_of(message)
        route = await self.route(recipient_id, message, language)
        result = await self._send_via(recipient_id, message, language, route)
        if not result.sent and result.route != CLOSED:
            retry_route = await self.on_failure(
                recipient_id, message, language, route,
                ApiResponse(ok=False, error_code=result.error_code),
            )
            if retry_route is not None:
                result = await self._send_via(recipient_id, message, language, retry_route)
        self.results.append(result)
        if not result.sent:
            record_not_sent(result, message)
        return result

    async def _send_via(
        self, recipient_id: str, message: Dict[str, Any], language: Optional[str], route: Route
    ) -> DeliveryResult:
        route_name = f"{TAG}:{route.tag}" if route.kind == TAG else route.kind
        if route.kind == CLOSED:
            return DeliveryResult(self.name(), recipient_id, False, CLOSED, reason=route.reason)
        payloads = self.payloads_for(message, language, route)
        result = DeliveryResult(self.name(), recipient_id, True, route_name)
        if not payloads:
            logger.debug("nothing to send on %s for %r", self.name(), list(message))
            return result
        for payload in payloads:
            response = await self.deliver(recipient_id, payload, route)
            if not response.ok:
                result.sent = False
                result.error_code = response.error_code
                result.reason = f"api_error: {response.describe()}"
                break
            message_id = self.message_id_of(response)
            if message_id:
                result.message_ids.append(message_id)
        return result

    # -- Rasa's OutputChannel interface, all through send_response ------------------------------

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text, **_extra(kwargs)})

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.send_response(recipient_id, {"text": text, "buttons": buttons, **_extra(kwargs)})

    async def send_quick_replies(
        self, recipient_id: str, text: str, quick_replies: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.send_response(
            recipient_id, {"text": text, "buttons": quick_replies, **_extra(kwargs)}
        )

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"image": image, **_extra(kwargs)})

    async def send_attachment(self, recipient_id: str, attachment: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"attachment": attachment, **_extra(kwargs)})

    async def send_elements(
        self, recipient_id: str, elements: Iterable[Dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.send_response(recipient_id, {"elements": list(elements), **_extra(kwargs)})

    async def send_custom_json(
        self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any
    ) -> None:
        await self.send_response(recipient_id, {"custom": json_message, **_extra(kwargs)})


_FLAG_KEYS = ("message_tag", "human_agent", "language")


def _extra(kwargs: Dict[str, Any]) -> Dict[str, Any]:
    return {k: kwargs[k] for k in _FLAG_KEYS if kwargs.get(k) is not None}
