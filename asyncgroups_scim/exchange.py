"""A SCIM session's I/O core: sending, discovery, paging and conditional writes.

`Exchange` is made by one `SCIMSession`
for itself and holds that session's per-Client state: the
[`Channel`][asyncgroups.backends._kit.Channel] to the Client's transport, the
``/ServiceProviderConfig`` read once at first use (and the lock that makes it
once), and the [`RecordLocks`][asyncgroups.backends._kit.RecordLocks] that serialise a
read-modify-write PUT per resource. It pages with 1-based indexes, looks
resources up by filter, and writes with PATCH where the server supports it and
otherwise with a PUT conditional on ``If-Match`` (a 412 is re-read and
retried). It builds no JSON of its own: `sansio` and `wire` do.
"""

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from asyncgroups.backends._kit import Channel, Endpoint, RecordLocks, offset_pages
from asyncgroups.errors import ConflictError, NotFoundError, UnsupportedOperationError
from asyncgroups.transport.base import AsyncTransport, Request, Response
from asyncgroups_scim import sansio, wire

__all__ = ["LOOKUP_CHUNK", "Exchange"]

#: Ids one ``id eq ... or ...`` look-up carries.
LOOKUP_CHUNK = 50

Change = Callable[[dict[str, Any]], dict[str, Any]]


class Exchange:
    """Sends one session's SCIM requests and remembers what the server supports.

    Args:
        transport: the Client's transport (never closed here).
        endpoint: base URL, bearer token and media type.
        page_size: ``count`` asked for on listings.
        retries: re-reads after a 412 before giving up.
    """

    __slots__ = (
        "_channel",
        "_discovering",
        "_locks",
        "_page_size",
        "_retries",
        "endpoint",
        "provider",
    )

    def __init__(
        self,
        transport: AsyncTransport,
        endpoint: Endpoint,
        *,
        page_size: int,
        retries: int,
    ) -> None:
        self._channel = Channel(transport, sansio.BACKEND)
        self.endpoint = endpoint
        self._page_size = page_size
        self._retries = retries
        self.provider: wire.ServiceProvider | None = None
        self._discovering = asyncio.Lock()
        self._locks = RecordLocks()

    @property
    def closed(self) -> bool:
        """Whether the session closed its channel."""
        return self._channel.closed

    def close(self) -> None:
        """Refuse every later request (idempotent)."""
        self._channel.close()

    async def send(self, request: Request) -> tuple[Any, Response]:
        """Send a request; return its deciphered JSON and the response.

        Raises:
            ClientClosedError: the session was closed.
        """
        response = await self._channel.send(request)
        return sansio.decipher(response), response

    async def call(self, request: Request) -> Any:
        """Send a request; return its deciphered JSON (``None`` for 204)."""
        return (await self.send(request))[0]

    async def discover(self) -> wire.ServiceProvider:
        """Read ``/ServiceProviderConfig`` once (see ``SCIMSession.discover``)."""
        if self.provider is not None:
            return self.provider
        async with self._discovering:
            if self.provider is None:
                request = sansio.build_service_provider_config(self.endpoint)
                try:
                    provider = wire.service_provider(await self.call(request))
                except (NotFoundError, UnsupportedOperationError):
                    provider = wire.ServiceProvider()
                self.provider = provider
        return self.provider

    async def walk(
        self, resource: str, filt: str | None, **params: str
    ) -> AsyncIterator[dict[str, Any]]:
        """Every resource of a listing, walking 1-based ``startIndex`` pages."""
        sp = await self.discover()
        size = min(self._page_size, sp.filter_max_results or self._page_size)

        async def fetch(offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
            request = sansio.build_list(
                self.endpoint,
                resource,
                start_index=offset + 1,  # SCIM's startIndex is 1-based
                count=limit,
                filter=filt,
                **params,
            )
            page = wire.structure(await self.call(request), wire.WireList)
            return page.resources, page.total_results

        async for item in offset_pages(
            fetch, limit=size, key=lambda r: r.get("id"), backend=sansio.BACKEND
        ):
            yield item

    async def find(
        self, resource: str, attribute: str, value: str
    ) -> dict[str, Any] | None:
        """The first resource whose ``attribute`` equals ``value``, if any."""
        sp = await self.discover()
        filt = sansio.filter_eq(attribute, value) if sp.filter else None
        async for item in self.walk(resource, filt):
            if item.get(attribute) == value:
                return item
        return None

    async def replace(self, resource: str, rid: str, change: Change) -> dict[str, Any]:
        """Read, change and PUT a resource: serialised here, ``If-Match`` on the wire."""
        sp = await self.discover()
        async with self._locks.hold((resource, rid)):
            for attempt in range(self._retries + 1):
                data, response = await self.send(
                    sansio.build_get(self.endpoint, resource, rid)
                )
                etag = sansio.etag_of(response, data) if sp.etag else None
                request = sansio.build_replace(
                    self.endpoint, resource, rid, change(data), etag=etag
                )
                try:
                    stored: dict[str, Any] | None = await self.call(request)
                except ConflictError as exc:
                    # 412: another writer got in between; re-read and retry.
                    if exc.status != 412 or attempt == self._retries:
                        raise
                    continue
                if stored:
                    return stored
                return await self.call(  # type: ignore[no-any-return]
                    sansio.build_get(self.endpoint, resource, rid)
                )
        raise AssertionError("unreachable")  # pragma: no cover

    async def modify(
        self,
        resource: str,
        rid: str,
        operations: list[dict[str, Any]],
        change: Change,
    ) -> dict[str, Any]:
        """PATCH where supported, else a conditional read-modify-write PUT."""
        sp = await self.discover()
        if not sp.patch:
            return await self.replace(resource, rid, change)
        stored = await self.call(
            sansio.build_patch(self.endpoint, resource, rid, operations)
        )
        if stored:
            return stored  # type: ignore[no-any-return]
        return await self.call(sansio.build_get(self.endpoint, resource, rid))  # type: ignore[no-any-return]

    async def lookup(self, ids: Sequence[str], attributes: str) -> dict[str, Any]:
        """Users by id, ``LOOKUP_CHUNK`` ids per filtered listing."""
        found: dict[str, Any] = {}
        for i in range(0, len(ids), LOOKUP_CHUNK):
            chunk = ids[i : i + LOOKUP_CHUNK]
            filt = sansio.filter_any("id", chunk)
            async for item in self.walk("Users", filt, attributes=attributes):
                found[str(item.get("id"))] = item
        return found
