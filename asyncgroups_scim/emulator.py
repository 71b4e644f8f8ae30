"""The SCIM emulator: python-scim's ``scim2-server``, a server we did not write.

``build()`` serves scim2-server's ASGI application (over its in-memory storage)
inside an aiohttp app, so the recorder and fault middleware of
[`asyncgroups.testing.serve_emulator`][asyncgroups.testing.serve_emulator] sit in front
of it. A bearer token is required on every endpoint but ``/ServiceProviderConfig`` (RFC
7643 §5).

Options (``serve_emulator("scim", seed=1, patch=False, ...)``): ``token``, and the
features announced and enforced through ``/ServiceProviderConfig``: ``patch``,
``etag``, ``filter``, ``bulk`` (booleans, all on by default) and ``max_results``
(the most resources one listing returns).

The store (`SCIMStore`) offers the emulator contract (``seed_users``,
``seed_group``, ``group_ids``, ``members``) plus ``user_ids``, ``group`` and
``user`` (stored JSON) and ``storage`` (scim2-server's ``InMemoryStorage``).
"""

import hmac
import random
import uuid
from collections.abc import Iterable
from typing import Any

from aiohttp import web
from attrs import define

try:
    from scim2_models import (
        ResourceType,
        ScimProvider,
        ServiceProviderConfig,
        UnauthorizedException,
    )
    from scim2_server.applications.asgi import ASGIApplication
    from scim2_server.memory import AsyncInMemoryStorage, InMemoryStorage
    from scim2_server.requests import ScimRequest
    from scim2_server.service import ScimService
    from scim2_server.testserver.application import BEARER_TOKEN_SCHEME
    from scim2_server.utils import (
        load_default_resource_types,
        load_default_schemas,
        load_json_resource,
    )
except ImportError as exc:  # the `scim` extra is not installed
    raise ImportError(
        "the SCIM emulator needs the 'scim' extra: "
        f"pip install 'asyncgroups[scim]' ({exc.name} is not installed)",
        name=exc.name,
    ) from exc

from asyncgroups.testing import EmulatorApp

__all__ = ["SCIMStore", "build"]

_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


class _Storage(InMemoryStorage):
    """scim2-server's in-memory storage with ids drawn from a seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        self._rng = rng

    def generate_id(self, resource_type: ResourceType, resource: Any) -> str:
        return uuid.UUID(int=self._rng.getrandbits(128), version=4).hex


class _Application(ASGIApplication):
    """scim2-server's ASGI application with a static bearer token."""

    def __init__(self, storage: InMemoryStorage, service: ScimService, token: str):
        super().__init__(AsyncInMemoryStorage(storage), service.provider, service)
        self._token = token.encode()

    def check_auth(self, request: ScimRequest) -> None:
        scheme, _, given = (request.header("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.encode(), self._token
        ):
            raise UnauthorizedException


@define
class SCIMStore:
    """The emulator's state: scim2-server's storage, seeded and inspected directly."""

    storage: InMemoryStorage
    service: ScimService
    rng: random.Random
    _seeded: int = 0

    def _create(self, type_name: str, data: dict[str, Any]) -> str:
        resource_type = self.service.get_resource_type(type_name)
        model = self.service.get_model(resource_type)
        with self.service.provider:
            created = self.storage.create(resource_type, model.model_validate(data))
        return str(created.id)

    def seed_users(self, count: int) -> list[str]:
        """Create ``count`` users; return their ids (the member keys)."""
        ids = []
        for _ in range(count):
            self._seeded += 1
            n = self._seeded
            email = f"user{n}@example.com"
            ids.append(
                self._create(
                    "User",
                    {
                        "schemas": [_USER],
                        "userName": email,
                        "name": {"givenName": f"User{n}", "familyName": "Seeded"},
                        "emails": [{"value": email, "primary": True}],
                    },
                )
            )
        return ids

    def seed_group(self, name: str, members: Iterable[str] = ()) -> str:
        """Create a group holding ``members`` (user ids); return its id."""
        body: dict[str, Any] = {"schemas": [_GROUP], "displayName": name}
        keys = list(members)
        if keys:
            body["members"] = [{"value": k} for k in keys]
        return self._create("Group", body)

    def _ids(self, type_name: str) -> list[str]:
        return [
            str(r.id)
            for r in self.storage.resources
            if r.meta is not None and r.meta.resource_type == type_name
        ]

    def group_ids(self) -> list[str]:
        """Ids of every group."""
        return self._ids("Group")

    def user_ids(self) -> list[str]:
        """Ids of every user."""
        return self._ids("User")

    def _get(self, type_name: str, rid: str) -> dict[str, Any]:
        resource_type = self.service.get_resource_type(type_name)
        with self.service.provider:
            resource = self.storage.get(resource_type, rid)
            return dict(resource.model_dump())

    def group(self, group_id: str) -> dict[str, Any]:
        """A group's stored SCIM JSON (camelCase, as served).

        Raises:
            NotFoundException: no such group (scim2-models' exception).
        """
        return self._get("Group", group_id)

    def user(self, user_id: str) -> dict[str, Any]:
        """A user's stored SCIM JSON (camelCase, as served)."""
        return self._get("User", user_id)

    def members(self, group_id: str) -> frozenset[str]:
        """Member ids of a group."""
        return frozenset(
            str(m["value"]) for m in self.group(group_id).get("members") or []
        )


def _provider(
    *, patch: bool, etag: bool, filter: bool, bulk: bool, max_results: int
) -> ScimProvider:
    config = load_json_resource("default-service-provider-config.json")
    config["patch"]["supported"] = patch
    config["etag"]["supported"] = etag
    config["filter"] = {"supported": filter, "maxResults": max_results}
    config["bulk"]["supported"] = bulk
    spc = ServiceProviderConfig.model_validate(config)
    spc.authentication_schemes = [BEARER_TOKEN_SCHEME]
    return ScimProvider.from_discovery(
        load_default_schemas().values(),
        load_default_resource_types().values(),
        config=spc,
    )


def _bridge(asgi: ASGIApplication) -> Any:
    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        sockname = (
            request.transport.get_extra_info("sockname") if request.transport else None
        )
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": request.scheme,
            "path": request.path,
            "raw_path": request.raw_path.encode(),
            "query_string": request.rel_url.raw_query_string.encode(),
            "root_path": "",
            "headers": [(k.lower(), v) for k, v in request.raw_headers],
            "server": tuple(sockname[:2]) if sockname else None,
        }
        sent = False
        answer: dict[str, Any] = {"status": 500, "headers": [], "body": b""}

        async def receive() -> dict[str, Any]:
            nonlocal sent
            chunk = b"" if sent else body
            sent = True
            return {"type": "http.request", "body": chunk, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["headers"] = message.get("headers", [])
            elif message["type"] == "http.response.body":
                answer["body"] += message.get("body", b"")

        await asgi(scope, receive, send)
        headers = [(k.decode(), v.decode()) for k, v in answer["headers"]]
        response = web.Response(status=answer["status"], body=answer["body"])
        for name, value in headers:
            response.headers[name] = value
        return response

    return handle


def build(
    seed: int | None = None,
    *,
    token: str | None = None,
    patch: bool = True,
    etag: bool = True,
    filter: bool = True,
    bulk: bool = True,
    max_results: int = 1000,
) -> EmulatorApp:
    """Build the SCIM emulator: an aiohttp app serving scim2-server.

    Args:
        seed: seeds resource ids and the generated token.
        token: the bearer token to accept (generated when ``None``).
        patch: announce and serve PATCH.
        etag: announce ETags (resources carry versions, ``If-Match`` honoured).
        filter: announce and serve ``filter``.
        bulk: announce and serve ``/Bulk``.
        max_results: the most resources one listing returns.

    Returns:
        The app, its `SCIMStore` and ``{"token": ...}``.
    """
    rng = random.Random(seed)
    secret = token or f"scim-{rng.getrandbits(128):032x}"
    provider = _provider(
        patch=patch, etag=etag, filter=filter, bulk=bulk, max_results=max_results
    )
    service = ScimService(provider)
    storage = _Storage(random.Random(rng.getrandbits(64)))
    asgi = _Application(storage, service, secret)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _bridge(asgi))
    store = SCIMStore(storage=storage, service=service, rng=rng)
    return EmulatorApp(app, store, {"token": secret})
