"""Instagram Messaging connector (webhooks with ``object: instagram``).

credentials.yml::

    msgops.channels.instagram.InstagramInput:
      access_token: ${MSGOPS_INSTAGRAM_ACCESS_TOKEN}   # page token (Facebook Login) or IG token
      app_secret: ${MSGOPS_INSTAGRAM_APP_SECRET}       # signs the webhooks
      verify_token: ${MSGOPS_INSTAGRAM_VERIFY_TOKEN}
      # graph_api_base: https://graph.instagram.com    # only for Instagram-Login apps

Webhook: ``/webhooks/instagram/webhook``. Messages, quick replies (up to 13, 20-character
titles), postbacks, attachments, story replies and story mentions reach the bot; echoes of our
own sends, seen, reaction and deleted events are logged and dropped. Text is split at 1000
UTF-8 bytes. Outside the 24-hour window only a human agent's reply may go out (``HUMAN_AGENT``
tag, within 7 days); everything else is recorded as not sent.
"""
from __future__ import annotations

from typing import Dict, FrozenSet, Tuple

from msgops.channels import render
from msgops.channels.credentials import key_aliases
from msgops.channels.messaging import MetaMessagingInput, MetaMessagingOutput

CHANNEL = "instagram"


class InstagramOutput(MetaMessagingOutput):
    platform = render.INSTAGRAM
    allowed_tags: FrozenSet[str] = frozenset()


class InstagramInput(MetaMessagingInput):
    """Rasa input channel for Instagram Messaging."""

    object_type = "instagram"
    platform = render.INSTAGRAM
    output_class = InstagramOutput
    KEY_ALIASES: Dict[str, Tuple[str, ...]] = key_aliases(CHANNEL)

    @classmethod
    def name(cls) -> str:
        return CHANNEL
