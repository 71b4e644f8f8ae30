"""Several Periscope sites at once: one Client per site, operations fanned out.

Each site has its own key, users and groups.
[`PeriscopeSites`][asyncgroups.PeriscopeSites] is one use of
[`FanOut`][asyncgroups.FanOut]: it opens one Client per site and runs an operation on
every site concurrently, answering with a [`Results`][asyncgroups.fanout.Results]
(site -> value, or the error that site gave), so one failing site never hides the
others. It uses the Client's public API only.
"""

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Self, TypeVar, cast

from asyncgroups.backends.periscope import Periscope
from asyncgroups.backends.periscope.backend import DEFAULT_ACCESS, DEFAULT_BASE_URL
from asyncgroups.batching import dedupe_keys, run_batches
from asyncgroups.client import Client
from asyncgroups.config import Secret
from asyncgroups.errors import ConfigurationError, InvalidInputError
from asyncgroups.fanout import FanOut, Results, SiteResults
from asyncgroups.models import BatchResult, User
from asyncgroups.tabular import EMAIL_COLUMNS, csv_records, first_value, read_text

__all__ = ["PeriscopeSites", "SiteResults"]

T = TypeVar("T")

#: Builds each site's Client from its backend; ``Client(backend)`` by default.
SiteClientFactory = Callable[[Periscope], Client]


class PeriscopeSites:
    """One Client per Periscope site, with operations fanned out to all of them.

    Use as an async context manager; the Clients are closed on exit:

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

    Attributes:
        fanout: the [`FanOut`][asyncgroups.FanOut] over the sites' Clients.

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
        client_factory: SiteClientFactory | None = None,
    ) -> None:
        if not keys:
            raise ConfigurationError("PeriscopeSites needs at least one site")
        # Every site is checked before any Client is opened.
        backends = {
            site: Periscope(
                site=site,
                api_key=key,
                test_mode=test_mode,
                base_url=base_url,
                admin_email=admin_email,
                default_access=default_access,
            )
            for site, key in keys.items()
        }
        make = client_factory or Client
        self.fanout = FanOut(
            backends, client_factory=lambda backend: make(cast(Periscope, backend))
        )

    @property
    def clients(self) -> dict[str, Client]:
        """Site -> its Client."""
        return self.fanout.clients

    @property
    def sites(self) -> list[str]:
        """The site names, in the order given."""
        return self.fanout.names

    def __getitem__(self, site: str) -> Client:
        return self.fanout[site]

    def __repr__(self) -> str:
        return f"PeriscopeSites(sites={self.sites!r})"

    async def run(
        self,
        operation: Callable[[Client], Awaitable[T]],
        *,
        sites: Iterable[str] | None = None,
    ) -> Results[T]:
        """Run ``operation(client)`` on every site (or ``sites``) concurrently.

        Errors the library raises are collected per site; anything else (a bug in
        ``operation``) propagates.

        Raises:
            InvalidInputError: ``sites`` names a site that is not here.
        """
        names = None if sites is None else list(sites)
        unknown = [s for s in names or () if s not in self.fanout]
        if unknown:
            raise InvalidInputError(f"unknown sites: {', '.join(unknown)}")
        return await self.fanout.run(operation, names=names)

    async def add_user_to_sites(
        self,
        email: str,
        first_name: str | None = None,
        last_name: str | None = None,
        *,
        groups: Sequence[str] = (),
        invited_by_email: str | None = None,
        sites: Iterable[str] | None = None,
    ) -> Results[User]:
        """Create one user on every site at once.

        Returns:
            Site -> the created user, or why that site refused.

        Raises:
            InvalidInputError: ``groups`` is a single string, or ``sites`` names a
                site that is not here.
        """
        if isinstance(groups, str):
            raise InvalidInputError("groups must be a collection of group names")
        extra: dict[str, object] = {"groups": list(groups)}
        if invited_by_email is not None:
            extra["invited_by_email"] = invited_by_email

        async def create(client: Client) -> User:
            return await client.users.create(
                email=email, first_name=first_name, last_name=last_name, extra=extra
            )

        return await self.run(create, sites=sites)

    async def delete_users_csv(
        self,
        path_or_rows: "str | os.PathLike[str] | Iterable[str | Mapping[str, str]]",
        *,
        column: str | None = None,
        sites: Iterable[str] | None = None,
    ) -> Results[BatchResult]:
        """Delete every user listed in a CSV file (or rows) from every site.

        Args:
            path_or_rows: a CSV file with a header row (column ``email_address``,
                ``email``...), or e-mails, or row mappings.
            column: the column holding e-mails, if not one of the usual names.
            sites: only these sites.

        Returns:
            Site -> a [`BatchResult`][asyncgroups.models.BatchResult] (e-mail -> error
            for each one refused).

        Raises:
            InvalidInputError: the file cannot be read, or a row has no e-mail.
        """
        if isinstance(path_or_rows, str | os.PathLike):
            found = await asyncio.to_thread(_file_emails, path_or_rows, column)
        else:
            found = _row_emails(path_or_rows, column)
        emails = dedupe_keys(found, "e-mail")

        async def delete(client: Client) -> BatchResult:
            async def one(chunk: Sequence[str]) -> None:
                for email in chunk:
                    await client.users.delete(email)

            return await run_batches(
                one, emails, max_batch=1, concurrency=client.concurrency
            )

        return await self.run(delete, sites=sites)

    async def aclose(self) -> None:
        """Close every site's Client; idempotent."""
        await self.fanout.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _file_emails(path: "str | os.PathLike[str]", column: str | None) -> list[str]:
    """The e-mails in a CSV file's e-mail column (header names are case-blind)."""
    source = os.fspath(path)
    names = (column.strip().lower(),) if column else EMAIL_COLUMNS
    emails: list[str] = []
    for line, row in csv_records(source, read_text(path)):
        value = first_value(row, names)
        if value is None:
            raise InvalidInputError(
                f"{source}: line {line}: no e-mail in column {' or '.join(names)}"
            )
        emails.append(value)
    return emails


def _row_emails(
    rows: Iterable[str | Mapping[str, str]], column: str | None
) -> list[str]:
    """The e-mails given directly: strings, or rows with an e-mail column."""
    names = (column,) if column else EMAIL_COLUMNS
    emails: list[str] = []
    for row in rows:
        value = row if isinstance(row, str) else first_value(row, names)
        if value is None:
            raise InvalidInputError(
                f"a CSV row has no e-mail column ({', '.join(names)})"
            )
        if value.strip():
            emails.append(value.strip())
    return emails
