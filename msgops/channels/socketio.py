"""Rasa's socketio channel (the web chat) with the reply guarantee (see reply_guard)."""
from __future__ import annotations

from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from sanic import Blueprint

from msgops.channels.reply_guard import OnNewMessage, guarded_blueprint


class SocketIOInput(RasaSocketIOInput):
    @classmethod
    def name(cls) -> str:
        return "socketio"

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        return guarded_blueprint(super().blueprint, on_new_message)
