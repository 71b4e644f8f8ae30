"""The SCIM backend's I/O core: sending, discovery, paging and conditional writes.

:class:`Session` owns what every SCIM operation shares: the bound transport, the
``/ServiceProviderConfig`` read once at first use, 1-based index paging over
``offset_pages``, look-ups by filter, and writes that are PATCH where the server
supports it and otherwise a read-modify-write PUT serialised per resource and
conditional on ``If-Match`` (a 412 is re-read and retried). It builds no JSON of
its own: :mod:`.sansio` and :mod:`.wire` do.
"""

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from asyncgroups.backends.paging import offset_pages
from asyncgroups.errors import (
    ClientClosedError,
    ConflictError,
    NotFoundError,
    UnsupportedOperationError,
)
from asyncgroups.transport.base import AsyncTransport, Request, Response
from asyncgroups_scim import sansio, wire

__all__ = ["Session"]

#: Ids one ``id eq ... or ...`` look-up carries.
LOOKUP_CHUNK = 50

Change = Callable[[dict[str, Any]], dict[str, Any]]


class Session:
    """Sends SCIM requests for one backend and remembers what the server supports.

    Args:
        origin: base URL and credentials.
        page_size: ``count`` asked for on listings.
        retries: re-reads after a 412 before giving up.
    """

    def __init__(self, origin: sansio.Origin, *, page_size: int, retries: int) -> None:
        self._origin = origin
        self._page_size = page_size
        self._retries = retries
        self.transport: AsyncTransport | None = None
        self.provider: wire.ServiceProvider | None = None
        self._discovering: asyncio.Lock | None = None
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    async def send(self, request: Request) -> tuple[Any, Response]:
        """Send a request; return its deciphered JSON and the response."""
        if self.transport is None:
            raise ClientClosedError("SCIM backend is not bound to a Client")
        response = await self.transport.send(request)
        return sansio.decipher(response), response

    async def call(self, request: Request) -> Any:
        """Send a request; return its deciphered JSON (``None`` for 204)."""
        return (await self.send(request))[0]

    async def discover(self) -> wire.ServiceProvider:
        """Read ``/ServiceProviderConfig`` once (see :meth:`SCIM.discover`)."""
        if self.provider is not None:
            return self.provider
        if self._discovering is None:
            self._discovering = asyncio.Lock()
        async with self._discovering:
            if self.provider is None:
                request = sansio.build_service_provider_config(self._origin)
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
                self._origin,
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

    @contextlib.asynccontextmanager
    async def serialised(self, resource: str, rid: str) -> AsyncIterator[None]:
        """Hold the per-resource lock: one read-modify-write at a time here."""
        # Weak values: a lock lives while some coroutine holds or awaits it.
        lock = self._locks.get((resource, rid))
        if lock is None:
            lock = self._locks[(resource, rid)] = asyncio.Lock()
        async with lock:
            yield

    async def replace(
        self,
        resource: str,
        rid: str,
        change: Change,
    ) -> dict[str, Any]:
        """Read, change and PUT a resource: serialised here, ``If-Match`` on the wire."""
        sp = await self.discover()
        async with self.serialised(resource, rid):
            for attempt in range(self._retries + 1):
                data, response = await self.send(
                    sansio.build_get(self._origin, resource, rid)
                )
                etag = sansio.etag_of(response, data) if sp.etag else None
                request = sansio.build_replace(
                    self._origin, resource, rid, change(data), etag=etag
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
                    sansio.build_get(self._origin, resource, rid)
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
            sansio.build_patch(self._origin, resource, rid, operations)
        )
        if stored:
            return stored  # type: ignore[no-any-return]
        return await self.call(sansio.build_get(self._origin, resource, rid))  # type: ignore[no-any-return]

    async def lookup(self, ids: Sequence[str], attributes: str) -> dict[str, Any]:
        """Users by id, ``LOOKUP_CHUNK`` ids per filtered listing."""
        found: dict[str, Any] = {}
        for i in range(0, len(ids), LOOKUP_CHUNK):
            chunk = ids[i : i + LOOKUP_CHUNK]
            filt = sansio.filter_any("id", chunk)
            async for item in self.walk("Users", filt, attributes=attributes):
                found[str(item.get("id"))] = item
        return found
