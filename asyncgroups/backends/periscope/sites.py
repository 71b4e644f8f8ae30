"""Several Periscope sites at once: one Client per site, operations fanned out.

Each site has its own key, users and groups. :class:`PeriscopeSites` runs an
operation on every site concurrently and answers with a :class:`SiteResults`: site ->
value, or the error that site gave, so one failing site never hides the others.
"""

import asyncio
import csv
import io
import os
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

from asyncgroups.backends.periscope.backend import (
    DEFAULT_ACCESS,
    DEFAULT_BASE_URL,
    Periscope,
)
from asyncgroups.batching import dedupe_keys, run_batches
from asyncgroups.config import Secret
from asyncgroups.errors import AsyncGroupsError, ConfigurationError, InvalidInputError
from asyncgroups.models import BatchResult, User

if TYPE_CHECKING:
    from asyncgroups.client import Client

__all__ = ["PeriscopeSites", "SiteResults"]

T = TypeVar("T")

#: Column names that hold e-mails in a bulk-delete CSV (the vendor's first).
EMAIL_COLUMNS = ("email_address", "email", "e-mail", "mail")


class SiteResults(Mapping[str, "T | AsyncGroupsError"], Generic[T]):
    """Per-site outcomes: ``results[site]`` is the value or the site's error."""

    def __init__(self, outcomes: Mapping[str, "T | AsyncGroupsError"]) -> None:
        self._outcomes = dict(outcomes)

    def __getitem__(self, site: str) -> "T | AsyncGroupsError":
        return self._outcomes[site]

    def __iter__(self) -> Iterator[str]:
        return iter(self._outcomes)

    def __len__(self) -> int:
        return len(self._outcomes)

    @property
    def succeeded(self) -> dict[str, T]:
        """Site -> value, for the sites that succeeded."""
        return {
            s: v
            for s, v in self._outcomes.items()
            if not isinstance(v, AsyncGroupsError)
        }

    @property
    def failed(self) -> dict[str, AsyncGroupsError]:
        """Site -> error, for the sites that failed."""
        return {
            s: v for s, v in self._outcomes.items() if isinstance(v, AsyncGroupsError)
        }

    @property
    def ok(self) -> bool:
        """Whether every site succeeded."""
        return not self.failed

    def __repr__(self) -> str:
        parts = ", ".join(
            f"{s}: {type(v).__name__}"
            if isinstance(v, AsyncGroupsError)
            else f"{s}: ok"
            for s, v in self._outcomes.items()
        )
        return f"SiteResults({{{parts}}})"


ClientFactory = Callable[[Periscope], "Client"]


def _default_factory(backend: Periscope) -> "Client":
    from asyncgroups.client import Client

    return Client(backend)


class PeriscopeSites:
    """One Client per Periscope site, with operations fanned out to all of them.

    Use as an async context manager; the Clients are closed on exit::

        async with PeriscopeSites({"site1": "key1", "site2": "key2"}) as sites:
            results = await sites.add_user_to_sites(
                "a@x.com", "A", "B", groups=["Sales"]
            )
            for site, error in results.failed.items():
                ...

    Args:
        keys: site name -> API key.
        base_url: scheme and host of the API.
        admin_email: ``invited_by_email`` / ``created_by_email`` on every site.
        test_mode: validate on the servers without persisting anything.
        default_access: the ``access`` of groups created without one.
        client_factory: builds each site's Client from its backend (retry policy,
            rate limit, a shared session...); ``Client(backend)`` by default.

    Raises:
        ConfigurationError: no sites, or a bad site name or key.
    """

    def __init__(
        self,
        keys: Mapping[str, str | Secret],
        *,
        base_url: str = DEFAULT_BASE_URL,
        admin_email: str | None = None,
        test_mode: bool = False,
        default_access: str = DEFAULT_ACCESS,
        client_factory: ClientFactory | None = None,
    ) -> None:
        if not keys:
            raise ConfigurationError("PeriscopeSites needs at least one site")
        factory = client_factory or _default_factory
        self.clients: dict[str, Client] = {}
        for site, key in keys.items():
            backend = Periscope(
                site=site,
                api_key=key,
                test_mode=test_mode,
                base_url=base_url,
                admin_email=admin_email,
                default_access=default_access,
            )
            self.clients[site] = factory(backend)

    @property
    def sites(self) -> list[str]:
        """The site names, in the order given."""
        return list(self.clients)

    def __getitem__(self, site: str) -> "Client":
        return self.clients[site]

    def __repr__(self) -> str:
        return f"PeriscopeSites(sites={self.sites!r})"

    async def run(
        self,
        operation: Callable[["Client"], Awaitable[T]],
        *,
        sites: Iterable[str] | None = None,
    ) -> SiteResults[T]:
        """Run ``operation(client)`` on every site (or ``sites``) concurrently.

        Errors the library raises are collected per site; anything else (a bug in
        ``operation``) propagates.
        """
        names = list(self.clients) if sites is None else list(sites)
        unknown = [s for s in names if s not in self.clients]
        if unknown:
            raise InvalidInputError(f"unknown sites: {', '.join(unknown)}")

        async def one(site: str) -> "T | AsyncGroupsError":
            try:
                return await operation(self.clients[site])
            except AsyncGroupsError as exc:
                return exc

        outcomes = await asyncio.gather(*(one(s) for s in names))
        return SiteResults(dict(zip(names, outcomes, strict=True)))

    async def add_user_to_sites(
        self,
        email: str,
        first_name: str | None = None,
        last_name: str | None = None,
        *,
        groups: Sequence[str] = (),
        invited_by_email: str | None = None,
        sites: Iterable[str] | None = None,
    ) -> SiteResults[User]:
        """Create one user on every site at once.

        Returns:
            Site -> the created user, or why that site refused.
        """
        fields: dict[str, Any] = {
            "email": email,
            "first_name": first_name,
            "last_name": last_name,
            "groups": list(groups),
            "invited_by_email": invited_by_email,
        }
        return await self.run(lambda c: c.users.create(**fields), sites=sites)

    async def delete_users_csv(
        self,
        path_or_rows: "str | os.PathLike[str] | Iterable[str | Mapping[str, str]]",
        *,
        column: str | None = None,
        sites: Iterable[str] | None = None,
    ) -> SiteResults[BatchResult]:
        """Delete every user listed in a CSV file (or rows) from every site.

        Args:
            path_or_rows: a CSV file with a header row (column ``email_address``,
                ``email``...), or e-mails, or row mappings.
            column: the column holding e-mails, if not one of the usual names.
            sites: only these sites.

        Returns:
            Site -> a :class:`BatchResult` (e-mail -> error for each one refused).
        """
        if isinstance(path_or_rows, str | os.PathLike):
            text = await asyncio.to_thread(_read_text, path_or_rows)
            rows: list[str | Mapping[str, str]] = list(
                csv.DictReader(io.StringIO(text))
            )
        else:
            rows = list(path_or_rows)
        emails = dedupe_keys(_emails(rows, column), "e-mail")

        async def delete(client: "Client") -> BatchResult:
            async def one(chunk: Sequence[str]) -> None:
                for email in chunk:
                    await client.users.delete(email)

            return await run_batches(
                one, emails, max_batch=1, concurrency=client.concurrency
            )

        return await self.run(delete, sites=sites)

    async def aclose(self) -> None:
        """Close every site's Client; idempotent."""
        await asyncio.gather(*(c.aclose() for c in self.clients.values()))

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _read_text(path: "str | os.PathLike[str]") -> str:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return handle.read()


def _emails(rows: Iterable[str | Mapping[str, str]], column: str | None) -> list[str]:
    emails: list[str] = []
    for row in rows:
        if isinstance(row, str):
            value = row
        else:
            names = (column,) if column else EMAIL_COLUMNS
            found = next((row[c] for c in names if row.get(c)), None)
            if found is None:
                raise InvalidInputError(
                    f"a CSV row has no e-mail column ({', '.join(names)})"
                )
            value = found
        if value.strip():
            emails.append(value.strip())
    return emails
