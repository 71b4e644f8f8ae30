"""Request handling the Periscope emulator's routes share: auth, parsing, refusals.

The authentication middleware (``HTTP-X-PARTNER-AUTH``), the ``test_mode`` flag,
JSON bodies, field checks and the ``{"error": ...}`` answers. Hand-written wire
rules; never imports the client's ``sansio`` or ``wire``.
"""

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from asyncgroups.testing.emulators.periscope_store import (
    PeriscopeStore,
    Site,
    valid_email,
)

_STORE = web.AppKey("store", PeriscopeStore)
#: Where the authenticated site is kept on the request: a typed key where aiohttp
#: has them (newer versions warn on plain string keys), a string before that.
_REQUEST_SITE: Any = (
    web.RequestKey("periscope_site", Site)
    if hasattr(web, "RequestKey")
    else "asyncgroups.periscope_site"
)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _RefusedError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


def _error(status: int, message: str) -> web.Response:
    return _json({"error": message}, status)


def _site(request: web.Request) -> Site:
    site: Site = request[_REQUEST_SITE]
    return site


def _store(request: web.Request) -> PeriscopeStore:
    return request.app[_STORE]


@web.middleware
async def _auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    store = _store(request)
    value = request.headers.get("HTTP-X-PARTNER-AUTH", "")
    name, colon, key = value.partition(":")
    if not colon or not name or not key:
        return _error(401, "missing or malformed HTTP-X-PARTNER-AUTH header")
    site = store.sites.get(name)
    if site is None:
        return _error(403, "unknown site, or the site has no API access")
    if not hmac.compare_digest(site.key.encode(), key.encode()):
        return _error(401, "invalid API key for this site")
    request[_REQUEST_SITE] = site
    try:
        return await handler(request)
    except _RefusedError as refused:
        return _error(refused.status, refused.message)


def _test_mode(request: web.Request) -> bool:
    raw = request.query.get("test_mode")
    if raw is None:
        return False
    value = raw.strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no", ""):
        return False
    raise _RefusedError(400, "test_mode must be true or false")


async def _payload(request: web.Request) -> dict[str, Any]:
    body = await request.read()
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _RefusedError(400, "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise _RefusedError(400, "the body must be a JSON object")
    return data


def _text(data: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise _RefusedError(400, f"{key} is required")
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise _RefusedError(400, f"{key} must be a non-empty string")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise _RefusedError(400, f"{key} must not contain control characters")
    return value


def _email(value: str | None, key: str = "email") -> str:
    if value is None or not valid_email(value):
        raise _RefusedError(422, f"{key} is not a valid e-mail address")
    return value


def _existing_user(site: Site, data: dict[str, Any], key: str) -> None:
    value = _text(data, key)
    if value is not None and site.user(value) is None:
        raise _RefusedError(400, f"{key} is not a user of this site")


def _groups(site: Site, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(g, str) for g in value):
        raise _RefusedError(400, "groups must be a list of group names")
    names = site.canonical_groups(value)
    if isinstance(names, str):
        raise _RefusedError(400, f"unknown group: {names}")
    return names


def _addressed(request: web.Request) -> tuple[Site, dict[str, Any]]:
    site = _site(request)
    email = request.headers.get("HTTP-X-EMAIL")
    if not email:
        raise _RefusedError(400, "the HTTP-X-EMAIL header is required")
    user = site.user(email)
    if user is None:
        raise _RefusedError(404, "user not found")
    return site, user
