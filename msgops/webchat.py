"""The web chat page: a tiny static server for web/ plus a generated /config.js.

The page itself talks straight to Rasa's socketio channel (see docs/webchat.md); this
process only serves files and tells the page where that channel is:

    python -m msgops.webchat --port 8080 --rasa-url http://localhost:5005

It also serves each booking's calendar file, /bookings/<id>.ics?t=<token>, the link the bot
sends with a confirmation (msgops.booking.ics_for; the store is imported on first request).

stdlib only (http.server), so it adds no dependency and starts in milliseconds.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import posixpath
import re
import sys
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import List, Optional, Tuple
from urllib.parse import parse_qs, urlsplit, urlunsplit

log = logging.getLogger("msgops.webchat")

WEB_DIR = Path(__file__).resolve().parents[1] / "web"
DEFAULT_RASA_URL = "http://localhost:5005"
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}
_ICS_ROUTE = re.compile(r"/bookings/(\d{1,12})\.ics")

# The page loads only its own files; it connects to Rasa (another origin) over http(s)/ws(s)
# and shows images from any web address the bot sends, or inline data: images.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data: http: https:; connect-src 'self' http: https: ws: wss:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'"
)


def _hostname(host_header: str) -> str:
    """'example.org:8080' -> 'example.org'; '[::1]:8080' -> '[::1]'."""
    host_header = host_header.strip()
    if host_header.startswith("["):
        return host_header.split("]", 1)[0] + "]"
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def browser_rasa_url(rasa_url: str, request_host: Optional[str]) -> str:
    """The Rasa address as the browser that asked must use it.

    A loopback Rasa URL (the default, http://localhost:5005) means "Rasa runs on this
    machine"; a browser on another machine (the page served with --host 0.0.0.0 and opened
    on a phone) must then use the name it reached this server by, with Rasa's port.
    """
    parts = urlsplit(rasa_url.rstrip("/"))
    if not request_host or (parts.hostname or "") not in LOOPBACK_HOSTS:
        return urlunsplit(parts)
    seen = _hostname(request_host)
    if not seen or seen in LOOPBACK_HOSTS:
        return urlunsplit(parts)
    netloc = seen + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def config_js(rasa_url: str, socket_path: str = "/socket.io") -> bytes:
    config = {"rasaUrl": rasa_url, "socketPath": socket_path}
    # "<" escaped so no value can close a <script> element.
    body = json.dumps(config, ensure_ascii=False).replace("<", "\\u003c")
    return f"window.MSGOPS_WEBCHAT = {body};\n".encode()


class WebChatHandler(SimpleHTTPRequestHandler):
    """Static files of web/ (no directory listings), /config.js and /health."""

    server_version = "msgops-webchat"
    rasa_url = DEFAULT_RASA_URL
    public_rasa_url: Optional[str] = None
    socket_path = "/socket.io"

    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".html": "text/html; charset=utf-8",
        ".js": "text/javascript; charset=utf-8",
        ".css": "text/css; charset=utf-8",
        ".json": "application/json",
        ".svg": "image/svg+xml",
        ".map": "application/json",
        ".webmanifest": "application/manifest+json",
    }

    def version_string(self) -> str:
        return self.server_version

    def _route(self) -> str:
        return posixpath.normpath(urlsplit(self.path).path or "/")

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if not self._send_generated():
            super().do_GET()

    def do_HEAD(self) -> None:  # noqa: N802
        if not self._send_generated(head=True):
            super().do_HEAD()

    def _send_generated(self, head: bool = False) -> bool:
        route = self._route()
        extra: List[Tuple[str, str]] = []
        if route == "/config.js":
            url = self.public_rasa_url or browser_rasa_url(self.rasa_url, self.headers.get("Host"))
            body, ctype = config_js(url, self.socket_path), "text/javascript; charset=utf-8"
        elif route == "/health":
            body, ctype = b'{"status": "ok"}', "application/json"
        elif match := _ICS_ROUTE.fullmatch(route):
            booking_id = int(match.group(1))
            try:
                text = self._booking_ics(booking_id)
            except Exception:  # the store is down: say so rather than drop the connection
                log.exception("calendar file of booking %s", booking_id)
                self.send_error(HTTPStatus.SERVICE_UNAVAILABLE, "Try again later")
                return True
            if text is None:  # unknown booking and wrong token look the same
                self.send_error(HTTPStatus.NOT_FOUND, "Not found")
                return True
            body, ctype = text.encode("utf-8"), "text/calendar; charset=utf-8"
            extra = [("Content-Disposition", f'attachment; filename="booking-{booking_id}.ics"')]
        else:
            return False
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)
        return True

    def _booking_ics(self, booking_id: int) -> Optional[str]:
        from msgops.booking import ics_for

        token = parse_qs(urlsplit(self.path).query).get("t", [""])[0]
        return ics_for(booking_id, token)

    def list_directory(self, path):  # no listings: a folder without index.html is a 404
        self.send_error(HTTPStatus.NOT_FOUND, "Not found")
        return None

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        super().end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (http.server's name)
        log.info("%s %s", self.address_string(), format % args)


def make_server(host: str = "127.0.0.1", port: int = 8080, rasa_url: str = DEFAULT_RASA_URL,
                web_dir: Path = WEB_DIR, public_rasa_url: Optional[str] = None,
                socket_path: str = "/socket.io") -> ThreadingHTTPServer:
    """A ready (bound, not yet serving) server; port 0 picks a free port."""
    handler = type("BoundWebChatHandler", (WebChatHandler,), {
        "rasa_url": rasa_url.rstrip("/"),
        "public_rasa_url": public_rasa_url.rstrip("/") if public_rasa_url else None,
        "socket_path": socket_path,
    })
    server = ThreadingHTTPServer((host, port), partial(handler, directory=str(web_dir)))
    server.daemon_threads = True
    return server


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m msgops.webchat",
        description="Serve the web chat page (web/) and its /config.js.")
    parser.add_argument("--host", default=os.environ.get("MSGOPS_WEB_HOST", "127.0.0.1"),
                        help="address to bind (default 127.0.0.1; "
                             "0.0.0.0 to reach it from other machines)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("MSGOPS_WEB_PORT", "8080")))
    parser.add_argument("--rasa-url", default=os.environ.get("MSGOPS_RASA_URL", DEFAULT_RASA_URL),
                        help="Rasa server with the socketio channel (default %(default)s)")
    parser.add_argument("--public-rasa-url", default=os.environ.get("MSGOPS_PUBLIC_RASA_URL"),
                        help="the Rasa address browsers must use, "
                             "when it differs (e.g. behind a proxy)")
    parser.add_argument("--socket-path", default="/socket.io",
                        help="socketio_path of Rasa's socketio channel (default %(default)s)")
    parser.add_argument("--web-dir", type=Path, default=WEB_DIR, help=argparse.SUPPRESS)
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if not (args.web_dir / "index.html").is_file():
        raise SystemExit(f"no index.html in {args.web_dir}")
    server = make_server(args.host, args.port, args.rasa_url, args.web_dir,
                         args.public_rasa_url, args.socket_path)
    host, port = server.server_address[:2]
    log.info("web chat on http://%s:%s (Rasa socketio at %s%s)", host, port,
             args.public_rasa_url or args.rasa_url, args.socket_path)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
