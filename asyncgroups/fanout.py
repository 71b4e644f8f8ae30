"""Fan-out over several Clients: one operation run on each of them at once.

A layer above the Client: it holds Clients (several sites, tenants or accounts of one
API, or different APIs) and runs an async function on each concurrently, answering
with [`Results`][asyncgroups.fanout.Results]: name -> value, or the error that target
gave, so one failing target never hides the others. It knows the Client's public API
only; nothing under `asyncgroups.backends` imports it.
"""

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Generic, Self, TypeVar, cast

from asyncgroups.backends.base import GroupBackend
from asyncgroups.client import Client
from asyncgroups.errors import AsyncGroupsError, ConfigurationError, InvalidInputError

__all__ = ["ClientFactory", "FanOut", "Results", "SiteResults"]

T = TypeVar("T")

#: Builds a target's Client from its backend (retry policy, rate limit, a shared
#: aiohttp session...); ``Client(backend)`` by default.
ClientFactory = Callable[[GroupBackend], Client]


class Results(Mapping[str, "T | AsyncGroupsError"], Generic[T]):
    """Per-target outcomes: ``results[name]`` is the value or that target's error."""

    def __init__(self, outcomes: Mapping[str, "T | AsyncGroupsError"]) -> None:
        self._outcomes = dict(outcomes)

    def __getitem__(self, name: str) -> "T | AsyncGroupsError":
        return self._outcomes[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._outcomes)

    def __len__(self) -> int:
        return len(self._outcomes)

    @property
    def succeeded(self) -> dict[str, T]:
        """Name -> value, for the targets that succeeded."""
        return {
            n: v
            for n, v in self._outcomes.items()
            if not isinstance(v, AsyncGroupsError)
        }

    @property
    def failed(self) -> dict[str, AsyncGroupsError]:
        """Name -> error, for the targets that failed."""
        return {
            n: v for n, v in self._outcomes.items() if isinstance(v, AsyncGroupsError)
        }

    @property
    def ok(self) -> bool:
        """Whether every target succeeded."""
        return not self.failed

    def __repr__(self) -> str:
        parts = ", ".join(
            f"{n}: {type(v).__name__}"
            if isinstance(v, AsyncGroupsError)
            else f"{n}: ok"
            for n, v in self._outcomes.items()
        )
        return f"{type(self).__name__}({{{parts}}})"


#: The name `PeriscopeSites` has always answered with.
SiteResults = Results


class FanOut:
    """Several Clients by name, with operations run on all of them at once.

    Targets are Clients, or backends the FanOut opens a Client for. Use it as an
    async context manager: on exit it closes the Clients it opened (a Client it was
    given stays open, its owner closes it):

        async with ag.FanOut({"eu": eu_backend, "us": us_backend}) as fan:
            results = await fan.run(lambda c: c.groups.create("Engineering"))
        for name, error in results.failed.items():
            ...

    Args:
        targets: name -> a [`Client`][asyncgroups.Client], or a backend to open one for.
        client_factory: builds the Client of each backend in ``targets``;
            ``Client(backend)`` by default.

    Raises:
        ConfigurationError: no targets, a name that is not a non-empty string, or a
            target that is neither a Client nor a backend.
    """

    def __init__(
        self,
        targets: Mapping[str, Client | GroupBackend],
        *,
        client_factory: ClientFactory | None = None,
    ) -> None:
        if not targets:
            raise ConfigurationError("a FanOut needs at least one target")
        for name, target in targets.items():
            if not isinstance(cast("object", name), str) or not name.strip():
                raise ConfigurationError(
                    f"target names must be non-empty strings, not {name!r}"
                )
            if not isinstance(target, Client) and not isinstance(target, GroupBackend):
                raise ConfigurationError(
                    f"target {name!r} is a {type(target).__name__}, "
                    "neither a Client nor a backend"
                )
        factory = client_factory or Client
        self.clients: dict[str, Client] = {}
        self._opened: list[Client] = []
        self._closed = False
        for name, target in targets.items():
            if isinstance(target, Client):
                self.clients[name] = target
            else:
                client = factory(target)
                self._opened.append(client)
                self.clients[name] = client

    @property
    def names(self) -> list[str]:
        """The target names, in the order given."""
        return list(self.clients)

    def __getitem__(self, name: str) -> Client:
        return self.clients[name]

    def __contains__(self, name: object) -> bool:
        return name in self.clients

    def __len__(self) -> int:
        return len(self.clients)

    def __repr__(self) -> str:
        return f"FanOut(names={self.names!r})"

    async def run(
        self,
        operation: Callable[[Client], Awaitable[T]],
        *,
        names: Iterable[str] | None = None,
    ) -> Results[T]:
        """Run ``operation(client)`` on every target (or ``names``) concurrently.

        Errors the library raises are collected per target. Anything else (a bug
        in ``operation``) cancels the operations still running and propagates.

        Raises:
            InvalidInputError: ``names`` holds a name that is not a target.
        """
        chosen = self.names if names is None else list(dict.fromkeys(names))
        unknown = [n for n in chosen if n not in self.clients]
        if unknown:
            raise InvalidInputError(f"unknown targets: {', '.join(unknown)}")

        async def one(name: str) -> "T | AsyncGroupsError":
            try:
                return await operation(self.clients[name])
            except AsyncGroupsError as exc:
                return exc

        tasks = [asyncio.ensure_future(one(n)) for n in chosen]
        try:
            outcomes = await asyncio.gather(*tasks)
        except BaseException:
            # gather leaves the others running when one raises: stop them first.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return Results(dict(zip(chosen, outcomes, strict=True)))

    async def aclose(self) -> None:
        """Close the Clients this FanOut opened (given ones stay open); idempotent."""
        if self._closed:
            return
        self._closed = True
        outcomes = await asyncio.gather(
            *(c.aclose() for c in self._opened), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
