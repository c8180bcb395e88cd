"""Shared Meta webhook code for WhatsApp, Instagram and Messenger.

All three products deliver webhooks the same way: a GET handshake (``hub.mode``,
``hub.verify_token``, ``hub.challenge``) when the callback URL is saved, then POSTs signed
with ``X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body with the app secret>``.
``MetaWebhookInput`` implements that once; a product adds its ``object`` type, a parser from
the payload to ``Inbound`` items and an output channel.

The signature is checked over the exact bytes received, in constant time, before the body is
even decoded: a forged or unsigned request gets 403 and causes nothing at all.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any, Dict, Iterable, List, Optional

from rasa.core.channels.channel import InputChannel
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from msgops.channels.inbound import Inbound
from msgops.channels.pipeline import ChannelPipeline, OnNewMessage

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"


def sign(secret: str, body: bytes) -> str:
    """The header value Meta sends for ``body``; used by tests and the latency bench."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def valid_signature(secret: Optional[str], body: bytes, header: Optional[str]) -> bool:
    """True if ``header`` is ``sha256=<hex>`` of ``body`` under ``secret`` (constant time)."""
    if not secret or not header:
        return False
    algorithm, _, received = header.strip().partition("=")
    if algorithm.lower() != "sha256" or not received:
        return False
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(
        expected.encode("ascii"), received.strip().lower().encode("utf-8", "replace")
    )


def verification_response(request: Request, verify_token: Optional[str]) -> HTTPResponse:
    """The GET handshake: the challenge as text/plain with 200 on a match, 403 otherwise."""
    mode = request.args.get("hub.mode")
    token = request.args.get("hub.verify_token") or ""
    challenge = request.args.get("hub.challenge") or ""
    if (
        mode == "subscribe"
        and verify_token
        and hmac.compare_digest(token.encode("utf-8"), verify_token.encode("utf-8"))
    ):
        return response.text(challenge, status=200)
    logger.warning("webhook verification refused (mode=%r, token matches: no)", mode)
    return response.text("verification failed", status=403)


def require_credentials(
    cls: type, credentials: Optional[Dict[str, Any]], keys: Iterable[str]
) -> Dict[str, Any]:
    """The credentials dict, or a start-up error naming (never showing) what is missing.

    ``msgops.channels.credentials.write_active_credentials`` leaves a channel out of
    credentials.yml when its secrets are not set, so in normal operation this never fires;
    it stops a hand-written credentials file from starting a half-configured connector.
    """
    credentials = credentials or {}
    missing = [key for key in keys if not str(credentials.get(key) or "").strip()]
    if missing:
        raise RasaException(
            f"{cls.__module__}.{cls.__name__} is missing credentials: {', '.join(missing)}. "
            "Set the environment variables credentials.yml refers to, or remove the channel."
        )
    return credentials


class MetaWebhookInput(ChannelPipeline, InputChannel):
    """A Meta webhook: handshake, signature, parse, answer at once, process in the background."""

    #: the ``object`` field of this product's webhooks
    object_type: str = ""

    def __init__(self, *, app_secret: str, verify_token: str) -> None:
        self.app_secret = app_secret
        self.verify_token = verify_token

    def parse(self, payload: Dict[str, Any]) -> List[Inbound]:
        raise NotImplementedError

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        hook = Blueprint(f"msgops_{self.name()}_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            return verification_response(request, self.verify_token)

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return self.receive(request, on_new_message)

        self.finish_on_stop(hook)
        return hook

    def receive(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        """Synchronous on purpose: nothing here waits, so the answer cannot be slow."""
        body = request.body or b""
        if not valid_signature(self.app_secret, body, request.headers.get(SIGNATURE_HEADER)):
            logger.warning(
                "%s: request with a missing or wrong %s refused (%d bytes from %s)",
                self.name(), SIGNATURE_HEADER, len(body), request.ip,
            )
            return response.text("invalid signature", status=403)
        try:
            payload = json.loads(body)
        except ValueError:
            logger.warning("%s: signed request with a body that is not JSON", self.name())
            return response.text("invalid JSON", status=400)
        if not isinstance(payload, dict) or payload.get("object") != self.object_type:
            logger.info(
                "%s: webhook for object %r ignored", self.name(),
                payload.get("object") if isinstance(payload, dict) else type(payload).__name__,
            )
            return response.text("EVENT_RECEIVED")
        try:
            items = self.parse(payload)
        except Exception:  # noqa: BLE001 - the platform still gets 200, we keep the log
            logger.exception("%s: could not parse a webhook", self.name())
            items = []
        self.accept(request.app, items, on_new_message)
        return response.text("EVENT_RECEIVED")
