"""An aiohttp.web app that adds users to groups and lists members, over one shared Client.

The backend comes from the environment, so the same app runs against a real API or
an emulator::

    pip install -e '.[examples]'   # in a clone of the repository: the examples extra
    export ASYNCGROUPS_BACKEND=neuroio ASYNCGROUPS_TOKEN=...   # ASYNCGROUPS_BASE_URL=...
    python examples/aiohttp_app.py            # PORT=8080 by default

    curl -X POST localhost:8080/groups/42/members -H 'content-type: application/json' \
         -d '{"keys": ["pid-1", "pid-2"]}'
    curl localhost:8080/groups/42/members

Settings: ``ASYNCGROUPS_BACKEND`` (default ``neuroio``) and, as the backend takes
them, ``ASYNCGROUPS_BASE_URL``, ``ASYNCGROUPS_TOKEN``, ``ASYNCGROUPS_SITE``,
``ASYNCGROUPS_API_KEY`` and ``ASYNCGROUPS_ADMIN_EMAIL``.

A ``cleanup_ctx`` opens one ``aiohttp.ClientSession`` and one ``Client`` borrowing it
when the app starts and closes both when it stops.
"""

import inspect
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import aiohttp
from aiohttp import web

import asyncgroups as ag

#: Backend arguments that may come from ``ASYNCGROUPS_<NAME>`` variables.
SETTINGS = ("base_url", "token", "site", "api_key", "admin_email")

CLIENT = web.AppKey("asyncgroups_client", ag.Client)
ENVIRON = web.AppKey("asyncgroups_environ", Mapping[str, str])

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def backend_from_env(environ: Mapping[str, str]) -> ag.GroupBackend:
    """Build the backend named by ``ASYNCGROUPS_BACKEND`` from ``ASYNCGROUPS_*``."""
    name = environ.get("ASYNCGROUPS_BACKEND", "neuroio")
    accepted = inspect.signature(ag.backends.load(name)).parameters
    kwargs = {
        setting: environ[f"ASYNCGROUPS_{setting.upper()}"]
        for setting in SETTINGS
        if setting in accepted and f"ASYNCGROUPS_{setting.upper()}" in environ
    }
    return ag.connect(name, **kwargs)


async def asyncgroups_client(app: web.Application) -> AsyncIterator[None]:
    """Open the shared session and Client at startup; close both at cleanup."""
    backend = backend_from_env(app[ENVIRON])
    async with (
        aiohttp.ClientSession() as session,
        ag.Client(
            backend,
            session=session,
            rate_limit=ag.RateLimit(per_second=20, max_concurrency=16, adaptive=True),
            retry=ag.RetryPolicy(max_attempts=4, deadline=20.0),
            timeout=10.0,
        ) as client,
    ):
        app[CLIENT] = client
        yield


async def add_members(request: web.Request) -> web.Response:
    """``POST /groups/{group_id}/members`` with ``{"keys": [...]}``."""
    group_id = request.match_info["group_id"]
    try:
        body: Any = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(reason="the body is not JSON") from None
    keys = body.get("keys") if isinstance(body, dict) else None
    if not isinstance(keys, list) or not keys or len(keys) > 10_000:
        raise web.HTTPUnprocessableEntity(reason="keys: a list of 1-10000 member keys")
    result = await request.app[CLIENT].members.add(group_id, keys)
    return web.json_response(
        {
            "group_id": group_id,
            "added": sorted(result.succeeded),
            "failed": {key: str(error) for key, error in result.failed.items()},
        }
    )


async def list_members(request: web.Request) -> web.Response:
    """``GET /groups/{group_id}/members``."""
    group_id = request.match_info["group_id"]
    client = request.app[CLIENT]
    members = [
        {"key": m.key, "email": m.email, "role": m.role}
        async for m in client.members.list(group_id)
    ]
    return web.json_response({"group_id": group_id, "members": members})


@web.middleware
async def asyncgroups_errors(
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    """Answer the library's errors with a status this app's callers can act on."""
    try:
        return await handler(request)
    except ag.AsyncGroupsError as exc:
        status, headers = _http_status(exc)
        return web.json_response({"error": str(exc)}, status=status, headers=headers)


def _http_status(exc: Exception) -> tuple[int, dict[str, str]]:
    if isinstance(exc, ag.NotFoundError):
        return 404, {}
    if isinstance(exc, ag.InvalidInputError | ag.RejectedRequestError):
        return 422, {}
    if isinstance(exc, ag.UnsupportedOperationError):
        return 501, {}
    if isinstance(exc, ag.RateLimitedError) and exc.retry_after is not None:
        return 503, {"Retry-After": str(max(1, round(exc.retry_after)))}
    if isinstance(exc, ag.APIError | ag.TransportError | ag.DecodeError):
        return 502, {}
    return 500, {}


def create_app(environ: Mapping[str, str] | None = None) -> web.Application:
    """Build the app; settings are read at startup from ``environ`` (default: os.environ)."""
    app = web.Application(middlewares=[asyncgroups_errors])
    app[ENVIRON] = os.environ if environ is None else environ
    app.cleanup_ctx.append(asyncgroups_client)
    app.router.add_post("/groups/{group_id}/members", add_members)
    app.router.add_get("/groups/{group_id}/members", list_members)
    return app


if __name__ == "__main__":
    web.run_app(
        create_app(), host="127.0.0.1", port=int(os.environ.get("PORT", "8080"))
    )
