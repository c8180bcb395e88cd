"""Where the platform APIs live, read from the environment at call time.

Read on every call rather than at import so tests (and a staging deployment) can point the
connectors at a local server by setting an environment variable, without reloading modules.
"""
from __future__ import annotations

import os

DEFAULT_GRAPH_API_BASE = "https://graph.facebook.com"
DEFAULT_GRAPH_API_VERSION = "v21.0"
DEFAULT_TELEGRAM_API_BASE = "https://api.telegram.org"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def graph_api_base() -> str:
    """Base URL of the Meta Graph API (WhatsApp Cloud API, Messenger, Instagram)."""
    return _env("MSGOPS_GRAPH_API_BASE", DEFAULT_GRAPH_API_BASE).rstrip("/")


def graph_api_version() -> str:
    """Graph API version, e.g. ``v21.0``; pinned so a Meta default change cannot surprise us."""
    return _env("MSGOPS_GRAPH_API_VERSION", DEFAULT_GRAPH_API_VERSION).strip("/")


def telegram_api_base() -> str:
    """Base URL of the Telegram Bot API (a self-hosted Bot API server also works)."""
    return _env("MSGOPS_TELEGRAM_API_BASE", DEFAULT_TELEGRAM_API_BASE).rstrip("/")
