"""The web chat's log keeps real errors and drops the traceback of a websocket that closed."""
from __future__ import annotations

import logging
import sys

from sanic.exceptions import ServerError

from msgops.channels.socketio import EndedWebsocketFilter


def record(uri: str, exc: Exception) -> logging.LogRecord:
    try:
        raise exc
    except Exception:  # noqa: BLE001 - a real exc_info, as Sanic logs it
        info = sys.exc_info()
    return logging.LogRecord("sanic.error", logging.ERROR, __file__, 1,
                             "Exception occurred while handling uri: %s", (repr(uri),), info)


def test_a_closed_socketio_websocket_is_not_logged_as_an_error():
    closed = record("ws://localhost:5005/socket.io/?EIO=4&transport=websocket&sid=x",
                    ServerError("Invalid response type None (need HTTPResponse)"))
    assert EndedWebsocketFilter().filter(closed) is False


def test_every_other_error_is_kept():
    keep = EndedWebsocketFilter().filter
    assert keep(record("http://localhost:5005/webhooks/rest/webhook", ServerError("Invalid response type None")))
    assert keep(record("ws://localhost:5005/socket.io/?EIO=4&transport=websocket", ValueError("boom")))
    assert keep(logging.LogRecord("sanic.error", logging.ERROR, __file__, 1, "no args", None, None))
