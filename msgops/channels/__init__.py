"""Messaging channel connectors for Rasa.

WhatsApp, Instagram, Messenger and Telegram (docs/channels.md); the REST and socket.io web
chat channels and the reply guarantee they all share live here too (docs/webchat.md).

Each messaging connector is a Rasa ``InputChannel`` referenced from credentials.yml by class path
(``msgops.channels.whatsapp.WhatsAppInput`` ...). They share one pipeline
(``msgops.channels.pipeline``): verify the request, answer the platform at once, then in the
background drop duplicates, record when the customer last wrote, and hand a ``UserMessage`` to
Rasa. Replies go through one rendering layer (``msgops.channels.render``) that fits Rasa's
bot messages (text, buttons, images) into each platform's limits.

Nothing is imported here on purpose: importing the package must not pull in Sanic, aiohttp or
the database, so ``msgops.channels.credentials`` and ``status`` stay cheap to use from scripts.
"""
