"""A FastAPI app that adds users to groups and lists members, over one shared Client.

The backend comes from the environment, so the same app runs against a real API or
an emulator::

    pip install -e '.[examples]'   # in a clone of the repository: the examples extra
    export ASYNCGROUPS_BACKEND=neuroio ASYNCGROUPS_TOKEN=...   # ASYNCGROUPS_BASE_URL=...
    uvicorn examples.fastapi_app:app --port 8000

    curl -X POST localhost:8000/groups/42/members -H 'content-type: application/json' \
         -d '{"keys": ["pid-1", "pid-2"]}'
    curl localhost:8000/groups/42/members

Settings: ``ASYNCGROUPS_BACKEND`` (default ``neuroio``) and, as the backend takes
them, ``ASYNCGROUPS_BASE_URL``, ``ASYNCGROUPS_TOKEN``, ``ASYNCGROUPS_SITE``,
``ASYNCGROUPS_API_KEY`` and ``ASYNCGROUPS_ADMIN_EMAIL``.

The lifespan opens one ``aiohttp.ClientSession`` and one ``Client`` borrowing it, and
closes both at shutdown. Every request shares the Client's connection pool, rate
limiter and 429 gate.
"""

import inspect
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Annotated

import aiohttp
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

import asyncgroups as ag

#: Backend arguments that may come from ``ASYNCGROUPS_<NAME>`` variables.
SETTINGS = ("base_url", "token", "site", "api_key", "admin_email")


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


class AddMembers(BaseModel):
    """Body of ``POST /groups/{group_id}/members``."""

    keys: list[str] = Field(min_length=1, max_length=10_000)


class AddMembersResult(BaseModel):
    """What was added, and why the rest was not."""

    group_id: str
    added: list[str]
    failed: dict[str, str]


class MemberOut(BaseModel):
    """One member of a group."""

    key: str
    email: str | None
    role: str | None


class MembersOut(BaseModel):
    """A group's members."""

    group_id: str
    members: list[MemberOut]


def create_app(environ: Mapping[str, str] | None = None) -> FastAPI:
    """Build the app; settings are read at startup from ``environ`` (default: os.environ)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        backend = backend_from_env(os.environ if environ is None else environ)
        async with (
            aiohttp.ClientSession() as session,
            ag.Client(
                backend,
                session=session,
                rate_limit=ag.RateLimit(
                    per_second=20, max_concurrency=16, adaptive=True
                ),
                retry=ag.RetryPolicy(max_attempts=4, deadline=20.0),
                timeout=10.0,
            ) as client,
        ):
            app.state.client = client
            yield
        # Leaving the block closed the Client, then the session it borrowed.

    app = FastAPI(title="asyncgroups example", lifespan=lifespan)

    @app.exception_handler(ag.AsyncGroupsError)
    async def asyncgroups_error(request: Request, exc: Exception) -> JSONResponse:
        status, headers = _http_status(exc)
        return JSONResponse({"error": str(exc)}, status_code=status, headers=headers)

    @app.post("/groups/{group_id}/members")
    async def add_members(
        group_id: str, body: AddMembers, client: Annotated[ag.Client, Depends(_client)]
    ) -> AddMembersResult:
        result = await client.members.add(group_id, body.keys)
        return AddMembersResult(
            group_id=group_id,
            added=sorted(result.succeeded),
            failed={key: str(error) for key, error in result.failed.items()},
        )

    @app.get("/groups/{group_id}/members")
    async def list_members(
        group_id: str, client: Annotated[ag.Client, Depends(_client)]
    ) -> MembersOut:
        members = [
            MemberOut(key=m.key, email=m.email, role=m.role)
            async for m in client.members.list(group_id)
        ]
        return MembersOut(group_id=group_id, members=members)

    return app


def _client(request: Request) -> ag.Client:
    client: ag.Client = request.app.state.client
    return client


def _http_status(exc: Exception) -> tuple[int, dict[str, str]]:
    """Map the library's errors onto answers for this app's callers."""
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


app = create_app()

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
