"""Rasa's REST channel with the reply guarantee (see reply_guard)."""
from __future__ import annotations

from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint

from msgops.channels.reply_guard import OnNewMessage, guarded_blueprint


class RestInput(RasaRestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        return guarded_blueprint(super().blueprint, on_new_message)
