"""The one place the SDK speaks HTTP: auth header, JSON, error mapping, retries with backoff.

Retry rules: a request that never reached the server (connection refused, DNS, connect timeout)
is retried whatever its method, since nothing was sent. Once a request may have been received,
only idempotent calls are retried (GET/PUT/DELETE, calls marked ``idempotent=True``, and
submits, which carry an ``Idempotency-Key`` so the server returns the first run on a repeat).
Gateway errors (502/503/504) and 429 are retried on the same terms.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import requests
import urllib3

from ._version import __version__
from .errors import StudioConnectionError, StudioError, error_from_response

API_PREFIX = "/api/v1"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


def new_idempotency_key() -> str:
    """A fresh key for one logical submit; reuse it for every retry of that submit."""
    return uuid.uuid4().hex


def _nothing_was_sent(exc: requests.RequestException) -> bool:
    """Whether the request failed before any byte could have reached the server."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = exc.args[0] if exc.args else None
        reason = getattr(reason, "reason", reason)
        return isinstance(reason, urllib3.exceptions.NewConnectionError)
    return False


class HttpClient:
    """A small JSON client for the studio REST API, bound to one base URL and one token."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        retries: int = 4,
        backoff_seconds: float = 0.5,
        timeout_seconds: float = 30.0,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self.timeout_seconds = timeout_seconds
        self.session = session or requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        # The studio refuses an SDK older than it supports, naming the version to install.
        self.session.headers["User-Agent"] = f"pipeline-studio-sdk/{__version__}"
        self.session.headers["X-Studio-SDK-Version"] = __version__

    def url(self, path: str) -> str:
        """The absolute URL of an API path such as ``/runs/42``."""
        return f"{self.base_url}{API_PREFIX}{path}"

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        files: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        idempotent: bool | None = None,
        raw: bool = False,
    ) -> Any:
        """Send a request; return the decoded JSON body.

        With ``raw`` the ``requests.Response`` is returned unread (streamed), for downloads.

        Raises the matching :class:`~pipelines.sdk.errors.StudioError` subclass for an error
        answer, and :class:`~pipelines.sdk.errors.StudioConnectionError` when the server stays
        unreachable after the retries.
        """
        method = method.upper()
        headers = dict(headers or {})
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS or "Idempotency-Key" in headers
        url = self.url(path)
        attempt = 0
        while True:
            try:
                response = self.session.request(
                    method,
                    url,
                    json=json,
                    params=params,
                    files=files,
                    headers=headers,
                    timeout=self.timeout_seconds,
                    stream=raw,
                )
            except requests.RequestException as exc:
                if attempt < self.retries and (idempotent or _nothing_was_sent(exc)):
                    self._sleep(attempt)
                    attempt += 1
                    continue
                raise StudioConnectionError(
                    f"Could not reach the studio at {self.base_url} ({method} {path}) "
                    f"after {attempt + 1} attempt(s): {exc}"
                ) from exc
            if response.status_code in RETRY_STATUSES and idempotent and attempt < self.retries:
                self._sleep(attempt, response.headers.get("Retry-After"))
                attempt += 1
                continue
            break
        if response.status_code >= 400:
            raise self._error(response)
        if raw:
            return response
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise StudioError(
                f"The server answered {method} {path} with something that is not JSON",
                status=response.status_code,
            ) from exc

    def get(self, path: str, **kwargs: Any) -> Any:
        """``request("GET", path, ...)``."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        """``request("POST", path, ...)``."""
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        """``request("PUT", path, ...)``."""
        return self.request("PUT", path, **kwargs)

    def submit(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST a run request with one ``Idempotency-Key``, so retries never start two runs."""
        return self.post(path, json=body, headers={"Idempotency-Key": new_idempotency_key()})

    def _sleep(self, attempt: int, retry_after: str | None = None) -> None:
        delay = self.backoff_seconds * (2**attempt)
        if retry_after and retry_after.isdigit():
            delay = max(delay, min(float(retry_after), 30.0))
        time.sleep(delay)

    @staticmethod
    def _error(response: requests.Response) -> StudioError:
        try:
            body = response.json()
        except ValueError:
            body = None
        return error_from_response(response.status_code, body, response.text)
