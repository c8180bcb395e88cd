"""Rasa's socketio channel (the web chat) with the reply guarantee (see reply_guard)."""
from __future__ import annotations

import logging

from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from sanic import Blueprint

from msgops.channels.reply_guard import OnNewMessage, guarded_blueprint


class EndedWebsocketFilter(logging.Filter):
    """Drops Sanic's "Invalid response type None" error for a socket.io websocket that ended.

    python-engineio runs the websocket inside an ordinary Sanic route and returns nothing when
    the browser closes it (a page reload, a closed tab); Sanic 21.12 then logs a traceback for
    every such normal close, which buried real errors in rasa.log. Any other error passes.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        uri = str(record.args[0]) if isinstance(record.args, tuple) and record.args else ""
        ended_websocket = ("Invalid response type None" in str(exc) and "/socket.io/" in uri
                           and "transport=websocket" in uri)
        return not ended_websocket


_FILTER = EndedWebsocketFilter()


class SocketIOInput(RasaSocketIOInput):
    @classmethod
    def name(cls) -> str:
        return "socketio"

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        logging.getLogger("sanic.error").addFilter(_FILTER)  # idempotent: one filter object
        return guarded_blueprint(super().blueprint, on_new_message)
