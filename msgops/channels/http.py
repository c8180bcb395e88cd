"""Outbound HTTP to the Graph API and the Telegram Bot API.

Every call has a timeout, is retried with exponential backoff (and jitter) when the platform
says "later" (HTTP 429, 5xx, a Graph rate-limit or transient error code, a Telegram
``retry_after``) or the connection fails, and never raises: the caller gets an ``ApiResponse``
and decides what a failure means. Failures are logged with the platform's own error code
(Graph ``code``/``error_subcode``/``fbtrace_id``, Telegram ``error_code``) because that code is
what tells an operator whether it is a token, a policy window or a rate limit.

Retrying a send whose answer was lost can deliver it twice; we accept a rare duplicate over a
lost message (the platforms offer no idempotency key for sends).
"""
from __future__ import annotations

import asyncio
import json
import logging
import random
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

import aiohttp

from msgops.channels import settings

logger = logging.getLogger(__name__)

# Graph error codes that mean "slow down / try again", even when the HTTP status is 400/403:
# 1/2 temporary, 4 app rate limit, 17 user rate limit, 32 page rate limit, 613 calls limit,
# 80007 WhatsApp WABA rate limit, 130429 Cloud API throughput, 131056 pair rate limit.
GRAPH_RETRYABLE_CODES = frozenset({1, 2, 4, 17, 32, 613, 80007, 130429, 131056})


@dataclass
class ApiResponse:
    """What a platform answered, after retries. ``ok`` is the only field callers must check."""

    ok: bool
    status: int = 0
    data: Dict[str, Any] = field(default_factory=dict)
    error_code: Optional[int] = None
    error_subcode: Optional[int] = None
    error_message: Optional[str] = None
    trace_id: Optional[str] = None
    attempts: int = 0
    retry_after: Optional[float] = None

    def describe(self) -> str:
        """One line for logs and delivery results, never containing a token."""
        if self.ok:
            return f"ok (HTTP {self.status})"
        parts = [f"HTTP {self.status}" if self.status else "no response"]
        if self.error_code is not None:
            parts.append(f"code {self.error_code}")
        if self.error_subcode is not None:
            parts.append(f"subcode {self.error_subcode}")
        if self.error_message:
            parts.append(self.error_message)
        if self.trace_id:
            parts.append(f"fbtrace_id {self.trace_id}")
        return ", ".join(parts)


class JsonHttpClient:
    """POSTs JSON with timeouts and retries; subclasses say how to read the platform's errors.

    One ``aiohttp.ClientSession`` per client, created lazily in the running event loop (never
    at import time) and recreated if the loop changed, so keep-alive connections are reused
    across turns.
    """

    #: seconds for the whole request (connect + send + read) of one attempt
    timeout: float = 10.0
    connect_timeout: float = 3.0
    max_attempts: int = 4
    #: first backoff in seconds; doubled per attempt, capped by ``max_backoff``
    backoff_base: float = 0.5
    max_backoff: float = 8.0
    #: a server asking for a longer pause than this is not waited for; we give up instead
    max_retry_after: float = 30.0
    service: str = "http"

    def __init__(self, **overrides: Any) -> None:
        for key, value in overrides.items():
            if not hasattr(self, key):
                raise TypeError(f"unknown client option {key!r}")
            setattr(self, key, value)
        self._session: Optional[aiohttp.ClientSession] = None
        self._session_loop: Optional[asyncio.AbstractEventLoop] = None

    async def _get_session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._session_loop is not loop:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout, connect=self.connect_timeout),
                headers={"User-Agent": "msgops-channels/1.0"},
            )
            self._session_loop = loop
        return self._session

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    # -- hooks ------------------------------------------------------------------------------

    def _parse(self, status: int, body: Dict[str, Any], headers: Any) -> ApiResponse:
        raise NotImplementedError

    def _retryable(self, response: ApiResponse) -> bool:
        return response.status == 429 or response.status >= 500

    # -- the request loop -------------------------------------------------------------------

    async def _post(
        self, url: str, payload: Dict[str, Any], *, what: str, headers: Optional[Dict[str, str]] = None
    ) -> ApiResponse:
        """POST ``payload`` to ``url``; ``what`` names the call in logs (no secrets in it)."""
        response = ApiResponse(ok=False)
        for attempt in range(1, self.max_attempts + 1):
            response = await self._attempt(url, payload, headers or {})
            response.attempts = attempt
            if response.ok:
                return response
            retryable = response.status == 0 or self._retryable(response)
            if response.retry_after is not None and response.retry_after > self.max_retry_after:
                retryable = False
            if not retryable or attempt == self.max_attempts:
                break
            delay = self._delay(attempt, response.retry_after)
            logger.info(
                "%s %s failed (%s), attempt %d/%d, retrying in %.2fs",
                self.service, what, response.describe(), attempt, self.max_attempts, delay,
            )
            await asyncio.sleep(delay)
        logger.error(
            "%s %s failed after %d attempt(s): %s",
            self.service, what, response.attempts, response.describe(),
        )
        return response

    def _delay(self, attempt: int, retry_after: Optional[float]) -> float:
        if retry_after is not None:
            return max(0.0, retry_after)
        base = min(self.max_backoff, self.backoff_base * (2 ** (attempt - 1)))
        return base * (1 + random.uniform(0, 0.25))

    async def _attempt(
        self, url: str, payload: Dict[str, Any], headers: Dict[str, str]
    ) -> ApiResponse:
        try:
            session = await self._get_session()
            async with session.post(url, json=payload, headers=headers) as resp:
                raw = await resp.read()
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    body = {"_raw": raw[:500].decode("utf-8", "replace")}
                if not isinstance(body, dict):
                    body = {"_value": body}
                return self._parse(resp.status, body, resp.headers)
        except asyncio.TimeoutError:
            return ApiResponse(ok=False, status=0, error_message="timed out")
        except aiohttp.ClientError as exc:
            return ApiResponse(ok=False, status=0, error_message=f"{type(exc).__name__}: {exc}")


def _retry_after_header(headers: Any) -> Optional[float]:
    try:
        value = headers.get("Retry-After") if headers is not None else None
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class GraphClient(JsonHttpClient):
    """The Meta Graph API (WhatsApp Cloud API, Messenger and Instagram Send APIs).

    The token goes in the ``Authorization`` header, not the URL, so it never lands in access
    logs. Base URL and version come from the environment unless given.
    """

    service = "graph"

    def __init__(
        self,
        access_token: str,
        *,
        base_url: Optional[str] = None,
        version: Optional[str] = None,
        **overrides: Any,
    ) -> None:
        super().__init__(**overrides)
        self._token = access_token
        self._base_url = base_url
        self._version = version

    def url(self, path: str) -> str:
        base = (self._base_url or settings.graph_api_base()).rstrip("/")
        version = (self._version or settings.graph_api_version()).strip("/")
        return f"{base}/{version}/{path.lstrip('/')}"

    async def post(self, path: str, payload: Dict[str, Any]) -> ApiResponse:
        return await self._post(
            self.url(path), payload, what=f"POST {path}",
            headers={"Authorization": f"Bearer {self._token}"},
        )

    def _parse(self, status: int, body: Dict[str, Any], headers: Any) -> ApiResponse:
        error = body.get("error") if isinstance(body.get("error"), dict) else None
        if 200 <= status < 300 and error is None:
            return ApiResponse(ok=True, status=status, data=body)
        error = error or {}
        return ApiResponse(
            ok=False,
            status=status,
            data=body,
            error_code=_int_or_none(error.get("code")),
            error_subcode=_int_or_none(error.get("error_subcode")),
            error_message=str(error.get("message") or error.get("error_user_msg") or "")[:300]
            or None,
            trace_id=error.get("fbtrace_id"),
            retry_after=_retry_after_header(headers),
        )

    def _retryable(self, response: ApiResponse) -> bool:
        if super()._retryable(response):
            return True
        if response.error_code in GRAPH_RETRYABLE_CODES:
            return True
        error = response.data.get("error") if isinstance(response.data, dict) else None
        return bool(isinstance(error, dict) and error.get("is_transient"))


class BotApiClient(JsonHttpClient):
    """The Telegram Bot API. The token is part of the URL there, so logs name only the method."""

    service = "telegram"

    def __init__(self, token: str, *, base_url: Optional[str] = None, **overrides: Any) -> None:
        super().__init__(**overrides)
        self._token = token
        self._base_url = base_url

    def url(self, method: str) -> str:
        base = (self._base_url or settings.telegram_api_base()).rstrip("/")
        return f"{base}/bot{self._token}/{method}"

    async def call(self, method: str, params: Dict[str, Any]) -> ApiResponse:
        return await self._post(self.url(method), params, what=method)

    def _parse(self, status: int, body: Dict[str, Any], headers: Any) -> ApiResponse:
        if 200 <= status < 300 and body.get("ok", False):
            result = body.get("result")
            return ApiResponse(
                ok=True, status=status, data=result if isinstance(result, dict) else {"result": result}
            )
        parameters = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
        retry_after = parameters.get("retry_after")
        return ApiResponse(
            ok=False,
            status=status,
            data=body,
            error_code=_int_or_none(body.get("error_code")) or (status or None),
            error_message=(str(body.get("description") or "")[:300]) or None,
            retry_after=float(retry_after) if isinstance(retry_after, (int, float)) else
            _retry_after_header(headers),
        )


def _int_or_none(value: Any) -> Optional[int]:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None

