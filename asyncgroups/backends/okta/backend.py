"""The Okta backend's configuration: org URL, API token, page size.

Immutable and free of I/O, so one instance may serve many Clients; each Client gets
its own `OktaSession` from
[`Okta.open`][asyncgroups.backends.okta.Okta.open].
"""

from typing import TYPE_CHECKING, ClassVar

from asyncgroups.backends._kit import Channel, Endpoint, positive_int
from asyncgroups.backends.base import Capability, GroupBackend
from asyncgroups.backends.okta import sansio
from asyncgroups.backends.okta.session import OktaSession
from asyncgroups.config import Secret
from asyncgroups.errors import ConfigurationError
from asyncgroups.transport.base import AsyncTransport
from asyncgroups.validation import check_base_url, check_credential

__all__ = ["Okta"]

#: Member keys one call of the session carries (each is its own PUT/DELETE, sent
#: together; the Client runs such calls concurrently as well).
MAX_BATCH = 50


class Okta:
    """Okta (Workforce Identity) groups, users and memberships, with an API token.

    Member keys are user ids (``00u...``); group ids are ``00g...``. Only
    ``OKTA_GROUP`` memberships can be changed: a change to an ``APP_GROUP`` or
    ``BUILT_IN`` group raises
    [`UnsupportedOperationError`][asyncgroups.errors.UnsupportedOperationError] before
    any write is sent. Pacing follows the ``X-Rate-Limit-*`` headers Okta sends on every
    answer, per endpoint family.

    Args:
        org_url: the org's URL, e.g. ``https://acme.okta.com``.
        api_token: an API token, sent as ``Authorization: SSWS {api_token}``.
        base_url: the same as ``org_url`` (the name every backend accepts, so
            ``ag.connect("okta", base_url=...)`` works); give one of the two.
        max_batch: member keys one call carries (each its own request).
        page_size: ``limit`` asked for on listings (at most 200).

    Raises:
        ConfigurationError: a missing or malformed URL, token or number.
    """

    name: ClassVar[str] = "okta"
    CAPABILITIES: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.GROUPS_CREATE,
            Capability.GROUPS_UPDATE,
            Capability.GROUPS_DELETE,
            Capability.USERS_GET,
            Capability.USERS_LIST,
            Capability.MEMBERS_LIST,
            Capability.MEMBERS_ADD,
            Capability.MEMBERS_REMOVE,
        }
    )

    __slots__ = ("_endpoint", "_max_batch", "_page_size", "_token")

    def __init__(
        self,
        org_url: str | None = None,
        api_token: "str | Secret | None" = None,
        *,
        base_url: str | None = None,
        max_batch: int = MAX_BATCH,
        page_size: int = sansio.PAGE_SIZE,
    ) -> None:
        if (org_url is None) == (base_url is None):
            raise ConfigurationError("give the Okta org URL as org_url (or base_url)")
        token = check_credential(api_token, "api_token")
        if not token.reveal().strip():
            raise ConfigurationError("api_token must not be empty")
        self._token = token
        url = check_base_url(org_url if org_url is not None else base_url)
        self._endpoint = Endpoint(
            url, headers={"Authorization": f"SSWS {token.reveal()}"}
        )
        self._max_batch = positive_int(max_batch, "max_batch")
        self._page_size = positive_int(page_size, "page_size", most=sansio.PAGE_SIZE)

    def __repr__(self) -> str:
        return f"Okta(org_url={self.org_url!r}, api_token=Secret('***'))"

    @property
    def capabilities(self) -> frozenset[Capability]:
        """What Okta can do through an API token."""
        return self.CAPABILITIES

    @property
    def max_batch(self) -> int:
        """Member keys one call carries (one request each, sent together)."""
        return self._max_batch

    @property
    def org_url(self) -> str:
        """The org URL requests go to."""
        return self._endpoint.base_url

    def open(self, transport: AsyncTransport) -> OktaSession:
        """A session on one Client's transport (no I/O)."""
        return OktaSession(
            Channel(transport, self.name), self._endpoint, page_size=self._page_size
        )


if TYPE_CHECKING:
    _: type[GroupBackend] = Okta
