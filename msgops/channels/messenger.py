"""Facebook Messenger connector: a replacement for Rasa's ``facebook`` channel.

Same channel name and webhook URL (``/webhooks/facebook/webhook``) and it also accepts the
credential keys of Rasa's connector (``verify``, ``secret``, ``page-access-token``), so it is a
drop-in. What it fixes in Rasa 3.6's ``FacebookInput``:

* only the first event of a batch was handled (``return`` inside the loop): every event is now;
* the legacy SHA-1 ``X-Hub-Signature`` was checked (with ``==``) and a failure still answered
  200: ``X-Hub-Signature-256`` is checked in constant time and a failure gets 403;
* echoes with attachments (our own images) reached the bot as URLs: every echo is dropped;
* the webhook waited for the whole turn and sends used the blocking ``requests`` client in
  the event loop: the turn runs in the background and sends are async with retries;
* no way to send outside the 24-hour window: message tags where the policy allows, e.g. a
  booking update with ``message_tag: CONFIRMED_EVENT_UPDATE``; otherwise recorded as not sent.

credentials.yml::

    msgops.channels.messenger.MessengerInput:
      access_token: ${MSGOPS_MESSENGER_PAGE_ACCESS_TOKEN}
      app_secret: ${MSGOPS_MESSENGER_APP_SECRET}
      verify_token: ${MSGOPS_MESSENGER_VERIFY_TOKEN}
"""
from __future__ import annotations

from typing import Dict, FrozenSet, Tuple

from msgops.channels import render
from msgops.channels.credentials import key_aliases
from msgops.channels.messaging import MetaMessagingInput, MetaMessagingOutput

CHANNEL = "facebook"

#: Messenger message tags a bot may use outside the 24-hour window (HUMAN_AGENT is for humans)
MESSENGER_TAGS = frozenset({"CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE"})


class MessengerOutput(MetaMessagingOutput):
    platform = render.MESSENGER
    allowed_tags: FrozenSet[str] = MESSENGER_TAGS


class MessengerInput(MetaMessagingInput):
    """Rasa input channel for Facebook Messenger (object ``page``)."""

    object_type = "page"
    platform = render.MESSENGER
    output_class = MessengerOutput
    #: ours first, then the names Rasa's own ``facebook`` connector used
    KEY_ALIASES: Dict[str, Tuple[str, ...]] = key_aliases(CHANNEL)

    @classmethod
    def name(cls) -> str:
        return CHANNEL
